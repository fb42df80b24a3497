/**
 * Ed25519 keys and signatures, and sealed notes: a libsodium sealed box
 * (`crypto_box_seal`) to the X25519 form of an Ed25519 key, byte-compatible with the node's
 * PyNaCl (commerce/keys.py): ephemeral X25519 key, nonce = BLAKE2b-192(ephemeral pk ||
 * recipient pk), XSalsa20-Poly1305 under HSalsa20 of the X25519 shared secret; the box is
 * ephemeral pk (32) || tag (16) || ciphertext.
 */
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { randomBytes } from "@noble/hashes/utils.js";
import { hsalsa, xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import { concatBytes, fromHex, toHex } from "./bytes.js";
import { addressOf, addressToText } from "./address.js";
import { ValidationError } from "./errors.js";

/** Bytes of a key seed, a public key and a signature. */
export const SEED_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
/** What sealing adds to a note: the ephemeral public key and the MAC. */
export const SEAL_OVERHEAD = 48;

/** An Ed25519 signing key with its public key and address. Build with `generate` or
 * `fromSeed`/`fromSeedHex`. */
export class Keypair {
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** The account's `agora1...` address. */
  readonly address: string;
  readonly #seed: Uint8Array;
  #curveSecret: Uint8Array | undefined;
  #webKey: Promise<CryptoKey | null> | undefined;

  private constructor(seed: Uint8Array) {
    this.#seed = Uint8Array.from(seed);
    this.publicKey = ed25519.getPublicKey(this.#seed);
    this.address = addressToText(addressOf(this.publicKey));
  }

  /** A fresh random keypair (the platform's CSPRNG). */
  static generate(): Keypair {
    return new Keypair(randomBytes(SEED_BYTES));
  }

  /** The keypair of a 32-byte seed; ValidationError(field_invalid) for another length. */
  static fromSeed(seed: Uint8Array): Keypair {
    if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) {
      throw new ValidationError("field_invalid", `a key seed is ${SEED_BYTES} bytes`);
    }
    return new Keypair(seed);
  }

  /** The keypair of a seed given as 64 hex characters (what `agora keys export` prints). */
  static fromSeedHex(seedHex: string): Keypair {
    return Keypair.fromSeed(fromHex(seedHex.trim()));
  }

  /** A copy of the 32-byte secret seed: keep it secret. */
  get seed(): Uint8Array {
    return Uint8Array.from(this.#seed);
  }

  /** The secret seed as hex. */
  seedHex(): string {
    return toHex(this.#seed);
  }

  /** The public key as hex. */
  get publicKeyHex(): string {
    return toHex(this.publicKey);
  }

  /** The 64-byte detached signature of `message` (@noble/curves, synchronous). */
  sign(message: Uint8Array): Uint8Array {
    return ed25519.sign(message, this.#seed);
  }

  /**
   * The same signature (Ed25519 is deterministic), made by the platform's WebCrypto where it
   * has Ed25519 (Node.js, Chromium >= 137, Firefox >= 129, Safari >= 17) with a
   * non-extractable key: about 25 times the rate of `sign`; elsewhere by `sign`.
   */
  async signAsync(message: Uint8Array): Promise<Uint8Array> {
    this.#webKey ??= importWebKey(this.#seed);
    const key = await this.#webKey;
    if (key !== null) {
      try {
        return new Uint8Array(await subtle()!.sign("Ed25519", key, message as BufferSource));
      } catch {
        // fall through: the platform refused after all
      }
    }
    return this.sign(message);
  }

  /** Open a note sealed to this key; ValidationError(field_invalid) if it does not open. */
  unseal(sealed: Uint8Array): Uint8Array {
    this.#curveSecret ??= ed25519.utils.toMontgomerySecret(this.#seed);
    return unsealWith(this.#curveSecret, sealed);
  }
}

// PKCS #8 of an Ed25519 seed (RFC 8410): this prefix, then the 32 bytes.
const PKCS8_ED25519 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b,
                                    0x65, 0x70, 0x04, 0x22, 0x04, 0x20);

function subtle(): SubtleCrypto | undefined {
  return (globalThis as { crypto?: Crypto }).crypto?.subtle;
}

async function importWebKey(seed: Uint8Array): Promise<CryptoKey | null> {
  const platform = subtle();
  if (platform === undefined) return null;
  try {
    return await platform.importKey("pkcs8", concatBytes(PKCS8_ED25519, seed) as BufferSource,
                                    { name: "Ed25519" }, false, ["sign"]);
  } catch {
    return null; // no Ed25519 in this platform's WebCrypto
  }
}

/** True when `signature` is a valid Ed25519 signature of `message` by `publicKey`
 * (RFC 8032 strict, as libsodium checks it). */
export function verify(publicKey: Uint8Array, message: Uint8Array,
                       signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) {
    return false;
  }
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

// "expand 32-byte k" as little-endian words: the Salsa20 constant crypto_box's HSalsa20 uses.
const SIGMA = Uint32Array.of(0x61707865, 0x3320646e, 0x79622d32, 0x6b206574);

function boxKey(secret: Uint8Array, publicKey: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(secret, publicKey);
  } catch {
    throw new ValidationError("field_invalid", "not a valid X25519 public key");
  }
  const words = new Uint32Array(8);
  const view = new DataView(shared.buffer, shared.byteOffset, 32);
  for (let i = 0; i < 8; i++) words[i] = view.getUint32(4 * i, true);
  const out = new Uint32Array(8);
  hsalsa(SIGMA, words, new Uint32Array(4), out);
  const key = new Uint8Array(32);
  const keyView = new DataView(key.buffer);
  for (let i = 0; i < 8; i++) keyView.setUint32(4 * i, out[i]!, true);
  return key;
}

function sealNonce(ephemeralPublic: Uint8Array, recipientPublic: Uint8Array): Uint8Array {
  return blake2b(concatBytes(ephemeralPublic, recipientPublic), { dkLen: 24 });
}

/** The X25519 public key of an Ed25519 public key; ValidationError(field_invalid) if it is
 * not a valid Ed25519 public key. */
export function curvePublicKey(edPublicKey: Uint8Array): Uint8Array {
  if (!(edPublicKey instanceof Uint8Array) || edPublicKey.length !== PUBLIC_KEY_BYTES) {
    throw new ValidationError("field_invalid", "not a valid Ed25519 public key");
  }
  try {
    return ed25519.utils.toMontgomery(edPublicKey);
  } catch {
    throw new ValidationError("field_invalid", "not a valid Ed25519 public key");
  }
}

/** Encrypt `plaintext` so only the holder of the Ed25519 key `recipientPublicKey` can read
 * it (what the node's `seal` does; e.g. a purchase's delivery details to the merchant). */
export function seal(recipientPublicKey: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const recipient = curvePublicKey(recipientPublicKey);
  return sealToCurve(recipient, plaintext, randomBytes(32));
}

/** `seal` with a given ephemeral X25519 secret: deterministic, for tests only. */
export function sealToCurve(recipientCurve: Uint8Array, plaintext: Uint8Array,
                            ephemeralSecret: Uint8Array): Uint8Array {
  const ephemeralPublic = x25519.getPublicKey(ephemeralSecret);
  const key = boxKey(ephemeralSecret, recipientCurve);
  const box = xsalsa20poly1305(key, sealNonce(ephemeralPublic, recipientCurve)).encrypt(plaintext);
  return concatBytes(ephemeralPublic, box);
}

/** Open a sealed note with an X25519 secret key; ValidationError(field_invalid) if it fails. */
export function unsealWith(curveSecret: Uint8Array, sealed: Uint8Array): Uint8Array {
  if (sealed.length < SEAL_OVERHEAD) {
    throw new ValidationError("field_invalid", "sealed note does not open");
  }
  const ephemeralPublic = sealed.subarray(0, 32);
  const recipientPublic = x25519.getPublicKey(curveSecret);
  try {
    const key = boxKey(curveSecret, ephemeralPublic);
    return xsalsa20poly1305(key, sealNonce(ephemeralPublic, recipientPublic))
      .decrypt(sealed.subarray(32));
  } catch {
    throw new ValidationError("field_invalid", "sealed note does not open");
  }
}
