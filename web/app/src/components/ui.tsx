/** Small shared pieces: loading and error states, addresses, copy buttons, fields, tables,
 * the wallet page frame. Form controls are in fields.tsx. */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { RpcTransportError } from "@agora/sdk";

import { isNotFound, type Loaded } from "../chain";
import { shortAddress } from "../format";
import { reasonText, t } from "../i18n";
import { link } from "../router";
import { useStore } from "../store";
import { vault } from "../vault";

let fieldCounter = 0;

/** A unique id for a label/control pair. */
export function useId(prefix: string): string {
  const [id] = useState(() => `${prefix}-${++fieldCounter}`);
  return id;
}

export function errorText(error: unknown): string {
  if (error instanceof RpcTransportError) return t("nodeUnreachableShort");
  if (isNotFound(error)) return t("notFound");
  const e = error as { reason?: string; detail?: string; message?: string };
  return reasonText(e.reason ?? "unknown", e.detail ?? e.message ?? String(error));
}

/** Renders `children(data)` once loaded; a status line while loading or on error. */
export function Load<T>({
  state,
  children,
}: {
  state: Loaded<T>;
  children: (data: T) => ComponentChildren;
}) {
  if (state.data !== undefined) {
    return (
      <>
        {state.error !== undefined && (
          <p class="notice warn" role="status">
            {errorText(state.error)}
          </p>
        )}
        {children(state.data)}
      </>
    );
  }
  if (state.error !== undefined) {
    return (
      <p class="notice error" role="alert">
        {errorText(state.error)}
      </p>
    );
  }
  return (
    <p class="muted" role="status" aria-busy="true">
      {t("loading")}
    </p>
  );
}

export function AddressLink({ address, label }: { address: string; label?: string }) {
  return (
    <a href={link("explorer", "address", address)} title={address} class="mono">
      {label ?? shortAddress(address)}
    </a>
  );
}

export function CopyButton({ text, label }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 2000);
  };
  return (
    <button type="button" class="secondary small" onClick={copy}>
      {done ? t("copied") : (label ?? t("copy"))}
      <span class="visually-hidden" aria-live="polite">
        {done ? t("copied") : ""}
      </span>
    </button>
  );
}

export function Field({
  label,
  help,
  children,
  id,
}: {
  label: string;
  help?: string;
  children: ComponentChildren;
  id: string;
}) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {help !== undefined && (
        <p class="help" id={`${id}-help`}>
          {help}
        </p>
      )}
    </div>
  );
}

export function Stars({ averageX100, count }: { averageX100: number; count: number }) {
  if (count === 0) return <span class="muted">{t("ratingNone")}</span>;
  const full = Math.round(averageX100 / 100);
  return (
    <span
      class="stars"
      role="img"
      aria-label={t("ratingOf", { avg: (averageX100 / 100).toFixed(1), count })}
    >
      <span aria-hidden="true">
        {"★".repeat(full)}
        {"☆".repeat(5 - full)}
      </span>
      <span aria-hidden="true" class="muted">
        {" "}
        {(averageX100 / 100).toFixed(1)} ({count})
      </span>
    </span>
  );
}

export function Section({
  title,
  children,
  id,
}: {
  title: string;
  children: ComponentChildren;
  id?: string;
}) {
  const generated = useId("section");
  const headingId = id ?? generated;
  return (
    <section class="card" aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}

/** What a page that needs a wallet says without one. */
export function NeedWallet() {
  return (
    <p>
      {t("needWallet")} <a href={link("wallet")}>{t("goWallet")}</a>
    </p>
  );
}

/** A button that acts at once (not a form's submit). */
export function Action({
  label,
  kind = "secondary",
  onClick,
}: {
  label: string;
  kind?: "primary" | "secondary" | "link";
  onClick: () => unknown;
}) {
  return (
    <button type="button" class={kind} onClick={() => void onClick()}>
      {label}
    </button>
  );
}

/** "Show more", when `when` (there is a next page). */
export function MoreButton({ onClick, when = true }: { onClick: () => void; when?: boolean }) {
  if (!when) return null;
  return (
    <button type="button" class="secondary" onClick={onClick}>
      {t("more")}
    </button>
  );
}

/** A table with a header row of `columns` (`{ hidden }`: a column named for screen
 * readers only) and `children` as its rows, scrolling sideways on a narrow screen. */
export function Table({
  columns,
  children,
  testId,
}: {
  columns: readonly (string | { hidden: string })[];
  children: ComponentChildren;
  testId?: string;
}) {
  return (
    <div class="table-wrap">
      <table data-testid={testId}>
        <thead>
          <tr>
            {columns.map((column) =>
              typeof column === "string" ? (
                <th scope="col" key={column}>
                  {column}
                </th>
              ) : (
                <th scope="col" key={column.hidden}>
                  <span class="visually-hidden">{column.hidden}</span>
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A page titled `title` for the wallet's account: `children(address)`, or `without`
 * (by default, where to make a wallet) when this browser has none. */
export function WalletPage({
  title,
  children,
  without,
}: {
  title: string;
  children: (address: string) => ComponentChildren;
  without?: ComponentChildren;
}) {
  const saved = useStore(vault);
  return (
    <div class="page">
      <h1>{title}</h1>
      {saved === null ? (without ?? <NeedWallet />) : children(saved.address)}
    </div>
  );
}

/** A loaded page of items: `empty` when it has none, else `children(items)`. */
export function ListLoad<T>({
  state,
  empty,
  children,
}: {
  state: Loaded<{ items: T[] }>;
  empty: string;
  children: (items: T[]) => ComponentChildren;
}) {
  return (
    <Load state={state}>
      {(page) => (page.items.length === 0 ? <p class="muted">{empty}</p> : children(page.items))}
    </Load>
  );
}

interface TermProps {
  label: string;
  children: ComponentChildren;
  testId?: string;
  class?: string;
}

/** A term and its description in a `dl.pairs`. */
export function Pair({ label, children, testId, class: className }: TermProps) {
  return (
    <>
      <dt>{label}</dt>
      <dd class={className} data-testid={testId}>
        {children}
      </dd>
    </>
  );
}

/** One figure of a `dl.figures`: its label over its value. */
export function Figure(props: TermProps) {
  return (
    <div>
      <Pair {...props} />
    </div>
  );
}
