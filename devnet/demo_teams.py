"""The group-buying and coupon chapter of `agora devnet demo` (devnet/demo.py calls it).

acme gives the mug a team offer; bob opens a team and carol fills it through alice's
referral link (both payments become paid orders at the team price, which acme ships and
the buyers confirm, alice earning her commission); carol opens a second team that nobody
joins, and the chain refunds her in full at the team's deadline (a short window, so the
demo waits a few idle blocks); acme funds a coupon campaign, bob buys the mug with its
coupon, the order completes, and acme closes the campaign (the rest of its budget returns).
So the escrow, the team escrow and the campaign budgets end where they started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from commerce.amount import format_amount
from commerce.orders import OrderConfirm, OrderShip
from commerce.promotions import CampaignClose, CampaignCreate, CouponPurchase
from commerce.teams import TeamJoin, TeamOfferSet, TeamOpen
from commerce.tx import TxBody
from devnet.errors import DevnetError, DevnetErrorCode

UNIT = 1_000_000
TEAM_SIZE = 2
TEAM_WINDOW_BLOCKS = 4  # short: the demo waits for the unfilled team's deadline
CAMPAIGN_BLOCKS = 1_000
DEADLINE_WAIT_S = 60.0  # idle blocks come every second on a devnet
POLL_INTERVAL_S = 0.25

Send = Callable[[str, TxBody, str], Awaitable[tuple[int, Any]]]
Call = Callable[..., Awaitable[Any]]


@dataclass
class TeamsOutcome:
    """What the chapter did: the filled team and its orders, the expired team and the
    refund, the campaign and the coupon order."""

    team_filled: int = 0
    team_link: str = ""
    team_orders: tuple[int, ...] = ()
    team_expired: int = 0
    team_refunded: int = 0
    campaign: int = 0
    coupon_order: int = 0
    discount: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The `--output json` shape."""
        return {"team_filled": self.team_filled, "team_link": self.team_link,
                "team_orders": list(self.team_orders), "team_expired": self.team_expired,
                "team_refunded": self.team_refunded, "campaign": self.campaign,
                "coupon_order": self.coupon_order, "discount": self.discount}


async def play_teams(send: Send, call: Call, mug: int, share: int, price: int) -> TeamsOutcome:
    """Play the chapter on listing `mug` (listed at `price`), `share` being alice's share of
    it; raises DevnetError(not_ready) if the unfilled team does not expire in time."""
    out = TeamsOutcome()
    team_price = price * 5 // 6
    await send("acme", TeamOfferSet(listing=mug, size=TEAM_SIZE, price=team_price, quantity=1,
                                    window_blocks=TEAM_WINDOW_BLOCKS),
               f"gave listing {mug} a team offer: {TEAM_SIZE} buyers at "
               f"{format_amount(team_price)} each, filled within {TEAM_WINDOW_BLOCKS} blocks")
    version = int((await call("state_getListing", id=mug))["current_version"])
    out.team_filled, _ = await send(
        "bob", TeamOpen(listing=mug, version=version),
        f"opened team {{id}} with {format_amount(team_price)} in team escrow; "
        "team link agora://team/{id}")
    out.team_link = f"agora://team/{out.team_filled}?share={share}"
    await send("carol", TeamJoin(team=out.team_filled, share=share),
               f"joined through {out.team_link}: the team is full, both payments are orders")
    team = await call("state_getTeam", id=out.team_filled)
    out.team_orders = tuple(int(order) for order in team["orders"])
    for order in out.team_orders:
        await send("acme", OrderShip(order=order), f"shipped team order {order}")
    for order, buyer in zip(out.team_orders, ("bob", "carol"), strict=True):
        await send(buyer, OrderConfirm(order=order), f"confirmed team order {order}" + (
            ": alice's commission paid (carol joined through her link)"
            if buyer == "carol" else ""))

    out.team_expired, _ = await send(
        "carol", TeamOpen(listing=mug, version=version),
        f"opened team {{id}}; nobody joins within {TEAM_WINDOW_BLOCKS} blocks")
    out.team_refunded = await _wait_expired(call, out.team_expired)

    out.campaign, _ = await send(
        "acme", CampaignCreate(listing=mug, discount_fixed=10 * UNIT, discount_bps=0,
                               discount_cap=0, min_spend=0, per_account=1, total_count=10,
                               start_height=0, end_height=await _height(call) + CAMPAIGN_BLOCKS,
                               budget=50 * UNIT),
        "funded coupon campaign {id}: 10 off the mug, 50 locked from acme's balance")
    out.coupon_order, _ = await send(
        "bob", CouponPurchase(listing=mug, version=version, quantity=1, campaign=out.campaign),
        f"bought the mug with a coupon of campaign {out.campaign} as order {{id}}: paid "
        f"{format_amount(price - 10 * UNIT)}, the campaign paid 10")
    out.discount = int((await call("state_getOrderDiscount", order=out.coupon_order))
                       ["discount"])
    await send("acme", OrderShip(order=out.coupon_order), f"shipped order {out.coupon_order}")
    await send("bob", OrderConfirm(order=out.coupon_order),
               f"confirmed order {out.coupon_order}: acme gets the full price")
    await send("acme", CampaignClose(campaign=out.campaign),
               f"closed campaign {out.campaign}: the rest of its budget came back")
    return out


async def _height(call: Call) -> int:
    return int((await call("node_status"))["height"])


async def _wait_expired(call: Call, team: int) -> int:
    """Wait for the team's deadline block; what its members got back."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + DEADLINE_WAIT_S
    while loop.time() < give_up:
        found = await call("state_getTeam", id=team)
        if found["status"] == "expired":
            return int(found["paid_each"]) * len(found["members"])
        await asyncio.sleep(POLL_INTERVAL_S)
    raise DevnetError(DevnetErrorCode.NOT_READY,
                      f"team {team} did not expire within {DEADLINE_WAIT_S:g} s")
