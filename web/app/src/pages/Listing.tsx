/**
 * A listing: price, stock, versions, the review aggregate and every review with its reply,
 * comments, polls, the share button (the referral link) and the purchase form. Opened from a
 * referral link (`#/listing/3?share=2`), the purchase carries the share.
 */
import { useState } from "preact/hooks";
import type {
  Campaign,
  Comment,
  FlashSale,
  Listing,
  Merchant,
  Poll,
  Review,
  Share,
  TxBody,
} from "@agora/sdk";

import { client, orNull, useChainData, useHead } from "../chain";
import {
  couponProblem,
  creditedShare,
  discountOf,
  flashApplies,
  paymentLines,
  savedShares,
  saveShare,
  sealDelivery,
} from "../checkout";
import { DeliveryField } from "../components/Delivery";
import { FollowButton } from "../components/Follow";
import { Pictures } from "../components/Media";
import { ErrorLine, Form, InputField, Submit, TextAreaField } from "../components/fields";
import {
  AddressLink,
  CopyButton,
  Field,
  Load,
  NeedWallet,
  Pair,
  Section,
  Stars,
  Table,
  useId,
} from "../components/ui";
import { percent, tokens } from "../format";
import { t, useLang } from "../i18n";
import { roughly, usePace } from "../pace";
import { link, useRoute } from "../router";
import { useStore } from "../store";
import { requestTx } from "../txflow";
import { vault } from "../vault";
import { TeamOfferBox } from "./Teams";

interface ListingData {
  readonly listing: Listing;
  readonly merchant: Merchant | null;
  readonly versions: Listing[];
  readonly reviews: Review[];
  readonly comments: Comment[];
  readonly polls: Poll[];
  readonly flash: FlashSale | null;
  /** The merchant's open coupon campaigns. */
  readonly campaigns: Campaign[];
}

async function loadListing(id: number): Promise<ListingData> {
  const listing = await client.listing(id);
  const [merchant, versions, reviews, comments, polls, flash, campaigns] = await Promise.all([
    orNull(client.merchant(listing.merchant)),
    client.listingVersions(id, { limit: 100 }),
    client.reviews(id, { limit: 100 }),
    client.comments(id, { limit: 200 }),
    client.polls({ limit: 200 }),
    orNull(client.flashSale(id)),
    client.campaigns(listing.merchant, { open_only: true, limit: 100 }),
  ]);
  return {
    listing,
    merchant,
    versions: versions.items,
    reviews: reviews.items,
    comments: comments.items,
    // The listing's own polls, and its merchant's polls about the whole shop.
    polls: polls.items.filter(
      (p) => p.listing === id || (p.listing === 0 && p.merchant === listing.merchant),
    ),
    flash,
    campaigns: campaigns.items.filter((c) => c.listing === 0 || c.listing === id),
  };
}

function referralLink(listing: number, share: number): string {
  return `${location.origin}/listing/${listing}?share=${share}`;
}

export function ListingPage({ id }: { id: number }) {
  useLang();
  const { query } = useRoute();
  const shareParam = Number(query.get("share") ?? "0");
  const shareId = Number.isSafeInteger(shareParam) && shareParam > 0 ? shareParam : 0;
  const state = useChainData(() => loadListing(id), [id]);
  const share = useChainData<Share | null>(
    () => (shareId ? client.share(shareId) : Promise.resolve(null)),
    [shareId],
    false,
  );
  return (
    <div class="page">
      <Load state={state}>
        {(data) => (
          <>
            <ListingHead data={data} />
            <div class="columns">
              <div>
                <Buy
                  data={data}
                  share={share.data ?? null}
                  shareId={shareId}
                  reload={state.reload}
                />
                <ShareBox listing={data.listing} />
              </div>
              <TeamOfferBox
                listing={data.listing}
                merchant={data.merchant}
                share={share.data ?? null}
              />
              <Versions versions={data.versions} />
            </div>
            <Reviews data={data} />
            <Polls polls={data.polls} reload={state.reload} />
            <Comments listing={data.listing.id} comments={data.comments} reload={state.reload} />
          </>
        )}
      </Load>
    </div>
  );
}

function ListingHead({ data }: { data: ListingData }) {
  const { listing, merchant } = data;
  return (
    <section class="card" aria-labelledby="listing-title">
      <p class="muted small">
        <a href={link("")}>{t("shopTitle")}</a> › {listing.category}
      </p>
      <h1 id="listing-title">{listing.title}</h1>
      <Pictures title={listing.title} media={listing.media} />
      <p class="price big" data-testid="price">
        {tokens(listing.price)}
      </p>
      <FlashNote sale={data.flash} price={listing.price} />
      <p class="description">{listing.description}</p>
      <dl class="pairs">
        <Pair label={t("merchant")}>
          <a href={link("profile", listing.merchant)}>{merchant?.name || t("profileOf")}</a>{" "}
          <AddressLink address={listing.merchant} />{" "}
          <FollowButton account={listing.merchant} name={merchant?.name} />
        </Pair>
        <Pair label={t("stock")} testId="stock">
          {listing.stock > 0 ? t("inStock", { n: listing.stock }) : t("soldOut")}
        </Pair>
        <Pair label={t("rating")}>
          <Stars averageX100={listing.rating.average_x100} count={listing.rating.count} />
        </Pair>
        <Pair label={t("versionLabel")}>{t("versionOf", { v: listing.current_version })}</Pair>
        <Pair label={t("referral")}>
          {t("referralRate", { pct: percent(listing.referral_bps) })}
        </Pair>
        <Pair label={t("soldCount")}>{listing.sold_quantity}</Pair>
      </dl>
      {!listing.active && <p class="notice warn">{t("inactive")}</p>}
    </section>
  );
}

/** A flash sale running or coming: its price, stock left and end. */
function FlashNote({ sale, price }: { sale: FlashSale | null; price: number }) {
  const { height } = useHead();
  usePace();
  if (sale === null || height + 1 >= sale.end_height || sale.price >= price) return null;
  const left = sale.stock - sale.sold;
  const running = sale.start_height <= height + 1;
  const about = (blocks: number) => {
    const text = roughly(blocks);
    return text ? ` (${text})` : "";
  };
  return (
    <p class="notice flash" data-testid="flash-sale">
      <strong>{tokens(sale.price)}</strong>{" "}
      {running
        ? t("flashRunning", {
            left,
            end: sale.end_height,
            about: about(sale.end_height - height),
          })
        : t("flashComing", {
            start: sale.start_height,
            about: about(sale.start_height - height),
          })}
    </p>
  );
}

function Buy({
  data,
  share,
  shareId,
  reload,
}: {
  data: ListingData;
  share: Share | null;
  shareId: number;
  reload: () => void;
}) {
  const saved = useStore(vault);
  const { height } = useHead();
  const { query } = useRoute();
  const [quantity, setQuantity] = useState("1");
  const [delivery, setDelivery] = useState("");
  const [coupon, setCoupon] = useState(query.get("coupon") ?? "");
  const [error, setError] = useState("");
  const [placed, setPlaced] = useState<number | null>(null);
  const couponId = useId("coupon");
  const { listing, merchant } = data;
  const shareOk = share !== null && share.listing === listing.id;
  const qty = Number(quantity);
  const qtyOk = Number.isInteger(qty) && qty >= 1 && qty <= 10_000;
  const units = qtyOk ? qty : 1;
  const flash = flashApplies(data.flash, height + 1, units, listing.price);
  const unit = flash ? data.flash!.price : listing.price;
  const total = BigInt(unit) * BigInt(units);
  const campaign = data.campaigns.find((c) => String(c.id) === coupon) ?? null;
  const problem = campaign === null ? null : couponProblem(campaign, listing.id, height + 1, total);
  const discount = campaign !== null && problem === null ? discountOf(campaign, total) : 0n;

  const buy = async () => {
    setError("");
    if (!qtyOk) {
      setError(t("quantityInvalid"));
      return;
    }
    if (merchant === null) {
      setError(t("reason_not_merchant"));
      return;
    }
    if (campaign !== null && problem !== null) {
      setError(t(`coupon_${problem}`));
      return;
    }
    const sealed = sealDelivery(merchant, delivery);
    if (sealed === null) {
      setError(t("deliveryTooLong"));
      return;
    }
    const credited = saved === null ? 0 : creditedShare(share, listing.id, saved.address);
    const lines = [
      t("descPurchase", {
        qty,
        title: listing.title,
        merchant: merchant.name,
        total: tokens(total),
        version: listing.current_version,
      }),
    ];
    if (flash) lines.push(t("descFlash", { price: tokens(unit) }));
    if (campaign !== null) {
      lines.push(
        t("descCoupon", {
          campaign: campaign.id,
          discount: tokens(discount),
          pay: tokens(total - discount),
        }),
      );
    }
    lines.push(t("descEscrow"), ...paymentLines(merchant, sealed, credited, listing.referral_bps));
    const fields = {
      listing: listing.id,
      version: listing.current_version,
      quantity: qty,
      share: credited,
      delivery: sealed,
    };
    const body: TxBody =
      campaign === null
        ? { type: "purchase", ...fields }
        : { type: "coupon_purchase", ...fields, campaign: campaign.id };
    const receipt = await requestTx(t("buyTitle", { title: listing.title }), lines, body);
    if (receipt !== null) {
      setPlaced(receipt.createdId ?? null);
      setDelivery("");
      setCoupon("");
      reload();
    }
  };

  return (
    <Section title={t("buy")}>
      {shareId > 0 && shareOk && (
        <p class="notice info" data-testid="via-share">
          {t("viaShare", { share: shareId, pct: percent(listing.referral_bps) })}{" "}
          <AddressLink address={share.sharer} />
        </p>
      )}
      {shareId > 0 && share !== null && !shareOk && (
        <p class="notice warn">{t("shareOtherListing", { share: shareId })}</p>
      )}
      {placed !== null && (
        <p class="notice ok" role="status" data-testid="order-placed">
          {t("orderPlaced", { order: placed })} <a href={link("wallet")}>{t("navWallet")}</a>
        </p>
      )}
      {saved === null ? (
        <NeedWallet />
      ) : saved.address === listing.merchant ? (
        <p class="muted">
          {t("ownListing")} <a href={link("merchant")}>{t("navMerchant")}</a>
        </p>
      ) : (
        <Form onSubmit={buy}>
          <InputField label={t("quantity")} value={quantity} onValue={setQuantity} type="number"
                      min={1} max={10000} step={1} required inputMode="numeric" />
          <DeliveryField value={delivery} onInput={setDelivery} />
          {data.campaigns.length > 0 && (
            <Field id={couponId} label={t("coupon")} help={t("couponHelp")}>
              <select
                id={couponId}
                value={coupon}
                aria-describedby={`${couponId}-help`}
                onChange={(e) => setCoupon(e.currentTarget.value)}
              >
                <option value="">{t("noCoupon")}</option>
                {data.campaigns.map((c) => (
                  <option key={c.id} value={String(c.id)}>
                    {couponName(c)}
                  </option>
                ))}
              </select>
            </Field>
          )}
          <dl class="pairs small" data-testid="checkout-sum">
            <Pair label={t("total")} testId="total">{tokens(total)}</Pair>
            {campaign !== null && problem === null && (
              <>
                <Pair label={t("couponDiscount")} testId="discount">−{tokens(discount)}</Pair>
                <Pair label={t("youPay")} testId="you-pay">
                  <strong>{tokens(total - discount)}</strong>
                </Pair>
              </>
            )}
          </dl>
          {campaign !== null && problem !== null && (
            <p class="notice warn" role="status">
              {t(`coupon_${problem}`)}
            </p>
          )}
          <ErrorLine error={error} />
          <Submit label={t("buy")} disabled={!listing.active} />
        </Form>
      )}
    </Section>
  );
}

/** A coupon in words: "#2: 10% off (at most 2 AGR), from 10 AGR". */
export function couponName(c: Campaign): string {
  const off =
    c.discount_fixed > 0
      ? t("couponFixed", { amount: tokens(c.discount_fixed) })
      : t("couponBps", { pct: percent(c.discount_bps), cap: tokens(c.discount_cap) });
  return c.min_spend > 0
    ? t("couponNameMin", { id: c.id, off, min: tokens(c.min_spend) })
    : t("couponName", { id: c.id, off });
}

function ShareBox({ listing }: { listing: Listing }) {
  const saved = useStore(vault);
  const [shares, setShares] = useState(savedShares);
  if (saved === null) return null;
  const key = `${saved.address}:${listing.id}`;
  const mine = shares[key];
  const share = async () => {
    const receipt = await requestTx(
      t("shareTitle"),
      [t("descShare", { title: listing.title, pct: percent(listing.referral_bps) })],
      { type: "share", listing: listing.id },
    );
    const created = receipt?.createdId;
    if (created !== undefined) setShares(saveShare(saved.address, listing.id, created));
  };
  return (
    <Section title={t("shareTitle")}>
      <p class="small">{t("shareHelp", { pct: percent(listing.referral_bps) })}</p>
      {mine === undefined ? (
        <button type="button" class="secondary" onClick={() => void share()}>
          {t("shareButton")}
        </button>
      ) : (
        <div class="inline wrap-gap">
          <input
            aria-label={t("shareLink")}
            readOnly
            value={referralLink(listing.id, mine)}
            class="mono grow"
            data-testid="share-link"
          />
          <CopyButton text={referralLink(listing.id, mine)} label={t("copyLink")} />
        </div>
      )}
    </Section>
  );
}

function Versions({ versions }: { versions: Listing[] }) {
  return (
    <Section title={t("versions")}>
      <Table columns={[t("versionCol"), t("priceCol"), t("stockCol"), t("heightCol")]}>
            {[...versions].reverse().map((v) => (
              <tr key={v.version}>
                <td>{v.version}</td>
                <td class="num">{tokens(v.price)}</td>
                <td class="num">{v.version_stock}</td>
                <td class="num">
                  <a href={link("explorer", "block", v.version_height)}>{v.version_height}</a>
                </td>
              </tr>
            ))}
          </Table>
    </Section>
  );
}

function Reviews({ data }: { data: ListingData }) {
  const { listing, reviews } = data;
  return (
    <Section title={t("reviews")}>
      {reviews.length === 0 ? (
        <p class="muted">{t("noReviews")}</p>
      ) : (
        <p>
          <Stars averageX100={listing.rating.average_x100} count={listing.rating.count} />
        </p>
      )}
      <ul class="plain">
        {reviews.map((review) => (
          <li key={review.order} class="review">
            <p>
              <span role="img" aria-label={t("ratingValue", { n: review.rating })}>
                <span aria-hidden="true">
                  {"★".repeat(review.rating)}
                  {"☆".repeat(5 - review.rating)}
                </span>
              </span>{" "}
              <AddressLink address={review.author} />{" "}
              <span class="muted small">{t("atBlock", { height: review.height })}</span>
            </p>
            {review.text && <p>{review.text}</p>}
            {review.reply && (
              <blockquote class="reply">
                <p class="small muted">{t("merchantReply")}</p>
                <p>{review.reply}</p>
              </blockquote>
            )}
          </li>
        ))}
      </ul>
    </Section>
  );
}

function Polls({ polls, reload }: { polls: Poll[]; reload: () => void }) {
  const { height } = useHead();
  if (polls.length === 0) return null;
  const vote = async (poll: Poll, option: number) => {
    const receipt = await requestTx(
      t("voteTitle"),
      [t("descVote", { question: poll.question, option: poll.options[option] ?? "" })],
      { type: "poll_vote", poll: poll.id, option },
    );
    if (receipt !== null) reload();
  };
  return (
    <Section title={t("polls")}>
      {polls.map((poll) => {
        const open = height < poll.close_height;
        return (
          <fieldset key={poll.id} class="poll">
            <legend>{poll.question}</legend>
            <p class="small muted">
              {open ? t("pollClosesAt", { height: poll.close_height }) : t("pollClosed")}
              {poll.buyers_only ? ` · ${t("buyersOnly")}` : ""}
            </p>
            <ul class="plain">
              {poll.options.map((option, index) => (
                <li key={option} class="inline wrap-gap">
                  <span class="grow">
                    {option}: {poll.tallies[index] ?? 0}
                  </span>
                  {open && (
                    <button
                      type="button"
                      class="secondary small"
                      onClick={() => void vote(poll, index)}
                    >
                      {t("voteFor", { option })}
                    </button>
                  )}
                </li>
              ))}
            </ul>
          </fieldset>
        );
      })}
    </Section>
  );
}

function Comments({
  listing,
  comments,
  reload,
}: {
  listing: number;
  comments: Comment[];
  reload: () => void;
}) {
  const saved = useStore(vault);
  const [text, setText] = useState("");
  const [parent, setParent] = useState(0);
  const textId = useId("comment");
  const byParent = new Map<number, Comment[]>();
  for (const comment of comments) {
    byParent.set(comment.parent, [...(byParent.get(comment.parent) ?? []), comment]);
  }
  const post = async () => {
    if (!text.trim()) return;
    const receipt = await requestTx(
      t("commentTitle"),
      [parent ? t("descReply", { parent }) : t("descComment"), `“${text.trim()}”`],
      { type: "comment", listing, parent, text: text.trim() },
    );
    if (receipt !== null) {
      setText("");
      setParent(0);
      reload();
    }
  };
  const thread = (parentId: number) => (
    <ul class="plain thread">
      {(byParent.get(parentId) ?? []).map((comment) => (
        <li key={comment.id} class="comment">
          <p class="small muted">
            <AddressLink address={comment.author} /> · {t("atBlock", { height: comment.height })}
          </p>
          <p>{comment.text}</p>
          {saved !== null && (
            <button
              type="button"
              class="link small"
              onClick={() => {
                setParent(comment.id);
                document.getElementById(textId)?.focus();
              }}
            >
              {t("replyTo")}
            </button>
          )}
          {thread(comment.id)}
        </li>
      ))}
    </ul>
  );
  return (
    <Section title={t("comments")}>
      {comments.length === 0 && <p class="muted">{t("noComments")}</p>}
      {thread(0)}
      {saved !== null && (
        <Form onSubmit={post}>
          <TextAreaField id={textId}
                         label={parent ? t("replyToComment", { parent }) : t("commentLabel")}
                         value={text} onValue={setText} rows={2} maxLength={2000} required />
          <div class="actions">
            <Submit label={t("commentButton")} kind="secondary" />
            {parent !== 0 && (
              <button type="button" class="link" onClick={() => setParent(0)}>
                {t("cancel")}
              </button>
            )}
          </div>
        </Form>
      )}
    </Section>
  );
}
