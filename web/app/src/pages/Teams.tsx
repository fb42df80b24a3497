/**
 * Group buying: a listing's team offer (team price, size, window) with its open teams,
 * seats left and deadlines (in blocks and roughly in time); "start a team" pays the first
 * seat into escrow and gives a team link to share (with the sharer's referral share, so a
 * join through it credits the sharer); the team page (`#/team/<id>?share=<id>`) shows the
 * members and lets a buyer join; the wallet lists the account's teams and their state.
 */
import { useState } from "preact/hooks";
import type { Listing, Merchant, Share, Team, TeamOffer } from "@agora/sdk";

import { client, orNull, useChainData, useHead } from "../chain";
import { creditedShare, paymentLines, savedShares, sealDelivery } from "../checkout";
import { DeliveryField } from "../components/Delivery";
import { ErrorLine, Form, Submit } from "../components/fields";
import {
  AddressLink,
  CopyButton,
  ListLoad,
  Load,
  NeedWallet,
  Pair,
  Section,
  Table,
} from "../components/ui";
import { percent, tokens } from "../format";
import { t, useLang, wordsOf } from "../i18n";
import { roughly, usePace } from "../pace";
import { link, useRoute } from "../router";
import { useStore } from "../store";
import { requestTx } from "../txflow";
import { vault } from "../vault";

const TEAMS_SHOWN = 50;

/** The link that opens team `id`, carrying `share` (0: none) so a join credits it. */
export function teamLink(id: number, share: number): string {
  return `${location.origin}/${link("team", id)}${share ? `?share=${share}` : ""}`;
}

/** A team's status in words ("expired" is what the buyer sees: refunded). */
export const teamStatusText = wordsOf({
  open: "teamOpen",
  filled: "teamFilled",
  expired: "teamRefunded",
});

/** "block 57 (about 3 min)", or "closed at block 57". */
function DeadlineText({ team }: { team: Team }) {
  const { height } = useHead();
  usePace();
  if (team.status !== "open") return <>{t("closedAt", { height: team.closed_height })}</>;
  const about = roughly(team.deadline - height);
  return (
    <>
      {t("teamDeadline", { height: team.deadline, left: Math.max(0, team.deadline - height) })}
      {about && ` (${about})`}
    </>
  );
}

interface OfferData {
  readonly offer: TeamOffer | null;
  readonly teams: Team[];
}

async function loadOffer(listing: number): Promise<OfferData> {
  const offer = await orNull(client.teamOffer(listing));
  if (offer === null) return { offer, teams: [] };
  const teams = await client.listingTeams(listing, { limit: TEAMS_SHOWN });
  return { offer, teams: teams.items };
}

/** The listing page's group-buy box: nothing when the listing has no team offer. */
export function TeamOfferBox({
  listing,
  merchant,
  share,
}: {
  listing: Listing;
  merchant: Merchant | null;
  share: Share | null;
}) {
  const state = useChainData(() => loadOffer(listing.id), [listing.id]);
  const offer = state.data?.offer;
  if (offer === null || offer === undefined) return null;
  return (
    <Section title={t("teamTitle")}>
      <Load state={state}>
        {(data) => (
          <OfferView
            listing={listing}
            merchant={merchant}
            share={share}
            offer={data.offer!}
            teams={data.teams}
            reload={state.reload}
          />
        )}
      </Load>
    </Section>
  );
}

function OfferView({
  listing,
  merchant,
  share,
  offer,
  teams,
  reload,
}: {
  listing: Listing;
  merchant: Merchant | null;
  share: Share | null;
  offer: TeamOffer;
  teams: Team[];
  reload: () => void;
}) {
  const saved = useStore(vault);
  const [delivery, setDelivery] = useState("");
  const [error, setError] = useState("");
  const [opened, setOpened] = useState<number | null>(null);
  const seat = BigInt(Math.min(offer.price, listing.price)) * BigInt(offer.quantity);
  const mine = saved === null ? 0 : (savedShares()[`${saved.address}:${listing.id}`] ?? 0);
  const start = async () => {
    setError("");
    if (saved === null || merchant === null) return;
    const sealed = sealDelivery(merchant, delivery);
    if (sealed === null) {
      setError(t("deliveryTooLong"));
      return;
    }
    const credited = creditedShare(share, listing.id, saved.address);
    const lines = [
      t("descTeamOpen", {
        title: listing.title,
        size: offer.size,
        qty: offer.quantity,
        total: tokens(seat),
        window: offer.window_blocks,
      }),
      t("descTeamEscrow"),
      ...paymentLines(merchant, sealed, credited, listing.referral_bps),
    ];
    const receipt = await requestTx(t("teamStartTitle", { title: listing.title }), lines, {
      type: "team_open",
      listing: listing.id,
      version: listing.current_version,
      share: credited,
      delivery: sealed,
    });
    if (receipt !== null) {
      setOpened(receipt.createdId ?? null);
      setDelivery("");
      reload();
    }
  };
  return (
    <>
      <dl class="pairs" data-testid="team-offer">
        <Pair label={t("teamPrice")}>
          <strong>{tokens(offer.price)}</strong> {t("perUnit")}
          {offer.price < listing.price && (
            <span class="muted small"> ({t("insteadOf", { price: tokens(listing.price) })})</span>
          )}
        </Pair>
        <Pair label={t("teamSize")}>
          {t("teamSizeValue", { n: offer.size, qty: offer.quantity })}
        </Pair>
        <Pair label={t("teamWindow")}>{t("blocksValue", { n: offer.window_blocks })}</Pair>
      </dl>
      <p class="small">{t("teamHelp")}</p>
      {opened !== null && (
        <div class="notice ok" role="status" data-testid="team-opened">
          <p>{t("teamOpened", { team: opened })}</p>
          <TeamLinkBox team={opened} share={mine} />
        </div>
      )}
      <h3 class="h4">{t("openTeams")}</h3>
      {teams.length === 0 ? (
        <p class="muted">{t("noOpenTeams")}</p>
      ) : (
        <ul class="plain teams">
          {teams.map((team) => (
            <li key={team.id} class="inline wrap-gap" data-testid={`open-team-${team.id}`}>
              <span class="grow">
                <a href={link("team", team.id) + (share ? `?share=${share.id}` : "")}>
                  {t("teamNumber", { id: team.id })}
                </a>{" "}
                · {t("seatsLeft", { n: team.seats_left, size: team.size })} ·{" "}
                <DeadlineText team={team} />
              </span>
            </li>
          ))}
        </ul>
      )}
      {offer.active && saved !== null && saved.address !== listing.merchant && (
        <Form onSubmit={start}>
          <DeliveryField value={delivery} onInput={setDelivery} />
          <ErrorLine error={error} />
          <Submit label={t("teamStart", { total: tokens(seat) })} disabled={!listing.active} />
        </Form>
      )}
      {!offer.active && <p class="muted">{t("teamOfferEnded")}</p>}
    </>
  );
}

function TeamLinkBox({ team, share }: { team: number; share: number }) {
  const url = teamLink(team, share);
  return (
    <div class="inline wrap-gap">
      <input
        aria-label={t("teamLink")}
        readOnly
        value={url}
        class="mono grow"
        data-testid="team-link"
      />
      <CopyButton text={url} label={t("copyLink")} />
    </div>
  );
}

interface TeamData {
  readonly team: Team;
  readonly listing: Listing;
  readonly merchant: Merchant | null;
  readonly share: Share | null;
}

async function loadTeam(id: number, shareId: number): Promise<TeamData> {
  const team = await client.team(id);
  const [listing, merchant, share] = await Promise.all([
    client.listing(team.listing, team.version),
    orNull(client.merchant(team.merchant)),
    shareId ? orNull(client.share(shareId)) : Promise.resolve(null),
  ]);
  return { team, listing, merchant, share };
}

/** `#/team/<id>?share=<id>`: a team, its members and seats, and "join". */
export function TeamPage({ id }: { id: number }) {
  useLang();
  const { query } = useRoute();
  const shareParam = Number(query.get("share") ?? "0");
  const shareId = Number.isSafeInteger(shareParam) && shareParam > 0 ? shareParam : 0;
  const state = useChainData(() => loadTeam(id, shareId), [id, shareId]);
  return (
    <div class="page">
      <h1>{t("teamNumber", { id })}</h1>
      <Load state={state}>{(data) => <TeamView data={data} reload={state.reload} />}</Load>
    </div>
  );
}

function TeamView({ data, reload }: { data: TeamData; reload: () => void }) {
  const saved = useStore(vault);
  const [delivery, setDelivery] = useState("");
  const [error, setError] = useState("");
  const { team, listing, merchant, share } = data;
  const member = saved !== null && team.members.some((m) => m.address === saved.address);
  const credited = saved === null ? 0 : creditedShare(share, team.listing, saved.address);
  const mine = saved === null ? 0 : (savedShares()[`${saved.address}:${team.listing}`] ?? 0);
  const join = async () => {
    setError("");
    if (merchant === null) return;
    const sealed = sealDelivery(merchant, delivery);
    if (sealed === null) {
      setError(t("deliveryTooLong"));
      return;
    }
    const lines = [
      t("descTeamJoin", {
        team: team.id,
        title: listing.title,
        qty: team.quantity,
        total: tokens(team.paid_each),
      }),
      t("descTeamEscrow"),
      ...paymentLines(merchant, sealed, credited, team.referral_bps),
    ];
    const receipt = await requestTx(t("teamJoinTitle", { team: team.id }), lines, {
      type: "team_join",
      team: team.id,
      share: credited,
      delivery: sealed,
    });
    if (receipt !== null) {
      setDelivery("");
      reload();
    }
  };
  return (
    <>
      <section class="card" aria-labelledby="team-listing">
        <h2 id="team-listing">
          <a href={link("listing", listing.id)}>{listing.title}</a>
        </h2>
        <p>
          <span class={`badge ${team.status}`} data-testid="team-status">
            {teamStatusText(team.status)}
          </span>
        </p>
        <dl class="pairs">
          <Pair label={t("teamPrice")}>
            {tokens(team.price)} {t("perUnit")} ·{" "}
            {t("teamSeatPays", { total: tokens(team.paid_each) })}
          </Pair>
          <Pair label={t("teamSize")}>
            {t("teamSizeValue", { n: team.size, qty: team.quantity })}
          </Pair>
          <dt>{t("seats")}</dt>
          <dd
            data-testid="seats-left"
          >
            {t("seatsLeft", { n: team.seats_left, size: team.size })}</dd>
          <Pair label={t("deadline")}>
            <DeadlineText team={team} />
          </Pair>
          <Pair label={t("merchant")}>
            {merchant?.name ?? ""} <AddressLink address={team.merchant} />
          </Pair>
        </dl>
        <h3 class="h4">{t("members")}</h3>
        <ol class="members">
          {team.members.map((m) => (
            <li key={m.address}>
              <AddressLink address={m.address} />
              {saved?.address === m.address && <span class="muted small"> ({t("you")})</span>}
            </li>
          ))}
        </ol>
        {team.status === "filled" && <p class="notice ok">{t("teamFilledNote")}</p>}
        {team.status === "expired" && <p class="notice warn">{t("teamRefundedNote")}</p>}
      </section>
      {team.status === "open" && (
        <Section title={t("teamJoin")}>
          {share !== null && credited > 0 && (
            <p class="notice info" data-testid="via-share">
              {t("viaShare", { share: share.id, pct: percent(team.referral_bps) })}{" "}
              <AddressLink address={share.sharer} />
            </p>
          )}
          {saved === null ? (
            <NeedWallet />
          ) : member ? (
            <>
              <p>{t("teamYouAreIn")}</p>
              <TeamLinkBox team={team.id} share={mine || credited} />
            </>
          ) : saved.address === team.merchant ? (
            <p class="muted">{t("ownListing")}</p>
          ) : (
            <Form onSubmit={join}>
              <DeliveryField value={delivery} onInput={setDelivery} />
              <ErrorLine error={error} />
              <Submit label={t("teamJoinButton", { total: tokens(team.paid_each) })} />
            </Form>
          )}
        </Section>
      )}
    </>
  );
}

/** The wallet's list of the account's teams and their state. */
export function MyTeams({ address }: { address: string }) {
  const state = useChainData(
    () => client.accountTeams(address, { limit: TEAMS_SHOWN }),
    [address],
  );
  return (
    <Section title={t("myTeams")}>
      <ListLoad state={state} empty={t("noTeams")}>
          {(items) => (
            <Table
              columns={[t("teamCol"), t("listingLabel"), t("seats"), t("statusCol"), t("deadline")]}
              testId="my-teams"
            >
                  {[...items].reverse().map((team) => (
                    <tr key={team.id} data-testid={`my-team-${team.id}`}>
                      <td>
                        <a href={link("team", team.id)}>{t("teamNumber", { id: team.id })}</a>
                      </td>
                      <td>
                        <a href={link("listing", team.listing)}>#{team.listing}</a>
                      </td>
                      <td class="num">{team.size - team.seats_left}/{team.size}</td>
                      <td>
                        <span class={`badge ${team.status}`}>{teamStatusText(team.status)}</span>
                      </td>
                      <td class="small">
                        <DeadlineText team={team} />
                      </td>
                    </tr>
                  ))}
                </Table>
          )}
        </ListLoad>
    </Section>
  );
}
