/**
 * @agora/sdk: sign and submit Agora transactions from browsers and Node.js.
 * See docs/SDK.md ("TypeScript") for a tour.
 */
export * from "./address.js";
export * from "./amount.js";
export * from "./blobs.js";
export * from "./block.js";
export * from "./bodies.js";
export * from "./bytes.js";
export * from "./codec.js";
export * from "./errors.js";
export * from "./hash.js";
export * from "./keys.js";
export {
  DEFAULT_TIMEOUT_MS, RpcCallError, RpcClientError, RpcTransportError, websocketUrl,
  type Params,
} from "./jsonrpc.js";
export * from "./rpc.js";
export * from "./tx.js";
export * from "./types.js";
export * from "./wallet.js";
export * from "./websocket.js";
