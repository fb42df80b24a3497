/**
 * JSON-RPC 2.0 as the node speaks it: the errors a call can end with, the answer's
 * result, the WebSocket address beside an HTTP one (docs/RPC.md).
 */
import { AgoraError } from "./errors.js";

/** How long a call may take before it fails with RpcTransportError (ms). */
export const DEFAULT_TIMEOUT_MS = 30_000;

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

/** A JSON-RPC message as read off the wire. */
export interface Response {
  jsonrpc?: unknown;
  id?: unknown;
  result?: unknown;
  error?: unknown;
  method?: unknown;
  params?: unknown;
}

/** The result of a JSON-RPC response; RpcCallError for an error answer, RpcTransportError
 * for anything that is not a JSON-RPC response. */
export function resultOf(response: unknown): unknown {
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

/** `params` without its undefined values (JSON has none). */
export function dropUndefined(params: Params): Params {
  const out: Params = {};
  for (const [key, value] of Object.entries(params)) if (value !== undefined) out[key] = value;
  return out;
}
