/**
 * One account on one node: read its pending nonce, sign, submit, wait for finality, read the
 * receipt with its events (the twin of the Python `client.wallet`).
 *
 *     const wallet = new Wallet(new RpcClient(url), Keypair.fromSeedHex(seed));
 *     const receipt = await wallet.submit({ type: "transfer", to, amount: 5_000_000 });
 *
 * The chain id is read once from `node_status` (or given); the nonce is read once from
 * `state_getAccount`'s `pending_nonce` (or given) and then tracked locally: each transaction
 * the node admits moves it on. Refusals throw `RpcCallError` with the node's reason
 * (`bad_nonce`, `insufficient_funds`, `timeout` when not finalized in time: the transaction
 * stays pending and its nonce is taken); an unreachable node throws `RpcTransportError`.
 */
import type { Int, TxBody } from "./bodies.js";
import type { Keypair } from "./keys.js";
import { RpcCallError } from "./jsonrpc.js";
import type { RpcClient } from "./rpc.js";
import { type SignedTx, signTxAsync } from "./tx.js";
import type { SubmitResult, TxEvent } from "./types.js";

/** The node's reason for a transaction admitted but not finalized in time. */
export const TIMEOUT_REASON = "timeout";

/** What the node answered to a submitted or simulated transaction. */
export class Receipt {
  constructor(
    /** The transaction id (hex). */
    readonly txId: string,
    /** `finalized`, `admitted` (the call did not wait) or `simulated`. */
    readonly status: string,
    readonly height: number | undefined,
    readonly index: number | undefined,
    readonly events: readonly TxEvent[],
    /** The answer exactly as the node sent it. */
    readonly result: unknown,
  ) {}

  /** A receipt from a `tx_submit`, `tx_simulate` or `chain_getTransaction` result. */
  static fromResult(result: unknown, status?: string): Receipt {
    const item = result as Partial<SubmitResult> & { tx?: { id?: string } };
    return new Receipt(String(item.id ?? item.tx?.id ?? ""), status ?? String(item.status ?? ""),
                       item.height, item.index, item.events ?? [], result);
  }

  /** True once the transaction is in a finalized block. */
  get finalized(): boolean {
    return this.status === "finalized";
  }

  /** The id of the record the transaction created (listing, order, share, poll...): its
   * first event's first datum, or undefined when it created none. */
  get createdId(): number | undefined {
    const first = this.events[0]?.data[0];
    return typeof first === "number" && Number.isInteger(first) ? first : undefined;
  }

  /** The events of one kind, in order. */
  ofKind(kind: string): TxEvent[] {
    return this.events.filter((event) => event.kind === kind);
  }
}

/** Options of a `Wallet`. */
export interface WalletOptions {
  /** The chain id (default: read once from `node_status`). */
  chainId?: string;
  /** The next nonce (default: read once from `state_getAccount`). */
  nonce?: Int;
}

/** Sign and submit as one account over an `RpcClient`. */
export class Wallet {
  /** The account's `agora1...` address. */
  readonly address: string;
  #chainId: string | undefined;
  #nonce: bigint | undefined;

  constructor(readonly rpc: RpcClient, readonly keypair: Keypair, options: WalletOptions = {}) {
    this.address = keypair.address;
    this.#chainId = options.chainId;
    this.#nonce = options.nonce === undefined ? undefined : BigInt(options.nonce);
  }

  /** The node's chain id (read once). */
  async chainId(): Promise<string> {
    this.#chainId ??= (await this.rpc.status()).chain_id;
    return this.#chainId;
  }

  /** The account's next nonce as the node sees it, its mempool included. */
  async pendingNonce(): Promise<number> {
    return (await this.rpc.account(this.address)).pending_nonce;
  }

  /** The nonce the next transaction will carry (read from the node the first time). */
  async nextNonce(): Promise<bigint> {
    this.#nonce ??= BigInt(await this.pendingNonce());
    return this.#nonce;
  }

  /** Forget the tracked nonce: the next transaction reads it from the node again (after
   * another program sent from this account, or a `bad_nonce`). */
  resetNonce(): void {
    this.#nonce = undefined;
  }

  /** `body` signed with the next nonce (or `nonce`); nothing is sent and the tracked nonce
   * does not move until the node admits the transaction. */
  async sign(body: TxBody, nonce?: Int): Promise<SignedTx> {
    const chainId = await this.chainId();
    const chosen = nonce ?? await this.nextNonce();
    return signTxAsync(this.keypair, chainId, toNumberIfSafe(BigInt(chosen)), body);
  }

  /** Dry-run against the latest state (`tx_simulate`); RpcCallError if it would fail. */
  async simulate(tx: TxBody | SignedTx): Promise<Receipt> {
    const signed = isSigned(tx) ? tx : await this.sign(tx);
    return Receipt.fromResult(await this.rpc.simulate(signed.hex), "simulated");
  }

  /** Submit (`tx_submit`) and, with `wait` (the default), answer once finalized (the node
   * waits up to `timeoutMs`, its default 30 s, at most 120 s); otherwise once admitted. */
  async submit(tx: TxBody | SignedTx,
               options: { wait?: boolean; timeoutMs?: number } = {}): Promise<Receipt> {
    const signed = isSigned(tx) ? tx : await this.sign(tx);
    const wait = options.wait ?? true;
    let result: SubmitResult;
    try {
      result = await this.rpc.submit(signed.hex, wait ? "finalized" : "none", options.timeoutMs);
    } catch (error) {
      if (error instanceof RpcCallError && error.reason === TIMEOUT_REASON) {
        this.#admitted(signed);
      }
      throw error;
    }
    this.#admitted(signed);
    return Receipt.fromResult(result);
  }

  /** Submit `bodies` in nonce order, each waiting for finality; the first refusal throws
   * (the ones before it are final). */
  async submitAll(bodies: Iterable<TxBody>, timeoutMs?: number): Promise<Receipt[]> {
    const receipts: Receipt[] = [];
    for (const body of bodies) {
      receipts.push(await this.submit(body, timeoutMs === undefined ? {} : { timeoutMs }));
    }
    return receipts;
  }

  #admitted(tx: SignedTx): void {
    const nonce = BigInt(tx.nonce);
    if (this.#nonce === undefined || nonce >= this.#nonce) this.#nonce = nonce + 1n;
  }
}

function isSigned(tx: TxBody | SignedTx): tx is SignedTx {
  return (tx as SignedTx).raw instanceof Uint8Array;
}

function toNumberIfSafe(value: bigint): Int {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}
