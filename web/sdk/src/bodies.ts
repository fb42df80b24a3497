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
  purchase: { listing: Int; version: Int; quantity: Int; share?: Int; delivery?: Uint8Array };
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
}

// Compile-time check: each body type's fields are exactly the names of its BODY_FIELDS row.
type FieldNames<K extends TxType> = (typeof BODY_FIELDS)[K][number]["name"];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const fieldNamesMatch: { [K in TxType]: Same<FieldNames<K>, keyof Bodies[K]> } = {
  transfer: true, merchant_register: true, merchant_vote: true, listing_create: true,
  listing_update: true, listing_delist: true, share: true, comment: true, purchase: true,
  order_ship: true, order_confirm: true, order_cancel: true, order_refund: true,
  order_dispute: true, dispute_vote: true, review: true, review_reply: true,
  poll_create: true, poll_vote: true, reward_claim: true,
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
