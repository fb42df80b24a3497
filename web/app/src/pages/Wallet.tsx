/**
 * The browser wallet: create or import a key (kept encrypted in this browser), unlock and
 * lock it, balance, orders with their state and deadline and the buyer's actions, rewards
 * with the claim button, sending tokens.
 */
import { useState } from "preact/hooks";
import {
  fromHex,
  fromUtf8,
  isAddress,
  parseAmount,
  type Account,
  type Keypair,
  type Order,
  type Review,
  type Rewards,
} from "@agora/sdk";

import { client, isNotFound, useChainData, useHead } from "../chain";
import {
  AmountField,
  ErrorLine,
  Form,
  InputField,
  PasswordField,
  Submit,
  TextAreaField,
} from "../components/fields";
import {
  Action,
  AddressLink,
  CopyButton,
  Field,
  Load,
  Pair,
  Section,
  WalletPage as Shell,
  useId,
} from "../components/ui";
import { tokens } from "../format";
import { t, type Key, useLang, wordsOf } from "../i18n";
import { link } from "../router";
import { useStore } from "../store";
import { requestTx } from "../txflow";
import {
  createWallet,
  forget,
  importWallet,
  lock,
  unlock,
  unlocked,
  vault,
  VaultError,
} from "../vault";
import { MyTeams } from "./Teams";

export function WalletPage() {
  useLang();
  return (
    <Shell title={t("walletTitle")} without={<NewWallet />}>
      {(address) => <Account address={address} />}
    </Shell>
  );
}

function vaultMessage(error: unknown): string {
  return error instanceof VaultError ? t(error.key) : String(error);
}

/** A new passphrase and its repetition. */
function NewPassphrase(props: {
  pass: string;
  setPass: (value: string) => void;
  repeat: string;
  setRepeat: (value: string) => void;
  help?: boolean;
}) {
  return (
    <>
      <PasswordField label={t("passphrase")} help={props.help ? t("passphraseHelp") : undefined}
                     value={props.pass} onValue={props.setPass} autoComplete="new-password" />
      <PasswordField label={t("passphraseRepeat")} value={props.repeat} onValue={props.setRepeat}
                     autoComplete="new-password" />
    </>
  );
}

function NewWallet() {
  const [pass, setPass] = useState("");
  const [repeat, setRepeat] = useState("");
  const [seed, setSeed] = useState("");
  const [ipass, setIpass] = useState("");
  const [irepeat, setIrepeat] = useState("");
  const [error, setError] = useState<{ form: string; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (form: string, action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError({ form, text: vaultMessage(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="columns">
      <Section title={t("createTitle")}>
        <p class="small">{t("createHelp")}</p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run("create", () => createWallet(pass, repeat));
          }}
        >
          <NewPassphrase pass={pass} setPass={setPass} repeat={repeat} setRepeat={setRepeat} help />
          <ErrorLine error={error?.form === "create" ? error.text : ""} />
          <Submit label={t("create")} disabled={busy} />
        </form>
      </Section>
      <Section title={t("importTitle")}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run("import", () => importWallet(seed, ipass, irepeat));
          }}
        >
          <PasswordField label={t("seed")} value={seed} onValue={setSeed} autoComplete="off"
                         class="mono" />
          <NewPassphrase pass={ipass} setPass={setIpass} repeat={irepeat} setRepeat={setIrepeat} />
          <ErrorLine error={error?.form === "import" ? error.text : ""} />
          <Submit label={t("importButton")} kind="secondary" disabled={busy} />
        </form>
      </Section>
    </div>
  );
}

interface AccountData {
  readonly account: Account;
  readonly rewards: Rewards;
  readonly orders: Order[];
  readonly reviews: Map<number, Review>;
  readonly titles: Map<number, string>;
}

async function loadAccount(address: string): Promise<AccountData> {
  const [account, rewards, orders] = await Promise.all([
    client.account(address),
    client.rewards(address),
    client.orders({ buyer: address, limit: 100 }),
  ]);
  const reviews = new Map<number, Review>();
  const titles = new Map<number, string>();
  await Promise.all(
    orders.items.map(async (order) => {
      if (!titles.has(order.listing)) {
        titles.set(order.listing, "");
        const listing = await client.listing(order.listing, order.version).catch(() => null);
        titles.set(order.listing, listing?.title ?? `#${order.listing}`);
      }
      if (order.status === "completed") {
        const review = await client.review(order.id).catch((error: unknown) => {
          if (isNotFound(error)) return null;
          throw error;
        });
        if (review !== null) reviews.set(order.id, review);
      }
    }),
  );
  return {
    account,
    rewards,
    orders: [...orders.items].sort((a, b) => b.id - a.id),
    reviews,
    titles,
  };
}

function Account({ address }: { address: string }) {
  const state = useChainData(() => loadAccount(address), [address]);
  return (
    <>
      <KeyBox address={address} balance={state.data?.account.balance} />
      <Load state={state}>
        {(data) => (
          <>
            <RewardsBox rewards={data.rewards} reload={state.reload} />
            <Orders data={data} reload={state.reload} />
            <MyTeams address={address} />
            <Transfer reload={state.reload} />
          </>
        )}
      </Load>
    </>
  );
}

function KeyBox({ address, balance }: { address: string; balance: number | undefined }) {
  const keypair = useStore(unlocked);
  const [pass, setPass] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [seedShown, setSeedShown] = useState(false);
  const doUnlock = async () => {
    setBusy(true);
    setError("");
    try {
      await unlock(pass);
      setPass("");
    } catch (e) {
      setError(vaultMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title={t("accountTitle")}>
      <dl class="pairs">
        <Pair label={t("address")} class="inline wrap-gap">
          <span class="mono wrap" data-testid="wallet-address">
            {address}
          </span>
          <CopyButton text={address} />
        </Pair>
        <Pair label={t("balance")} class="big" testId="balance">
          {tokens(balance)}
        </Pair>
        <Pair label={t("keyState")}>{keypair === null ? t("locked") : t("unlockedState")}</Pair>
      </dl>
      {keypair === null ? (
        <Form onSubmit={doUnlock} class="inline-form">
          <PasswordField label={t("passphrase")} value={pass} onValue={setPass}
                         autoComplete="current-password" />
          <Submit label={t("unlock")} disabled={busy} />
          {error && (
            <p class="notice error" role="alert" data-testid="unlock-error">
              {error}
            </p>
          )}
        </Form>
      ) : (
        <div class="actions">
          <button type="button" class="secondary" onClick={lock}>
            {t("lock")}
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => setSeedShown((s) => !s)}
            aria-expanded={seedShown}
          >
            {t("backup")}
          </button>
        </div>
      )}
      {keypair !== null && seedShown && (
        <p class="notice warn">
          {t("backupHelp")}
          <br />
          <span class="mono wrap">{keypair.seedHex()}</span>
        </p>
      )}
      <details>
        <summary>{t("forget")}</summary>
        <p class="small">{t("forgetHelp")}</p>
        <button
          type="button"
          class="danger"
          onClick={() => {
            if (confirm(t("forgetConfirm"))) forget();
          }}
        >
          {t("forgetButton")}
        </button>
      </details>
    </Section>
  );
}

function RewardsBox({ rewards, reload }: { rewards: Rewards; reload: () => void }) {
  const claim = async () => {
    const receipt = await requestTx(
      t("claimTitle"),
      [t("descClaim", { amount: tokens(rewards.accrued) })],
      { type: "reward_claim" },
    );
    if (receipt !== null) reload();
  };
  return (
    <Section title={t("rewards")}>
      <dl class="pairs">
        <Pair label={t("accrued")} testId="rewards-accrued">{tokens(rewards.accrued)}</Pair>
        <Pair label={t("claimed")} testId="rewards-claimed">{tokens(rewards.claimed)}</Pair>
      </dl>
      <button
        type="button"
        class="primary"
        disabled={rewards.accrued === 0}
        onClick={() => void claim()}
      >
        {t("claim")}
      </button>
    </Section>
  );
}

/** An order's status in words. */
export const statusText = wordsOf({
  paid: "status_paid",
  shipped: "status_shipped",
  disputed: "status_disputed",
  completed: "status_completed",
  refunded: "status_refunded",
  cancelled: "status_cancelled",
});

/** What the wallet shows for a text sealed to its key: the text, or why not (the key is
 * locked; nothing was sealed: `missing`; it does not open). */
export function unsealedText(keypair: Keypair | null, sealedHex: string,
                             missing: Key = "noteDoesNotOpen"): string {
  if (keypair === null) return t("unlockFirst");
  if (!sealedHex) return t(missing);
  try {
    return fromUtf8(keypair.unseal(fromHex(sealedHex)));
  } catch {
    return t("noteDoesNotOpen");
  }
}

/** A sealed text of an order once this wallet has opened it (the delivery details, a
 * tracking note); nothing before. */
export function OpenedText({ text, testId }: { text: string | undefined; testId: string }) {
  if (text === undefined) return null;
  return (
    <p class="notice info" data-testid={testId}>
      {text}
    </p>
  );
}

export function Deadline({ order }: { order: Order }) {
  const { height } = useHead();
  if (order.due_height === 0 || !["paid", "shipped", "disputed"].includes(order.status)) {
    return <span class="muted">—</span>;
  }
  const left = order.due_height - height;
  const what: Key =
    order.status === "paid"
      ? "deadlineShip"
      : order.status === "shipped"
        ? "deadlineRelease"
        : "deadlineDispute";
  return <span>{t(what, { height: order.due_height, n: Math.max(0, left) })}</span>;
}

function Orders({ data, reload }: { data: AccountData; reload: () => void }) {
  const keypair = useStore(unlocked);
  const [notes, setNotes] = useState<Record<number, string>>({});
  const act = async (order: Order, action: "order_confirm" | "order_cancel") => {
    const words = action === "order_confirm" ? "descConfirm" : "descCancel";
    const receipt = await requestTx(
      t(action === "order_confirm" ? "confirmTitle" : "cancelTitle"),
      [t(words, { order: order.id, total: tokens(order.total) })],
      { type: action, order: order.id },
    );
    if (receipt !== null) reload();
  };
  const dispute = async (order: Order, reason: string) => {
    const receipt = await requestTx(
      t("disputeTitle"),
      [
        t("descDispute", { order: order.id, total: tokens(order.total) }),
        ...(reason ? [`“${reason}”`] : []),
      ],
      { type: "order_dispute", order: order.id, reason: reason.slice(0, 500) },
    );
    if (receipt !== null) reload();
  };
  const openTracking = (order: Order) =>
    setNotes((n) => ({ ...n, [order.id]: unsealedText(keypair, order.tracking) }));
  return (
    <Section title={t("orders")}>
      {data.orders.length === 0 && <p class="muted">{t("noOrders")}</p>}
      <ul class="plain">
        {data.orders.map((order) => (
          <li key={order.id} class="order" data-testid={`order-${order.id}`}>
            <h3 class="h4">
              {t("orderNumber", { id: order.id })}:{" "}
              <a href={link("listing", order.listing)}>{data.titles.get(order.listing)}</a>
            </h3>
            <dl class="pairs small">
              <Pair label={t("status")}>
                <span class={`badge ${order.status}`} data-testid="order-status">
                  {statusText(order.status)}
                </span>
              </Pair>
              <Pair label={t("total")}>
                {tokens(order.total)} ({order.quantity} ×)
              </Pair>
              <Pair label={t("deadline")}>
                <Deadline order={order} />
              </Pair>
              <Pair label={t("merchant")}>
                <AddressLink address={order.merchant} />
              </Pair>
            </dl>
            <OpenedText text={notes[order.id]} testId="tracking-note" />
            <div class="actions">
              {order.status === "paid" && (
                <Action label={t("cancelOrder")} onClick={() => act(order, "order_cancel")} />
              )}
              {(order.status === "shipped" || order.status === "disputed") && (
                <Action label={t("confirm")} kind="primary"
                        onClick={() => act(order, "order_confirm")} />
              )}

              {order.tracking !== "" && (
                <button type="button" class="secondary" onClick={() => openTracking(order)}>
                  {t("openTracking")}
                </button>
              )}
            </div>
            {order.status === "shipped" && (
              <DisputeForm onSend={(reason) => void dispute(order, reason)} />
            )}
            {order.status === "completed" && !data.reviews.has(order.id) && (
              <ReviewForm order={order} reload={reload} />
            )}
            {data.reviews.has(order.id) && (
              <p class="small muted">
                {t("reviewed", { n: data.reviews.get(order.id)?.rating ?? 0 })}
              </p>
            )}
          </li>
        ))}
      </ul>
    </Section>
  );
}

function DisputeForm({ onSend }: { onSend: (reason: string) => void }) {
  const [reason, setReason] = useState("");
  const id = useId("dispute");
  return (
    <details>
      <summary>{t("dispute")}</summary>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onSend(reason.trim());
        }}
      >
        <TextAreaField label={t("disputeReason")} value={reason} onValue={setReason} rows={2}
                       maxLength={500} />
        <Submit label={t("dispute")} kind="secondary" />
      </form>
    </details>
  );
}

function ReviewForm({ order, reload }: { order: Order; reload: () => void }) {
  const [rating, setRating] = useState("5");
  const [text, setText] = useState("");
  const ratingId = useId("rating");
  const send = async () => {
    const receipt = await requestTx(
      t("reviewTitle"),
      [t("descReview", { order: order.id, n: rating }), ...(text ? [`“${text}”`] : [])],
      { type: "review", order: order.id, rating: Number(rating), text },
    );
    if (receipt !== null) reload();
  };
  return (
    <Form onSubmit={send} class="review-form">
      <Field id={ratingId} label={t("rating")}>
        <select id={ratingId} value={rating} onChange={(e) => setRating(e.currentTarget.value)}>
          {[5, 4, 3, 2, 1].map((n) => (
            <option key={n} value={String(n)}>
              {t("ratingValue", { n })}
            </option>
          ))}
        </select>
      </Field>
      <TextAreaField label={t("reviewText")} value={text} onValue={setText} rows={2}
                     maxLength={2000} />
      <Submit label={t("review")} />
    </Form>
  );
}

function Transfer({ reload }: { reload: () => void }) {
  const [to, setTo] = useState("");
  const [amount, setAmount] = useState("");
  const [error, setError] = useState("");
  const send = async () => {
    setError("");
    if (!isAddress(to.trim())) {
      setError(t("reason_bad_address", { detail: "" }));
      return;
    }
    let minor: bigint;
    try {
      minor = parseAmount(amount);
      if (minor <= 0n) throw new Error("zero");
    } catch {
      setError(t("amountInvalid"));
      return;
    }
    const receipt = await requestTx(
      t("transferTitle"),
      [t("descTransfer", { amount: tokens(minor), to: to.trim() })],
      { type: "transfer", to: to.trim(), amount: minor },
    );
    if (receipt !== null) {
      setAmount("");
      reload();
    }
  };
  return (
    <Section title={t("transferTitle")}>
      <Form onSubmit={send}>
        <InputField label={t("toAddress")} value={to} onValue={setTo} class="mono" required
                    autoComplete="off" />
        <AmountField label={t("amountLabel")} value={amount} onValue={setAmount} />
        <ErrorLine error={error} />
        <Submit label={t("send")} kind="secondary" />
      </Form>
    </Section>
  );
}
