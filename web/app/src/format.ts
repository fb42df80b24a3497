/** Amounts, heights, times and addresses as people read them. */
import { formatAmount, parseAmount, type Int } from "@agora/sdk";

import { symbol } from "./chain";
import { language } from "./i18n";

/** Base units as tokens with the token's symbol: `12500000` -> `12.5 AGR` (exact, grouped). */
export function tokens(minor: Int | undefined | null): string {
  if (minor === undefined || minor === null) return "—";
  const text = formatAmount(minor);
  const [whole = "0", fraction] = text.replace("-", "").split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const sign = text.startsWith("-") ? "-" : "";
  return `${sign}${grouped}${fraction === undefined ? "" : "." + fraction} ${symbol()}`;
}

/** An address shortened for tables: `agora1abcd…wxyz`. */
export function shortAddress(address: string): string {
  return address.length > 20 ? `${address.slice(0, 10)}…${address.slice(-6)}` : address;
}

export function shortHash(hash: string): string {
  return hash.length > 16 ? `${hash.slice(0, 10)}…${hash.slice(-6)}` : hash;
}

/** A block timestamp in the reader's language and time zone. */
export function time(ms: number): string {
  return new Date(ms).toLocaleString(language.get() === "zh" ? "zh-CN" : "en-GB");
}

/** Basis points as a percentage: `500` -> `5`. */
export function percent(bps: number): string {
  return (bps / 100).toFixed(bps % 100 === 0 ? 0 : 2);
}

/** A rating's average (x100) as `4.5`. */
export function stars(averageX100: number): string {
  return (averageX100 / 100).toFixed(1);
}

/** Tokens typed by a person ("12.5") as base units; null unless a positive amount. */
export function positiveAmount(text: string): bigint | null {
  try {
    const minor = parseAmount(text);
    return minor > 0n ? minor : null;
  } catch {
    return null;
  }
}

/** A whole number typed by a person, from `min` to `max`; null otherwise. */
export function wholeNumber(
  text: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | null {
  const n = Number(text);
  return Number.isInteger(n) && n >= min && n <= max ? n : null;
}
