/**
 * The explorer: the live head and view, validators, supply and its parts, the latest blocks;
 * a block with its transactions and its commit certificate (signers checked in this
 * browser); a transaction decoded with its receipt; an account; one search box for an
 * address, a height, a hash or an id.
 */
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import {
  isAddress,
  verifyCertificate,
  type BlockView,
  type TxEvent,
  type TxView,
} from "@agora/sdk";

import { client, isNotFound, useChainData, useHead } from "../chain";
import { AddressLink, Figure, Load, Pair, Section, Table } from "../components/ui";
import { shortHash, time, tokens } from "../format";
import { t, txTypeText, useLang } from "../i18n";
import { link, navigate } from "../router";
import { statusText } from "./Wallet";
import { SearchBox } from "../components/fields";

const LATEST_BLOCKS = 10;

export function ExplorerPage({ parts }: { parts: readonly string[] }) {
  useLang();
  const [kind, value = ""] = parts;
  let body;
  if (kind === "block") body = <BlockPage height={Number(value)} />;
  else if (kind === "tx") body = <TxPage id={value} />;
  else if (kind === "address") body = <AddressPage address={value} />;
  else if (kind === "order") body = <OrderPage id={Number(value)} />;
  else if (kind === "search") body = <SearchPage query={value} />;
  else body = <Overview />;
  return (
    <div class="page">
      <h1>{t("explorerTitle")}</h1>
      <ExplorerSearch />
      {body}
    </div>
  );
}

function ExplorerSearch() {
  const [text, setText] = useState("");
  return (
    <form
      role="search"
      class="filters"
      onSubmit={(e) => {
        e.preventDefault();
        if (text.trim()) navigate(link("explorer", "search", text.trim()));
      }}
    >
      <SearchBox label={t("searchAny")} button={t("go")} value={text} onValue={setText}
                 maxLength={100} mono />
    </form>
  );
}

interface Hit {
  readonly label: string;
  readonly href: string;
}

async function resolve(query: string): Promise<Hit[]> {
  const text = query.trim();
  if (isAddress(text)) return [{ label: t("account"), href: link("explorer", "address", text) }];
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    const hex = text.toLowerCase();
    const hits: Hit[] = [];
    const [tx, block] = await Promise.all([
      client.transaction(hex).catch((e: unknown) => {
        if (isNotFound(e)) return null;
        throw e;
      }),
      client.blockByHash(hex, false).catch((e: unknown) => {
        if (isNotFound(e)) return null;
        throw e;
      }),
    ]);
    if (tx !== null) hits.push({ label: t("transaction"), href: link("explorer", "tx", hex) });
    if (block !== null) {
      hits.push({
        label: t("blockN", { height: block.header.height }),
        href: link("explorer", "block", block.header.height),
      });
    }
    return hits;
  }
  const asNumber = /^#?(\d{1,18})$/.exec(text);
  if (asNumber !== null) {
    const n = Number(asNumber[1]);
    const exists = (promise: Promise<unknown>) =>
      promise.then(
        () => true,
        (e: unknown) => {
          if (isNotFound(e) || (e as { reason?: string }).reason === "field_invalid") return false;
          throw e;
        },
      );
    const [block, listing, order, poll] = await Promise.all([
      n >= 1 ? exists(client.blockSummary(n)) : Promise.resolve(false),
      n >= 1 ? exists(client.listing(n)) : Promise.resolve(false),
      n >= 1 ? exists(client.order(n)) : Promise.resolve(false),
      n >= 1 ? exists(client.poll(n)) : Promise.resolve(false),
    ]);
    const hits: Hit[] = [];
    if (block) hits.push({ label: t("blockN", { height: n }), href: link("explorer", "block", n) });
    if (listing) hits.push({ label: t("listingN", { id: n }), href: link("listing", n) });
    if (order)
      hits.push({ label: t("orderNumber", { id: n }), href: link("explorer", "order", n) });
    if (poll)
      hits.push({ label: t("pollN", { id: n }), href: link("explorer", "search", `poll-${n}`) });
    return hits;
  }
  return [];
}

function SearchPage({ query }: { query: string }) {
  const state = useChainData(
    async () => {
      const hits = await resolve(query);
      if (hits.length === 1) navigate(hits[0]!.href);
      return hits;
    },
    [query],
    false,
  );
  return (
    <Section title={t("searchResults", { query })}>
      <Load state={state}>
        {(hits) =>
          hits.length === 0 ? (
            <p class="notice warn" role="status">
              {t("searchNothing", { query })}
            </p>
          ) : (
            <ul>
              {hits.map((hit) => (
                <li key={hit.href}>
                  <a href={hit.href}>{hit.label}</a>
                </li>
              ))}
            </ul>
          )
        }
      </Load>
    </Section>
  );
}

async function loadOverview(height: number) {
  const [status, validators, supply] = await Promise.all([
    client.status(),
    client.validators(),
    client.supply(),
  ]);
  const top = Math.max(height, status.height);
  const heights = Array.from({ length: Math.min(LATEST_BLOCKS, top) }, (_, i) => top - i);
  const blocks = await Promise.all(heights.map((h) => client.blockSummary(h)));
  return { status, validators, supply, blocks };
}

function Overview() {
  const head = useHead();
  const state = useChainData(() => loadOverview(head.height), [], "blocks");
  return (
    <Load state={state}>
      {({ status, validators, supply, blocks }) => (
        <>
          <Section title={t("chainTitle")}>
            <dl class="figures">
              <Figure label={t("chain")} class="mono">{status.chain_id}</Figure>
              <Figure label={t("height")} testId="explorer-height">
                {Math.max(head.height, status.height)}
              </Figure>
              <Figure label={t("view")}>{status.view}</Figure>
              <Figure label={t("peers")}>{status.peers}</Figure>
              <Figure label={t("mempool")}>{status.mempool_txs}</Figure>
              <Figure label={t("servedBy")}>{status.moniker}</Figure>
            </dl>
          </Section>
          <Section title={t("latestBlocks")}>
            <Table columns={[t("height"), t("hash"), t("txs"), t("time")]}>
                  {blocks.map((block) => (
                    <tr key={block.header.height}>
                      <td>
                        <a href={link("explorer", "block", block.header.height)}>
                          {block.header.height}
                        </a>
                      </td>
                      <td class="mono">{shortHash(block.header.hash)}</td>
                      <td class="num">{block.tx_count}</td>
                      <td>{time(block.header.timestamp_ms)}</td>
                    </tr>
                  ))}
                </Table>
          </Section>
          <div class="columns">
            <Section title={t("validators")}>
              <ol class="plain">
                {validators.map((v) => (
                  <li key={v.index}>
                    <strong>{v.name}</strong>
                    {v.public_key === status.primary ? ` (${t("primary")})` : ""}{" "}
                    <AddressLink address={v.address} />
                  </li>
                ))}
              </ol>
            </Section>
            <Section title={t("supply")}>
              <dl class="pairs">
                <Pair label={t("supplyGenesis")}>{tokens(supply.genesis)}</Pair>
                <Pair label={t("supplyMinted")}>{tokens(supply.minted)}</Pair>
                <Pair label={t("supplyTotal")}>{tokens(supply.total)}</Pair>
                <Pair label={t("supplyEscrow")}>{tokens(supply.escrow)}</Pair>
                <Pair label={t("supplyCirculating")}>{tokens(supply.circulating)}</Pair>
              </dl>
            </Section>
          </div>
        </>
      )}
    </Load>
  );
}

async function loadBlock(height: number) {
  const [block, validators, status] = await Promise.all([
    client.block(height),
    client.validators(),
    client.status(),
  ]);
  const check = verifyCertificate(
    block.certificate,
    height,
    block.header.hash,
    validators.map((v) => v.public_key),
    status.chain_id,
  );
  return { block, validators, check };
}

function BlockPage({ height }: { height: number }) {
  const state = useChainData(() => loadBlock(height), [height], false);
  return (
    <Load state={state}>
      {({ block, validators, check }) => (
        <>
          <Section title={t("blockN", { height })}>
            <BlockHeader block={block} validators={validators} />
            <nav class="inline wrap-gap" aria-label={t("blockNav")}>
              {height > 1 && (
                <a href={link("explorer", "block", height - 1)}>
                  ← {t("blockN", { height: height - 1 })}
                </a>
              )}
              <a href={link("explorer", "block", height + 1)}>
                {t("blockN", { height: height + 1 })} →
              </a>
            </nav>
          </Section>
          <Section title={t("txsInBlock", { n: block.tx_count })}>
            {block.txs.length === 0 && <p class="muted">{t("noTxs")}</p>}
            <ul class="plain">
              {block.txs.map((tx) => (
                <li key={tx.id} class="tx-row">
                  <a href={link("explorer", "tx", tx.id)} class="mono">
                    {shortHash(tx.id)}
                  </a>{" "}
                  <span class="badge" title={tx.type}>
                    {txTypeText(tx.type)}
                  </span>{" "}
                  <AddressLink address={tx.sender} />
                </li>
              ))}
            </ul>
            {block.end_events.length > 0 && (
              <Events events={block.end_events} title={t("endEvents")} />
            )}
          </Section>
          <Section title={t("certificate")}>
            <p class={check.final ? "notice ok" : "notice error"} data-testid="certificate-check">
              {check.final
                ? t("certVerified", {
                    valid: check.validSigners.length,
                    n: validators.length,
                    quorum: validators.length - Math.floor((validators.length - 1) / 3),
                  })
                : t("certFailed")}
            </p>
            <dl class="pairs small">
              <Pair label={t("view")}>{check.certificate.view}</Pair>
              <Pair label={t("hash")} class="mono wrap">{check.certificate.hash}</Pair>
            </dl>
            <h3 class="h4">{t("signers")}</h3>
            <ul class="plain" data-testid="signers">
              {check.certificate.signatures.map(({ signer, signature }) => (
                <li key={signer}>
                  <strong>{validators[signer]?.name ?? `#${signer}`}</strong>{" "}
                  {check.validSigners.includes(signer)
                    ? `✓ ${t("sigValid")}`
                    : `✗ ${t("sigInvalid")}`}{" "}
                  <span class="mono small muted">{shortHash(signature)}</span>
                </li>
              ))}
            </ul>
          </Section>
        </>
      )}
    </Load>
  );
}

function BlockHeader({
  block,
  validators,
}: {
  block: BlockView<TxView>;
  validators: { public_key: string; name: string }[];
}) {
  const h = block.header;
  const proposer = validators.find((v) => v.public_key === h.proposer);
  return (
    <dl class="pairs">
      <Pair label={t("hash")} class="mono wrap" testId="block-hash">
        {h.hash}
      </Pair>
      <Pair label={t("prevHash")} class="mono wrap">
        {h.height > 1 ? (
          <a href={link("explorer", "block", h.height - 1)}>{h.prev_hash}</a>
        ) : (
          h.prev_hash
        )}
      </Pair>
      <Pair label={t("time")}>{time(h.timestamp_ms)}</Pair>
      <Pair label={t("proposer")}>
        {proposer?.name ?? ""} <span class="mono small">{shortHash(h.proposer)}</span>
      </Pair>
      <Pair label={t("txRoot")} class="mono wrap small">{h.tx_root}</Pair>
      <Pair label={t("stateRoot")} class="mono wrap small">{h.state_root}</Pair>
      <Pair label={t("nextValidatorsHash")} class="mono wrap small">{h.next_validators_hash}</Pair>
    </dl>
  );
}

function fieldValue(name: string, value: unknown, fields: Record<string, unknown>) {
  if (typeof value === "string" && isAddress(value)) return <AddressLink address={value} />;
  const decimal = fields[`${name}_decimal`];
  if (typeof decimal === "string" && typeof value === "number") return <>{tokens(value)}</>;
  if (typeof value === "string" && /^[0-9a-f]{96,}$/.test(value)) {
    return <span class="mono small">{t("sealedBytes", { n: value.length / 2 })}</span>;
  }
  return (
    <span class="wrap">{typeof value === "object" ? JSON.stringify(value) : String(value)}</span>
  );
}

function Events({ events, title }: { events: readonly TxEvent[]; title: string }) {
  return (
    <>
      <h3 class="h4">{title}</h3>
      <ul class="plain">
        {events.map((event, index) => (
          <li key={index} class="event">
            <span class="badge">{event.kind}</span>
            <dl class="pairs small">
              {Object.entries(event.fields)
                .filter(([k]) => !k.endsWith("_decimal"))
                .map(([k, v]) => (
                  <Fragment key={k}>
                    <Pair label={k}>{fieldValue(k, v, event.fields)}</Pair>
                  </Fragment>
                ))}
              {event.addresses.length > 0 && (
                <>
                  <Pair label={t("addresses")}>
                    {event.addresses.map((a) => (
                      <Fragment key={a}>
                        <AddressLink address={a} />{" "}
                      </Fragment>
                    ))}
                  </Pair>
                </>
              )}
            </dl>
          </li>
        ))}
      </ul>
    </>
  );
}

function TxPage({ id }: { id: string }) {
  const state = useChainData(() => client.transaction(id.toLowerCase()), [id]);
  return (
    <Load state={state}>
      {(found) => (
        <Section title={t("transaction")}>
          <dl class="pairs">
            <Pair label={t("txId")} class="mono wrap">{found.tx.id}</Pair>
            <Pair label={t("status")} testId="tx-status">
              {found.status === "finalized" ? t("finalizedIn") : t("pendingTx")}{" "}
              {found.height !== undefined && (
                <a href={link("explorer", "block", found.height)}>
                  {t("blockN", { height: found.height })}
                </a>
              )}
            </Pair>
            <Pair label={t("type")}>
              <span class="badge">{txTypeText(found.tx.type)}</span>{" "}
              <span class="mono small muted">{found.tx.type}</span>
            </Pair>
            <Pair label={t("sender")}>
              <AddressLink address={found.tx.sender} />
            </Pair>
            <Pair label={t("nonce")}>{found.tx.nonce}</Pair>
            <Pair label={t("size")}>{found.tx.size_bytes} B</Pair>
          </dl>
          <h3 class="h4">{t("body")}</h3>
          <dl class="pairs" data-testid="tx-body">
            {Object.entries(found.tx.body).map(([k, v]) => (
              <Fragment key={k}>
                <Pair label={k}>{fieldValue(k, v, found.tx.body)}</Pair>
              </Fragment>
            ))}
          </dl>
          {found.events !== undefined && <Events events={found.events} title={t("events")} />}
        </Section>
      )}
    </Load>
  );
}

async function loadAddress(address: string) {
  const [account, rewards, merchant, bought, sold] = await Promise.all([
    client.account(address),
    client.rewards(address),
    client.merchant(address).catch((e: unknown) => {
      if (isNotFound(e)) return null;
      throw e;
    }),
    client.orders({ buyer: address, limit: 20 }),
    client.orders({ merchant: address, limit: 20 }),
  ]);
  return { account, rewards, merchant, orders: [...bought.items, ...sold.items] };
}

function AddressPage({ address }: { address: string }) {
  const state = useChainData(() => loadAddress(address), [address]);
  return (
    <Load state={state}>
      {({ account, rewards, merchant, orders }) => (
        <Section title={t("account")}>
          <dl class="pairs">
            <Pair label={t("address")} class="mono wrap">{address}</Pair>
            <Pair label={t("balance")}>{tokens(account.balance)}</Pair>
            <Pair label={t("nonce")}>{account.nonce}</Pair>
            <Pair label={t("accrued")}>{tokens(rewards.accrued)}</Pair>
            <Pair label={t("claimed")}>{tokens(rewards.claimed)}</Pair>
            {merchant !== null && (
              <>
                <Pair label={t("merchant")}>
                  {merchant.name} ({t(`merchant_${merchant.status}` as "merchant_approved")})
                </Pair>
              </>
            )}
          </dl>
          {orders.length > 0 && (
            <>
              <h3 class="h4">{t("orders")}</h3>
              <ul class="plain">
                {orders.map((o) => (
                  <li key={o.id}>
                    <a href={link("explorer", "order", o.id)}>
                      {t("orderNumber", { id: o.id })}
                    </a>
                    :{" "}
                    {statusText(o.status)}, {tokens(o.total)}
                  </li>
                ))}
              </ul>
            </>
          )}
        </Section>
      )}
    </Load>
  );
}

function OrderPage({ id }: { id: number }) {
  const state = useChainData(() => client.order(id), [id]);
  return (
    <Load state={state}>
      {(order) => (
        <Section title={t("orderNumber", { id })}>
          <dl class="pairs">
            <Pair label={t("status")}>{statusText(order.status)}</Pair>
            <Pair label={t("listingLabel")}>
              <a href={link("listing", order.listing)}>#{order.listing}</a> v{order.version}
            </Pair>
            <Pair label={t("buyer")}>
              <AddressLink address={order.buyer} />
            </Pair>
            <Pair label={t("merchant")}>
              <AddressLink address={order.merchant} />
            </Pair>
            <Pair label={t("total")}>
              {tokens(order.total)} ({order.quantity} ×)
            </Pair>
            <Pair label={t("commission")}>{tokens(order.commission)}</Pair>
            <Pair label={t("createdAt")}>
              <a href={link("explorer", "block", order.created_height)}>{order.created_height}</a>
            </Pair>
          </dl>
        </Section>
      )}
    </Load>
  );
}
