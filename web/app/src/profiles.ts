/**
 * Private profile fields, as client/profiles.py seals them: a copy's plaintext is the
 * canonical array `[PROFILE_SEAL_DOMAIN, owner address, field name, value]`, sealed to one
 * recipient, so an opened copy says whose field it is and which. The owner seals each field
 * to its own key too; that copy is how this browser fills the delivery details at checkout
 * from the profile's `delivery` field without keeping the value anywhere but on chain.
 */
import {
  addressFromText,
  decode,
  encode,
  equalBytes,
  fromHex,
  fromUtf8,
  seal,
  utf8,
  type Keypair,
  type Profile,
} from "@agora/sdk";

export const PROFILE_SEAL_DOMAIN = "agora/profile/v1";
/** The private field the app keeps delivery details in. */
export const DELIVERY_FIELD = "delivery";
/** A field's plaintext, at most (commerce/limits.py MAX_FIELD_VALUE_BYTES). */
export const MAX_FIELD_VALUE_BYTES = 256;

/** A copy of field `name` of `owner`'s profile sealed to one recipient's public key. */
export function sealField(
  owner: string,
  name: string,
  value: string,
  recipientPublicKey: Uint8Array,
): Uint8Array {
  const raw = utf8(value);
  if (raw.length > MAX_FIELD_VALUE_BYTES) throw new RangeError("field too long");
  const plain = encode([PROFILE_SEAL_DOMAIN, addressFromText(owner), name, raw]);
  return seal(recipientPublicKey, plain);
}

/** Open a copy of field `name` of `owner`'s profile; throws when it is not one. */
export function openField(
  keypair: Keypair,
  owner: string,
  name: string,
  sealedHex: string,
): string {
  const plain = decode(keypair.unseal(fromHex(sealedHex)));
  if (!Array.isArray(plain) || plain.length !== 4) throw new Error("not a profile field copy");
  const [domain, ownerIn, nameIn, raw] = plain as unknown[];
  if (
    domain !== PROFILE_SEAL_DOMAIN ||
    !(ownerIn instanceof Uint8Array) ||
    !equalBytes(ownerIn, addressFromText(owner)) ||
    nameIn !== name ||
    !(raw instanceof Uint8Array)
  ) {
    throw new Error("the copy is another field's");
  }
  return fromUtf8(raw);
}

/** The owner's own copy of field `name`, opened; null when the profile has none. */
export function ownField(keypair: Keypair, profile: Profile | null, name: string): string | null {
  const grant = profile?.grants.find((g) => g.field === name && g.to === keypair.address);
  if (profile === null || grant === undefined) return null;
  return openField(keypair, profile.address, name, grant.sealed);
}
