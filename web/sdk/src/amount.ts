/** Token amounts: integers in base units (6 decimals); exact text parsing and printing
 * (commerce/amount.py). */
import { ValidationError } from "./errors.js";
import { MAX_AMOUNT_MINOR, type Int } from "./bodies.js";

/** The token's decimals: 1 token = 1 000 000 base units. */
export const DECIMALS = 6;
/** Base units in one token. */
export const UNIT = 10n ** BigInt(DECIMALS);
const AMOUNT = /^(\d{1,13})(?:\.(\d{1,6}))?$/;

/** Parse `12.5`-style text into base units exactly (a bigint); ValidationError(bad_amount),
 * or amount_out_of_range over the chain's maximum. */
export function parseAmount(text: string): bigint {
  const match = typeof text === "string" ? AMOUNT.exec(text.trim()) : null;
  if (match === null) {
    throw new ValidationError("bad_amount",
      `'${String(text)}' is not a decimal with at most ${DECIMALS} places`);
  }
  const minor = BigInt(match[1]!) * UNIT + BigInt((match[2] ?? "").padEnd(DECIMALS, "0"));
  if (minor > MAX_AMOUNT_MINOR) {
    throw new ValidationError("amount_out_of_range", `${text} is over the maximum amount`);
  }
  return minor;
}

/** Print base units as the shortest exact decimal (`12500000` -> `12.5`). */
export function formatAmount(minor: Int): string {
  let value = BigInt(minor);
  const sign = value < 0n ? "-" : "";
  if (value < 0n) value = -value;
  const whole = value / UNIT;
  const frac = value % UNIT;
  if (frac === 0n) return `${sign}${whole}`;
  return `${sign}${whole}.${frac.toString().padStart(DECIMALS, "0").replace(/0+$/, "")}`;
}
