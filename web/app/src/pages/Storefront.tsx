/** The storefront: listings by category and merchant, search by title, live. */
import { useState } from "preact/hooks";
import type { Listing, Merchant, Page } from "@agora/sdk";

import { client, useChainData } from "../chain";
import { Thumb } from "../components/Media";
import { Load, MoreButton, Stars } from "../components/ui";
import { tokens } from "../format";
import { t, useLang } from "../i18n";
import { link, navigate, useRoute } from "../router";
import { ChoiceField, SearchBox } from "../components/fields";

const PAGE_ITEMS = 24;

interface Shelf {
  readonly listings: Listing[];
  readonly next: string | null;
  readonly merchants: Map<string, Merchant>;
  readonly categories: string[];
}

async function loadShelf(
  text: string,
  category: string,
  merchant: string,
  pages: number,
): Promise<Shelf> {
  const listings: Listing[] = [];
  let cursor: string | undefined;
  let next: string | null = null;
  for (let page = 0; page < pages; page++) {
    const answer: Page<Listing> = await client.listings({
      limit: PAGE_ITEMS,
      cursor,
      active_only: true,
      text: text || undefined,
      category: category || undefined,
      merchant: merchant || undefined,
    });
    listings.push(...answer.items);
    next = answer.next;
    if (next === null) break;
    cursor = next;
  }
  const approved = await client.merchants({ status: "approved", limit: 100 });
  const merchants = new Map(approved.items.map((m) => [m.address, m]));
  const all = await client.listings({ active_only: true, limit: 100 });
  const categories = [...new Set(all.items.map((l) => l.category))].sort();
  return { listings, next, merchants, categories };
}

export function Storefront() {
  useLang();
  const { query } = useRoute();
  const text = query.get("q") ?? "";
  const category = query.get("category") ?? "";
  const merchant = query.get("merchant") ?? "";
  const [pages, setPages] = useState(1);
  const [typed, setTyped] = useState(text);
  const shelf = useChainData(
    () => loadShelf(text, category, merchant, pages),
    [text, category, merchant, pages],
  );

  const categories = [
    { value: "", label: t("allCategories") },
    ...(shelf.data?.categories ?? (category ? [category] : [])).map((c) => ({
      value: c,
      label: c,
    })),
  ];
  const merchants = [
    { value: "", label: t("allMerchants") },
    ...[...(shelf.data?.merchants.values() ?? [])].map((m) => ({
      value: m.address,
      label: m.name,
    })),
  ];
  const go = (changes: Record<string, string>) => {
    const params = new URLSearchParams({ q: text, category, merchant, ...changes });
    for (const [key, value] of [...params]) if (!value) params.delete(key);
    const search = params.toString();
    setPages(1);
    navigate("#/" + (search ? `?${search}` : ""));
  };

  return (
    <div class="page">
      <h1>{t("shopTitle")}</h1>
      <form
        class="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          go({ q: typed.trim() });
        }}
      >
        <SearchBox label={t("searchLabel")} button={t("searchButton")} value={typed}
                   onValue={setTyped} maxLength={120} />
        <ChoiceField label={t("category")} value={category} options={categories}
                     onChange={(value) => go({ category: value })} />
        <ChoiceField label={t("merchant")} value={merchant} options={merchants}
                     onChange={(value) => go({ merchant: value })} />
      </form>
      <Load state={shelf}>
        {(data) => (
          <>
            {data.listings.length === 0 && <p class="muted">{t("noListings")}</p>}
            <ul class="grid" aria-label={t("shopTitle")}>
              {data.listings.map((listing) => (
                <li key={listing.id} class="card listing-card">
                  <Thumb listing={listing} />
                  <h2 class="h3">
                    <a href={link("listing", listing.id)}>{listing.title}</a>
                  </h2>
                  <p class="price">{tokens(listing.price)}</p>
                  <p class="muted small">
                    {data.merchants.get(listing.merchant)?.name ?? listing.merchant.slice(0, 12)}
                    {" · "}
                    {listing.category}
                  </p>
                  <p class="small">
                    <Stars averageX100={listing.rating.average_x100} count={listing.rating.count} />
                  </p>
                  <p class={listing.stock > 0 ? "small" : "small warn-text"}>
                    {listing.stock > 0 ? t("inStock", { n: listing.stock }) : t("soldOut")}
                  </p>
                </li>
              ))}
            </ul>
            <MoreButton when={data.next !== null} onClick={() => setPages((p) => p + 1)} />
          </>
        )}
      </Load>
    </div>
  );
}
