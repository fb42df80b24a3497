/**
 * Account addresses: the first 20 bytes of SHA-256 of the public key, shown as bech32m text
 * `agora1...` (BIP-350) so that a mistyped character is caught (commerce/address.py).
 */
import { bech32m } from "@scure/base";
import { ValidationError } from "./errors.js";
import { sha256 } from "./hash.js";

/** The human-readable part of every address. */
export const HRP = "agora";
/** The bytes of an address. */
export const ADDRESS_BYTES = 20;
/** The characters of an address's text form. */
export const ADDRESS_CHARS = HRP.length + 1 + 32 + 6;
const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const MAX_TEXT_CHARS = 90;

/** The 20-byte address of a 32-byte Ed25519 public key. */
export function addressOf(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) {
    throw new ValidationError("field_invalid", "an Ed25519 public key is 32 bytes");
  }
  return sha256(publicKey).slice(0, ADDRESS_BYTES);
}

/** The checksummed text form (`agora1...`) of a 20-byte address. */
export function addressToText(address: Uint8Array): string {
  if (address.length !== ADDRESS_BYTES) {
    throw new ValidationError("bad_address", "an address is 20 bytes");
  }
  return bech32m.encode(HRP, bech32m.toWords(address), MAX_TEXT_CHARS);
}

/** The text address of a public key. */
export function addressTextOf(publicKey: Uint8Array): string {
  return addressToText(addressOf(publicKey));
}

/**
 * The 20 bytes of a text address. Throws ValidationError(bad_address) with the node's
 * message: wrong length, mixed case, another prefix, a character outside bech32, a
 * checksum that does not match (a typo), or the wrong number of characters.
 */
export function addressFromText(text: string): Uint8Array {
  if (typeof text !== "string" || text.length < 8 || text.length > MAX_TEXT_CHARS) {
    throw new ValidationError("bad_address", "an address is agora1 and 38 characters");
  }
  if (text.toLowerCase() !== text && text.toUpperCase() !== text) {
    throw new ValidationError("bad_address", "address mixes upper and lower case");
  }
  const lower = text.toLowerCase();
  const sep = lower.lastIndexOf("1");
  if (lower.slice(0, sep) !== HRP) {
    throw new ValidationError("bad_address", `address must start with ${HRP}1`);
  }
  const data = lower.slice(sep + 1);
  for (const char of data) {
    if (!CHARSET.includes(char)) {
      throw new ValidationError("bad_address", "address has a character outside bech32");
    }
  }
  const decoded = data.length < 6 ? undefined : bech32m.decodeUnsafe(lower, MAX_TEXT_CHARS);
  if (decoded === undefined) {
    throw new ValidationError("bad_address", "address checksum does not match (typo?)");
  }
  if (decoded.words.length !== 32) {
    throw new ValidationError("bad_address", "address has the wrong length");
  }
  return bech32m.fromWords(decoded.words);
}

/** True when `text` is a well-formed address with a good checksum. */
export function isAddress(text: string): boolean {
  try {
    addressFromText(text);
    return true;
  } catch {
    return false;
  }
}
