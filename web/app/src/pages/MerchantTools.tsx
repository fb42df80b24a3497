/**
 * The merchant console's round-2 tools: listing pictures (uploaded to this node with the
 * merchant's signature, checked here first against the node's type and size limits, then
 * named by a new listing version), a listing's team offer, coupon campaigns (the budget is
 * locked from the balance when created; what is left returns when it ends or is closed),
 * and flash sales.
 */
import { useState } from "preact/hooks";
import {
  MAX_BLOB_BYTES,
  MAX_LISTING_MEDIA,
  MIN_BLOB_BYTES,
  blobName,
  fromHex,
  parseAmount,
  sniffImage,
  type Campaign,
  type Listing,
} from "@agora/sdk";

import { client, useChainData, useHead } from "../chain";
import { blobSrc } from "../components/Media";
import { AmountField, CountField, ErrorLine, Form, InputField, Submit } from "../components/fields";
import { Field, ListLoad, Section, Table, useId } from "../components/ui";
import { percent, positiveAmount, tokens, wholeNumber } from "../format";
import { t } from "../i18n";
import { link } from "../router";
import { requestTx } from "../txflow";
import { couponName } from "./Listing";

function ListingSelect({
  id,
  listings,
  value,
  onChange,
  any,
}: {
  id: string;
  listings: Listing[];
  value: string;
  onChange: (value: string) => void;
  any?: string;
}) {
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
      {any !== undefined && <option value="0">{any}</option>}
      {listings.map((l) => (
        <option key={l.id} value={String(l.id)}>
          #{l.id} {l.title}
        </option>
      ))}
    </select>
  );
}

/** The listing a form is about, and the labelled select that picks it (the first listing at
 * the start). */
function useListingChoice(listings: Listing[], idPrefix: string) {
  const [chosen, setChosen] = useState(String(listings[0]!.id));
  const id = useId(idPrefix);
  const listing = listings.find((l) => String(l.id) === chosen) ?? listings[0]!;
  const field = (
    <Field id={id} label={t("listingLabel")}>
      <ListingSelect id={id} listings={listings} value={chosen} onChange={setChosen} />
    </Field>
  );
  return { listing, field };
}

export function MerchantTools({ listings, reload }: { listings: Listing[]; reload: () => void }) {
  const active = listings.filter((l) => l.active);
  if (active.length === 0) return null;
  return (
    <>
      <ListingPictures listings={active} reload={reload} />
      <TeamOfferForm listings={active} reload={reload} />
      <Campaigns listings={active} merchant={active[0]!.merchant} />
      <FlashSaleForm listings={active} reload={reload} />
    </>
  );
}

function ListingPictures({ listings, reload }: { listings: Listing[]; reload: () => void }) {
  const { listing, field: listingField } = useListingChoice(listings, "pic-listing");
  const [file, setFile] = useState<{ name: string; bytes: Uint8Array } | null>(null);
  const [error, setError] = useState("");
  // A new key empties the file input once its picture is published.
  const [inputKey, setInputKey] = useState(0);
  const ids = { file: useId("pic-file") };
  const pick = async (input: HTMLInputElement) => {
    setError("");
    setFile(null);
    const picked = input.files?.[0];
    if (picked === undefined) return;
    if (picked.size > MAX_BLOB_BYTES || picked.size < MIN_BLOB_BYTES) {
      setError(t("pictureSize", { max: MAX_BLOB_BYTES / 1024 / 1024 }));
      return;
    }
    const bytes = new Uint8Array(await picked.arrayBuffer());
    if (sniffImage(bytes) === null) {
      setError(t("pictureType"));
      return;
    }
    setFile({ name: picked.name, bytes });
  };
  const setMedia = async (media: string[], lines: string[], upload?: Uint8Array) => {
    const receipt = await requestTx(
      t("picturesTitle"),
      lines,
      {
        type: "listing_media_set",
        listing: listing.id,
        version: listing.current_version,
        media: media.map(fromHex),
      },
      upload === undefined
        ? undefined
        : async (keypair) => {
            const status = await client.status();
            await client.uploadBlob(keypair, status.chain_id, upload);
          },
    );
    if (receipt !== null) {
      setFile(null);
      setInputKey((n) => n + 1);
      reload();
    }
  };
  const add = () => {
    if (file === null) return;
    if (listing.media.length >= MAX_LISTING_MEDIA) {
      setError(t("pictureMany", { n: MAX_LISTING_MEDIA }));
      return;
    }
    const name = blobName(file.bytes);
    if (listing.media.includes(name)) {
      setError(t("pictureTwice"));
      return;
    }
    void setMedia(
      [...listing.media, name],
      [
        t("descUpload", { file: file.name, kb: Math.ceil(file.bytes.length / 1024) }),
        t("descPictures", { title: listing.title, n: listing.media.length + 1 }),
      ],
      file.bytes,
    );
  };
  return (
    <Section title={t("picturesTitle")}>
      {listingField}
      {listing.media.length === 0 ? (
        <p class="muted">{t("noPictures")}</p>
      ) : (
        <ul class="thumbs">
          {listing.media.map((hash, n) => (
            <li key={hash} class="thumb-edit">
              <img
                src={blobSrc(hash)}
                alt={t("pictureAlt", {
                  title: listing.title,
                  n: n + 1,
                  count: listing.media.length,
                })}
                loading="lazy"
              />
              <button
                type="button"
                class="link small"
                onClick={() =>
                  void setMedia(
                    listing.media.filter((m) => m !== hash),
                    [t("descPictureRemove", { title: listing.title, n: n + 1 })],
                  )
                }
              >
                {t("pictureRemove", { n: n + 1 })}
              </button>
            </li>
          ))}
        </ul>
      )}
      <Field id={ids.file} label={t("pictureFile")} help={t("pictureHelp", { max: 2 })}>
        <input
          key={inputKey}
          id={ids.file}
          type="file"
          accept="image/png,image/jpeg,image/webp,image/gif"
          aria-describedby={`${ids.file}-help`}
          onChange={(e) => void pick(e.currentTarget)}
        />
      </Field>
      <ErrorLine error={error} />
      <button type="button" class="primary" disabled={file === null} onClick={add}>
        {t("pictureAdd")}
      </button>
    </Section>
  );
}

function TeamOfferForm({ listings, reload }: { listings: Listing[]; reload: () => void }) {
  const { listing, field: listingField } = useListingChoice(listings, "to-listing");
  const [size, setSize] = useState("2");
  const [price, setPrice] = useState("");
  const [quantity, setQuantity] = useState("1");
  const [windowBlocks, setWindowBlocks] = useState("100");
  const [error, setError] = useState("");
  const send = async () => {
    setError("");
    const minor = positiveAmount(price);
    const n = wholeNumber(size, 2, 20);
    const qty = wholeNumber(quantity, 1, 10_000);
    const blocks = wholeNumber(windowBlocks, 1, 1_000_000);
    if (n === null || qty === null || blocks === null) {
      setError(t("teamOfferInvalid"));
      return;
    }
    if (minor === null || minor > BigInt(listing.price)) {
      setError(t("teamPriceInvalid", { price: tokens(listing.price) }));
      return;
    }
    const receipt = await requestTx(
      t("teamOfferTitle"),
      [t("descTeamOffer", { title: listing.title, n, price: tokens(minor), qty, blocks })],
      { type: "team_offer_set", listing: listing.id, size: n, price: minor, quantity: qty,
        window_blocks: blocks },
    );
    if (receipt !== null) reload();
  };
  const end = async () => {
    const words = [t("descTeamOfferEnd", { title: listing.title })];
    const receipt = await requestTx(t("teamOfferEnd"), words, {
      type: "team_offer_end",
      listing: listing.id,
    });
    if (receipt !== null) reload();
  };
  return (
    <Section title={t("teamOfferTitle")}>
      <Form onSubmit={send} class="form-grid">
        {listingField}
        <CountField label={t("teamSize")} value={size} onValue={setSize} min={2} max={20} />
        <AmountField label={t("teamPriceField")} value={price} onValue={setPrice} />
        <CountField label={t("teamQtyField")} value={quantity} onValue={setQuantity} min={1} />
        <CountField label={t("teamWindowField")} value={windowBlocks} onValue={setWindowBlocks}
                    min={1} />
        <ErrorLine error={error} />
        <div class="actions">
          <Submit label={t("teamOfferSet")} />
          <button type="button" class="link" onClick={() => void end()}>
            {t("teamOfferEnd")}
          </button>
        </div>
      </Form>
    </Section>
  );
}

function Campaigns({ listings, merchant }: { listings: Listing[]; merchant: string }) {
  const state = useChainData(() => client.campaigns(merchant, { limit: 100 }), [merchant]);
  const close = async (c: Campaign) => {
    const words = [t("descCampaignClose", { id: c.id, left: tokens(c.budget) })];
    const receipt = await requestTx(t("campaignClose"), words, {
      type: "campaign_close",
      campaign: c.id,
    });
    if (receipt !== null) state.reload();
  };
  return (
    <Section title={t("campaignsTitle")}>
      <ListLoad state={state} empty={t("noCampaigns")}>
          {(items) => (
            <Table
              columns={[
                t("couponCol"),
                t("usedCol"),
                t("budgetLeft"),
                t("statusCol"),
                { hidden: t("actionsCol") },
              ]}
              testId="campaigns"
            >
                  {[...items].reverse().map((c) => (
                    <tr key={c.id}>
                      <td>
                        {couponName(c)}
                        {c.listing !== 0 && (
                          <>
                            {" · "}
                            <a href={link("listing", c.listing)}>#{c.listing}</a>
                          </>
                        )}
                      </td>
                      <td class="num">{c.used_count}/{c.total_count}</td>
                      <td class="num">{tokens(c.budget)}</td>
                      <td>{t(c.status === "open" ? "campaignOpen" : "campaignOver")}</td>
                      <td>
                        {c.status === "open" && (
                          <button type="button" class="link small" onClick={() => void close(c)}
                                  aria-label={t("campaignCloseNamed", { id: c.id })}>
                            {t("campaignClose")}
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </Table>
          )}
        </ListLoad>
      <CampaignForm listings={listings} reload={state.reload} />
    </Section>
  );
}

function CampaignForm({ listings, reload }: { listings: Listing[]; reload: () => void }) {
  const { height } = useHead();
  const [listing, setListing] = useState("0");
  const [kind, setKind] = useState<"fixed" | "bps">("fixed");
  const [off, setOff] = useState("");
  const [cap, setCap] = useState("");
  const [minSpend, setMinSpend] = useState("0");
  const [perAccount, setPerAccount] = useState("1");
  const [count, setCount] = useState("100");
  const [blocks, setBlocks] = useState("10000");
  const [budget, setBudget] = useState("");
  const [error, setError] = useState("");
  const ids = { listing: useId("c-listing"), kind: useId("c-kind") };
  const send = async () => {
    setError("");
    const budgetMinor = positiveAmount(budget);
    const per = wholeNumber(perAccount, 1, 1000);
    const total = wholeNumber(count, 1, 10_000_000);
    const span = wholeNumber(blocks, 1, 10_000_000);
    let min: bigint;
    try {
      min = parseAmount(minSpend || "0");
    } catch {
      setError(t("amountInvalid"));
      return;
    }
    let fixed = 0n;
    let bps = 0;
    let capMinor = 0n;
    if (kind === "fixed") {
      fixed = positiveAmount(off) ?? 0n;
    } else {
      bps = Math.round(Number(off) * 100);
      capMinor = positiveAmount(cap) ?? 0n;
    }
    const discountOk = kind === "fixed" ? fixed > 0n : bps > 0 && bps <= 10_000 && capMinor > 0n;
    if (!discountOk || budgetMinor === null || per === null || total === null || span === null) {
      setError(t("campaignInvalid"));
      return;
    }
    const start = height + 1;
    const end = start + span;
    const scope = listing === "0" ? t("allMyListings") : `#${listing}`;
    const offText =
      kind === "fixed" ? t("couponFixed", { amount: tokens(fixed) })
        : t("couponBps", { pct: percent(bps), cap: tokens(capMinor) });
    const receipt = await requestTx(
      t("campaignCreate"),
      [
        t("descCampaign", { off: offText, scope, min: tokens(min), count: total, per }),
        t("descCampaignBudget", { budget: tokens(budgetMinor), end }),
      ],
      {
        type: "campaign_create", listing: Number(listing), discount_fixed: fixed,
        discount_bps: bps, discount_cap: capMinor, min_spend: min, per_account: per,
        total_count: total, start_height: start, end_height: end, budget: budgetMinor,
      },
    );
    if (receipt !== null) {
      setOff("");
      setBudget("");
      reload();
    }
  };
  return (
    <Form
      onSubmit={send}
      class="form-grid"
      label={t("campaignCreate")}
    >
      <h3 class="h4 span-all">{t("campaignCreate")}</h3>
      <Field id={ids.listing} label={t("listingLabel")}>
        <ListingSelect id={ids.listing} listings={listings} value={listing} onChange={setListing}
                       any={t("allMyListings")} />
      </Field>
      <Field id={ids.kind} label={t("discountKind")}>
        <select id={ids.kind} value={kind}
                onChange={(e) => setKind(e.currentTarget.value as "fixed" | "bps")}>
          <option value="fixed">{t("discountFixed")}</option>
          <option value="bps">{t("discountPercent")}</option>
        </select>
      </Field>
      <AmountField label={kind === "fixed" ? t("discountAmount") : t("discountPct")} value={off}
                   onValue={setOff} />
      {kind === "bps" && (
        <AmountField label={t("discountCap")} value={cap} onValue={setCap} />
      )}
      <InputField label={t("minSpend")} value={minSpend} onValue={setMinSpend} inputMode="decimal"
                 />
      <CountField label={t("perAccount")} value={perAccount} onValue={setPerAccount} min={1} />
      <CountField label={t("couponCount")} value={count} onValue={setCount} min={1} />
      <CountField label={t("runsBlocks")} value={blocks} onValue={setBlocks} min={1} />
      <AmountField label={t("budgetField")} help={t("budgetHelp")} value={budget}
                   onValue={setBudget} />
      <ErrorLine error={error} />
      <div class="actions span-all">
        <Submit label={t("campaignCreate")} />
      </div>
    </Form>
  );
}

function FlashSaleForm({ listings, reload }: { listings: Listing[]; reload: () => void }) {
  const { height } = useHead();
  const { listing, field: listingField } = useListingChoice(listings, "f-listing");
  const [price, setPrice] = useState("");
  const [stock, setStock] = useState("10");
  const [blocks, setBlocks] = useState("1000");
  const [error, setError] = useState("");
  const send = async () => {
    setError("");
    const minor = positiveAmount(price);
    const units = wholeNumber(stock, 1, 1_000_000_000);
    const span = wholeNumber(blocks, 1, 10_000_000);
    if (minor === null || minor >= BigInt(listing.price)) {
      setError(t("flashPriceInvalid", { price: tokens(listing.price) }));
      return;
    }
    if (units === null || span === null) {
      setError(t("flashInvalid"));
      return;
    }
    const start = height + 1;
    const receipt = await requestTx(
      t("flashTitle"),
      [t("descFlashSale", { title: listing.title, price: tokens(minor), stock: units,
                            start, end: start + span })],
      { type: "flash_sale_set", listing: listing.id, price: minor, stock: units,
        start_height: start, end_height: start + span },
    );
    if (receipt !== null) reload();
  };
  return (
    <Section title={t("flashTitle")}>
      <Form onSubmit={send} class="form-grid">
        {listingField}
        <AmountField label={t("flashPrice")} value={price} onValue={setPrice} />
        <CountField label={t("flashStock")} value={stock} onValue={setStock} min={1} />
        <CountField label={t("runsBlocks")} value={blocks} onValue={setBlocks} min={1} />
        <ErrorLine error={error} />
        <div class="actions span-all">
          <Submit label={t("flashStart")} />
        </div>
      </Form>
    </Section>
  );
}
