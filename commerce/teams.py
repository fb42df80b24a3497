"""Group buying: team offers, opening and joining a team, filling and expiring.

A merchant gives a listing a team offer (`team_offer_set`): `size` seats of `quantity`
units each at the team `price` per unit, to fill within `window_blocks`. A buyer opens a
team (`team_open`): it pays price x quantity into team escrow (`POOL_TEAM_ESCROW`) and
the team reserves size x quantity units of the listing's stock. Others join
(`team_join`) the same way until the deadline, the opening height + window_blocks (a
join in the deadline's block still counts). The join that takes the last seat fills the
team: every member's payment moves from team escrow into order escrow as a normal paid
order (commerce/orders.py; ship, confirm, dispute, review and auto-release as any order),
each at the team price, with the member's share for the sharer's commission and rewards.
A team still open at the end of its deadline's block expires in the end-of-block step:
every member gets back exactly what it paid and the reserved stock returns.

The moves of a team are the table in commerce/team_lifecycle.py. Work per block is
bounded: a fill opens at most MAX_TEAM_SIZE orders, and at most
MAX_TEAM_DEADLINES_PER_HEIGHT teams expire at one height (a team_open past that cap is
refused with schedule_full). An account may have MAX_OPEN_TEAMS_PER_ACCOUNT teams it
opened open at once, a listing MAX_OPEN_TEAMS_PER_LISTING (team_limit): each open team
locks its opener's payment and reserve, so the caps cost a squatter real money per key.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from commerce.deadlines import pop_due, schedule
from commerce.errors import ErrorCode, ValidationError
from commerce.ledger import POOL_TEAM_ESCROW, credit, debit, pool_add
from commerce.limits import (
    MAX_AMOUNT_MINOR,
    MAX_OPEN_TEAMS_PER_ACCOUNT,
    MAX_OPEN_TEAMS_PER_LISTING,
    MAX_ORDER_QUANTITY,
    MAX_STOCK,
    MAX_TEAM_DEADLINES_PER_HEIGHT,
    MAX_TEAM_SIZE,
    MAX_TEAM_WINDOW_BLOCKS,
    MIN_TEAM_SIZE,
)
from commerce.listings import get_listing, get_version, put_listing, require_own_listing
from commerce.machine import ChainContext, Event, register_end_block, register_handler
from commerce.merchants import require_merchant
from commerce.orders import (
    SealedNote,
    check_buyable,
    check_sealed,
    check_seller,
    check_share,
    check_stock,
    checked_total,
    get_share,
    new_order,
    open_order,
)
from commerce.schema import COUNTER_TEAM, RecordId, get_u64, load, next_id, u64
from commerce.state import Overlay, StateReader
from commerce.team_lifecycle import TeamAction, require_team_move, team_move
from commerce.teams_schema import (
    TeamOfferRecord,
    TeamRecord,
    TeamStatus,
    team_key,
    team_of_account_key,
    team_of_listing_key,
    team_offer_key,
    team_timer_count_key,
    team_timer_key,
    teams_opened_key,
)
from commerce.tx import Transaction, TxBody, register_body


def get_team_offer(view: StateReader | Overlay, listing: int) -> TeamOfferRecord | None:
    """A listing's team offer (active or ended), or None."""
    return load(view, TeamOfferRecord, team_offer_key(listing))


def get_team(view: StateReader | Overlay, team: int) -> TeamRecord | None:
    """A team, or None."""
    return load(view, TeamRecord, team_key(team))


def put_team(view: Overlay, team: int, record: TeamRecord) -> None:
    """Store a team."""
    assert len(record.members) == len(record.shares) == len(record.deliveries)
    assert 1 <= len(record.members) <= record.size, "a team has 1..size members"
    assert (record.status == TeamStatus.FILLED) == (len(record.members) == record.size) \
        or record.status == TeamStatus.EXPIRED, "filled exactly when every seat is taken"
    view.put(team_key(team), record.to_bytes())


@register_body
class TeamOfferSet(TxBody):
    """Give `listing` a team offer (replacing any): `size` seats of `quantity` units at
    `price` per unit, filled within `window_blocks` of a team's opening."""

    TYPE = "team_offer_set"
    listing: RecordId
    size: Annotated[int, Field(ge=MIN_TEAM_SIZE, le=MAX_TEAM_SIZE)]
    price: Annotated[int, Field(ge=1, le=MAX_AMOUNT_MINOR)]
    quantity: Annotated[int, Field(ge=1, le=MAX_ORDER_QUANTITY)]
    window_blocks: Annotated[int, Field(ge=1, le=MAX_TEAM_WINDOW_BLOCKS)]


@register_body
class TeamOfferEnd(TxBody):
    """End `listing`'s team offer: no new teams; open ones run their course."""

    TYPE = "team_offer_end"
    listing: RecordId


@register_body
class TeamOpen(TxBody):
    """Open a team on `listing` at `version` (the current one) and pay the first seat;
    `share` 0 for none; `delivery` sealed to the merchant's key."""

    TYPE = "team_open"
    listing: RecordId
    version: RecordId
    share: Annotated[int, Field(ge=0)] = 0
    delivery: SealedNote = b""


@register_body
class TeamJoin(TxBody):
    """Take a seat in `team` and pay it; `share` (0: none) credits its sharer."""

    TYPE = "team_join"
    team: RecordId
    share: Annotated[int, Field(ge=0)] = 0
    delivery: SealedNote = b""


def apply_team_offer_set(ctx: ChainContext, view: Overlay, tx: Transaction,
                         body: TeamOfferSet) -> list[Event]:
    """Refuses not_found, not_owner, not_merchant, merchant_suspended, listing_inactive,
    team_offer_invalid (the team price is above the listing's price, or a team's
    reservation is above MAX_STOCK), amount_out_of_range (price x quantity)."""
    listing_id, size, price, quantity = body.listing, body.size, body.price, body.quantity
    sender = tx.sender_address
    listing = require_own_listing(view, sender, listing_id)
    require_merchant(view, sender)
    if not listing.active:
        raise ValidationError(ErrorCode.LISTING_INACTIVE, f"listing {listing_id} is delisted")
    version = get_version(view, listing_id, listing.version)
    assert version is not None, "the current version exists"
    if price > version.price:
        raise ValidationError(ErrorCode.TEAM_OFFER_INVALID,
                              f"team price {price} is above the listing's price {version.price}")
    if size * quantity > MAX_STOCK:
        raise ValidationError(ErrorCode.TEAM_OFFER_INVALID, "size x quantity is above MAX_STOCK")
    checked_total(price, quantity)
    offer = get_team_offer(view, listing_id)
    record = TeamOfferRecord(size, price, quantity, body.window_blocks, ctx.height)
    if offer is not None:  # the counts carry over: open teams keep their own terms
        record.open_teams, record.teams_filled = offer.open_teams, offer.teams_filled
        record.teams_expired = offer.teams_expired
    view.put(team_offer_key(listing_id), record.to_bytes())
    return [Event("team_offer_set", (sender,), (listing_id, size, price))]


register_handler(TeamOfferSet)(apply_team_offer_set)


def apply_team_offer_end(ctx: ChainContext, view: Overlay, tx: Transaction,
                         body: TeamOfferEnd) -> list[Event]:
    """Refuses not_found, not_owner, no_team_offer (none, or ended already)."""
    listing_id = body.listing
    sender = tx.sender_address
    require_own_listing(view, sender, listing_id)
    offer = get_team_offer(view, listing_id)
    if offer is None or not offer.active:
        raise ValidationError(ErrorCode.NO_TEAM_OFFER, f"listing {listing_id} has no team offer")
    offer.active = False
    view.put(team_offer_key(listing_id), offer.to_bytes())
    return [Event("team_offer_end", (sender,), (listing_id,))]


register_handler(TeamOfferEnd)(apply_team_offer_end)


def _pay_seat(ctx: ChainContext, view: Overlay, member: bytes, amount: int) -> None:
    debit(view, member, amount, ctx.params.account_reserve_minor)
    pool_add(view, POOL_TEAM_ESCROW, amount)


def apply_team_open(ctx: ChainContext, view: Overlay, tx: Transaction,
                    body: TeamOpen) -> list[Event]:
    """Refuses field_invalid (delivery), the refusals of `purchase` (not_found,
    listing_inactive, merchant_suspended, self_purchase, stale_version), no_team_offer,
    team_limit, out_of_stock (size x quantity), share_mismatch, self_referral,
    schedule_full, insufficient_funds, below_reserve."""
    listing_id, share_id, delivery = body.listing, body.share, body.delivery
    opener = tx.sender_address
    check_sealed("delivery", delivery)
    listing, version = check_buyable(view, opener, listing_id, body.version)
    offer = get_team_offer(view, listing_id)
    if offer is None or not offer.active:
        raise ValidationError(ErrorCode.NO_TEAM_OFFER, f"listing {listing_id} has no team offer")
    if offer.open_teams >= MAX_OPEN_TEAMS_PER_LISTING:
        raise ValidationError(ErrorCode.TEAM_LIMIT,
                              f"listing {listing_id} has {offer.open_teams} open teams")
    opened_key = teams_opened_key(opener)
    opened = get_u64(view, opened_key)
    if opened >= MAX_OPEN_TEAMS_PER_ACCOUNT:
        raise ValidationError(ErrorCode.TEAM_LIMIT, f"the sender has {opened} open teams")
    # The team price, never above the version's (the listing's price may have dropped).
    price = min(offer.price, version.price)
    record = TeamRecord(listing_id, body.version, listing.merchant, offer.size, price,
                        offer.quantity, version.referral_bps, TeamStatus.OPEN, ctx.height,
                        ctx.height + offer.window_blocks, [opener], [share_id], [delivery])
    check_stock(listing, record.reserved)
    check_share(view, share_id, listing_id, opener)
    team = next_id(view, COUNTER_TEAM)
    schedule(view, team_timer_key, team_timer_count_key, record.deadline, team,
             MAX_TEAM_DEADLINES_PER_HEIGHT, "team deadlines")
    _pay_seat(ctx, view, opener, record.paid_each)
    # Nothing below can fail: the team is open.
    listing.stock -= record.reserved
    put_listing(view, listing_id, listing)
    offer.open_teams += 1
    view.put(team_offer_key(listing_id), offer.to_bytes())
    view.put(opened_key, u64(opened + 1))
    put_team(view, team, record)
    view.put(team_of_listing_key(listing_id, team), b"")
    view.put(team_of_account_key(opener, team), b"")
    return [Event("team_open", (opener, listing.merchant),
                  (team, listing_id, record.paid_each))]


register_handler(TeamOpen)(apply_team_open)


def apply_team_join(ctx: ChainContext, view: Overlay, tx: Transaction,
                    body: TeamJoin) -> list[Event]:
    """Refuses field_invalid (delivery), not_found, team_closed, already_in_team,
    listing_inactive, merchant_suspended, self_purchase, share_mismatch, self_referral,
    insufficient_funds, below_reserve. The join that takes the last seat fills the team."""
    team, share_id, delivery = body.team, body.share, body.delivery
    member = tx.sender_address
    check_sealed("delivery", delivery)
    record = get_team(view, team)
    if record is None:
        raise ValidationError(ErrorCode.NOT_FOUND, f"no team {team}")
    require_team_move(record.status, TeamAction.JOIN, team)
    if member in record.members:
        raise ValidationError(ErrorCode.ALREADY_IN_TEAM, f"the sender is in team {team}")
    check_seller(view, member, record.listing)
    check_share(view, share_id, record.listing, member)
    _pay_seat(ctx, view, member, record.paid_each)
    record.members.append(member)
    record.shares.append(share_id)
    record.deliveries.append(delivery)
    view.put(team_of_account_key(member, team), b"")
    seats_left = record.size - len(record.members)
    events = [Event("team_join", (member, record.merchant),
                    (team, seats_left, record.paid_each))]
    if seats_left:
        team_move(record, TeamAction.JOIN, TeamStatus.OPEN)
        put_team(view, team, record)
        return events
    return events + _fill(ctx, view, team, record)


register_handler(TeamJoin)(apply_team_join)


def _close(ctx: ChainContext, view: Overlay, team: int, record: TeamRecord) -> TeamOfferRecord:
    """What filling and expiring share: the team leaves its listing's open teams."""
    pool_add(view, POOL_TEAM_ESCROW, -record.paid_each * len(record.members))
    record.closed_height = ctx.height
    view.delete(team_of_listing_key(record.listing, team))
    offer = get_team_offer(view, record.listing)
    assert offer is not None and offer.open_teams > 0, "an open team counts in its offer"
    offer.open_teams -= 1
    opened_key = teams_opened_key(record.members[0])  # the opener
    opened = get_u64(view, opened_key)
    assert opened > 0, "an open team counts for its opener"
    if opened == 1:
        view.delete(opened_key)
    else:
        view.put(opened_key, u64(opened - 1))
    return offer


def _fill(ctx: ChainContext, view: Overlay, team: int, record: TeamRecord) -> list[Event]:
    """Every member's payment becomes a paid order at the team price (the reserved stock
    is theirs already)."""
    offer = _close(ctx, view, team, record)
    offer.teams_filled += 1
    view.put(team_offer_key(record.listing), offer.to_bytes())
    orders: list[int] = []
    for member, share_id, delivery in zip(record.members, record.shares, record.deliveries,
                                          strict=True):
        share = get_share(view, share_id) if share_id else None
        sharer = share.sharer if share is not None else b""
        order = new_order(ctx, member, record.merchant, record.listing, record.version,
                          record.referral_bps, record.quantity, record.price, share_id,
                          sharer, delivery)
        orders.append(open_order(ctx, view, order))
    assert orders == list(range(orders[0], orders[0] + record.size)), "consecutive ids"
    team_move(record, TeamAction.JOIN, TeamStatus.FILLED)
    record.first_order = orders[0]
    put_team(view, team, record)
    return [Event("team_filled", (*record.members, record.merchant),
                  (team, orders[0], len(orders)))]


def _expire(ctx: ChainContext, view: Overlay, team: int, record: TeamRecord) -> list[Event]:
    """Refund every member exactly what it paid; the reserved stock returns."""
    offer = _close(ctx, view, team, record)
    offer.teams_expired += 1
    view.put(team_offer_key(record.listing), offer.to_bytes())
    for member in record.members:
        credit(view, member, record.paid_each)
    listing = get_listing(view, record.listing)
    assert listing is not None, "a team's listing exists"
    listing.stock = min(MAX_STOCK, listing.stock + record.reserved)
    put_listing(view, record.listing, listing)
    team_move(record, TeamAction.TIMER, TeamStatus.EXPIRED)
    put_team(view, team, record)
    refunded = record.paid_each * len(record.members)
    return [Event("team_expired", (*record.members, record.merchant), (team, refunded))]


def run_team_deadlines(ctx: ChainContext, view: Overlay) -> list[Event]:
    """End-of-block step: expire every team whose deadline is this height and that is still
    open, in team id order (a team that filled is skipped)."""
    events: list[Event] = []
    for team in pop_due(view, team_timer_key, team_timer_count_key, ctx.height,
                        MAX_TEAM_DEADLINES_PER_HEIGHT):
        record = get_team(view, team)
        assert record is not None, "a deadline's team exists"
        assert record.deadline == ctx.height, "a team has one deadline"
        if record.status == TeamStatus.OPEN:
            events.extend(_expire(ctx, view, team, record))
    return events


register_end_block(110, "commerce.team_deadlines", run_team_deadlines)
