/**
 * The app's one connection to the chain, through the SDK only: an `RpcClient` to the node
 * that served the page (POST `/`), and its WebSocket (`/ws`) subscribed to `newBlocks`, so
 * every page sees the live head and reloads what it shows when a block is finalized. When
 * the node goes away the app says so, keeps what is on screen, and reconnects with backoff.
 */
import {
  RpcCallError,
  RpcClient,
  type NewBlock,
  type NodeStatus,
  type RpcWebSocket,
} from "@agora/sdk";
import { useEffect, useRef, useState } from "preact/hooks";

import { createStore, useStore } from "./store";

/** The node that served the app. */
export const NODE_URL = `${location.origin}/`;
export const client = new RpcClient(NODE_URL, { timeoutMs: 15_000 });

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 8_000;
const STATUS_EVERY_MS = 10_000;

export interface Head {
  /** Whether the node answers now. */
  readonly connected: boolean;
  /** Whether the WebSocket is open (blocks arrive as they are finalized). */
  readonly live: boolean;
  readonly status: NodeStatus | null;
  readonly height: number;
  readonly view: number;
  readonly lastBlock: NewBlock | null;
}

export const head = createStore<Head>({
  connected: true,
  live: false,
  status: null,
  height: 0,
  view: 0,
  lastBlock: null,
});

/** Empty blocks change nothing but the height, except an order's deadline falling due in
 * the end-of-block step: pages reload on a block with transactions, and on every
 * `QUIET_RELOAD_BLOCKS`th block in case a deadline moved an order. */
export const QUIET_RELOAD_BLOCKS = 10;
export const changes = createStore(0);

let socket: RpcWebSocket | null = null;
let reconnectMs = RECONNECT_MIN_MS;
let started = false;

async function refreshStatus(): Promise<void> {
  try {
    const status = await client.status();
    head.update((h) => ({
      ...h,
      connected: true,
      status,
      height: Math.max(h.height, status.height),
      view: status.view,
    }));
  } catch {
    head.update((h) => ({ ...h, connected: false }));
  }
}

async function openSocket(): Promise<void> {
  try {
    const ws = await client.websocket();
    const blocks = await ws.subscribe("newBlocks");
    socket = ws;
    reconnectMs = RECONNECT_MIN_MS;
    head.update((h) => ({ ...h, live: true, connected: true }));
    void refreshStatus();
    blocks.onNotification(
      (block) => {
        head.update((h) => ({
          ...h,
          connected: true,
          lastBlock: block,
          height: Math.max(h.height, block.height),
        }));
        if (block.tx_count > 0 || block.height % QUIET_RELOAD_BLOCKS === 0) {
          changes.update((n) => n + 1);
        }
        void refreshStatus();
      },
      () => {
        socket = null;
        head.update((h) => ({ ...h, live: false }));
        scheduleReconnect();
      },
    );
  } catch {
    socket = null;
    head.update((h) => ({ ...h, live: false, connected: false }));
    scheduleReconnect();
  }
}

function scheduleReconnect(): void {
  const wait = reconnectMs;
  reconnectMs = Math.min(RECONNECT_MAX_MS, reconnectMs * 2);
  setTimeout(() => {
    void refreshStatus();
    void openSocket();
  }, wait);
}

/** Connect once: status now, blocks as they come, the view every few seconds. */
export function startChain(): void {
  if (started) return;
  started = true;
  void refreshStatus();
  void openSocket();
  setInterval(() => void refreshStatus(), STATUS_EVERY_MS);
}

export function useHead(): Head {
  return useStore(head);
}

/** The token's symbol (from `node_status`; AGR until it is known). */
export function symbol(): string {
  return head.get().status?.token_symbol ?? "AGR";
}

export function isNotFound(error: unknown): boolean {
  return error instanceof RpcCallError && error.reason === "not_found";
}

/** What `promise` gives, or null when the chain has no such thing (not_found). */
export function orNull<T>(promise: Promise<T>): Promise<T | null> {
  return promise.catch((error: unknown) => {
    if (isNotFound(error)) return null;
    throw error;
  });
}

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  /** Load again now (after a transaction). */
  readonly reload: () => void;
}

/**
 * `load()` when `deps` change and again as blocks are finalized: `live` "changes" after a
 * block with transactions (see `changes`), "blocks" after every block, false never; the
 * last data stays on screen while it reloads and when the node cannot be reached.
 */
export function useChainData<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  live: "changes" | "blocks" | false = "changes",
): Loaded<T> {
  const { height } = useHead();
  const changed = useStore(changes);
  const tick = live === "blocks" ? height : live === "changes" ? changed : 0;
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [nonce, setNonce] = useState(0);
  const current = useRef(0);
  const keyDeps = [...deps, tick, nonce];
  useEffect(() => {
    const ticket = ++current.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => {
        if (ticket === current.current) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (ticket === current.current) setState((s) => ({ ...s, error, loading: false }));
      },
    );
  }, keyDeps);
  useEffect(() => {
    // Deps changed to another thing: what was on screen belonged to the old one.
    setState({ data: undefined, error: undefined, loading: true });
  }, deps);
  return { ...state, reload: () => setNonce((n) => n + 1) };
}

export function closeChainForTests(): void {
  socket?.close();
}
