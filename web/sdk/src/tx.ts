/**
 * Signed transactions (commerce/tx.py). Wire form, canonical msgpack:
 * `[chain_id, sender_public_key, nonce, type, body, signature]` where `body` is the body's
 * fields as an array in wire order. The signature covers
 * `[TX_DOMAIN, chain_id, sender_public_key, nonce, type, body]`; the transaction id is
 * SHA-256 of the whole wire form.
 */
import { addressTextOf } from "./address.js";
import { bodyFromArray, bodyToArray, type Int, type TxBody } from "./bodies.js";
import { codePoints, fromHex, toHex } from "./bytes.js";
import { decode, encode, type Value } from "./codec.js";
import { ValidationError } from "./errors.js";
import { sha256 } from "./hash.js";
import { type Keypair, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, verify } from "./keys.js";

/** The domain tag of every transaction signature. */
export const TX_DOMAIN = "agora/tx/v1";
/** The largest signed transaction (commerce.limits.MAX_TX_BYTES). */
export const MAX_TX_BYTES = 16 * 1024;
/** The longest chain id. */
export const MAX_CHAIN_ID_CHARS = 64;
/** The largest nonce. */
export const MAX_NONCE = 2n ** 63n - 1n;

/** A signed (or decoded) transaction with its wire bytes and id. */
export interface SignedTx {
  readonly chainId: string;
  /** The sender's 32-byte public key. */
  readonly sender: Uint8Array;
  /** The sender's `agora1...` address. */
  readonly senderAddress: string;
  readonly nonce: Int;
  /** The body with its type tag; fields in wire order. */
  readonly body: TxBody;
  readonly signature: Uint8Array;
  /** The canonical wire bytes (what `tx_submit` takes, as hex). */
  readonly raw: Uint8Array;
  /** The wire bytes as hex. */
  readonly hex: string;
  /** SHA-256 of the wire bytes. */
  readonly id: Uint8Array;
  /** The id as hex: what the node, the explorer and `chain_getTransaction` name it by. */
  readonly idHex: string;
}

function checkEnvelope(chainId: string, sender: Uint8Array, nonce: Int): void {
  if (typeof chainId !== "string" || codePoints(chainId) < 1
      || codePoints(chainId) > MAX_CHAIN_ID_CHARS) {
    throw new ValidationError("field_too_long", "chain_id must be 1-64 characters");
  }
  if (sender.length !== PUBLIC_KEY_BYTES) {
    throw new ValidationError("malformed", `sender key must be ${PUBLIC_KEY_BYTES} bytes`);
  }
  if ((typeof nonce !== "bigint" && !Number.isSafeInteger(nonce))
      || BigInt(nonce) < 0n || BigInt(nonce) > MAX_NONCE) {
    throw new ValidationError("field_invalid", "nonce out of range");
  }
}

/** The bytes a transaction's signature covers. */
export function signingBytes(chainId: string, sender: Uint8Array, nonce: Int,
                             body: TxBody): Uint8Array {
  return encode([TX_DOMAIN, chainId, sender, nonce, body.type, bodyToArray(body)]);
}

function build(chainId: string, sender: Uint8Array, nonce: Int, body: TxBody,
               signature: Uint8Array, raw: Uint8Array): SignedTx {
  const id = sha256(raw);
  return Object.freeze({
    chainId, sender, senderAddress: addressTextOf(sender), nonce, body, signature, raw,
    hex: toHex(raw), id, idHex: toHex(id),
  });
}

/**
 * Sign `body` as the transaction of `keypair` with `nonce` on chain `chainId`. Checks every
 * field against its limits first (ValidationError naming the field); too_large over
 * MAX_TX_BYTES.
 */
export function signTx(keypair: Keypair, chainId: string, nonce: Int, body: TxBody): SignedTx {
  checkEnvelope(chainId, keypair.publicKey, nonce);
  const array = bodyToArray(body);
  const sender = keypair.publicKey;
  const signature = keypair.sign(encode([TX_DOMAIN, chainId, sender, nonce, body.type, array]));
  const raw = encode([chainId, sender, nonce, body.type, array, signature]);
  if (raw.length > MAX_TX_BYTES) {
    throw new ValidationError("too_large", `transaction is ${raw.length} bytes`);
  }
  return build(chainId, sender, nonce, bodyFromArray(body.type, array), signature, raw);
}

/** `signTx`, signing with the platform's WebCrypto where it has Ed25519 (the same bytes,
 * much faster: see `Keypair.signAsync`). */
export async function signTxAsync(keypair: Keypair, chainId: string, nonce: Int,
                                  body: TxBody): Promise<SignedTx> {
  checkEnvelope(chainId, keypair.publicKey, nonce);
  const array = bodyToArray(body);
  const sender = keypair.publicKey;
  const message = encode([TX_DOMAIN, chainId, sender, nonce, body.type, array]);
  const signature = await keypair.signAsync(message);
  const raw = encode([chainId, sender, nonce, body.type, array, signature]);
  if (raw.length > MAX_TX_BYTES) {
    throw new ValidationError("too_large", `transaction is ${raw.length} bytes`);
  }
  return build(chainId, sender, nonce, bodyFromArray(body.type, array), signature, raw);
}

/**
 * Decode canonical wire bytes (or their hex) into a transaction; ValidationError
 * (malformed, non_canonical, too_large, unknown_type, field_*). Checks the form only:
 * `verifyTx` checks the signature.
 */
export function decodeTx(raw: Uint8Array | string): SignedTx {
  const data = typeof raw === "string" ? fromHex(raw) : raw;
  if (data.length > MAX_TX_BYTES) {
    throw new ValidationError("too_large", `transaction is ${data.length} bytes`);
  }
  const value = decode(data, MAX_TX_BYTES);
  if (!Array.isArray(value) || value.length !== 6) {
    throw new ValidationError("malformed", "a transaction is an array of 6 fields");
  }
  const [chainId, sender, nonce, type, bodyArray, signature] = value as Value[];
  if (typeof chainId !== "string" || !(sender instanceof Uint8Array)) {
    throw new ValidationError("malformed", "chain_id must be text, sender bytes");
  }
  if ((typeof nonce !== "number" && typeof nonce !== "bigint") || typeof type !== "string") {
    throw new ValidationError("malformed", "nonce must be an integer, type text");
  }
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) {
    throw new ValidationError("malformed", `signature must be ${SIGNATURE_BYTES} bytes`);
  }
  checkEnvelope(chainId, sender, nonce);
  const body = bodyFromArray(type, bodyArray ?? null);
  return build(chainId, sender, nonce, body, signature, Uint8Array.from(data));
}

/** True when the transaction's signature is its sender's over its signing bytes. */
export function verifyTx(tx: SignedTx): boolean {
  return verify(tx.sender, signingBytes(tx.chainId, tx.sender, tx.nonce, tx.body), tx.signature);
}
