/**
 * One transaction from the user's "yes" to finality: the pages describe it in words
 * (`requestTx`), the dialog shows that before anything is signed, then signs with the
 * unlocked key (SDK `Wallet`), submits, and waits for the block. A refusal carries the
 * node's reason; an unreachable node keeps the signed bytes so "Send again" resends the very
 * same transaction (the node refuses a second copy with duplicate_tx, never runs it twice).
 */
import {
  RpcCallError,
  RpcTransportError,
  Wallet,
  Receipt,
  type Keypair,
  type SignedTx,
  type TxBody,
} from "@agora/sdk";

import { client } from "./chain";
import { createStore } from "./store";

export const FINALITY_TIMEOUT_MS = 60_000;

export interface TxRequest {
  /** What the user is about to do, one line. */
  readonly title: string;
  /** What will be signed, in words, one statement a line. */
  readonly lines: readonly string[];
  readonly body: TxBody;
  /** What must happen with the unlocked key before the transaction is signed (a listing
   * picture's upload); its refusal is the transaction's. */
  readonly prepare?: (keypair: Keypair) => Promise<void>;
  readonly resolve: (receipt: Receipt | null) => void;
}

export const txRequest = createStore<TxRequest | null>(null);

/** Ask the user to sign `body`; the receipt once final, or null when they cancel or it fails. */
export function requestTx(
  title: string,
  lines: readonly string[],
  body: TxBody,
  prepare?: (keypair: Keypair) => Promise<void>,
): Promise<Receipt | null> {
  return new Promise((resolve) => {
    txRequest.set({ title, lines, body, resolve, ...(prepare ? { prepare } : {}) });
  });
}

export type Outcome =
  | { kind: "finalized"; receipt: Receipt; elapsedMs: number }
  | { kind: "refused"; reason: string; detail: string; signed: SignedTx | null }
  | { kind: "unreachable"; signed: SignedTx; detail: string }
  | { kind: "pending"; signed: SignedTx };

/** Sign (unless `signed` is given: a resend) and submit, waiting for finality; `prepare`
 * runs first on a first send. */
export async function signAndSend(
  keypair: Keypair,
  body: TxBody,
  signed: SignedTx | null,
  onSigned: (tx: SignedTx) => void,
  prepare?: (keypair: Keypair) => Promise<void>,
): Promise<Outcome> {
  const started = performance.now();
  const wallet = new Wallet(client, keypair);
  let tx = signed;
  try {
    if (tx === null) {
      if (prepare !== undefined) await prepare(keypair);
      tx = await wallet.sign(body);
      onSigned(tx);
    }
    const receipt = await wallet.submit(tx, { timeoutMs: FINALITY_TIMEOUT_MS });
    return { kind: "finalized", receipt, elapsedMs: performance.now() - started };
  } catch (error) {
    if (error instanceof RpcCallError) {
      if (error.reason === "timeout" && tx !== null) return { kind: "pending", signed: tx };
      if (error.reason === "duplicate_tx" && tx !== null) return await waitFinal(tx, started);
      return {
        kind: "refused",
        reason: error.reason || String(error.code),
        detail: error.detail,
        signed: tx,
      };
    }
    if (error instanceof RpcTransportError && tx !== null) {
      return { kind: "unreachable", signed: tx, detail: error.message };
    }
    if (error instanceof RpcTransportError) {
      return { kind: "refused", reason: "unreachable", detail: error.message, signed: null };
    }
    const reason = (error as { reason?: string }).reason ?? "field_invalid";
    return { kind: "refused", reason, detail: (error as Error).message, signed: tx };
  }
}

/** A transaction the node already holds (sent before the connection broke): its block. */
async function waitFinal(tx: SignedTx, started: number): Promise<Outcome> {
  const deadline = performance.now() + FINALITY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    try {
      const found = await client.transaction(tx.idHex);
      if (found.status === "finalized") {
        return {
          kind: "finalized",
          receipt: Receipt.fromResult(found, "finalized"),
          elapsedMs: performance.now() - started,
        };
      }
    } catch (error) {
      if (error instanceof RpcTransportError) {
        return { kind: "unreachable", signed: tx, detail: error.message };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return { kind: "pending", signed: tx };
}
