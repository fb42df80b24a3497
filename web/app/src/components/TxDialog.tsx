/**
 * The one place a transaction is signed: what will be signed in words first, the passphrase
 * if the key is locked, then each step until the block that finalizes it, or the refusal in
 * words. Nothing is signed before the user presses "Sign and send".
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { SignedTx } from "@agora/sdk";

import { reasonText, t, useLang } from "../i18n";
import { link } from "../router";
import { useStore } from "../store";
import { signAndSend, txRequest, type Outcome } from "../txflow";
import { unlock, unlocked, vault, VaultError } from "../vault";
import { PasswordField } from "./fields";


type Phase =
  | { kind: "review"; error?: string }
  | { kind: "signing" }
  | { kind: "sent"; signed: SignedTx }
  | { kind: "done"; outcome: Outcome };

export function TxDialog() {
  useLang();
  const request = useStore(txRequest);
  const keypair = useStore(unlocked);
  const saved = useStore(vault);
  const dialog = useRef<HTMLDialogElement>(null);
  const [phase, setPhase] = useState<Phase>({ kind: "review" });
  const [passphrase, setPassphrase] = useState("");
  const [signed, setSigned] = useState<SignedTx | null>(null);

  useEffect(() => {
    const element = dialog.current;
    if (element === null) return;
    if (request !== null && !element.open) {
      setPhase({ kind: "review" });
      setSigned(null);
      setPassphrase("");
      element.showModal();
    }
    if (request === null && element.open) element.close();
  }, [request]);

  if (request === null) return <dialog ref={dialog} class="tx-dialog" />;

  const finish = () => {
    const outcome = phase.kind === "done" ? phase.outcome : null;
    request.resolve(outcome?.kind === "finalized" ? outcome.receipt : null);
    txRequest.set(null);
  };

  const send = async (resend: SignedTx | null) => {
    let key = keypair;
    if (key === null) {
      try {
        setPhase({ kind: "signing" });
        key = await unlock(passphrase);
      } catch (error) {
        const message = error instanceof VaultError ? t(error.key) : String(error);
        setPhase({ kind: "review", error: message });
        return;
      }
    }
    setPhase(resend === null ? { kind: "signing" } : { kind: "sent", signed: resend });
    const outcome = await signAndSend(
      key,
      request.body,
      resend,
      (tx) => {
        setSigned(tx);
        setPhase({ kind: "sent", signed: tx });
      },
      request.prepare,
    );
    if (outcome.kind !== "refused" || outcome.signed !== null) {
      setSigned(outcome.kind === "finalized" ? null : (outcome.signed ?? signed));
    }
    setPhase({ kind: "done", outcome });
  };

  const busy = phase.kind === "signing" || phase.kind === "sent";
  return (
    <dialog
      ref={dialog}
      class="tx-dialog"
      aria-labelledby="tx-title"
      onCancel={(event) => {
        event.preventDefault();
        if (!busy) finish();
      }}
    >
      <h2 id="tx-title">{request.title}</h2>
      {saved === null ? (
        <p class="notice warn" role="alert">
          {t("needWallet")}{" "}
          <a href={link("wallet")} onClick={finish}>
            {t("goWallet")}
          </a>
        </p>
      ) : (
        <>
          <p>{t("txWillSign")}</p>
          <ul class="tx-lines">
            {request.lines.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          <details>
            <summary>{t("txDetails")}</summary>
            <dl class="pairs small">
              <dt>{t("type")}</dt>
              <dd class="mono">{request.body.type}</dd>
              <dt>{t("sender")}</dt>
              <dd class="mono wrap">{saved.address}</dd>
              <dt>{t("body")}</dt>
              <dd class="mono wrap">
                {JSON.stringify(request.body, (_, v: unknown) =>
                  typeof v === "bigint"
                    ? v.toString()
                    : v instanceof Uint8Array
                      ? `<${v.length} bytes sealed>`
                      : v,
                )}
              </dd>
              {signed !== null && (
                <>
                  <dt>{t("txId")}</dt>
                  <dd class="mono wrap">{signed.idHex}</dd>
                </>
              )}
            </dl>
          </details>
          <Progress phase={phase} />
          {phase.kind === "review" && (
            <form
              onSubmit={(event) => {
                event.preventDefault();
                void send(null);
              }}
            >
              {keypair === null && (
                <PasswordField label={t("txUnlockToSign")} value={passphrase}
                               onValue={setPassphrase} autoComplete="current-password" />
              )}
              {phase.error !== undefined && (
                <p class="notice error" role="alert">
                  {phase.error}
                </p>
              )}
              <div class="actions">
                <button type="submit" class="primary">
                  {t("txSign")}
                </button>
                <button type="button" class="secondary" onClick={finish}>
                  {t("cancel")}
                </button>
              </div>
            </form>
          )}
          {phase.kind === "done" && (
            <div class="actions">
              {phase.outcome.kind === "unreachable" && (
                <button
                  type="button"
                  class="primary"
                  onClick={() =>
                    void send(phase.outcome.kind === "unreachable" ? phase.outcome.signed : null)
                  }
                >
                  {t("txRetry")}
                </button>
              )}
              <button
                type="button"
                class={phase.outcome.kind === "unreachable" ? "secondary" : "primary"}
                onClick={finish}
              >
                {t("close")}
              </button>
            </div>
          )}
        </>
      )}
    </dialog>
  );
}

function Progress({ phase }: { phase: Phase }) {
  if (phase.kind === "review") return null;
  if (phase.kind === "signing") {
    return (
      <p role="status" aria-busy="true">
        {t("txSigning")}
      </p>
    );
  }
  if (phase.kind === "sent") {
    return (
      <div role="status" aria-busy="true">
        <ol class="steps">
          <li class="ok">{t("txSigned")}</li>
          <li>{t("txSent")}</li>
        </ol>
      </div>
    );
  }
  const outcome = phase.outcome;
  switch (outcome.kind) {
    case "finalized":
      return (
        <div role="status">
          <ol class="steps">
            <li class="ok">{t("txSigned")}</li>
            <li class="ok">{t("txSentDone")}</li>
            <li class="ok" data-testid="tx-final" data-ms={Math.round(outcome.elapsedMs)}>
              {t("txFinal", {
                height: outcome.receipt.height ?? "?",
                ms: Math.round(outcome.elapsedMs),
              })}{" "}
              <a href={link("explorer", "tx", outcome.receipt.txId)}>{t("viewInExplorer")}</a>
            </li>
          </ol>
        </div>
      );
    case "refused":
      return (
        <div class="notice error" role="alert" data-testid="tx-refused">
          <p>
            <strong>{outcome.reason === "unreachable" ? t("txNotSent") : t("txRefused")}</strong>
          </p>
          <p>{reasonText(outcome.reason, outcome.detail)}</p>
          <p class="small muted">
            {t("txRefusedNothing")} ({outcome.reason})
          </p>
        </div>
      );
    case "unreachable":
      return (
        <div class="notice warn" role="alert" data-testid="tx-unreachable">
          <p>
            <strong>{t("txUnreachable")}</strong>
          </p>
          <p class="small mono wrap">{outcome.signed.idHex}</p>
        </div>
      );
    case "pending":
      return (
        <div class="notice warn" role="status">
          <p>{t("txPending")}</p>
          <a href={link("explorer", "tx", outcome.signed.idHex)}>{t("viewInExplorer")}</a>
        </div>
      );
  }
}
