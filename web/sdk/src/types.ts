/**
 * The results of the node's read methods, as docs/RPC.md documents them. Amounts are
 * integers in base units with a `<name>_decimal` sibling in tokens; addresses are
 * `agora1...` text; ids and hashes are lower-case hex.
 */
import type { BlockHeader } from "./block.js";

/** The statuses of an order, as the node names them (commerce/schema.py). */
export const ORDER_STATUSES = [
  "paid", "shipped", "disputed", "completed", "refunded", "cancelled",
] as const;
/** An order's status. */
export type OrderStatus = (typeof ORDER_STATUSES)[number];
/** The statuses of a merchant. */
export const MERCHANT_STATUSES = ["pending", "approved", "suspended"] as const;
/** A merchant's status. */
export type MerchantStatus = (typeof MERCHANT_STATUSES)[number];

/** `node_status`. */
export interface NodeStatus {
  chain_id: string;
  token_symbol: string;
  genesis_hash: string;
  moniker: string;
  node_id: string;
  validator: boolean;
  version: string;
  height: number;
  latest_block_hash: string;
  state_root: string;
  view: number;
  primary: string;
  view_changes: number;
  catching_up: boolean;
  peers: number;
  mempool_txs: number;
  mempool_bytes: number;
  rpc_port: number;
  p2p_port: number;
}

/** One entry of `node_peers`. */
export interface Peer {
  id: string;
  address: string;
  direction: "inbound" | "outbound";
  since_ms: number;
  bytes_in: number;
  bytes_out: number;
  messages_in: number;
  messages_out: number;
}

/** One event of a receipt (docs/COMMERCE.md names the kinds and their data). */
export interface TxEvent {
  kind: string;
  addresses: string[];
  data: unknown[];
  /** The data by name, with `<name>_decimal` siblings of amounts. */
  fields: Record<string, unknown>;
}

/** A transaction as the node renders it (decoded body; bytes as hex). */
export interface TxView {
  id: string;
  type: string;
  chain_id: string;
  sender: string;
  sender_public_key: string;
  nonce: number;
  body: Record<string, unknown>;
  signature: string;
  size_bytes: number;
}

/** A block header with its hash, as `chain_getBlock` and `newBlocks` render it. */
export interface HeaderView extends BlockHeader {
  hash: string;
}

/** `chain_getBlock` / `chain_getBlockByHash`: `txs` are views, or ids with `full_txs: false`. */
export interface BlockView<T = TxView | string> {
  header: HeaderView;
  tx_count: number;
  txs: T[];
  /** The commit certificate (hex): `decodeCertificate` / `verifyCertificate` read it. */
  certificate: string;
  /** End-of-block events (order auto-release, poll closing). */
  end_events: TxEvent[];
}

/** `chain_getCertificate`. */
export interface CertificateView {
  height: number;
  block_hash: string;
  certificate: string;
}

/** `chain_getTransaction`: finalized (with block and receipt) or pending. */
export interface TxLookup {
  status: "finalized" | "pending";
  height?: number;
  index?: number;
  block_hash?: string;
  tx: TxView;
  events?: TxEvent[];
}

/** One validator of `chain_getValidators`. */
export interface Validator {
  index: number;
  name: string;
  public_key: string;
  address: string;
}

/** `tx_submit`'s answer. */
export interface SubmitResult {
  id: string;
  status: "admitted" | "finalized";
  height?: number;
  index?: number;
  events?: TxEvent[];
}

/** `tx_simulate`'s answer. */
export interface SimulateResult {
  id: string;
  ok: boolean;
  events: TxEvent[];
}

/** One entry of `tx_submitBatch`'s answer. */
export type BatchEntry =
  | { ok: true; id: string }
  | { ok: false; reason: string; message: string; code: number };

/** `state_getAccount`: sign the next transaction with `pending_nonce`. */
export interface Account {
  address: string;
  balance: number;
  balance_decimal: string;
  nonce: number;
  pending_nonce: number;
}

/** A rating aggregate: `average_x100` is the mean times 100 (integer). */
export interface Rating {
  sum: number;
  count: number;
  average_x100: number;
}

/** `state_getMerchant`. */
export interface Merchant {
  address: string;
  public_key: string;
  name: string;
  profile: string;
  status: MerchantStatus;
  votes: number;
  registered_height: number;
  status_height: number;
  listings_count: number;
  orders_completed: number;
  rating: Rating;
}

/** `state_getListing`: the listing with one of its versions. */
export interface Listing {
  id: number;
  merchant: string;
  active: boolean;
  stock: number;
  current_version: number;
  version: number;
  title: string;
  description: string;
  category: string;
  price: number;
  price_decimal: string;
  version_stock: number;
  media: string[];
  referral_bps: number;
  version_height: number;
  created_height: number;
  sold_quantity: number;
  rating: Rating;
}

/** `state_getOrder`; `delivery` and `tracking` are the sealed notes as hex. */
export interface Order {
  id: number;
  buyer: string;
  merchant: string;
  listing: number;
  version: number;
  quantity: number;
  unit_price: number;
  unit_price_decimal: string;
  total: number;
  total_decimal: string;
  share: number;
  sharer: string | null;
  referral_bps: number;
  status: OrderStatus;
  created_height: number;
  delivery: string;
  shipped_height: number;
  tracking: string;
  dispute_reason: string;
  votes_release: number;
  votes_refund: number;
  due_height: number;
  closed_height: number;
  commission: number;
  commission_decimal: string;
}

/** `state_getReview`. */
export interface Review {
  order: number;
  listing: number;
  merchant: string;
  author: string;
  rating: number;
  text: string;
  height: number;
  reply: string;
  reply_height: number;
}

/** `state_getRewards`. */
export interface Rewards {
  address: string;
  accrued: number;
  accrued_decimal: string;
  claimed: number;
  claimed_decimal: string;
  comment_epoch: number;
  comment_count: number;
}

/** `state_getShare`. */
export interface Share {
  id: number;
  listing: number;
  sharer: string;
  height: number;
  orders_completed: number;
  commission_earned: number;
  commission_earned_decimal: string;
}

/** `state_getComment`. */
export interface Comment {
  id: number;
  listing: number;
  author: string;
  parent: number;
  depth: number;
  text: string;
  height: number;
  replies: number;
}

/** `state_getPoll`. */
export interface Poll {
  id: number;
  creator: string;
  merchant: string;
  listing: number;
  question: string;
  options: string[];
  buyers_only: boolean;
  close_height: number;
  created_height: number;
  tallies: number[];
  voters: number;
}

/** `state_getSupply`: total = genesis + minted = circulating + escrow. */
export interface Supply {
  genesis: number;
  genesis_decimal: string;
  minted: number;
  minted_decimal: string;
  escrow: number;
  escrow_decimal: string;
  total: number;
  total_decimal: string;
  circulating: number;
  circulating_decimal: string;
}

/** One page of a `state_list*` method: pass `next` back as `cursor` to continue. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** Paging params of every `state_list*` method. */
export interface PageParams {
  limit?: number;
  cursor?: string;
}

/** A `newBlocks` notification: the header and its transaction count. */
export interface NewBlock extends HeaderView {
  tx_count: number;
}

/** A `tx` notification. */
export interface TxUpdate {
  id: string;
  status: "admitted" | "finalized" | "dropped";
  height?: number;
  index?: number;
  events?: TxEvent[];
  reason?: string;
}

/** An `account` notification. */
export interface AccountUpdate {
  address: string;
  tx?: string;
  height: number;
  type?: string;
  [key: string]: unknown;
}

/** The topics of `subscribe` and what each notifies. */
export interface Topics {
  newBlocks: NewBlock;
  tx: TxUpdate;
  account: AccountUpdate;
}

// Round 2: group buying, promotions, profiles and follows, listing media (docs/RPC.md).

/** A team's status: open until full (filled) or its deadline passes (expired). */
export type TeamStatus = "open" | "filled" | "expired";

/** `state_getTeamOffer`: a listing's team offer (`price` per unit, `quantity` per seat). */
export interface TeamOffer {
  listing: number;
  size: number;
  price: number;
  price_decimal: string;
  quantity: number;
  window_blocks: number;
  set_height: number;
  active: boolean;
  open_teams: number;
  teams_filled: number;
  teams_expired: number;
}

/** One member of a team: its address and the share it came through (0: none). */
export interface TeamMember {
  address: string;
  share: number;
}

/** `state_getTeam`: `deadline` is the height at whose end an unfilled team expires. */
export interface Team {
  id: number;
  listing: number;
  version: number;
  merchant: string;
  status: TeamStatus;
  size: number;
  seats_left: number;
  price: number;
  price_decimal: string;
  quantity: number;
  paid_each: number;
  paid_each_decimal: string;
  reserved: number;
  referral_bps: number;
  created_height: number;
  deadline: number;
  closed_height: number;
  members: TeamMember[];
  orders: number[];
}

/** `state_getCampaign`: a coupon campaign; `budget` is what is left to pay discounts. */
export interface Campaign {
  id: number;
  merchant: string;
  /** 0: any of the merchant's listings. */
  listing: number;
  status: "open" | "closed" | "ended";
  discount_fixed: number;
  discount_bps: number;
  discount_cap: number;
  min_spend: number;
  per_account: number;
  total_count: number;
  used_count: number;
  start_height: number;
  end_height: number;
  funded_budget: number;
  budget: number;
  paid_out_budget: number;
  returned_budget: number;
  created_height: number;
  closed_height: number;
}

/** `state_getFlashSale`: `price` in blocks `start_height`..`end_height` - 1, `stock` units. */
export interface FlashSale {
  listing: number;
  price: number;
  price_decimal: string;
  stock: number;
  sold: number;
  start_height: number;
  end_height: number;
  set_height: number;
}

/** `state_getOrderDiscount`. */
export interface OrderDiscount {
  order: number;
  campaign: number;
  discount: number;
  discount_decimal: string;
}

/** One sealed copy of a private profile field. */
export interface ProfileGrant {
  field: string;
  to: string;
  /** The sealed copy (hex). */
  sealed: string;
}

/** `state_getProfile`: public fields, the private fields' recipients and sealed copies. */
export interface Profile {
  address: string;
  version: number;
  height: number;
  display_name: string;
  /** SHA-256 (hex) of the avatar blob, or "". */
  avatar: string;
  bio: string;
  fields: { name: string; recipients: string[] }[];
  grants: ProfileGrant[];
  following: number;
  followers: number;
}

/** `state_getDisclosed`: the fields of `owner` sealed to `recipient`. */
export interface Disclosed {
  owner: string;
  recipient: string;
  version: number;
  height: number;
  fields: { name: string; sealed: string }[];
}

/** `state_getSocial`. */
export interface Social {
  address: string;
  following: number;
  followers: number;
  feed_entries: number;
  profile_version: number;
}

/** One entry of `state_listFollowing` / `state_listFollowers`. */
export interface FollowEntry {
  address: string;
  height?: number;
}

/** One entry of a feed (`state_getFeed`, `state_listActivity`); the rest by `kind`. */
export interface FeedEntry {
  entry: number;
  author: string;
  kind: "listing" | "price" | "review" | "share" | "team" | string;
  height: number;
  listing?: number;
  version?: number;
  price?: number;
  previous_price?: number;
  order?: number;
  rating?: number;
  share?: number;
  team?: number;
  [key: string]: unknown;
}

/** A blob's description (`media_getBlob`, the answer of an upload). */
export interface BlobInfo {
  sha256: string;
  url: string;
  bytes?: number;
  content_type?: string;
  width?: number;
  height?: number;
  owner?: string;
  stored_ms?: number;
  source?: string;
  /** Whether this node holds the bytes. */
  stored?: boolean;
  referenced?: boolean;
}

/** `media_getListingMedia`: a listing version's pictures. */
export interface ListingMedia {
  listing: number;
  version: number;
  current_version: number;
  merchant: string;
  media: BlobInfo[];
}
