"""The state layout of group buying and promotions: records and key builders.

The prefixes are in commerce/schema.py (``ca cA ch cz cZ cH``); this module holds what
lives under them, so the round-1 layout module stays as it was. Index prefixes carry a
one-byte kind after the two-byte prefix and fixed-width fields after it, so no index key is
a prefix of another kind's.

Deadlines (a team's window, a campaign's end) are timers of their own kinds, laid out like
the order timers: a dense run of slots per due height and a count, so a height with none
reads one key. The end-of-block steps in commerce/teams.py and commerce/promotions.py run
them; an entry whose record moved on (a team filled, a campaign closed) is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from commerce.address import ADDRESS_BYTES
from commerce.schema import (
    P_CAMPAIGN,
    P_CAMPAIGN_INDEX,
    P_FLASH_SALE,
    P_TEAM,
    P_TEAM_INDEX,
    P_TEAM_OFFER,
    Record,
    u32,
    u64,
)

# Sub-kinds of P_TEAM_INDEX.
TEAM_OF_LISTING = b"l"  # + listing (8) + team (8)   -> b""  (open teams only)
TEAM_OF_ACCOUNT = b"a"  # + account (20) + team (8)  -> b""  (every team it had a place in)
TEAM_TIMER = b"t"  # + due height (8) + slot (4)     -> team (8 BE)
TEAM_TIMER_COUNT = b"T"  # + due height (8)          -> slots used (8 BE)
TEAMS_OPENED = b"n"  # + account (20)                -> open teams it opened (8 BE)
# Sub-kinds of P_CAMPAIGN_INDEX.
CAMPAIGN_OF_MERCHANT = b"m"  # + merchant (20) + campaign (8) -> b""
CAMPAIGN_USE = b"u"  # + campaign (8) + account (20)  -> coupons used (8 BE)
ORDER_DISCOUNT = b"o"  # + order (8)                  -> OrderDiscountRecord
CAMPAIGN_TIMER = b"t"  # + due height (8) + slot (4)  -> campaign (8 BE)
CAMPAIGN_TIMER_COUNT = b"T"  # + due height (8)       -> slots used (8 BE)
CAMPAIGNS_OPEN = b"n"  # + merchant (20)              -> open campaigns (8 BE)


class TeamStatus(IntEnum):
    """Where a team is in its life cycle (the moves are the table in
    commerce/team_lifecycle.py)."""

    OPEN = 1
    FILLED = 2
    EXPIRED = 3


TEAM_STATUS_NAMES = {status.value: status.name.lower() for status in TeamStatus}


class CampaignStatus(IntEnum):
    """A campaign is open from creation until it ends (its end height) or is closed."""

    OPEN = 1
    ENDED = 2
    CLOSED = 3


CAMPAIGN_STATUS_NAMES = {status.value: status.name.lower() for status in CampaignStatus}


@dataclass(slots=True)
class TeamOfferRecord(Record):
    """A listing's team offer: `size` seats of `quantity` units each at `price` per unit,
    filled within `window_blocks` of the opening. A team reserves size x quantity units
    of stock when it opens. `open_teams` counts the offer's teams still open; an ended
    offer (`active` false) opens no more teams, its open ones run their course."""

    size: int
    price: int
    quantity: int
    window_blocks: int
    set_height: int
    active: bool = True
    open_teams: int = 0
    teams_filled: int = 0
    teams_expired: int = 0


@dataclass(slots=True)
class TeamRecord(Record):
    """A team: its terms are fixed when it opens (the offer may change later). Each member
    paid `price * quantity` into team escrow; `shares[i]` is the share the i-th member
    came through (0: none), `deliveries[i]` its delivery details sealed to the merchant.
    `deadline` is the height at whose end an unfilled team expires; `first_order` the
    first of the orders the full team became (consecutive ids)."""

    listing: int
    version: int
    merchant: bytes
    size: int
    price: int
    quantity: int
    referral_bps: int
    status: int
    created_height: int
    deadline: int
    members: list[bytes] = field(default_factory=list)
    shares: list[int] = field(default_factory=list)
    deliveries: list[bytes] = field(default_factory=list)
    closed_height: int = 0
    first_order: int = 0

    @property
    def reserved(self) -> int:
        """The stock units the team holds while open."""
        return self.size * self.quantity

    @property
    def paid_each(self) -> int:
        """What each member pays into team escrow."""
        return self.price * self.quantity


@dataclass(slots=True)
class CampaignRecord(Record):
    """A coupon campaign funded by `merchant`: `budget` is what is left of the locked
    budget (`funded` at creation). A coupon takes `discount_fixed`, or `discount_bps` of the
    order's total capped at `discount_cap`; it applies to the merchant's `listing` (0: any
    of its listings) at a total of at least `min_spend`, from `start_height` up to (not
    including) `end_height`, at most `per_account` times per account and `total_count`
    times in all."""

    merchant: bytes
    listing: int
    discount_fixed: int
    discount_bps: int
    discount_cap: int
    min_spend: int
    per_account: int
    total_count: int
    start_height: int
    end_height: int
    funded: int
    budget: int
    status: int
    created_height: int
    used_count: int = 0
    paid_out: int = 0
    returned: int = 0
    closed_height: int = 0


@dataclass(slots=True)
class OrderDiscountRecord(Record):
    """The coupon on an order: `discount` of its escrowed total came from `campaign`."""

    campaign: int
    discount: int


@dataclass(slots=True)
class FlashSaleRecord(Record):
    """A listing's price override: `price` per unit from `start_height` up to (not
    including) `end_height`, for at most `stock` units in all (`sold` so far)."""

    price: int
    stock: int
    start_height: int
    end_height: int
    set_height: int
    sold: int = 0


def team_offer_key(listing: int) -> bytes:
    """Key of a listing's team offer."""
    return P_TEAM_OFFER + u64(listing)


def team_key(team: int) -> bytes:
    """Key of a team."""
    return P_TEAM + u64(team)


def team_of_listing_key(listing: int, team: int) -> bytes:
    """Index entry: an open team of a listing."""
    return P_TEAM_INDEX + TEAM_OF_LISTING + u64(listing) + u64(team)


def team_of_account_key(account: bytes, team: int) -> bytes:
    """Index entry: a team the account has a place in."""
    assert len(account) == ADDRESS_BYTES
    return P_TEAM_INDEX + TEAM_OF_ACCOUNT + account + u64(team)


def team_timer_key(due_height: int, slot: int) -> bytes:
    """Key of the `slot`-th team deadline at `due_height`."""
    return P_TEAM_INDEX + TEAM_TIMER + u64(due_height) + u32(slot)


def team_timer_count_key(due_height: int) -> bytes:
    """Key of the number of team deadlines at `due_height`."""
    return P_TEAM_INDEX + TEAM_TIMER_COUNT + u64(due_height)


def teams_opened_key(account: bytes) -> bytes:
    """Key of the number of open teams an account opened."""
    assert len(account) == ADDRESS_BYTES
    return P_TEAM_INDEX + TEAMS_OPENED + account


def campaign_key(campaign: int) -> bytes:
    """Key of a campaign."""
    return P_CAMPAIGN + u64(campaign)


def campaign_of_merchant_key(merchant: bytes, campaign: int) -> bytes:
    """Index entry: a merchant's campaign."""
    assert len(merchant) == ADDRESS_BYTES
    return P_CAMPAIGN_INDEX + CAMPAIGN_OF_MERCHANT + merchant + u64(campaign)


def campaign_use_key(campaign: int, account: bytes) -> bytes:
    """Key of how many coupons of a campaign an account used."""
    assert len(account) == ADDRESS_BYTES
    return P_CAMPAIGN_INDEX + CAMPAIGN_USE + u64(campaign) + account


def order_discount_key(order: int) -> bytes:
    """Key of the coupon discount on an order."""
    return P_CAMPAIGN_INDEX + ORDER_DISCOUNT + u64(order)


def campaign_timer_key(due_height: int, slot: int) -> bytes:
    """Key of the `slot`-th campaign end at `due_height`."""
    return P_CAMPAIGN_INDEX + CAMPAIGN_TIMER + u64(due_height) + u32(slot)


def campaign_timer_count_key(due_height: int) -> bytes:
    """Key of the number of campaign ends at `due_height`."""
    return P_CAMPAIGN_INDEX + CAMPAIGN_TIMER_COUNT + u64(due_height)


def flash_sale_key(listing: int) -> bytes:
    """Key of a listing's flash sale."""
    return P_FLASH_SALE + u64(listing)


def campaigns_open_key(merchant: bytes) -> bytes:
    """Key of the number of a merchant's open campaigns."""
    assert len(merchant) == ADDRESS_BYTES
    return P_CAMPAIGN_INDEX + CAMPAIGNS_OPEN + merchant
