/**
 * The JSON-RPC client of an Agora node over HTTP (fetch) and WebSocket (subscriptions),
 * the twin of the Python `client.rpc` (docs/RPC.md, docs/SDK.md).
 *
 *     const node = new RpcClient("http://127.0.0.1:26657");
 *     const status = await node.status();
 *     const socket = await node.websocket();
 *     const blocks = await socket.subscribe("newBlocks");
 *     for await (const header of blocks) console.log(header.height);
 *
 * An error answer throws `RpcCallError` (code, reason, message, data); a transport failure
 * (refused connection, non-JSON answer, timeout) throws `RpcTransportError`. Both derive
 * from `RpcClientError`, the one type a program has to catch.
 */
import {
  DEFAULT_TIMEOUT_MS, RpcCallError, RpcTransportError, dropUndefined, type Params, type Response,
  resultOf, websocketUrl,
} from "./jsonrpc.js";
import { blobName, uploadHeaders } from "./blobs.js";
import type { Keypair } from "./keys.js";
import type {
  Account, BatchEntry, BlobInfo, BlockView, Campaign, CertificateView, Comment, Disclosed,
  FeedEntry, FlashSale, FollowEntry, Listing, ListingMedia, Merchant, MerchantStatus,
  NodeStatus, Order, OrderDiscount, OrderStatus, Page, PageParams, Peer, Poll, Profile, Review,
  Rewards, Share, SimulateResult, Social, SubmitResult, Supply, Team, TeamOffer, Topics,
  TxLookup, TxView, Validator,
} from "./types.js";
import { RpcWebSocket, type Subscription, type WebSocketFactory } from "./websocket.js";

/** Options of an `RpcClient`. */
export interface RpcOptions {
  /** Per call, in ms (default 30 s; `tx_submit` waiting for finality gets its own). */
  timeoutMs?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** The WebSocket constructor (default: the global one). */
  WebSocket?: WebSocketFactory;
}

/** JSON-RPC over HTTP POST to `url`; `websocket()` opens the `/ws` beside it. */
export class RpcClient {
  readonly url: string;
  readonly timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #WebSocket: WebSocketFactory | undefined;
  #nextId = 1;

  constructor(url: string, options: RpcOptions = {}) {
    this.url = url;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const fetcher = options.fetch ?? globalThis.fetch;
    this.#fetch = fetcher.bind(globalThis);
    this.#WebSocket = options.WebSocket
      ?? (globalThis as { WebSocket?: WebSocketFactory }).WebSocket;
  }

  /** POST one message (object or array); the decoded answer, or null for HTTP 204. */
  async post(message: unknown, timeoutMs: number = this.timeoutMs): Promise<unknown> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let status = 0;
    let text: string;
    try {
      const response = await this.#fetch(this.url, {
        method: "POST", body: JSON.stringify(message), signal: controller.signal,
        headers: { "Content-Type": "application/json" },
      });
      status = response.status;
      if (status === 204) return null;
      text = await response.text();
    } catch (error) {
      if (controller.signal.aborted) {
        throw new RpcTransportError(`${this.url} did not answer within ${timeoutMs} ms`,
                                    true);
      }
      throw new RpcTransportError(`cannot reach ${this.url}: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new RpcTransportError(
        `HTTP ${status} from ${this.url} is not JSON: ${JSON.stringify(text.slice(0, 100))}`);
    }
  }

  /** Call `method` with named params; its result, or RpcCallError. */
  async call<T = unknown>(method: string, params: Params = {},
                          timeoutMs: number = this.timeoutMs): Promise<T> {
    const request = { jsonrpc: "2.0", method, params: dropUndefined(params), id: this.#nextId++ };
    return resultOf(await this.post(request, timeoutMs)) as T;
  }

  /** Send a notification (no answer is expected or read). */
  async notify(method: string, params: Params = {}): Promise<void> {
    await this.post({ jsonrpc: "2.0", method, params: dropUndefined(params) });
  }

  /** One batch; each entry is the call's result or its RpcCallError, in call order. */
  async batch(calls: readonly (readonly [string, Params?])[]): Promise<unknown[]> {
    if (calls.length === 0) return [];
    const requests = calls.map(([method, params]) => ({
      jsonrpc: "2.0", method, params: dropUndefined(params ?? {}), id: this.#nextId++,
    }));
    const answer = await this.post(requests);
    if (!Array.isArray(answer)) {
      resultOf(answer);
      throw new RpcTransportError("a batch answered with a result object");
    }
    const byId = new Map<unknown, unknown>();
    for (const item of answer) {
      if (typeof item === "object" && item !== null) byId.set((item as Response).id, item);
    }
    return requests.map((request) => {
      const response = byId.get(request.id);
      if (response === undefined) {
        throw new RpcTransportError(`the batch answer lacks call ${request.id}`);
      }
      try {
        return resultOf(response);
      } catch (error) {
        if (error instanceof RpcCallError) return error;
        throw error;
      }
    });
  }

  /** Open the WebSocket beside this address (for subscriptions). */
  async websocket(): Promise<RpcWebSocket> {
    if (this.#WebSocket === undefined) {
      throw new RpcTransportError("no WebSocket here: pass one in the client's options");
    }
    return RpcWebSocket.open(websocketUrl(this.url), this.#WebSocket, this.timeoutMs);
  }

  /** A subscription on a WebSocket of its own, closed by the subscription's `unsubscribe()`
   * (`newBlocks`; `tx` with `{ id }`; `account` with `{ address }`). */
  async subscribe<K extends keyof Topics>(topic: K, filters: Params = {},
  ): Promise<Subscription<Topics[K]>> {
    const socket = await this.websocket();
    try {
      const subscription = await socket.subscribe(topic, filters);
      subscription.ownsSocket = true;
      return subscription;
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  // Node, chain and transaction methods.

  /** `node_status`: identity, head, view, peers, mempool. */
  status(): Promise<NodeStatus> { return this.call("node_status"); }
  /** `node_peers`. */
  peers(): Promise<Peer[]> { return this.call("node_peers"); }
  /** `chain_getBlock`: the block at `height` (the latest without it). */
  block(height?: number, fullTxs = true): Promise<BlockView<TxView>> {
    return this.call("chain_getBlock", { height, full_txs: fullTxs });
  }
  /** `chain_getBlock` with `full_txs: false`: transaction ids only. */
  blockSummary(height?: number): Promise<BlockView<string>> {
    return this.call("chain_getBlock", { height, full_txs: false });
  }
  /** `chain_getBlockByHash`. */
  blockByHash(hash: string, fullTxs = true): Promise<BlockView> {
    return this.call("chain_getBlockByHash", { hash, full_txs: fullTxs });
  }
  /** `chain_getCertificate`: the commit certificate of a block. */
  certificate(height: number): Promise<CertificateView> {
    return this.call("chain_getCertificate", { height });
  }
  /** `chain_getTransaction`: finalized with its receipt, or pending; not_found otherwise. */
  transaction(id: string): Promise<TxLookup> {
    return this.call("chain_getTransaction", { id });
  }
  /**
   * Wait until transaction `id` (hex) is in a finalized block, polling `chain_getTransaction`
   * every `intervalMs`: for a transaction submitted without waiting, or sent again after the
   * connection broke. A node that does not know the id yet (`not_found`) is asked again;
   * after `timeoutMs` it throws RpcTransportError (`timedOut`) saying what it last saw.
   */
  async waitForTransaction(id: string, options: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<TxLookup> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let last = "unknown to the node";
    for (;;) {
      try {
        const found = await this.transaction(id);
        if (found.status === "finalized") return found;
        last = found.status;
      } catch (error) {
        if (!(error instanceof RpcCallError && error.reason === "not_found")) throw error;
      }
      if (Date.now() + (options.intervalMs ?? 500) > deadline) {
        throw new RpcTransportError(
          `transaction ${id} not finalized within ${timeoutMs} ms (${last})`, true);
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
    }
  }
  /** `chain_getValidators`. */
  validators(): Promise<Validator[]> { return this.call("chain_getValidators"); }
  /** `tx_simulate`: dry-run signed bytes (hex); RpcCallError if it would fail. */
  simulate(txHex: string): Promise<SimulateResult> {
    return this.call("tx_simulate", { tx: txHex });
  }
  /** `tx_submit`: admitted, or with `wait: "finalized"` once final (or RpcCallError
   * `timeout` after `timeoutMs`, the node's default 30 s, at most 120 s). */
  submit(txHex: string, wait: "none" | "finalized" = "none",
         timeoutMs?: number): Promise<SubmitResult> {
    return this.call("tx_submit", { tx: txHex, wait, timeout_ms: timeoutMs },
                     wait === "finalized" ? (timeoutMs ?? 30_000) + 5_000 : this.timeoutMs);
  }
  /** `tx_submitBatch`: up to 1000 signed transactions (hex), each admitted or refused. */
  submitBatch(txHexes: readonly string[]): Promise<BatchEntry[]> {
    return this.call("tx_submitBatch", { txs: txHexes });
  }

  // Shop state.

  /** `state_getAccount`: balance and nonces of an `agora1...` address. */
  account(address: string): Promise<Account> {
    return this.call("state_getAccount", { address });
  }
  /** `state_getSupply`. */
  supply(): Promise<Supply> { return this.call("state_getSupply"); }
  /** `state_getMerchant`; RpcCallError(not_found) for an account that never registered. */
  merchant(address: string): Promise<Merchant> {
    return this.call("state_getMerchant", { address });
  }
  /** `state_getListing`: the current version, or the given one. */
  listing(id: number, version?: number): Promise<Listing> {
    return this.call("state_getListing", { id, version });
  }
  /** `state_getOrder`. */
  order(id: number): Promise<Order> { return this.call("state_getOrder", { id }); }
  /** `state_getReview`: the review of an order. */
  review(order: number): Promise<Review> { return this.call("state_getReview", { order }); }
  /** `state_getRewards`. */
  rewards(address: string): Promise<Rewards> {
    return this.call("state_getRewards", { address });
  }
  /** `state_getShare`: what a referral link carries. */
  share(id: number): Promise<Share> { return this.call("state_getShare", { id }); }
  /** `state_getComment`. */
  comment(id: number): Promise<Comment> { return this.call("state_getComment", { id }); }
  /** `state_getPoll`. */
  poll(id: number): Promise<Poll> { return this.call("state_getPoll", { id }); }
  /** `state_listListings`: filters combine (`text` matches part of the title). */
  listings(params: PageParams & { merchant?: string; category?: string; text?: string;
                                  active_only?: boolean } = {}): Promise<Page<Listing>> {
    return this.call("state_listListings", { ...params });
  }
  /** `state_listListingVersions`: every version of a listing, oldest first. */
  listingVersions(id: number, params: PageParams = {}): Promise<Page<Listing>> {
    return this.call("state_listListingVersions", { id, ...params });
  }
  /** `state_listMerchants`. */
  merchants(params: PageParams & { status?: MerchantStatus } = {}): Promise<Page<Merchant>> {
    return this.call("state_listMerchants", { ...params });
  }
  /** `state_listOrders`: by buyer, merchant and status. */
  orders(params: PageParams & { buyer?: string; merchant?: string; status?: OrderStatus } = {},
  ): Promise<Page<Order>> {
    return this.call("state_listOrders", { ...params });
  }
  /** `state_listReviews` of a listing. */
  reviews(listing: number, params: PageParams = {}): Promise<Page<Review>> {
    return this.call("state_listReviews", { listing, ...params });
  }
  /** `state_listComments` of a listing. */
  comments(listing: number, params: PageParams = {}): Promise<Page<Comment>> {
    return this.call("state_listComments", { listing, ...params });
  }
  /** `state_listPolls`; `open_at` keeps the polls open at that height. */
  polls(params: PageParams & { open_at?: number } = {}): Promise<Page<Poll>> {
    return this.call("state_listPolls", { ...params });
  }

  // Group buying, promotions, profiles and follows (round 2).

  /** `state_getTeamOffer`; RpcCallError(not_found) when the listing has none. */
  teamOffer(listing: number): Promise<TeamOffer> {
    return this.call("state_getTeamOffer", { listing });
  }
  /** `state_getTeam`. */
  team(id: number): Promise<Team> { return this.call("state_getTeam", { id }); }
  /** `state_listListingTeams`: the teams a buyer can still join, oldest first. */
  listingTeams(listing: number, params: PageParams = {}): Promise<Page<Team>> {
    return this.call("state_listListingTeams", { listing, ...params });
  }
  /** `state_listAccountTeams`: every team the account has a place in, oldest first. */
  accountTeams(address: string, params: PageParams = {}): Promise<Page<Team>> {
    return this.call("state_listAccountTeams", { address, ...params });
  }
  /** `state_getCampaign`. */
  campaign(id: number): Promise<Campaign> { return this.call("state_getCampaign", { id }); }
  /** `state_listCampaigns` of a merchant; `open_only` keeps the open ones. */
  campaigns(merchant: string, params: PageParams & { open_only?: boolean } = {},
  ): Promise<Page<Campaign>> {
    return this.call("state_listCampaigns", { merchant, ...params });
  }
  /** `state_getFlashSale`; RpcCallError(not_found) when the listing has none. */
  flashSale(listing: number): Promise<FlashSale> {
    return this.call("state_getFlashSale", { listing });
  }
  /** `state_getOrderDiscount`; RpcCallError(not_found) for an order without a coupon. */
  orderDiscount(order: number): Promise<OrderDiscount> {
    return this.call("state_getOrderDiscount", { order });
  }
  /** `state_getProfile`; RpcCallError(not_found) for an account without one. */
  profile(address: string): Promise<Profile> {
    return this.call("state_getProfile", { address });
  }
  /** `state_getDisclosed`: the fields of `owner` sealed to `recipient`. */
  disclosed(owner: string, recipient: string): Promise<Disclosed> {
    return this.call("state_getDisclosed", { owner, recipient });
  }
  /** `state_getSocial`: follow counts, feed length, profile version. */
  social(address: string): Promise<Social> { return this.call("state_getSocial", { address }); }
  /** `state_listFollowing`. */
  following(address: string, params: PageParams = {}): Promise<Page<FollowEntry>> {
    return this.call("state_listFollowing", { address, ...params });
  }
  /** `state_listFollowers`. */
  followers(address: string, params: PageParams = {}): Promise<Page<FollowEntry>> {
    return this.call("state_listFollowers", { address, ...params });
  }
  /** `state_getFeed`: what whom `address` follows did, newest first. */
  feed(address: string, params: PageParams = {}): Promise<Page<FeedEntry>> {
    return this.call("state_getFeed", { address, ...params });
  }
  /** `state_listActivity`: the account's own feed entries, newest first. */
  activity(address: string, params: PageParams = {}): Promise<Page<FeedEntry>> {
    return this.call("state_listActivity", { address, ...params });
  }

  // Listing media.

  /** `media_getListingMedia`: a listing version's pictures (the current one by default). */
  listingMedia(id: number, version?: number): Promise<ListingMedia> {
    return this.call("media_getListingMedia", { id, version });
  }
  /** `media_getBlob`: a blob this node holds. */
  blob(sha256: string): Promise<BlobInfo> { return this.call("media_getBlob", { sha256 }); }
  /** Where this node serves blob `name`. */
  blobUrl(name: string): string {
    return new URL(`blobs/${name}`, this.url).toString();
  }
  /** `PUT /blobs/<sha256>`: store a picture signed by an approved merchant's key; its
   * description (also when the node held it already). RpcCallError with the node's reason
   * (blob_not_image, blob_too_large, blob_quota, ...), RpcTransportError when unreachable. */
  async uploadBlob(keypair: Keypair, chainId: string, data: Uint8Array): Promise<BlobInfo> {
    const url = this.blobUrl(blobName(data));
    let status = 0;
    let text: string;
    try {
      const response = await this.#fetch(url, {
        method: "PUT", body: data as BodyInit,
        headers: { ...uploadHeaders(keypair, chainId, data),
                   "Content-Type": "application/octet-stream" },
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      throw new RpcTransportError(`cannot reach ${url}: ${(error as Error).message}`);
    }
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new RpcTransportError(`HTTP ${status} from ${url} is not JSON`);
    }
    if (status === 200 || status === 201) return answer as BlobInfo;
    const error = (answer as { error?: { code?: number; reason?: string; message?: string } })
      .error;
    if (typeof error !== "object" || error === null) {
      throw new RpcTransportError(`HTTP ${status} from ${url} without an error object`);
    }
    throw new RpcCallError(Number(error.code ?? -32603), String(error.message ?? ""),
                           { reason: error.reason ?? "" });
  }
}
