/**
 * Subscriptions over the node's WebSocket (`/ws`): JSON-RPC calls matched by id and the
 * notifications of `subscribe` routed to their `Subscription` (docs/RPC.md).
 */
import {
  dropUndefined, type Params, type Response, RpcTransportError, resultOf,
} from "./jsonrpc.js";
import type { Topics } from "./types.js";

/** Notifications a subscription keeps unread before it drops the oldest. */
export const MAX_PENDING_NOTIFICATIONS = 10_000;

/** The WebSocket constructor to use (the platform's in browsers and Node.js >= 22; in older
 * Node.js pass the `ws` package's). */
export type WebSocketFactory = new (url: string) => WebSocket;

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
