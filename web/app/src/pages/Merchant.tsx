/**
 * The merchant console: register and follow the approval votes; create and update listings
 * (with the referral rate); orders to ship with the delivery details opened in this browser;
 * replies to reviews; polls; sales and commission figures.
 */
import { useState } from "preact/hooks";
import {
  addressTextOf,
  fromHex,
  seal,
  utf8,
  type BlockView,
  type Listing,
  type Merchant,
  type Order,
  type Review,
  type TxView,
} from "@agora/sdk";

import { client, isNotFound, useChainData, useHead } from "../chain";
import {
  AmountField,
  CountField,
  ErrorLine,
  Form,
  InputField,
  Submit,
  TextAreaField,
} from "../components/fields";
import {
  AddressLink,
  Field,
  Figure,
  Load,
  Pair,
  Section,
  Table,
  useId,
  WalletPage,
} from "../components/ui";
import { percent, positiveAmount, tokens, wholeNumber } from "../format";
import { t, useLang } from "../i18n";
import { link } from "../router";
import { useStore } from "../store";
import { requestTx } from "../txflow";
import { unlocked } from "../vault";
import { MerchantTools } from "./MerchantTools";
import { Deadline, OpenedText, statusText, unsealedText } from "./Wallet";

interface Console {
  readonly merchant: Merchant | null;
  readonly validators: number;
  readonly listings: Listing[];
  readonly orders: Order[];
  readonly reviews: Review[];
}

async function loadConsole(address: string): Promise<Console> {
  const [merchant, validators] = await Promise.all([
    client.merchant(address).catch((error: unknown) => {
      if (isNotFound(error)) return null;
      throw error;
    }),
    client.validators(),
  ]);
  if (merchant === null || merchant.status === "pending") {
    return { merchant, validators: validators.length, listings: [], orders: [], reviews: [] };
  }
  const [listings, orders] = await Promise.all([
    client.listings({ merchant: address, limit: 100 }),
    client.orders({ merchant: address, limit: 200 }),
  ]);
  const reviews = (
    await Promise.all(listings.items.map((listing) => client.reviews(listing.id, { limit: 100 })))
  ).flatMap((page) => page.items);
  return {
    merchant,
    validators: validators.length,
    listings: listings.items,
    orders: orders.items,
    reviews,
  };
}

export function MerchantPage() {
  useLang();
  return (
    <WalletPage title={t("merchantTitle")}>
      {(address) => <ConsoleView address={address} />}
    </WalletPage>
  );
}

function ConsoleView({ address }: { address: string }) {
  const state = useChainData(() => loadConsole(address), [address]);
  return (
    <Load state={state}>
      {(data) => {
        if (data.merchant === null) return <Register reload={state.reload} />;
        if (data.merchant.status === "pending") {
          return <Pending merchant={data.merchant} validators={data.validators} />;
        }
        return (
          <>
            <Figures data={data} />
            {data.merchant.status === "suspended" && (
              <p class="notice error" role="alert">
                {t("suspended")}
              </p>
            )}
            <ToShip orders={data.orders} reload={state.reload} />
            <Listings listings={data.listings} reload={state.reload} />
            <MerchantTools listings={data.listings} reload={state.reload} />
            <ReviewReplies reviews={data.reviews} listings={data.listings} reload={state.reload} />
            <PollForm listings={data.listings} reload={state.reload} />
          </>
        );
      }}
    </Load>
  );
}

function Register({ reload }: { reload: () => void }) {
  const [name, setName] = useState("");
  const [profile, setProfile] = useState("");
  const send = async () => {
    const receipt = await requestTx(t("registerTitle"), [t("descRegister", { name })], {
      type: "merchant_register",
      name: name.trim(),
      profile: profile.trim(),
    });
    if (receipt !== null) reload();
  };
  return (
    <Section title={t("registerTitle")}>
      <p class="small">{t("registerHelp")}</p>
      <Form onSubmit={send}>
        <InputField label={t("shopName")} value={name} onValue={setName} required maxLength={64} />
        <TextAreaField label={t("profile")} value={profile} onValue={setProfile} rows={3}
                       maxLength={1024} />
        <Submit label={t("register")} />
      </Form>
    </Section>
  );
}

/** More than two thirds of the validators approve a merchant. */
function votesNeeded(validators: number): number {
  return Math.floor((2 * validators) / 3) + 1;
}

function Pending({ merchant, validators }: { merchant: Merchant; validators: number }) {
  const needed = votesNeeded(validators);
  return (
    <Section title={t("pendingTitle")}>
      <p data-testid="merchant-votes">
        {t("pendingVotes", { name: merchant.name, votes: merchant.votes, needed, validators })}
      </p>
      <progress max={needed} value={merchant.votes} aria-label={t("approvalVotes")} />
      <p class="small muted">{t("pendingHelp")}</p>
    </Section>
  );
}

function Figures({ data }: { data: Console }) {
  const completed = data.orders.filter((o) => o.status === "completed");
  const open = data.orders.filter((o) => ["paid", "shipped", "disputed"].includes(o.status));
  const sum = (orders: Order[], pick: (o: Order) => number) =>
    orders.reduce((total, o) => total + BigInt(pick(o)), 0n);
  const commission = sum(completed, (o) => o.commission);
  const revenue = sum(completed, (o) => o.total) - commission;
  const merchant = data.merchant!;
  return (
    <Section title={t("salesTitle", { name: merchant.name })}>
      <dl class="figures">
        <Figure label={t("salesCompleted")}>{completed.length}</Figure>
        <Figure label={t("revenue")}>{tokens(revenue)}</Figure>
        <Figure label={t("commissionPaid")}>{tokens(commission)}</Figure>
        <Figure label={t("inEscrow")}>{tokens(sum(open, (o) => o.total))}</Figure>
        <Figure label={t("openOrders")}>{open.length}</Figure>
        <Figure label={t("status")}>
          {t(`merchant_${merchant.status}` as "merchant_approved")}
        </Figure>
      </dl>
    </Section>
  );
}

/** Blocks a team's window is searched for a member's join, at most, and per request. */
export const MAX_KEY_SCAN_BLOCKS = 500;
const KEY_SCAN_BATCH_BLOCKS = 25;

/** The public key `buyer` signed with in one of `blocks`, or null. */
function keyIn(blocks: readonly unknown[], buyer: string): Uint8Array | null {
  for (const block of blocks) {
    if (block instanceof Error) continue;
    for (const tx of (block as BlockView<TxView>).txs) {
      if (tx.sender !== buyer) continue;
      const key = fromHex(tx.sender_public_key);
      if (addressTextOf(key) === buyer) return key;
    }
  }
  return null;
}

/** The buyer's public key (to seal the tracking note to): from its purchase in the order's
 * block, or for a team's order from its team_open or team_join in the team's window. */
async function buyerKey(order: Order): Promise<Uint8Array> {
  const found = keyIn([await client.block(order.created_height)], order.buyer);
  if (found !== null) return found;
  const teams = await client.accountTeams(order.buyer, { limit: 100 });
  const team = teams.items.find((item) => item.orders.includes(order.id));
  if (team !== undefined) {
    const closed = team.closed_height || order.created_height;
    const last = Math.min(closed, team.created_height + MAX_KEY_SCAN_BLOCKS);
    for (let from = team.created_height; from <= last; from += KEY_SCAN_BATCH_BLOCKS) {
      const heights = [];
      const to = Math.min(last, from + KEY_SCAN_BATCH_BLOCKS - 1);
      for (let height = from; height <= to; height++) heights.push(height);
      const blocks = await client.batch(
        heights.map((height) => ["chain_getBlock", { height, full_txs: true }] as const),
      );
      const key = keyIn(blocks, order.buyer);
      if (key !== null) return key;
    }
  }
  throw new Error(t("buyerKeyMissing"));
}

function ToShip({ orders, reload }: { orders: Order[]; reload: () => void }) {
  const keypair = useStore(unlocked);
  const [opened, setOpened] = useState<Record<number, string>>({});
  const [tracking, setTracking] = useState<Record<number, string>>({});
  const [error, setError] = useState("");
  const toShip = orders.filter((o) => o.status === "paid");
  const others = orders.filter((o) => o.status !== "paid").slice(0, 20);
  const open = (order: Order) =>
    setOpened((n) => ({ ...n, [order.id]: unsealedText(keypair, order.delivery, "noDelivery") }));
  const ship = async (order: Order) => {
    setError("");
    const note = (tracking[order.id] ?? "").trim();
    let sealed: Uint8Array = new Uint8Array();
    if (note) {
      try {
        sealed = seal(await buyerKey(order), utf8(note));
      } catch (e) {
        setError((e as Error).message);
        return;
      }
    }
    const receipt = await requestTx(
      t("shipTitle"),
      [t("descShip", { order: order.id }), note ? t("descTracking") : t("descNoTracking")],
      { type: "order_ship", order: order.id, tracking: sealed },
    );
    if (receipt !== null) reload();
  };
  return (
    <Section title={t("toShip")}>
      {toShip.length === 0 && <p class="muted">{t("nothingToShip")}</p>}
      <ErrorLine error={error} />
      <ul class="plain">
        {toShip.map((order) => (
          <li key={order.id} class="order" data-testid={`ship-${order.id}`}>
            <h3 class="h4">{t("orderNumber", { id: order.id })}</h3>
            <dl class="pairs small">
              <Pair label={t("listingLabel")}>
                <a href={link("listing", order.listing)}>#{order.listing}</a> (v{order.version})
              </Pair>
              <Pair label={t("quantity")}>{order.quantity}</Pair>
              <Pair label={t("total")}>{tokens(order.total)}</Pair>
              <Pair label={t("buyer")}>
                <AddressLink address={order.buyer} />
              </Pair>
              <Pair label={t("deadline")}>
                <Deadline order={order} />
              </Pair>
            </dl>
            <OpenedText text={opened[order.id]} testId="delivery-details" />
            <div class="actions">
              <button type="button" class="secondary" onClick={() => open(order)}>
                {t("openDelivery")}
              </button>
            </div>
            <TrackingField
              value={tracking[order.id] ?? ""}
              onInput={(v) => setTracking((n) => ({ ...n, [order.id]: v }))}
            />
            <button type="button" class="primary" onClick={() => void ship(order)}>
              {t("ship")}
            </button>
          </li>
        ))}
      </ul>
      {others.length > 0 && (
        <details>
          <summary>{t("otherOrders")}</summary>
          <ul class="plain small">
            {others.map((o) => (
              <li key={o.id}>
                {t("orderNumber", { id: o.id })}: {statusText(o.status)} · {tokens(o.total)}
              </li>
            ))}
          </ul>
        </details>
      )}
    </Section>
  );
}

function TrackingField({ value, onInput }: { value: string; onInput: (v: string) => void }) {
  const id = useId("tracking");
  return (
    <InputField label={t("tracking")} value={value} onValue={onInput} maxLength={300} />
  );
}

function Listings({ listings, reload }: { listings: Listing[]; reload: () => void }) {
  const [editing, setEditing] = useState<Listing | null>(null);
  const [formKey, setFormKey] = useState(0);
  const delist = async (listing: Listing) => {
    const receipt = await requestTx(t("delist"), [t("descDelist", { title: listing.title })], {
      type: "listing_delist",
      listing: listing.id,
    });
    if (receipt !== null) reload();
  };
  return (
    <Section title={t("myListings")}>
      {listings.length === 0 && <p class="muted">{t("noListingsYet")}</p>}
      <Table
        columns={[
          t("titleField"),
          t("priceCol"),
          t("stockCol"),
          t("referral"),
          t("versionCol"),
          { hidden: t("actionsCol") },
        ]}
      >
            {listings.map((listing) => (
              <tr key={listing.id}>
                <td>
                  <a href={link("listing", listing.id)}>{listing.title}</a>
                  {!listing.active && <span class="badge cancelled"> {t("delisted")}</span>}
                </td>
                <td class="num">{tokens(listing.price)}</td>
                <td class="num">{listing.stock}</td>
                <td class="num">{percent(listing.referral_bps)}%</td>
                <td class="num">{listing.current_version}</td>
                <td>
                  {listing.active && (
                    <span class="inline wrap-gap">
                      <button
                        type="button"
                        class="secondary small"
                        onClick={() => setEditing(listing)}
                        aria-label={t("editNamed", { title: listing.title })}
                      >
                        {t("edit")}
                      </button>
                      <button
                        type="button"
                        class="link small"
                        onClick={() => void delist(listing)}
                        aria-label={t("delistNamed", { title: listing.title })}
                      >
                        {t("delist")}
                      </button>
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </Table>
      <ListingForm
        key={`${editing?.id ?? 0}-${formKey}`}
        editing={editing}
        done={() => {
          setEditing(null);
          setFormKey((k) => k + 1);
          reload();
        }}
      />
    </Section>
  );
}

function ListingForm({ editing, done }: { editing: Listing | null; done: () => void }) {
  const [title, setTitle] = useState(editing?.title ?? "");
  const [description, setDescription] = useState(editing?.description ?? "");
  const [category, setCategory] = useState(editing?.category ?? "");
  const [price, setPrice] = useState(editing ? editing.price_decimal : "");
  const [stock, setStock] = useState(String(editing?.stock ?? 1));
  const [referral, setReferral] = useState(editing ? percent(editing.referral_bps) : "5");
  const [error, setError] = useState("");
  const ids = { category: useId("l-cat") };
  const send = async () => {
    setError("");
    const priceMinor = positiveAmount(price);
    const bps = Math.round(Number(referral) * 100);
    const stockCount = wholeNumber(stock, 0);
    const problem =
      priceMinor === null
        ? t("amountInvalid")
        : !Number.isFinite(bps) || bps < 0 || bps > 5000
          ? t("referralInvalid")
          : stockCount === null
            ? t("stockInvalid")
            : !/^[a-z0-9][a-z0-9-]{0,31}$/.test(category)
              ? t("categoryInvalid")
              : "";
    if (problem || priceMinor === null || stockCount === null) {
      setError(problem);
      return;
    }
    const fields = {
      title: title.trim(),
      description: description.trim(),
      category,
      price: priceMinor,
      stock: stockCount,
      media: [],
      referral_bps: bps,
    };
    const lines = [
      t(editing ? "descUpdate" : "descCreate", {
        title: fields.title,
        price: tokens(priceMinor),
        stock: stockCount,
        pct: percent(bps),
      }),
    ];
    const receipt = editing
      ? await requestTx(t("updateTitle"), lines, {
          type: "listing_update",
          listing: editing.id,
          version: editing.current_version,
          ...fields,
        })
      : await requestTx(t("createListingTitle"), lines, { type: "listing_create", ...fields });
    if (receipt !== null) done();
  };
  return (
    <Form
      onSubmit={send}
      class="listing-form"
      label={editing ? t("updateTitle") : t("createListingTitle")}
    >
      <h3 class="h4">{editing ? t("editing", { title: editing.title }) : t("newListing")}</h3>
      <div class="form-grid">
        <InputField label={t("titleField")} value={title} onValue={setTitle} required
                    maxLength={120} />
        <Field id={ids.category} label={t("categoryField")} help={t("categoryHelp")}>
          <input
            id={ids.category}
            required
            maxLength={32}
            value={category}
            aria-describedby={`${ids.category}-help`}
            onInput={(e) => setCategory(e.currentTarget.value.toLowerCase())}
          />
        </Field>
        <AmountField label={t("priceField")} value={price} onValue={setPrice} />
        <InputField label={t("stockField")} value={stock} onValue={setStock} required type="number"
                    min={0} step={1} />
        <AmountField label={t("referralField")} value={referral} onValue={setReferral} />
      </div>
      <TextAreaField label={t("descriptionField")} value={description} onValue={setDescription}
                     rows={3} maxLength={2000} />
      <ErrorLine error={error} />
      <div class="actions">
        <Submit label={editing ? t("update") : t("createListing")} />
        {editing && (
          <button type="button" class="secondary" onClick={done}>
            {t("cancel")}
          </button>
        )}
      </div>
    </Form>
  );
}

function ReviewReplies({
  reviews,
  listings,
  reload,
}: {
  reviews: Review[];
  listings: Listing[];
  reload: () => void;
}) {
  const [texts, setTexts] = useState<Record<number, string>>({});
  const titles = new Map(listings.map((l) => [l.id, l.title]));
  const reply = async (review: Review) => {
    const text = (texts[review.order] ?? "").trim();
    if (!text) return;
    const receipt = await requestTx(
      t("replyTitle"),
      [t("descReplyReview", { order: review.order }), `“${text}”`],
      { type: "review_reply", order: review.order, text },
    );
    if (receipt !== null) reload();
  };
  return (
    <Section title={t("reviews")}>
      {reviews.length === 0 && <p class="muted">{t("noReviews")}</p>}
      <ul class="plain">
        {reviews.map((review) => (
          <li key={review.order} class="review">
            <p>
              <strong>{titles.get(review.listing)}</strong>{" "}
              <span role="img" aria-label={t("ratingValue", { n: review.rating })}>
                <span aria-hidden="true">{"★".repeat(review.rating)}</span>
              </span>{" "}
              <AddressLink address={review.author} />
            </p>
            {review.text && <p>{review.text}</p>}
            {review.reply ? (
              <blockquote class="reply">
                <p>{review.reply}</p>
              </blockquote>
            ) : (
              <ReplyField
                value={texts[review.order] ?? ""}
                onInput={(v) => setTexts((n) => ({ ...n, [review.order]: v }))}
                onSend={() => void reply(review)}
              />
            )}
          </li>
        ))}
      </ul>
    </Section>
  );
}

function ReplyField({
  value,
  onInput,
  onSend,
}: {
  value: string;
  onInput: (v: string) => void;
  onSend: () => void;
}) {
  const id = useId("reply");
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        onSend();
      }}
    >
      <TextAreaField label={t("replyText")} value={value} onValue={onInput} rows={2}
                     maxLength={2000} required />
      <Submit label={t("reply")} kind="secondary" />
    </form>
  );
}

function PollForm({ listings, reload }: { listings: Listing[]; reload: () => void }) {
  const { height } = useHead();
  const [question, setQuestion] = useState("");
  const [options, setOptions] = useState("");
  const [listing, setListing] = useState("0");
  const [closeIn, setCloseIn] = useState("1000");
  const [buyersOnly, setBuyersOnly] = useState(false);
  const [error, setError] = useState("");
  const ids = { l: useId("poll-l"), c: useId("poll-c"), b: useId("poll-b") };
  const send = async () => {
    setError("");
    const choices = options
      .split("\n")
      .map((o) => o.trim())
      .filter((o) => o);
    if (choices.length < 2 || choices.length > 10) {
      setError(t("optionsInvalid"));
      return;
    }
    const blocks = wholeNumber(closeIn, 1);
    if (blocks === null) {
      setError(t("closeInInvalid"));
      return;
    }
    const closeHeight = height + blocks;
    const receipt = await requestTx(
      t("createPoll"),
      [t("descPoll", { question, n: choices.length, height: closeHeight })],
      {
        type: "poll_create",
        question: question.trim(),
        options: choices,
        scope: "merchant",
        listing: Number(listing),
        buyers_only: buyersOnly,
        close_height: closeHeight,
      },
    );
    if (receipt !== null) {
      setQuestion("");
      setOptions("");
      reload();
    }
  };
  return (
    <Section title={t("createPoll")}>
      <Form onSubmit={send}>
        <InputField label={t("question")} value={question} onValue={setQuestion} required
                    maxLength={280} />
        <TextAreaField label={t("options")} value={options} onValue={setOptions} rows={3} required
                      />
        <div class="form-grid">
          <Field id={ids.l} label={t("listingLabel")}>
            <select id={ids.l} value={listing} onChange={(e) => setListing(e.currentTarget.value)}>
              <option value="0">{t("allMyListings")}</option>
              {listings.map((l) => (
                <option key={l.id} value={String(l.id)}>
                  {l.title}
                </option>
              ))}
            </select>
          </Field>
          <CountField label={t("closeIn")} value={closeIn} onValue={setCloseIn} min={1} />
        </div>
        <div class="check">
          <input
            id={ids.b}
            type="checkbox"
            checked={buyersOnly}
            onChange={(e) => setBuyersOnly(e.currentTarget.checked)}
          />
          <label for={ids.b}>{t("buyersOnly")}</label>
        </div>
        <ErrorLine error={error} />
        <Submit label={t("createPoll")} kind="secondary" />
      </Form>
    </Section>
  );
}
