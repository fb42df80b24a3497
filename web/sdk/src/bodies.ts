/**
 * Every transaction body type of the chain, with its fields in wire order and their limits
 * (the `TYPE = ...` classes of commerce/*.py). The cross-language vectors check this table
 * against the Python models field by field, so a divergence fails the SDK's tests.
 */
import { addressFromText, ADDRESS_BYTES } from "./address.js";
import { codePoints } from "./bytes.js";
import type { Value } from "./codec.js";
import { ValidationError } from "./errors.js";

/** An integer: a number when it is a safe integer, a bigint otherwise. */
export type Int = number | bigint;
/** A 20-byte address, or its `agora1...` text. */
export type AddressLike = Uint8Array | string;

/** The largest amount or price in base units (commerce.limits.MAX_AMOUNT_MINOR). */
export const MAX_AMOUNT_MINOR = 10n ** 18n;
/** The largest record id (listing, order, poll...). */
export const MAX_RECORD_ID = 2n ** 63n - 1n;
const MAX_U64 = 2n ** 64n - 1n;

/** One field's kind and limits (inclusive; text lengths in code points, bytes in bytes). */
export type FieldSpec =
  | { readonly kind: "int"; readonly min: bigint; readonly max: bigint }
  | { readonly kind: "text"; readonly min: number; readonly max?: number;
      readonly pattern?: string }
  | { readonly kind: "bytes"; readonly min: number; readonly max: number }
  | { readonly kind: "address" }
  | { readonly kind: "bool" }
  | { readonly kind: "choice"; readonly choices: readonly string[] }
  | { readonly kind: "list"; readonly min: number; readonly max: number;
      readonly item: FieldSpec };

/** A field: its name, spec and default (absent: required). */
export interface Field {
  readonly name: string;
  readonly spec: FieldSpec;
  readonly default?: Value;
}

const int = (min: bigint | number, max: bigint | number = MAX_U64): FieldSpec =>
  ({ kind: "int", min: BigInt(min), max: BigInt(max) });
const text = (min: number, max?: number, pattern?: string): FieldSpec => ({
  kind: "text", min, ...(max === undefined ? {} : { max }),
  ...(pattern === undefined ? {} : { pattern }),
});
const bytes = (min: number, max: number): FieldSpec => ({ kind: "bytes", min, max });
const record = int(1, MAX_RECORD_ID);
const amount = int(1, MAX_AMOUNT_MINOR);
const sealed = bytes(0, 1024);
const f = <N extends string>(name: N, spec: FieldSpec, fallback?: Value): Field & { name: N } =>
  fallback === undefined ? { name, spec } : { name, spec, default: fallback };

const listingFields = [
  f("title", text(1, 120)),
  f("description", text(0, 2000)),
  f("category", text(0, undefined, "^[a-z0-9][a-z0-9-]{0,31}$")),
  f("price", amount),
  f("stock", int(0, 1_000_000_000)),
  f("media", { kind: "list", min: 0, max: 8, item: bytes(32, 32) }),
  f("referral_bps", int(0, 5000)),
] as const;

/** The fields of every body type, in wire order. */
export const BODY_FIELDS = {
  transfer: [f("to", { kind: "address" }), f("amount", amount), f("memo", text(0, 256), "")],
  merchant_register: [f("name", text(1, 64)), f("profile", text(0, 1024), "")],
  merchant_vote: [
    f("merchant", { kind: "address" }),
    f("action", { kind: "choice", choices: ["approve", "suspend", "reinstate"] }),
  ],
  listing_create: listingFields,
  listing_update: [f("listing", record), f("version", record), ...listingFields],
  listing_delist: [f("listing", record)],
  share: [f("listing", record)],
  comment: [f("listing", record), f("parent", int(0)), f("text", text(1, 2000))],
  purchase: [
    f("listing", record), f("version", record), f("quantity", int(1, 10_000)),
    f("share", int(0), 0), f("delivery", sealed, new Uint8Array(0)),
  ],
  order_ship: [f("order", record), f("tracking", sealed, new Uint8Array(0))],
  order_confirm: [f("order", record)],
  order_cancel: [f("order", record)],
  order_refund: [f("order", record)],
  order_dispute: [f("order", record), f("reason", text(0, 500), "")],
  dispute_vote: [
    f("order", record), f("decision", { kind: "choice", choices: ["release", "refund"] }),
  ],
  review: [f("order", record), f("rating", int(1, 5)), f("text", text(0, 2000), "")],
  review_reply: [f("order", record), f("text", text(1, 2000))],
  poll_create: [
    f("question", text(1, 280)),
    f("options", { kind: "list", min: 2, max: 10, item: text(1, 80) }),
    f("scope", { kind: "choice", choices: ["merchant", "marketplace"] }),
    f("listing", int(0)),
    f("buyers_only", { kind: "bool" }),
    f("close_height", int(1)),
  ],
  poll_vote: [f("poll", record), f("option", int(0, 9))],
  reward_claim: [],
  validator_propose: [
    f("kind", { kind: "choice", choices: ["add", "remove", "rotate_key", "set_param"] }),
    f("key", bytes(0, 32), new Uint8Array(0)), f("name", text(0, 64), ""),
    f("p2p_address", text(0, 255), ""), f("merchant", bytes(0, 20), new Uint8Array(0)),
    f("param", text(0, 64), ""), f("value", int(0, MAX_RECORD_ID), 0),
    f("signature", bytes(0, 64), new Uint8Array(0)),
  ],
  validator_vote: [f("proposal", record), f("vote", { kind: "choice", choices: ["yes", "no"] })],
  validator_withdraw: [f("proposal", record)],
  team_offer_set: [
    f("listing", record), f("size", int(2, 20)), f("price", amount),
    f("quantity", int(1, 10_000)), f("window_blocks", int(1, 1_000_000)),
  ],
  team_offer_end: [f("listing", record)],
  team_open: [
    f("listing", record), f("version", record), f("share", int(0), 0),
    f("delivery", sealed, new Uint8Array(0)),
  ],
  team_join: [f("team", record), f("share", int(0), 0), f("delivery", sealed, new Uint8Array(0))],
  campaign_create: [
    f("listing", int(0)), f("discount_fixed", int(0, MAX_AMOUNT_MINOR)),
    f("discount_bps", int(0, 10_000)), f("discount_cap", int(0, MAX_AMOUNT_MINOR)),
    f("min_spend", int(0, MAX_AMOUNT_MINOR)), f("per_account", int(1, 1000)),
    f("total_count", int(1, 10_000_000)), f("start_height", int(0, MAX_RECORD_ID)),
    f("end_height", int(0, MAX_RECORD_ID)), f("budget", amount),
  ],
  campaign_close: [f("campaign", record)],
  coupon_purchase: [
    f("listing", record), f("version", record), f("quantity", int(1, 10_000)),
    f("share", int(0), 0), f("delivery", sealed, new Uint8Array(0)), f("campaign", record),
  ],
  flash_sale_set: [
    f("listing", record), f("price", amount), f("stock", int(0, 1_000_000_000)),
    f("start_height", int(0, MAX_RECORD_ID)), f("end_height", int(0, MAX_RECORD_ID)),
  ],
  profile_set: [
    f("version", int(0, 2n ** 32n - 2n)), f("display_name", text(0, 64)),
    f("avatar", bytes(0, 32)), f("bio", text(0, 280)),
    f("fields", { kind: "list", min: 0, max: 8,
                  item: text(0, undefined, "^[a-z][a-z0-9_-]{0,31}$") }),
    f("grant_field", { kind: "list", min: 0, max: 32, item: int(0, 7) }),
    f("grant_to", { kind: "list", min: 0, max: 32, item: { kind: "address" } }),
    f("grant_sealed", { kind: "list", min: 0, max: 32, item: bytes(49, 400) }),
  ],
  follow: [f("account", { kind: "address" })],
  unfollow: [f("account", { kind: "address" })],
  listing_media_set: [
    f("listing", record), f("version", record),
    f("media", { kind: "list", min: 0, max: 8, item: bytes(32, 32) }),
  ],
} as const satisfies Record<string, readonly Field[]>;

/** The name of a transaction type. */
export type TxType = keyof typeof BODY_FIELDS;
/** Every transaction type, in the table's order. */
export const TX_TYPES = Object.keys(BODY_FIELDS) as TxType[];

interface ListingFields {
  title: string;
  description: string;
  /** 1-32 of a-z, 0-9 and "-", not starting with "-". */
  category: string;
  /** Price in base units (1 token = 1 000 000). */
  price: Int;
  stock: Int;
  /** SHA-256 hashes of the media, at most 8. */
  media: readonly Uint8Array[];
  /** The sharer's commission in basis points of the total (at most the chain's maximum). */
  referral_bps: Int;
}

/** The fields of a purchase (`purchase`, and `coupon_purchase` before its campaign). */
interface PurchaseFields {
  listing: Int;
  /** The listing's current version: the price and terms the buyer saw. */
  version: Int;
  quantity: Int;
  /** The share (record id) that brought the buyer, credited to its sharer; 0: none. */
  share?: Int;
  /** The delivery note sealed to the merchant's key (`seal`). */
  delivery?: Uint8Array;
}

/** The body of each transaction type: its fields by name (optional ones have defaults). */
export interface Bodies {
  transfer: { to: AddressLike; amount: Int; memo?: string };
  merchant_register: { name: string; profile?: string };
  merchant_vote: { merchant: AddressLike; action: "approve" | "suspend" | "reinstate" };
  listing_create: ListingFields;
  listing_update: { listing: Int; version: Int } & ListingFields;
  listing_delist: { listing: Int };
  share: { listing: Int };
  comment: { listing: Int; parent: Int; text: string };
  purchase: PurchaseFields;
  order_ship: { order: Int; tracking?: Uint8Array };
  order_confirm: { order: Int };
  order_cancel: { order: Int };
  order_refund: { order: Int };
  order_dispute: { order: Int; reason?: string };
  dispute_vote: { order: Int; decision: "release" | "refund" };
  review: { order: Int; rating: Int; text?: string };
  review_reply: { order: Int; text: string };
  poll_create: {
    question: string; options: readonly string[]; scope: "merchant" | "marketplace";
    listing: Int; buyers_only: boolean; close_height: Int;
  };
  poll_vote: { poll: Int; option: Int };
  reward_claim: Record<never, never>;
  /** A validator's proposal. add: `key`, `name`, `p2p_address`, optional `merchant`;
   * remove: `key`; rotate_key: `key` (the new key) and `signature` (by the new key over the
   * rotation message), sent by the old key; set_param: `param` and `value`. Fields a kind
   * does not use stay empty (0 for `value`). */
  validator_propose: {
    kind: "add" | "remove" | "rotate_key" | "set_param";
    /** An Ed25519 public key (32 bytes). */
    key?: Uint8Array; name?: string; p2p_address?: string;
    /** The merchant address (20 bytes) the new validator acts for, or empty. */
    merchant?: Uint8Array; param?: string; value?: Int;
    /** The new key's Ed25519 signature (64 bytes) of a key rotation. */
    signature?: Uint8Array;
  };
  /** A validator's vote on an open proposal. */
  validator_vote: { proposal: Int; vote: "yes" | "no" };
  /** The proposer withdraws its open proposal. */
  validator_withdraw: { proposal: Int };
  /** A team offer on `listing` (replacing any): `size` seats of `quantity` units at `price`
   * per unit (base units), filled within `window_blocks` of a team's opening. */
  team_offer_set: { listing: Int; size: Int; price: Int; quantity: Int; window_blocks: Int };
  /** End `listing`'s team offer: no new teams; open ones run their course. */
  team_offer_end: { listing: Int };
  /** Open a team on `listing` at `version` and pay the first seat. */
  team_open: { listing: Int; version: Int; share?: Int; delivery?: Uint8Array };
  /** Take a seat in `team` and pay it. */
  team_join: { team: Int; share?: Int; delivery?: Uint8Array };
  /** A coupon campaign funded with `budget` from the merchant's balance: exactly one of
   * `discount_fixed` (base units) and `discount_bps` is above 0; `discount_cap` caps a bps
   * discount (0 with a fixed one); `listing` 0 means any of the merchant's. */
  campaign_create: {
    listing: Int; discount_fixed: Int; discount_bps: Int; discount_cap: Int; min_spend: Int;
    per_account: Int; total_count: Int; start_height: Int; end_height: Int; budget: Int;
  };
  /** Close an open campaign of the sender's: what is left of its budget returns. */
  campaign_close: { campaign: Int };
  /** A purchase with a coupon of `campaign`: the buyer pays the total less the discount. */
  coupon_purchase: PurchaseFields & { campaign: Int };
  /** A flash sale of `listing` (replacing any): `price` per unit in blocks
   * start_height..end_height-1 for at most `stock` units; `stock` 0 ends the sale. */
  flash_sale_set: {
    listing: Int; price: Int; stock: Int; start_height: Int; end_height: Int;
  };
  /** A new version of the sender's profile, replacing `version` (0 for the first).
   * `fields` are the private field names (sorted, unique); grant `i` is field
   * `grant_field[i]` sealed to account `grant_to[i]` as `grant_sealed[i]`, sorted by
   * (field, recipient), one per pair. */
  profile_set: {
    version: Int; display_name: string;
    /** SHA-256 of the avatar image (32 bytes), or empty. */
    avatar: Uint8Array; bio: string; fields: readonly string[];
    grant_field: readonly Int[]; grant_to: readonly AddressLike[];
    grant_sealed: readonly Uint8Array[];
  };
  /** Follow `account` (a merchant or any account that holds the reserve). */
  follow: { account: AddressLike };
  /** Stop following `account`. */
  unfollow: { account: AddressLike };
  /** A new version of `listing` (replacing `version`, the current one) whose media are
   * `media` (SHA-256 hashes, at most 8, in display order). */
  listing_media_set: { listing: Int; version: Int; media: readonly Uint8Array[] };
}

// Compile-time check: each body type's fields are exactly the names of its BODY_FIELDS row.
type FieldNames<K extends TxType> = (typeof BODY_FIELDS)[K][number]["name"];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const fieldNamesMatch: { [K in TxType]: Same<FieldNames<K>, keyof Bodies[K]> } = {
  transfer: true, merchant_register: true, merchant_vote: true, listing_create: true,
  listing_update: true, listing_delist: true, share: true, comment: true, purchase: true,
  order_ship: true, order_confirm: true, order_cancel: true, order_refund: true,
  order_dispute: true, dispute_vote: true, review: true, review_reply: true,
  poll_create: true, poll_vote: true, reward_claim: true, validator_propose: true,
  validator_vote: true, validator_withdraw: true, team_offer_set: true, team_offer_end: true,
  team_open: true, team_join: true, campaign_create: true, campaign_close: true,
  coupon_purchase: true, flash_sale_set: true, profile_set: true, follow: true,
  unfollow: true, listing_media_set: true,
};
void fieldNamesMatch;

/** A transaction body tagged with its type: `{ type: "transfer", to, amount }`. */
export type TxBody = { [K in TxType]: { type: K } & Bodies[K] }[TxType];

function fail(where: string, reason: "field_invalid" | "field_too_long" | "amount_out_of_range",
              message: string): never {
  throw new ValidationError(reason, `${where}: ${message}`);
}

function checkValue(where: string, name: string, spec: FieldSpec, value: unknown,
                    wire = false): Value {
  switch (spec.kind) {
    case "int": {
      if ((typeof value !== "number" || !Number.isSafeInteger(value))
          && typeof value !== "bigint") {
        fail(where, "field_invalid", "Input should be a valid integer");
      }
      const number = BigInt(value);
      if (number < spec.min || number > spec.max) {
        const reason = name.includes("amount") ? "amount_out_of_range" : "field_invalid";
        fail(where, reason, `Input should be from ${spec.min} to ${spec.max}`);
      }
      return value;
    }
    case "text": {
      if (typeof value !== "string") fail(where, "field_invalid", "Input should be a string");
      const size = codePoints(value);
      if (spec.max !== undefined && size > spec.max) {
        fail(where, "field_too_long", `at most ${spec.max} characters`);
      }
      if (size < spec.min) fail(where, "field_invalid", `at least ${spec.min} characters`);
      if (spec.pattern !== undefined && !new RegExp(spec.pattern).test(value)) {
        fail(where, "field_invalid", `should match pattern '${spec.pattern}'`);
      }
      return value;
    }
    case "bytes": {
      if (!(value instanceof Uint8Array)) fail(where, "field_invalid", "Input should be bytes");
      if (value.length > spec.max) fail(where, "field_too_long", `at most ${spec.max} bytes`);
      if (value.length < spec.min) fail(where, "field_invalid", `at least ${spec.min} bytes`);
      return value;
    }
    case "address": {
      const data = typeof value === "string" && !wire ? addressFromText(value) : value;
      if (!(data instanceof Uint8Array)) {
        fail(where, "field_invalid", "an address is 20 bytes or agora1... text");
      }
      if (data.length > ADDRESS_BYTES) fail(where, "field_too_long", "an address is 20 bytes");
      if (data.length < ADDRESS_BYTES) fail(where, "field_invalid", "an address is 20 bytes");
      return data;
    }
    case "bool":
      if (typeof value !== "boolean") fail(where, "field_invalid", "Input should be a boolean");
      return value;
    case "choice":
      if (typeof value !== "string" || !spec.choices.includes(value)) {
        fail(where, "field_invalid", `Input should be one of ${spec.choices.join(", ")}`);
      }
      return value;
    case "list": {
      if (!Array.isArray(value)) fail(where, "field_invalid", "Input should be a list");
      if (value.length > spec.max) fail(where, "field_too_long", `at most ${spec.max} items`);
      if (value.length < spec.min) fail(where, "field_invalid", `at least ${spec.min} items`);
      return value.map((item, index) =>
        checkValue(`${where}.${index}`, name, spec.item, item as unknown, wire));
    }
  }
}

/** The body's fields as the wire array, checked against the type's limits; throws
 * ValidationError (unknown_type, field_invalid, field_too_long, amount_out_of_range). */
export function bodyToArray(body: TxBody): Value[] {
  const fields = (BODY_FIELDS as Record<string, readonly Field[]>)[body?.type];
  if (fields === undefined || !Object.hasOwn(BODY_FIELDS, body.type)) {
    throw new ValidationError("unknown_type", `unknown transaction type ${String(body?.type)}`);
  }
  const given = body as unknown as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (key !== "type" && !fields.some((field) => field.name === key)) {
      fail(`${body.type}.${key}`, "field_invalid", "Extra inputs are not permitted");
    }
  }
  return fields.map((field) => {
    const where = `${body.type}.${field.name}`;
    let value = given[field.name];
    if (value === undefined) {
      if (field.default === undefined) fail(where, "field_invalid", "Field required");
      value = field.default;
    }
    return checkValue(where, field.name, field.spec, value);
  });
}

/** The body of a decoded wire array: `{ type, ...fields }`, checked like `bodyToArray`;
 * ValidationError(malformed) when the field count is wrong. */
export function bodyFromArray(type: string, values: Value): TxBody {
  const fields = (BODY_FIELDS as Record<string, readonly Field[]>)[type];
  if (fields === undefined || !Object.hasOwn(BODY_FIELDS, type)) {
    throw new ValidationError("unknown_type", `unknown transaction type '${type}'`);
  }
  if (!Array.isArray(values) || values.length !== fields.length) {
    throw new ValidationError("malformed", `${type} body needs ${fields.length} fields`);
  }
  const body: Record<string, unknown> = { type };
  fields.forEach((field, index) => {
    body[field.name] = checkValue(`${type}.${field.name}`, field.name, field.spec,
                                  (values as readonly Value[])[index], true);
  });
  return body as unknown as TxBody;
}
