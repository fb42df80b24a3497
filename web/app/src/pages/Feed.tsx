/**
 * The feed (`#/feed`): new listings, price changes, reviews, shares and team openings of
 * the accounts the wallet follows, newest first, a page at a time; and whom it follows.
 * `FeedList` also shows one account's own activity on its profile page.
 */
import { useState } from "preact/hooks";
import type { FeedEntry, Page } from "@agora/sdk";

import { client, useChainData } from "../chain";
import { AddressLink, ListLoad, Load, MoreButton, Section, WalletPage } from "../components/ui";
import { tokens } from "../format";
import { t, useLang } from "../i18n";
import { link } from "../router";

export const FEED_PAGE_ENTRIES = 20;

async function loadPages(
  read: (cursor: string | undefined) => Promise<Page<FeedEntry>>,
  pages: number,
): Promise<Page<FeedEntry>> {
  const items: FeedEntry[] = [];
  let cursor: string | undefined;
  let next: string | null = null;
  for (let n = 0; n < pages; n++) {
    const page = await read(cursor);
    items.push(...page.items);
    next = page.next;
    if (next === null) break;
    cursor = next;
  }
  return { items, next };
}

function EntryText({ entry }: { entry: FeedEntry }) {
  const listing =
    entry.listing !== undefined ? (
      <a href={link("listing", entry.listing)}>{t("listingNumber", { id: entry.listing })}</a>
    ) : null;
  switch (entry.kind) {
    case "listing":
      return (
        <>
          {t("feedListing")} {listing} · {tokens(entry.price)}
        </>
      );
    case "price":
      return (
        <>
          {t("feedPrice")} {listing}: {tokens(entry.previous_price)} → {tokens(entry.price)}
        </>
      );
    case "review":
      return (
        <>
          {t("feedReview", { rating: entry.rating ?? 0 })} {listing}
        </>
      );
    case "share":
      return (
        <>
          {t("feedShare")} {listing}
        </>
      );
    case "team":
      return (
        <>
          {t("feedTeam")} {listing}
          {entry.team !== undefined && (
            <>
              {" · "}
              <a href={link("team", entry.team)}>{t("teamNumber", { id: entry.team })}</a>
            </>
          )}
        </>
      );
    default:
      return (
        <>
          {entry.kind} {listing}
        </>
      );
  }
}

/** `address`'s feed (what whom it follows did) or, with `own`, its own activity: newest
 * first, with "show more" while the chain has older entries. */
export function FeedList(props: { address: string; own?: boolean; empty: string }) {
  const { address, own, empty } = props;
  const read = (cursor: string | undefined) => {
    const params = { limit: FEED_PAGE_ENTRIES, cursor };
    return own ? client.activity(address, params) : client.feed(address, params);
  };
  const [pages, setPages] = useState(1);
  const state = useChainData(() => loadPages(read, pages), [address, own, pages]);
  return (
    <Load state={state}>
      {(page) => (
        <>
          {page.items.length === 0 && <p class="muted">{empty}</p>}
          <ol class="plain feed" data-testid="feed">
            {page.items.map((entry) => (
              <li key={entry.entry} class="feed-entry">
                <p class="small muted">
                  <a href={link("profile", entry.author)} class="mono">
                    {entry.author.slice(0, 12)}…
                  </a>{" "}
                  · {t("atBlock", { height: entry.height })}
                </p>
                <p>
                  <EntryText entry={entry} />
                </p>
              </li>
            ))}
          </ol>
          <MoreButton when={page.next !== null} onClick={() => setPages((n) => n + 1)} />
        </>
      )}
    </Load>
  );
}

export function FeedPage() {
  useLang();
  return (
    <WalletPage title={t("feedTitle")}>
      {(address) => (
        <>
          <p>
            <a href={link("profile", address)}>{t("myProfile")}</a>
          </p>
          <div class="columns">
            <Section title={t("feedNewest")}>
              <FeedList address={address} empty={t("feedEmpty")} />
            </Section>
            <Following address={address} />
          </div>
        </>
      )}
    </WalletPage>
  );
}

function Following({ address }: { address: string }) {
  const state = useChainData(() => client.following(address, { limit: 100 }), [address]);
  return (
    <Section title={t("followingTitle")}>
      <ListLoad state={state} empty={t("followingNone")}>
          {(items) => (
            <ul class="plain">
              {items.map((f) => (
                <li key={f.address}>
                  <a href={link("profile", f.address)}>{t("profileOf")}</a>{" "}
                  <AddressLink address={f.address} />
                </li>
              ))}
            </ul>
          )}
        </ListLoad>
    </Section>
  );
}
