/**
 * The cross-language vectors: every value here was computed by the Python node's own code
 * (tests/web/make_vectors.py), and the SDK must produce or accept exactly the same. Run with
 * AGORA_VECTORS=<file> (tests/web/test_sdk.py generates it fresh); with AGORA_SDK_OUT=<file>
 * the SDK also writes what it sealed and signed there, for the Python side to open and check.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import {
  BODY_FIELDS, CodecError, Keypair, MERCHANT_STATUSES, ORDER_STATUSES, RpcClient, TX_TYPES, ValidationError, addressFromText, addressOf,
  addressToText, blobName, blockHash, bodyFromArray, decode, decodeCertificate, decodeTx, encode,
  formatAmount, fromHex, headerBytes, merkleRoot, parseAmount, seal, sealToCurve, signTx,
  signTxAsync, signingBytes, sniffImage, toHex, txRoot, unsealWith, uploadHeaders,
  uploadSigningBytes, utf8, verify, verifyCertificate, verifyTx,
  type TxBody, type Value,
} from "../src/index.js";

const path = process.env.AGORA_VECTORS;
const skip = path === undefined ? "AGORA_VECTORS is not set (tests/web/test_sdk.py sets it)"
  : false;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const vectors: any = path === undefined ? {} : JSON.parse(readFileSync(path, "utf-8"));
const sdkOut: Record<string, unknown> = {};

/** A tagged JSON value ({int}, {bytes}, text, bool, null, lists) as an SDK value. */
function untag(value: unknown): Value {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(untag);
  const item = value as { int?: string; bytes?: string };
  if (item.int !== undefined) {
    const number = BigInt(item.int);
    return Number.isSafeInteger(Number(number)) && BigInt(Number(number)) === number
      ? Number(number) : number;
  }
  if (item.bytes !== undefined) return fromHex(item.bytes);
  throw new Error(`untaggable ${JSON.stringify(value)}`);
}

describe("codec", { skip }, () => {
  test("every value encodes to the node's bytes and decodes back", () => {
    for (const { value, hex } of vectors.codec.good) {
      const mine = untag(value);
      assert.equal(toHex(encode(mine)), hex);
      assert.deepEqual(decode(fromHex(hex)), mine);
    }
  });
  test("every non-canonical or malformed input is refused with the node's fault", () => {
    for (const { hex, fault } of vectors.codec.refused) {
      assert.throws(() => decode(fromHex(hex)),
        (error: unknown) => error instanceof CodecError && error.fault === fault,
        `${hex} should be refused as ${fault}`);
    }
  });
  test("floats, maps and integers outside 64 bits have no encoding", () => {
    assert.throws(() => encode(1.5), CodecError);
    assert.throws(() => encode({ a: 1 } as unknown as Value), CodecError);
    for (const item of vectors.codec.unencodable.filter((c: { value?: string }) => c.value)) {
      assert.throws(() => encode(BigInt(item.value)),
        (error: unknown) => error instanceof CodecError && error.fault === item.fault);
    }
  });
});

describe("keys and addresses", { skip }, () => {
  test("seeds give the node's public keys, addresses and signatures", () => {
    for (const item of vectors.keys) {
      const keypair = Keypair.fromSeedHex(item.seed);
      assert.equal(keypair.publicKeyHex, item.public_key);
      assert.equal(keypair.address, item.address);
      assert.equal(toHex(addressOf(keypair.publicKey)), item.address_bytes);
      assert.equal(addressToText(fromHex(item.address_bytes)), item.address);
      const signature = keypair.sign(fromHex(item.message));
      assert.equal(toHex(signature), item.signature);
      assert.ok(verify(keypair.publicKey, fromHex(item.message), signature));
      assert.ok(!verify(keypair.publicKey, utf8("another message"), signature));
    }
  });
  test("address text is refused with the node's message, or read as the node reads it", () => {
    for (const item of vectors.addresses) {
      if (item.message !== undefined) {
        assert.throws(() => addressFromText(item.text), (error: unknown) =>
          error instanceof ValidationError && error.reason === "bad_address"
            && error.message === item.message, `${item.text}: ${item.message}`);
      } else {
        assert.equal(toHex(addressFromText(item.text)), item.address);
      }
    }
  });
});

function specOf(spec: Record<string, unknown>): unknown {
  const out: Record<string, unknown> = { ...spec };
  if (spec.kind === "int") {
    out.min = BigInt(spec.min as string);
    out.max = BigInt(spec.max as string);
  }
  if (spec.kind === "list") out.item = specOf(spec.item as Record<string, unknown>);
  return out;
}

/** The SDK's field spec as the node states it: an address is 20 bytes. */
function asNode(spec: Record<string, unknown>): Record<string, unknown> {
  if (spec.kind === "address") return { kind: "bytes", min: 20, max: 20 };
  if (spec.kind === "list") {
    return { ...spec, item: asNode(spec.item as Record<string, unknown>) };
  }
  return spec;
}

describe("transactions", { skip }, () => {
  test("the SDK knows exactly the node's transaction types", () => {
    const node = Object.keys(vectors.transactions.types);
    const lacking = node.filter((type) => !(TX_TYPES as string[]).includes(type));
    const extra = TX_TYPES.filter((type) => !node.includes(type));
    assert.deepEqual({ lacking, extra }, { lacking: [], extra: [] },
      "web/sdk/src/bodies.ts must list exactly the node's body types: " +
      "`.venv/bin/python -m tests.web.make_vectors --ts-bodies TYPE...` prints the lines " +
      "to add to BODY_FIELDS, Bodies and fieldNamesMatch");
  });
  test("every type's fields, wire order, kinds, limits and defaults are the node's", () => {
    for (const [type, item] of Object.entries<{ fields: Record<string, unknown>[] }>(
      vectors.transactions.types)) {
      const mine = (BODY_FIELDS as Record<string, readonly { name: string; spec: unknown;
                                                              default?: Value }[]>)[type]!;
      assert.deepEqual(mine.map((field) => field.name), item.fields.map((field) => field.name),
                       `${type} field order`);
      item.fields.forEach((field, index) => {
        const spec = { ...(specOf(field.spec as Record<string, unknown>) as object) };
        // The node's "address" fields (and list items) are 20-byte bytes fields; the SDK
        // also takes text.
        assert.deepEqual(asNode(mine[index]!.spec as Record<string, unknown>), spec,
                         `${type}.${field.name}`);
        assert.deepEqual(mine[index]!.default, field.default === undefined ? undefined
          : untag(field.default), `${type}.${field.name} default`);
      });
    }
  });
  test("every type signs to the node's signing bytes, wire bytes and id", () => {
    const keypair = Keypair.fromSeedHex(vectors.transactions.seed);
    const chainId = vectors.transactions.chain_id;
    for (const [type, item] of Object.entries<{ signed: Record<string, unknown>[] }>(
      vectors.transactions.types)) {
      for (const signed of item.signed) {
        const body: Record<string, unknown> = { type };
        for (const [name, value] of Object.entries(signed.body as object)) {
          if (!(signed.omit as string[]).includes(name)) body[name] = untag(value);
        }
        const nonce = untag({ int: signed.nonce }) as number | bigint;
        const tx = signTx(keypair, chainId, nonce, body as TxBody);
        assert.equal(toHex(signingBytes(chainId, keypair.publicKey, nonce, tx.body)),
                     signed.signing_bytes, `${type} signing bytes`);
        assert.equal(tx.hex, signed.wire, `${type} wire bytes`);
        assert.equal(tx.idHex, signed.id, `${type} id`);
        assert.equal(toHex(tx.signature), signed.signature);
        const decoded = decodeTx(signed.wire as string);
        assert.equal(decoded.idHex, signed.id);
        assert.deepEqual(decoded.body, tx.body);
        assert.equal(decoded.senderAddress, keypair.address);
        assert.ok(verifyTx(decoded), `${type} signature verifies`);
      }
    }
  });
  test("signing through WebCrypto gives the same bytes as the node's", async () => {
    const keypair = Keypair.fromSeedHex(vectors.transactions.seed);
    for (const [type, item] of Object.entries<{ signed: Record<string, unknown>[] }>(
      vectors.transactions.types)) {
      for (const signed of item.signed) {
        const body = { type, ...Object.fromEntries(Object.entries(signed.body as object)
          .map(([name, value]) => [name, untag(value)])) } as unknown as TxBody;
        const nonce = untag({ int: signed.nonce }) as number | bigint;
        const tx = await signTxAsync(keypair, vectors.transactions.chain_id, nonce, body);
        assert.equal(tx.hex, signed.wire, `${type} wire bytes`);
      }
    }
  });
  test("every out-of-limit field is refused with the node's reason", () => {
    let count = 0;
    for (const [type, item] of Object.entries<{ refused: Record<string, unknown>[] }>(
      vectors.transactions.types)) {
      for (const refused of item.refused) {
        assert.throws(() => bodyFromArray(type, untag(refused.array)), (error: unknown) =>
          error instanceof ValidationError && error.reason === refused.reason,
          `${type}.${refused.field} = ${JSON.stringify(refused.array)}: ${refused.reason}`);
        count++;
      }
    }
    assert.ok(count > 100, `${count} refusals checked`);
  });
  test("wire bytes that are not a transaction are refused with the node's reason", () => {
    const cases = vectors.transactions.refused_wire as { wire: string; reason: string }[];
    assert.ok(cases.length >= 20);
    for (const { wire, reason } of cases) {
      assert.throws(() => decodeTx(wire), (error: unknown) =>
        error instanceof ValidationError && error.reason === reason, `${wire}: ${reason}`);
    }
  });
  test("a tampered signature or body does not verify; tampered bytes do not decode", () => {
    const first = Object.values<{ signed: { wire: string }[] }>(vectors.transactions.types)[0]!;
    const wire = fromHex(first.signed[0]!.wire);
    const flipped = Uint8Array.from(wire);
    flipped[flipped.length - 1]! ^= 1;
    assert.ok(!verifyTx(decodeTx(flipped)));
    const longer = Uint8Array.of(...wire, 0);
    assert.throws(() => decodeTx(longer), /trailing bytes/);
  });
  test("SDK-signed transactions of fresh keys are written for the node to check", () => {
    const keypair = Keypair.generate();
    const bodies: TxBody[] = [
      { type: "transfer", to: Keypair.generate().address, amount: 1_500_000, memo: "thanks 🙏" },
      { type: "listing_create", title: "Teapot", description: "Cast iron", category: "kitchen",
        price: 10n ** 18n, stock: 3, media: [new Uint8Array(32).fill(9)], referral_bps: 250 },
      { type: "poll_create", question: "Colour?", options: ["red", "blue"], scope: "merchant",
        listing: 0, buyers_only: true, close_height: 2n ** 64n - 1n },
      { type: "reward_claim" },
    ];
    sdkOut.signed = bodies.map((body, nonce) => ({
      type: body.type, wire: signTx(keypair, "agora-sdk-out", nonce, body).hex,
    }));
  });
});

describe("sealed notes", { skip }, () => {
  const sealed = vectors.sealed ?? {};
  test("notes the node sealed open in the SDK", () => {
    const recipient = Keypair.fromSeedHex(sealed.recipient_seed);
    for (const { plaintext, sealed: box } of sealed.python_sealed) {
      assert.equal(toHex(recipient.unseal(fromHex(box))), plaintext);
    }
  });
  test("with the same ephemeral key the SDK builds libsodium's box byte for byte", () => {
    const curve = fromHex(sealed.recipient_curve_public_key);
    for (const item of sealed.fixed_ephemeral) {
      const box = sealToCurve(curve, fromHex(item.plaintext), fromHex(item.ephemeral_secret));
      assert.equal(toHex(box), item.sealed);
      assert.equal(toHex(unsealWith(fromHex(sealed.recipient_curve_secret), box)),
                   item.plaintext);
    }
  });
  test("a tampered, short or other key's box does not open", () => {
    const recipient = Keypair.fromSeedHex(sealed.recipient_seed);
    for (const box of sealed.tampered) {
      assert.throws(() => recipient.unseal(fromHex(box)), (error: unknown) =>
        error instanceof ValidationError && error.reason === "field_invalid");
    }
  });
  test("notes the SDK seals are written for the node to open", () => {
    const recipient = fromHex(sealed.recipient_public_key);
    const notes = ["", "Bob Builder, 12 Harbour Road", "收货地址：上海 🏠", "x".repeat(900)];
    sdkOut.sealed = notes.map((note) => ({
      plaintext: toHex(utf8(note)), sealed: toHex(seal(recipient, utf8(note))),
    }));
  });
});

describe("blocks and certificates", { skip }, () => {
  test("Merkle roots over 0..7 ids are the node's", () => {
    for (const { ids, root } of vectors.blocks.merkle) {
      assert.equal(txRoot(ids), root);
      assert.equal(toHex(merkleRoot(ids.map(fromHex))), root);
    }
  });
  test("header bytes and hashes are the node's", () => {
    for (const item of vectors.blocks.headers) {
      const header = { ...item.header, height: untag({ int: item.header.height }),
                       timestamp_ms: untag({ int: item.header.timestamp_ms }) };
      assert.equal(toHex(headerBytes(header)), item.bytes);
      assert.equal(blockHash(header), item.hash);
    }
  });
  test("a commit certificate decodes, hashes and verifies as the node's", () => {
    const cert = vectors.blocks.certificate;
    const decoded = decodeCertificate(cert.hex);
    assert.equal(decoded.hash, cert.hash);
    assert.equal(decoded.view, cert.view);
    assert.deepEqual(decoded.signatures.map((s) => s.signer), cert.signers);
    const check = verifyCertificate(cert.hex, cert.height, cert.block_hash, cert.validators,
                                    cert.chain_id);
    assert.ok(check.final);
    assert.deepEqual(check.validSigners, cert.signers);
    assert.ok(!verifyCertificate(cert.hex, cert.height + 1, cert.block_hash, cert.validators,
                                 cert.chain_id).final, "another height");
    assert.ok(!verifyCertificate(cert.hex, cert.height, cert.block_hash, cert.validators,
                                 "another-chain").final, "another chain");
    const twoValidators = verifyCertificate(cert.hex, cert.height, cert.block_hash,
                                            cert.validators.slice(0, 2), cert.chain_id);
    assert.ok(!twoValidators.final);
    assert.deepEqual(twoValidators.invalidSigners, [2, 3]);
  });
});

describe("RPC methods", { skip }, () => {
  test("every typed method calls a documented method with documented param names", async () => {
    const calls: { method: string; params: Record<string, unknown> }[] = [];
    const recording = (async (_url: unknown, init?: { body?: unknown }) => {
      const request = JSON.parse(String(init?.body));
      calls.push({ method: request.method, params: request.params });
      const result = request.method === "chain_getTransaction" ? { status: "finalized" } : {};
      return new Response(JSON.stringify({ jsonrpc: "2.0", id: request.id, result }));
    }) as typeof fetch;
    const node = new RpcClient("http://node.invalid", { fetch: recording });
    const a = "agora1x";
    const id = "ab".repeat(32);
    const page = { limit: 5, cursor: "c" };
    await Promise.all([
      node.status(), node.peers(), node.block(5, false), node.blockSummary(5),
      node.blockByHash(id, true), node.certificate(3), node.transaction(id),
      node.waitForTransaction(id), node.validators(), node.simulate("00"),
      node.submit("00", "finalized", 1000), node.submitBatch(["00"]), node.account(a),
      node.supply(), node.merchant(a), node.listing(1, 2), node.order(1), node.review(1),
      node.rewards(a), node.share(1), node.comment(1), node.poll(1),
      node.listings({ ...page, merchant: a, category: "k", text: "t", active_only: true }),
      node.listingVersions(1, page), node.merchants({ ...page, status: "approved" }),
      node.orders({ ...page, buyer: a, merchant: a, status: "paid" }),
      node.reviews(1, page), node.comments(1, page), node.polls({ ...page, open_at: 9 }),
      node.teamOffer(1), node.team(1), node.listingTeams(1, page), node.accountTeams(a, page),
      node.campaign(1), node.campaigns(a, { ...page, open_only: true }), node.flashSale(1),
      node.orderDiscount(1), node.profile(a), node.disclosed(a, a), node.social(a),
      node.following(a, page), node.followers(a, page), node.feed(a, page),
      node.activity(a, page), node.listingMedia(1, 2), node.blob(id),
    ]);
    const documented = vectors.rpc_methods as Record<string, Record<string, boolean>>;
    for (const { method, params } of calls) {
      const known = documented[method];
      assert.ok(known !== undefined, `${method} is not in docs/RPC.md`);
      for (const name of Object.keys(params)) {
        assert.ok(name in known, `${method} has no param ${name}`);
      }
      for (const [name, required] of Object.entries(known)) {
        if (required) assert.ok(name in params, `${method} needs ${name}`);
      }
    }
    // Methods without a typed call (those other areas add) stay reachable by `call()`.
    assert.equal(new Set(calls.map((call) => call.method)).size, 44);
  });
});

describe("blob uploads", { skip }, () => {
  test("the upload's signing bytes and headers are the node's", () => {
    const blob = vectors.blob_upload as {
      seed: string; chain_id: string; data: string; timestamp_ms: number; name: string;
      signing_bytes: string; headers: Record<string, string>;
    };
    const data = fromHex(blob.data);
    assert.equal(blobName(data), blob.name);
    assert.equal(toHex(uploadSigningBytes(blob.chain_id, fromHex(blob.name), data.length,
                                          blob.timestamp_ms)), blob.signing_bytes);
    assert.deepEqual(uploadHeaders(Keypair.fromSeedHex(blob.seed), blob.chain_id, data,
                                   blob.timestamp_ms), blob.headers);
    assert.equal(sniffImage(data), "image/png");
    assert.equal(sniffImage(data.slice(1)), null);
  });
});

describe("statuses", { skip }, () => {
  test("order and merchant statuses are the node's names", () => {
    assert.deepEqual([...ORDER_STATUSES], vectors.statuses.order);
    assert.deepEqual([...MERCHANT_STATUSES], vectors.statuses.merchant);
  });
});

describe("amounts", { skip }, () => {
  test("parsing and printing are the node's", () => {
    for (const { text, minor } of vectors.amounts.parsed) {
      assert.equal(parseAmount(text), BigInt(minor));
    }
    for (const { text, reason } of vectors.amounts.refused) {
      assert.throws(() => parseAmount(text), (error: unknown) =>
        error instanceof ValidationError && error.reason === reason, text);
    }
    for (const { minor, text } of vectors.amounts.formatted) {
      assert.equal(formatAmount(BigInt(minor)), text);
    }
  });
});

after(() => {
  const out = process.env.AGORA_SDK_OUT;
  if (out !== undefined && Object.keys(sdkOut).length > 0) {
    writeFileSync(out, JSON.stringify(sdkOut, null, 1));
  }
});
