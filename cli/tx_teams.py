"""`agora tx team-*`: group buying from the command line (commerce/teams.py).

A merchant puts a team offer on a listing (`team-offer-set`, `team-offer-end`); a buyer opens
a team (`team-open`), which prints the team link to share; friends join with that link
(`team-join --team 'agora://team/7?share=3'`), the share in it crediting the one who
shared. Registered on the `agora tx` group by importing this module (cli/main.py).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from cli.tx import Common, ListingOpt, amount_option, parse_share, tx_command, usage
from commerce.keys import seal
from commerce.teams import TeamJoin, TeamOfferEnd, TeamOfferSet, TeamOpen
from commerce.tx import TxBody

TEAM_LINK = "agora://team/{team}"
# A team link as `tx team-open` prints it (a share may ride along), or its http(s) form.
TEAM_LINK_RE = re.compile(r"^(?:agora://|https?://[^/?#]+/)team/(\d+)(?:\?share=(\d+))?$")

ShareOpt = Annotated[str, typer.Option(
    "--share", help="A referral link of the listing (agora://listing/3?share=2) or a share "
    "number (0: none); credits its sharer.")]
DeliveryOpt = Annotated[str, typer.Option(
    help="Delivery details; sealed so only the merchant can read them.")]


def parse_team(text: str) -> tuple[int, int]:
    """(team id, share id or 0) from a team number or a team link."""
    text = text.strip()
    if text.isdigit() and int(text) > 0:
        return int(text), 0
    match = TEAM_LINK_RE.match(text)
    if match is None:
        usage(f"--team {text!r} is neither a team number nor a team link like "
              "agora://team/7")
    return int(match.group(1)), int(match.group(2) or 0)


def team_link(team: int, share: int) -> str:
    """The link that invites to `team` (carrying `share` when not 0)."""
    link = TEAM_LINK.format(team=team)
    return f"{link}?share={share}" if share else link


def sealed_delivery(opts: Common, listing: dict[str, Any], delivery: str) -> bytes:
    """`delivery` sealed to the key of `listing`'s merchant (b"" for none)."""
    if not delivery:
        return b""
    merchant = opts.call("state_getMerchant", address=listing["merchant"])
    return seal(bytes.fromhex(merchant["public_key"]), delivery.encode())


def share_for_listing(listing: int, text: str) -> int:
    """The share id of a --share link or number, refusing a link of another listing."""
    linked, share = parse_share(text)
    if linked is not None and linked != listing:
        usage(f"the --share link is for listing {linked}, not listing {listing}")
    return share


def _describe_open(result: dict[str, Any], opts: Common) -> dict[str, Any]:
    events = result.get("events") or []
    if not events or events[0].get("kind") != "team_open":
        return {}
    team = int(events[0]["data"][0])
    found = opts.call("state_getTeam", id=team)
    return {"team": team, "deadline": found["deadline"], "team_link": team_link(team, 0)}


def _describe_join(result: dict[str, Any], opts: Common) -> dict[str, Any]:
    events = result.get("events") or []
    if not events or events[0].get("kind") != "team_join":
        return {}
    extra: dict[str, Any] = {"team": events[0]["data"][0], "seats_left": events[0]["data"][1]}
    for event in events[1:]:
        if event.get("kind") == "team_filled":
            first, count = int(event["data"][1]), int(event["data"][2])
            extra["orders"] = " ".join(str(o) for o in range(first, first + count))
    return extra


@tx_command("team-offer-set")
def team_offer_set(
    opts: Common, *, listing: ListingOpt,
    size: Annotated[int, typer.Option(min=2, max=20, help="Seats in a team (2-20).")],
    price: Annotated[str, typer.Option(help="Team unit price in tokens (at most the "
                                            "listing's price).")],
    window: Annotated[int, typer.Option(
        "--window", min=1, max=1_000_000, help="Blocks a team has to fill once opened.")],
    quantity: Annotated[int, typer.Option(min=1, help="Units each member buys.")] = 1,
) -> TxBody:
    """Give a listing a team offer (merchant): each team reserves size x quantity units."""
    return TeamOfferSet(listing=listing, size=size, price=amount_option("--price", price),
                        quantity=quantity, window_blocks=window)


@tx_command("team-offer-end")
def team_offer_end(opts: Common, *, listing: ListingOpt) -> TxBody:
    """End a listing's team offer (merchant); open teams run their course."""
    return TeamOfferEnd(listing=listing)


@tx_command("team-open", _describe_open)
def team_open(opts: Common, *, listing: ListingOpt, share_link: ShareOpt = "0",
              delivery: DeliveryOpt = "") -> TxBody:
    """Open a team and pay your seat into team escrow; prints the team link to share."""
    current = opts.call("state_getListing", id=listing)
    return TeamOpen(listing=listing, version=int(current["current_version"]),
                    share=share_for_listing(listing, share_link),
                    delivery=sealed_delivery(opts, current, delivery))


@tx_command("team-join", _describe_join)
def team_join(
    opts: Common, *,
    team_text: Annotated[str, typer.Option(
        "--team", help="A team link (agora://team/7, maybe with ?share=3) or a team number.")],
    share_link: ShareOpt = "",
    delivery: DeliveryOpt = "",
) -> TxBody:
    """Join a team within its window and pay your seat; the last seat fills the team and
    every member's payment becomes an order."""
    team, linked_share = parse_team(team_text)
    found = opts.call("state_getTeam", id=team)
    listing = int(found["listing"])
    share = share_for_listing(listing, share_link) if share_link else linked_share
    current = opts.call("state_getListing", id=listing)
    return TeamJoin(team=team, share=share, delivery=sealed_delivery(opts, current, delivery))
