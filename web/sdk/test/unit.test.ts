/** Local behaviour that needs no vectors: refusals of bad input, round trips, limits. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  AgoraError, CodecError, Keypair, MAX_TX_BYTES, ValidationError, addressFromText,
  bodyToArray, decode, decodeCertificate, encode, fromHex, isAddress, seal, signTx, toHex,
  utf8, formatAmount, type TxBody,
} from "../src/index.js";

const reason = (name: string) => (error: unknown) =>
  error instanceof AgoraError && error.reason === name;

describe("codec", () => {
  test("nesting deeper than 8 and lone surrogates have no encoding", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 9; i++) deep = [deep];
    assert.throws(() => encode(deep as never), CodecError);
    assert.throws(() => encode("\uD800 alone"), reason("malformed"));
    assert.equal(toHex(encode("\uD83D\uDED2")), "a4f09f9b92");
  });
  test("bigints and numbers encode alike; big values decode as bigints", () => {
    assert.deepEqual(encode(2n ** 32n), encode(2 ** 32));
    assert.equal(decode(encode(2n ** 64n - 1n)), 2n ** 64n - 1n);
    assert.equal(decode(encode(-(2n ** 63n))), -(2n ** 63n));
    assert.equal(decode(encode(2 ** 53 - 1)), 2 ** 53 - 1);
  });
  test("input over the limit is too_large", () => {
    assert.throws(() => decode(new Uint8Array(10), 9), reason("too_large"));
  });
});

describe("bodies", () => {
  const keypair = Keypair.generate();
  const to = Keypair.generate();
  test("an address field takes agora1 text or 20 bytes, and signs the same", () => {
    const byText = signTx(keypair, "c", 0, { type: "transfer", to: to.address, amount: 1 });
    const byBytes = signTx(keypair, "c", 0,
                           { type: "transfer", to: addressFromText(to.address), amount: 1 });
    assert.equal(byText.hex, byBytes.hex);
    assert.throws(() => signTx(keypair, "c", 0, { type: "transfer", to: to.address.slice(0, -1)
      + (to.address.endsWith("q") ? "p" : "q"), amount: 1 }), reason("bad_address"));
  });
  test("unknown types, extra fields, missing fields and bad values name the field", () => {
    assert.throws(() => bodyToArray({ type: "mint" } as unknown as TxBody), reason("unknown_type"));
    assert.throws(() => bodyToArray({ type: "share", listing: 1, extra: 2 } as TxBody),
                  /share.extra: Extra inputs/);
    assert.throws(() => bodyToArray({ type: "share" } as TxBody), /share.listing: Field required/);
    assert.throws(() => bodyToArray({ type: "transfer", to: to.address, amount: 0 }),
                  reason("amount_out_of_range"));
    assert.throws(() => bodyToArray({ type: "review", order: 1, rating: 6 }),
                  reason("field_invalid"));
    assert.throws(() => bodyToArray({ type: "review", order: 1.5, rating: 5 }),
                  /review.order: Input should be a valid integer/);
    assert.throws(() => bodyToArray({ type: "comment", listing: 1, parent: 0,
                                      text: "字".repeat(2001) }), reason("field_too_long"));
    assert.deepEqual(bodyToArray({ type: "comment", listing: 1, parent: 0,
                                   text: "字".repeat(2000) }).length, 3);
  });
  test("a transaction over 16 KiB and a bad envelope are refused before signing", () => {
    const media = Array.from({ length: 8 }, () => new Uint8Array(32));
    const body: TxBody = { type: "listing_create", title: "t", description: "d".repeat(2000),
      category: "c", price: 1, stock: 1, media, referral_bps: 0 };
    assert.ok(signTx(keypair, "c", 0, body).raw.length < MAX_TX_BYTES);
    assert.throws(() => signTx(keypair, "", 0, body), reason("field_too_long"));
    assert.throws(() => signTx(keypair, "c", -1, body), reason("field_invalid"));
    assert.throws(() => signTx(keypair, "c", 2n ** 63n, body), reason("field_invalid"));
  });
});

describe("keys and sealing", () => {
  test("a seed is 32 bytes; the seed round-trips through hex", () => {
    assert.throws(() => Keypair.fromSeed(new Uint8Array(31)), ValidationError);
    assert.throws(() => Keypair.fromSeedHex("zz"), reason("field_invalid"));
    const keypair = Keypair.generate();
    assert.equal(Keypair.fromSeedHex(keypair.seedHex()).address, keypair.address);
    assert.ok(isAddress(keypair.address) && !isAddress("agora1"));
  });
  test("a sealed note opens for its recipient only, and each seal differs", () => {
    const merchant = Keypair.generate();
    const note = utf8("Rue de la Paix 1, Paris");
    const one = seal(merchant.publicKey, note);
    assert.notEqual(toHex(one), toHex(seal(merchant.publicKey, note)));
    assert.equal(toHex(merchant.unseal(one)), toHex(note));
    assert.throws(() => Keypair.generate().unseal(one), reason("field_invalid"));
    assert.throws(() => seal(new Uint8Array(5), note), reason("field_invalid"));
  });
});

describe("certificates and amounts", () => {
  test("bytes that are not a certificate are refused", () => {
    assert.throws(() => decodeCertificate("c0"), reason("malformed"));
    assert.throws(() => decodeCertificate(toHex(encode([3, 0, 1, new Uint8Array(31), []]))),
                  reason("malformed"));
    assert.throws(() => decodeCertificate(fromHex("95")), reason("malformed"));
  });
  test("amounts print with the token's decimals, bigints too", () => {
    assert.equal(formatAmount(10n ** 18n + 1n), "1000000000000.000001");
    assert.equal(formatAmount(500_000), "0.5");
  });
});
