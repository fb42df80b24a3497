/**
 * What every way of buying shares (a purchase, a coupon purchase, opening or joining a
 * team): the delivery details sealed to the merchant's key in this browser, the referral
 * share the buyer came through, and what the chain will charge (a flash sale's price, a
 * coupon's discount) computed as commerce/pricing.py and commerce/promotions.py do, so
 * the words shown before signing match what the block does.
 */
import {
  fromHex,
  seal,
  utf8,
  type Campaign,
  type FlashSale,
  type Merchant,
  type Share,
} from "@agora/sdk";

import { percent } from "./format";
import { t } from "./i18n";

/** A sealed note is at most 1024 bytes; sealing adds 48. */
export const MAX_DELIVERY_BYTES = 1024 - 48;
const BPS = 10_000n;
const SHARES_KEY = "agora.shares.v1";

/** The delivery details sealed to `merchant`, empty bytes when there are none, null when
 * they are too long. */
export function sealDelivery(merchant: Merchant, text: string): Uint8Array | null {
  const bytes = utf8(text.trim());
  if (bytes.length > MAX_DELIVERY_BYTES) return null;
  return bytes.length > 0 ? seal(fromHex(merchant.public_key), bytes) : new Uint8Array();
}

/** The closing lines of a payment in words: where the delivery details go, and the
 * referral share it credits (0: none) at `referralBps`. */
export function paymentLines(
  merchant: Merchant,
  sealed: Uint8Array,
  credited: number,
  referralBps: number,
): string[] {
  const lines = [
    sealed.length > 0 ? t("descSealed", { merchant: merchant.name }) : t("descNoDelivery"),
  ];
  if (credited) lines.push(t("descViaShare", { share: credited, pct: percent(referralBps) }));
  return lines;
}

/** The share to credit: the one the buyer came through when it is for this listing and
 * not the buyer's own; 0 otherwise (the chain would refuse it). */
export function creditedShare(share: Share | null, listing: number, buyer: string): number {
  return share !== null && share.listing === listing && share.sharer !== buyer ? share.id : 0;
}

/** My share ids, by `address:listing` (the chain has no lookup by sharer). */
export function savedShares(): Record<string, number> {
  try {
    return JSON.parse(localStorage.getItem(SHARES_KEY) ?? "{}") as Record<string, number>;
  } catch {
    return {};
  }
}

export function saveShare(address: string, listing: number, share: number): Record<string, number> {
  const next = { ...savedShares(), [`${address}:${listing}`]: share };
  localStorage.setItem(SHARES_KEY, JSON.stringify(next));
  return next;
}

/** Whether a purchase of `quantity` in the next block pays the flash price. */
export function flashApplies(
  sale: FlashSale | null,
  nextHeight: number,
  quantity: number,
  price: number,
): sale is FlashSale {
  return (
    sale !== null &&
    sale.start_height <= nextHeight &&
    nextHeight < sale.end_height &&
    sale.sold + quantity <= sale.stock &&
    sale.price < price
  );
}

/** A coupon's discount on `total` (never more than the total). */
export function discountOf(campaign: Campaign, total: bigint): bigint {
  const fixed = BigInt(campaign.discount_fixed);
  if (fixed > 0n) return fixed < total ? fixed : total;
  const byBps = (total * BigInt(campaign.discount_bps)) / BPS;
  const cap = BigInt(campaign.discount_cap);
  const lower = byBps < cap ? byBps : cap;
  return lower < total ? lower : total;
}

/** Why a coupon does not apply to `total` of `listing` in the next block, or null. */
export function couponProblem(
  campaign: Campaign,
  listing: number,
  nextHeight: number,
  total: bigint,
): "inactive" | "mismatch" | "minSpend" | "exhausted" | null {
  if (
    campaign.status !== "open" ||
    nextHeight < campaign.start_height ||
    nextHeight >= campaign.end_height
  ) {
    return "inactive";
  }
  if (campaign.listing !== 0 && campaign.listing !== listing) return "mismatch";
  if (total < BigInt(campaign.min_spend)) return "minSpend";
  if (
    campaign.used_count >= campaign.total_count ||
    discountOf(campaign, total) > BigInt(campaign.budget)
  ) {
    return "exhausted";
  }
  return null;
}
