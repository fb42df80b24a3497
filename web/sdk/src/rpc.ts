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
import { AgoraError } from "./errors.js";
import type {
  Account, BatchEntry, BlockView, CertificateView, Comment, Listing, Merchant,
  MerchantStatus, NodeStatus, Order, OrderStatus, Page, PageParams, Peer, Poll, Review, Rewards, Share, SimulateResult, SubmitResult,
  Supply, Topics, TxLookup, TxView, Validator,
} from "./types.js";

/** How long a call may take before it fails with RpcTransportError (ms). */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** How long `tx_submit` waiting for finality may take: the node's own cap is 120 s. */
export const SUBMIT_TIMEOUT_MS = 125_000;
/** Notifications a subscription keeps unread before it drops the oldest. */
export const MAX_PENDING_NOTIFICATIONS = 10_000;

/** Any failure of a call made through this client. */
export class RpcClientError extends AgoraError {}

/** The server could not be reached, did not answer with JSON-RPC, or did not answer in
 * time (`timedOut`). Nothing names a reason here: the node never saw or never answered the
 * call (`reason` is "" and `code` 0, as the Python client's `RpcTransportError`). */
export class RpcTransportError extends RpcClientError {
  /** True when this client gave up waiting (the call may still have been executed). */
  readonly timedOut: boolean;

  constructor(message: string, timedOut = false) {
    super("", 0, message);
    this.timedOut = timedOut;
  }
}

/** The server answered with an error object: `reason` is the stable name of
 * docs/ERRORS.md (`insufficient_funds`, `bad_nonce`, `out_of_stock`, `timeout`...). */
export class RpcCallError extends RpcClientError {
  /** The error's `data` (with `reason`, and `field` for invalid params). */
  readonly data: unknown;

  constructor(code: number, message: string, data?: unknown) {
    const reason = typeof data === "object" && data !== null
      && typeof (data as { reason?: unknown }).reason === "string"
      ? (data as { reason: string }).reason : "";
    super(reason, code, message);
    this.data = data;
    this.message = `${reason || code}: ${message}`;
  }

  /** The node's one-line message for people, without the reason in front. */
  get detail(): string {
    const prefix = `${this.reason || this.code}: `;
    return this.message.startsWith(prefix) ? this.message.slice(prefix.length) : this.message;
  }

  /** The error of a JSON-RPC error object. */
  static fromError(error: unknown): RpcCallError {
    if (typeof error !== "object" || error === null) {
      return new RpcCallError(-32603, `malformed error object ${String(error).slice(0, 100)}`);
    }
    const item = error as { code?: unknown; message?: unknown; data?: unknown };
    const code = typeof item.code === "number" ? item.code : -32603;
    return new RpcCallError(code, String(item.message ?? ""), item.data);
  }
}

interface Response {
  jsonrpc?: unknown;
  id?: unknown;
  result?: unknown;
  error?: unknown;
  method?: unknown;
  params?: unknown;
}

function resultOf(response: unknown): unknown {
  const item = response as Response;
  if (typeof item !== "object" || item === null || item.jsonrpc !== "2.0") {
    throw new RpcTransportError(
      `not a JSON-RPC response: ${JSON.stringify(response)?.slice(0, 200)}`);
  }
  if ("error" in item) throw RpcCallError.fromError(item.error);
  if (!("result" in item)) throw new RpcTransportError("a JSON-RPC response without result");
  return item.result;
}

/** The `/ws` address beside an HTTP RPC address. */
export function websocketUrl(url: string): string {
  const parsed = new URL(url);
  parsed.protocol = parsed.protocol === "https:" ? "wss:" : "ws:";
  parsed.pathname = `${parsed.pathname.replace(/\/+$/, "")}/ws`;
  parsed.search = "";
  parsed.hash = "";
  return parsed.toString();
}

/** A JSON value as params. */
export type Params = Record<string, unknown>;

/** The WebSocket constructor to use (the platform's in browsers and Node.js >= 22; in older
 * Node.js pass the `ws` package's). */
export type WebSocketFactory = new (url: string) => WebSocket;

/** Options of an `RpcClient`. */
export interface RpcOptions {
  /** Per call, in ms (default 30 s; `tx_submit` waiting for finality gets its own). */
  timeoutMs?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** The WebSocket constructor (default: the global one). */
  WebSocket?: WebSocketFactory;
}

function dropUndefined(params: Params): Params {
  const out: Params = {};
  for (const [key, value] of Object.entries(params)) if (value !== undefined) out[key] = value;
  return out;
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
}

type Waiter<T> = { resolve: (value: T) => void; reject: (error: Error) => void };

/** Notifications of one subscription, in order: `await next()` or `for await`. */
export class Subscription<T = unknown> implements AsyncIterable<T> {
  /** Notifications dropped because nobody read them (over MAX_PENDING_NOTIFICATIONS). */
  lostCount = 0;
  /** True when the socket was opened for this subscription alone (closed with it). */
  ownsSocket = false;
  readonly #queue: T[] = [];
  readonly #waiters: Waiter<T>[] = [];
  #closed: RpcTransportError | undefined;

  constructor(readonly socket: RpcWebSocket, readonly id: string) {}

  /** @internal */
  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) return waiter.resolve(item);
    if (this.#queue.length >= MAX_PENDING_NOTIFICATIONS) {
      this.#queue.shift();
      this.lostCount++;
    }
    this.#queue.push(item);
  }

  /** @internal */
  close(error: RpcTransportError, discard = false): void {
    this.#closed ??= error;
    if (discard) this.#queue.length = 0;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  /** The next notification; RpcTransportError (timedOut) after `timeoutMs`, or once the
   * socket is closed and nothing is left. */
  next(timeoutMs?: number): Promise<T> {
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.shift()!);
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = { resolve, reject };
      this.#waiters.push(waiter);
      if (timeoutMs !== undefined) {
        const timer = setTimeout(() => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) this.#waiters.splice(index, 1);
          reject(new RpcTransportError(`no notification within ${timeoutMs} ms`,
                                       true));
        }, timeoutMs);
        waiter.resolve = (value) => { clearTimeout(timer); resolve(value); };
        waiter.reject = (error) => { clearTimeout(timer); reject(error); };
      }
    });
  }

  /** Call `listener` with each notification until `unsubscribe` or the socket closes. */
  onNotification(listener: (item: T) => void, onClose?: (error: Error) => void): void {
    void (async () => {
      for (;;) {
        let item: T;
        try {
          item = await this.next();
        } catch (error) {
          onClose?.(error as Error);
          return;
        }
        listener(item);
      }
    })();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      try {
        yield await this.next();
      } catch (error) {
        if (error instanceof RpcTransportError) return;
        throw error;
      }
    }
  }

  /** Stop the subscription; the socket stays open unless it was opened for this one
   * subscription (`RpcClient.subscribe`). */
  async unsubscribe(): Promise<boolean> {
    try {
      const result = await this.socket.call<boolean>("unsubscribe", { subscription: this.id });
      return Boolean(result);
    } finally {
      this.socket.forget(this.id);
      this.close(new RpcTransportError("unsubscribed"), true);
      if (this.ownsSocket) this.socket.close();
    }
  }
}

/** JSON-RPC over one WebSocket: calls matched by id, notifications routed by subscription. */
export class RpcWebSocket {
  /** The close code once the socket closed. */
  closeCode: number | undefined;
  readonly #subscriptions = new Map<string, Subscription<unknown>>();
  readonly #early = new Map<string, unknown[]>();
  readonly #pending = new Map<number, Waiter<unknown>>();
  #nextId = 1;
  #closed = false;

  private constructor(readonly ws: WebSocket, readonly timeoutMs: number) {
    ws.addEventListener("message", (event: MessageEvent) => {
      if (typeof event.data !== "string") return;
      let message: unknown;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.#route(message);
    });
    ws.addEventListener("close", (event: CloseEvent) => {
      this.closeCode = event.code;
      this.#shutdown(new RpcTransportError(`the WebSocket closed (code ${event.code})`));
    });
  }

  /** Open a socket at `url` (ws:// or wss://). */
  static open(url: string, factory: WebSocketFactory, timeoutMs: number): Promise<RpcWebSocket> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new factory(url);
      } catch (error) {
        reject(new RpcTransportError(`cannot open ${url}: ${(error as Error).message}`));
        return;
      }
      const timer = setTimeout(() => {
        ws.close();
        reject(new RpcTransportError(`cannot open ${url}: no answer in ${timeoutMs} ms`,
                                     true));
      }, timeoutMs);
      const failed = (): void => {
        clearTimeout(timer);
        reject(new RpcTransportError(`cannot open ${url}`));
      };
      ws.addEventListener("error", failed);
      ws.addEventListener("open", () => {
        clearTimeout(timer);
        ws.removeEventListener("error", failed);
        resolve(new RpcWebSocket(ws, timeoutMs));
      });
    });
  }

  /** True once the socket is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Close the socket; its subscriptions end. */
  close(): void {
    this.ws.close();
    this.#shutdown(new RpcTransportError("the WebSocket was closed"));
  }

  /** Call over the socket; its result, or RpcCallError. */
  call<T = unknown>(method: string, params: Params = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new RpcTransportError("the WebSocket is closed"));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RpcTransportError(`no answer to ${method} within ${this.timeoutMs} ms`,
                                     true));
      }, this.timeoutMs);
      this.#pending.set(id, {
        resolve: (response) => {
          clearTimeout(timer);
          try {
            resolve(resultOf(response) as T);
          } catch (error) {
            reject(error as Error);
          }
        },
        reject: (error) => { clearTimeout(timer); reject(error); },
      });
      try {
        this.ws.send(JSON.stringify({ jsonrpc: "2.0", method, params: dropUndefined(params), id }));
      } catch (error) {
        this.#pending.get(id)?.reject(
          new RpcTransportError(`the WebSocket failed: ${(error as Error).message}`));
        this.#pending.delete(id);
      }
    });
  }

  /** Subscribe to a topic: `newBlocks`; `tx` with `{ id }`; `account` with `{ address }`. */
  async subscribe<K extends keyof Topics>(topic: K, filters: Params = {},
  ): Promise<Subscription<Topics[K]>> {
    const id = String(await this.call("subscribe", { topic, ...filters }));
    const subscription = new Subscription<Topics[K]>(this, id);
    this.#subscriptions.set(id, subscription as Subscription<unknown>);
    for (const item of this.#early.get(id) ?? []) subscription.push(item as Topics[K]);
    this.#early.delete(id);
    return subscription;
  }

  /** @internal */
  forget(id: string): void {
    this.#subscriptions.delete(id);
  }

  #route(message: unknown): void {
    for (const item of Array.isArray(message) ? message : [message]) {
      if (typeof item !== "object" || item === null) continue;
      const response = item as Response;
      if (response.method === "subscription") {
        const params = (response.params ?? {}) as { subscription?: unknown; result?: unknown };
        const id = String(params.subscription);
        const subscription = this.#subscriptions.get(id);
        if (subscription !== undefined) {
          subscription.push(params.result);
        } else if (this.#early.size < 64) {
          const early = this.#early.get(id) ?? [];
          if (early.length < MAX_PENDING_NOTIFICATIONS) early.push(params.result);
          this.#early.set(id, early);
        }
        continue;
      }
      const waiter = this.#pending.get(response.id as number);
      if (waiter !== undefined) {
        this.#pending.delete(response.id as number);
        waiter.resolve(response);
      }
    }
  }

  #shutdown(error: RpcTransportError): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#pending.values()) waiter.reject(error);
    this.#pending.clear();
    for (const subscription of this.#subscriptions.values()) subscription.close(error);
  }
}
