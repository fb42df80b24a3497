"""Purchases and the order life cycle: escrow held by the state machine, timers, disputes.

A purchase moves price x quantity from the buyer into escrow (Supply.escrow) and takes the
stock. From then on the order is open until exactly one of two ends: release (escrow to
the merchant minus the sharer's commission) or refund (escrow back to the buyer). The moves
of an order, and who may make them, are the table in commerce/lifecycle.py: each rule below
asks it (`_require_action`) and each status written is checked against it. Every open
order has a timer in state, so no order can stay open for ever even if every party vanishes.

Commission = total * referral_bps // 10_000 (floor; the remainder goes to the merchant),
paid out of the escrowed payment at release, with referral_bps of the version bought.
Timers live under P_TIMER by due height; the end-of-block step runs the timers due at the
block's height in order of order id. A timer whose order moved on is skipped (the order
record names its one live timer), so cancelling a timer is free.
"""

from __future__ import annotations

from typing import Annotated, Literal, NamedTuple

from pydantic import Field

from commerce.deadlines import pop_due, schedule
from commerce.errors import ErrorCode, ValidationError
from commerce.ledger import credit, debit, get_supply, put_supply
from commerce.lifecycle import (
    OPEN_ORDER_STATUSES,
    ORDER_ACTIONS,
    ORDER_LIFE_CYCLE,
    OrderAction,
    Party,
    move,
    require_move,
)
from commerce.limits import (
    BPS_DENOMINATOR,
    MAX_AMOUNT_MINOR,
    MAX_ORDER_QUANTITY,
    MAX_REASON_CHARS,
    MAX_SEALED_BYTES,
    MAX_STOCK,
    MAX_TIMERS_PER_HEIGHT,
    SEALED_OVERHEAD_BYTES,
)
from commerce.listings import get_listing, get_version, put_listing, require_listing
from commerce.machine import ChainContext, Event, register_end_block, register_handler
from commerce.merchants import get_merchant, put_merchant, stored_votes, supermajority
from commerce.pricing import return_discount, unit_price
from commerce.rewards import accrue_completed_order
from commerce.schema import (
    COUNTER_ORDER,
    DECISION_REFUND,
    DECISION_RELEASE,
    ORDER_STATUS_NAMES,
    ListingRecord,
    MerchantStatus,
    OrderRecord,
    OrderStatus,
    RecordId,
    ShareRecord,
    VersionRecord,
    buyer_of_key,
    dispute_vote_key,
    get_u64,
    load,
    next_id,
    order_key,
    orders_of_buyer_key,
    orders_of_merchant_key,
    share_key,
    timer_count_key,
    timer_key,
    u64,
)
from commerce.state import Overlay, StateReader
from commerce.tx import Transaction, TxBody, register_body

SealedNote = Annotated[bytes, Field(max_length=MAX_SEALED_BYTES)]


def get_order(view: StateReader | Overlay, order: int) -> OrderRecord | None:
    """An order record, or None."""
    return load(view, OrderRecord, order_key(order))


def require_order(view: Overlay, order: int) -> OrderRecord:
    """An order's record; raises not_found."""
    record = get_order(view, order)
    if record is None:
        raise ValidationError(ErrorCode.NOT_FOUND, f"no order {order}")
    return record


def get_share(view: StateReader | Overlay, share: int) -> ShareRecord | None:
    """A share record, or None."""
    return load(view, ShareRecord, share_key(share))


def put_order(view: Overlay, order: int, record: OrderRecord) -> None:
    """Store an order record."""
    assert record.status in ORDER_STATUS_NAMES, "a known status"
    assert (record.timer_due > 0) == (record.status in OPEN_ORDER_STATUSES), "open <=> timer"
    view.put(order_key(order), record.to_bytes())


def _require_action(ctx: ChainContext, view: Overlay, tx: Transaction, order: int,
                    action: OrderAction) -> OrderRecord:
    """The record of the order that `tx` moves by `action`, after the checks of the
    life-cycle table, in this order: not_validator (a validator's action: the sender alone
    decides it, so it comes before the order is read), not_found, the sender's side of the
    order (not_owner or not_buyer, as the table says), order_state."""
    rule = ORDER_ACTIONS[action]
    if rule.who == (Party.VALIDATOR,) and tx.sender not in ctx.validators:
        raise ValidationError(rule.outsider, rule.outsider_message)
    record = require_order(view, order)
    if not rule.admits(tx.sender_address, record.buyer, record.merchant):
        raise ValidationError(rule.outsider, rule.outsider_message)
    require_move(record.status, action, order)
    return record


def check_sealed(field: str, note: bytes) -> None:
    """Refuse field_invalid unless `note` is empty or long enough to be sealed."""
    if note and len(note) < SEALED_OVERHEAD_BYTES:
        raise ValidationError(ErrorCode.FIELD_INVALID, f"{field} is not a sealed note")


def schedule_timer(view: Overlay, record: OrderRecord, order: int, due_height: int) -> None:
    """Make `due_height` the order's one live timer (earlier entries become stale)."""
    # A transaction sets one timer per order it moves, at most MAX_TEAM_SIZE (a filled
    # team), so MAX_TIMERS_PER_HEIGHT is never reached: schedule_full cannot happen here.
    schedule(view, timer_key, timer_count_key, due_height, order, MAX_TIMERS_PER_HEIGHT,
             "order timers")
    record.timer_due = due_height


def commission_of(record: OrderRecord) -> int:
    """The sharer's commission: total * referral_bps // 10_000 (floor), 0 without a share."""
    if record.share == 0:
        return 0
    return record.total * record.referral_bps // BPS_DENOMINATOR


def release(ctx: ChainContext, view: Overlay, order: int, record: OrderRecord,
            action: OrderAction) -> list[Event]:
    """Close an open order by `action`, paying the escrow out to the merchant and the
    sharer."""
    commission = commission_of(record)
    assert 0 <= commission <= record.total
    supply = get_supply(view)
    assert supply.escrow >= record.total, "escrow holds every open order"
    supply.escrow -= record.total
    put_supply(view, supply)
    credit(view, record.merchant, record.total - commission)
    touched = [record.buyer, record.merchant]
    if record.share:
        share = get_share(view, record.share)
        assert share is not None, "an order's share exists"
        credit(view, record.sharer, commission)
        share.orders_completed += 1
        share.commission_earned += commission
        view.put(share_key(record.share), share.to_bytes())
        touched.append(record.sharer)
    listing = get_listing(view, record.listing)
    merchant = get_merchant(view, record.merchant)
    assert listing is not None and merchant is not None, "an order's listing and merchant exist"
    listing.sold_quantity += record.quantity
    put_listing(view, record.listing, listing)
    merchant.orders_completed += 1
    put_merchant(view, record.merchant, merchant)
    buyer_key = buyer_of_key(record.merchant, record.buyer)
    view.put(buyer_key, u64(get_u64(view, buyer_key) + 1))
    move(record, action, OrderStatus.COMPLETED)
    record.commission = commission
    record.timer_due = 0
    record.closed_height = ctx.height
    put_order(view, order, record)
    accrue_completed_order(ctx, view, order, record)
    return [Event("order_release", tuple(touched), (order, record.total, commission))]


def refund(ctx: ChainContext, view: Overlay, order: int, record: OrderRecord,
           action: OrderAction, status: OrderStatus) -> list[Event]:
    """Close an open order by `action`, returning the escrow to the buyer: `status` is
    refunded or cancelled. Stock comes back when the order never shipped (clamped at
    MAX_STOCK, so a refund can never be refused). A coupon's discount goes back to its
    campaign, the rest of the escrow to the buyer (commerce/pricing.py)."""
    assert status in (OrderStatus.REFUNDED, OrderStatus.CANCELLED)
    supply = get_supply(view)
    assert supply.escrow >= record.total, "escrow holds every open order"
    supply.escrow -= record.total
    put_supply(view, supply)
    discount = return_discount(view, order)  # a coupon's part goes back to its campaign
    assert 0 <= discount <= record.total
    credit(view, record.buyer, record.total - discount)
    if record.status == OrderStatus.PAID:
        listing = get_listing(view, record.listing)
        assert listing is not None, "an order's listing exists"
        listing.stock = min(MAX_STOCK, listing.stock + record.quantity)
        put_listing(view, record.listing, listing)
    move(record, action, status)
    record.timer_due = 0
    record.closed_height = ctx.height
    put_order(view, order, record)
    kind = "order_refund" if status == OrderStatus.REFUNDED else "order_cancel"
    return [Event(kind, (record.buyer, record.merchant), (order, record.total))]


@register_body
class Purchase(TxBody):
    """Buy `quantity` of `listing` at `version`; `share` 0 for none; `delivery` sealed to
    the merchant's key with commerce.keys.seal (empty when nothing needs delivering)."""

    TYPE = "purchase"
    listing: RecordId
    version: RecordId
    quantity: Annotated[int, Field(ge=1, le=MAX_ORDER_QUANTITY)]
    share: Annotated[int, Field(ge=0)] = 0
    delivery: SealedNote = b""


def check_seller(view: Overlay, buyer: bytes, listing_id: int) -> ListingRecord:
    """The listing, if `buyer` may buy from it now. Refuses not_found, listing_inactive,
    merchant_suspended, self_purchase."""
    listing = require_listing(view, listing_id)
    if not listing.active:
        raise ValidationError(ErrorCode.LISTING_INACTIVE, f"listing {listing_id} is delisted")
    merchant = get_merchant(view, listing.merchant)
    assert merchant is not None, "a listing's merchant exists"
    if merchant.status == MerchantStatus.SUSPENDED:
        raise ValidationError(ErrorCode.MERCHANT_SUSPENDED, "the merchant is suspended")
    if buyer == listing.merchant:
        raise ValidationError(ErrorCode.SELF_PURCHASE, "a merchant cannot buy its own listing")
    return listing


def check_buyable(view: Overlay, buyer: bytes, listing_id: int,
                  version_id: int) -> tuple[ListingRecord, VersionRecord]:
    """The listing and its current version, if `buyer` may buy them now: `check_seller`'s
    refusals, then stale_version. Purchases, coupon purchases and teams check the same
    things in the same order."""
    listing = check_seller(view, buyer, listing_id)
    if version_id != listing.version:
        raise ValidationError(
            ErrorCode.STALE_VERSION, f"current version is {listing.version}, not {version_id}"
        )
    version = get_version(view, listing_id, version_id)
    assert version is not None, "the current version exists"
    return listing, version


def check_stock(listing: ListingRecord, units: int) -> None:
    """Refuse out_of_stock unless the listing has `units` in stock."""
    if listing.stock < units:
        raise ValidationError(ErrorCode.OUT_OF_STOCK, f"only {listing.stock} in stock")


def check_share(view: Overlay, share_id: int, listing_id: int, buyer: bytes) -> bytes:
    """The sharer credited by share `share_id` (b"" for 0), if `buyer` may use it on
    `listing_id`. Refuses not_found, share_mismatch, self_referral."""
    if not share_id:
        return b""
    share = get_share(view, share_id)
    if share is None:
        raise ValidationError(ErrorCode.NOT_FOUND, f"no share {share_id}")
    if share.listing != listing_id:
        raise ValidationError(ErrorCode.SHARE_MISMATCH, "the share is of another listing")
    if share.sharer == buyer:
        raise ValidationError(ErrorCode.SELF_REFERRAL, "a buyer cannot use its own share")
    return share.sharer


def checked_total(unit_price: int, quantity: int) -> int:
    """unit_price x quantity; refuses amount_out_of_range over MAX_AMOUNT_MINOR."""
    total = unit_price * quantity
    if total > MAX_AMOUNT_MINOR:
        raise ValidationError(ErrorCode.AMOUNT_OUT_OF_RANGE, "price x quantity is too large")
    return total


def open_order(ctx: ChainContext, view: Overlay, record: OrderRecord) -> int:
    """Put a new paid order whose `total` the caller took from its payers: the total goes
    into escrow, the ship timer starts, the buyer's and merchant's indexes list it.
    Returns the order id. Cannot fail (every check is the caller's)."""
    assert record.status == OrderStatus.PAID and record.total > 0
    supply = get_supply(view)
    supply.escrow += record.total
    put_supply(view, supply)
    order = next_id(view, COUNTER_ORDER)
    schedule_timer(view, record, order, ctx.height + ctx.params.order_ship_timeout_blocks)
    put_order(view, order, record)
    view.put(orders_of_buyer_key(record.buyer, order), b"")
    view.put(orders_of_merchant_key(record.merchant, order), b"")
    return order


def new_order(ctx: ChainContext, buyer: bytes, merchant: bytes, listing_id: int,
              version_id: int, referral_bps: int, quantity: int, unit_price: int,
              share_id: int, sharer: bytes, delivery: bytes) -> OrderRecord:
    """The record of a paid order of `quantity` at `unit_price` (before `open_order`)."""
    return OrderRecord(buyer, merchant, listing_id, version_id, quantity,
                       unit_price, unit_price * quantity, share_id, sharer,
                       referral_bps, OrderStatus.PAID, ctx.height, delivery)


class PurchaseTerms(NamedTuple):
    """What a purchase's checks found: the listing and version bought, the sharer (b""
    without a share), the unit price (a flash sale's while it applies) and the total."""

    listing: ListingRecord
    version: VersionRecord
    sharer: bytes
    unit_price: int
    total: int


def check_purchase(ctx: ChainContext, view: Overlay, buyer: bytes,
                   body: Purchase) -> PurchaseTerms:
    """The checks of a purchase (and of a coupon purchase, whose body extends it), in
    order; see `apply_purchase` for the refusals. Counts the units against a flash sale."""
    listing_id, quantity = body.listing, body.quantity  # each field read once
    check_sealed("delivery", body.delivery)
    listing, version = check_buyable(view, buyer, listing_id, body.version)
    check_stock(listing, quantity)
    sharer = check_share(view, body.share, listing_id, buyer)
    price = unit_price(view, listing_id, ctx.height, quantity, version.price)
    return PurchaseTerms(listing, version, sharer, price, checked_total(price, quantity))


def open_purchase(ctx: ChainContext, view: Overlay, buyer: bytes, body: Purchase,
                  terms: PurchaseTerms) -> int:
    """A paid purchase's order (the caller took the total from its payers): the stock is
    taken and the order opened. Returns the order id; cannot fail."""
    listing, quantity = terms.listing, body.quantity
    listing.stock -= quantity
    put_listing(view, body.listing, listing)
    return open_order(ctx, view, new_order(
        ctx, buyer, listing.merchant, body.listing, body.version, terms.version.referral_bps,
        quantity, terms.unit_price, body.share, terms.sharer, body.delivery))


def apply_purchase(ctx: ChainContext, view: Overlay, tx: Transaction,
                   body: Purchase) -> list[Event]:
    """Refuses not_found, listing_inactive, merchant_suspended, self_purchase,
    stale_version, out_of_stock, share_mismatch, self_referral, amount_out_of_range,
    insufficient_funds, below_reserve (the payment would leave the buyer below the account
    reserve), field_invalid (delivery too short to be sealed). A flash sale of the listing
    sets the unit price while it lasts (commerce/pricing.py)."""
    buyer = tx.sender_address
    terms = check_purchase(ctx, view, buyer, body)
    debit(view, buyer, terms.total, ctx.params.account_reserve_minor)
    # Nothing below can fail: the order is paid.
    order = open_purchase(ctx, view, buyer, body, terms)
    return [Event("purchase", (buyer, terms.listing.merchant), (order, terms.total))]


register_handler(Purchase)(apply_purchase)


@register_body
class OrderShip(TxBody):
    """The merchant marks a paid order shipped; `tracking` optionally sealed to the buyer."""

    TYPE = "order_ship"
    order: RecordId
    tracking: SealedNote = b""


def apply_order_ship(ctx: ChainContext, view: Overlay, tx: Transaction,
                     body: OrderShip) -> list[Event]:
    """Refuses not_found, not_owner, order_state (not paid), field_invalid (tracking)."""
    order, tracking = body.order, body.tracking  # each field read once (see apply_transfer)
    check_sealed("tracking", tracking)
    record = _require_action(ctx, view, tx, order, OrderAction.SHIP)
    move(record, OrderAction.SHIP, OrderStatus.SHIPPED)
    record.shipped_height = ctx.height
    record.tracking = tracking
    schedule_timer(view, record, order, ctx.height + ctx.params.order_auto_release_blocks)
    put_order(view, order, record)
    return [Event("order_ship", (record.buyer, record.merchant), (order,))]


register_handler(OrderShip)(apply_order_ship)


class _OrderClose(TxBody):
    """Base of the transactions that close an order and name nothing but the order: the
    life-cycle table gives each the one status it closes the order in."""

    order: RecordId


@register_body
class OrderConfirm(_OrderClose):
    """The buyer confirms receipt (also ends a dispute in the merchant's favour)."""

    TYPE = "order_confirm"


@register_body
class OrderCancel(_OrderClose):
    """Either side cancels an order that has not shipped: full refund, stock restored."""

    TYPE = "order_cancel"


@register_body
class OrderRefund(_OrderClose):
    """The merchant refunds an open order in full (before release)."""

    TYPE = "order_refund"


def apply_order_close(ctx: ChainContext, view: Overlay, tx: Transaction,
                      body: _OrderClose) -> list[Event]:
    """The rule of order_confirm, order_cancel and order_refund: close the order in the
    status the life-cycle table gives (completed: release; refunded, cancelled: refund).
    Refuses not_found, not_buyer or not_owner (as ORDER_ACTIONS says), order_state."""
    action = OrderAction(body.TYPE)
    order = body.order  # read once (see apply_transfer)
    record = _require_action(ctx, view, tx, order, action)
    (status,) = ORDER_LIFE_CYCLE[record.status, action]
    if status == OrderStatus.COMPLETED:
        return release(ctx, view, order, record, action)
    return refund(ctx, view, order, record, action, status)


register_handler(OrderConfirm)(apply_order_close)
register_handler(OrderCancel)(apply_order_close)
register_handler(OrderRefund)(apply_order_close)


@register_body
class OrderDispute(TxBody):
    """The buyer disputes a shipped order: auto-release stops, validators decide."""

    TYPE = "order_dispute"
    order: RecordId
    reason: Annotated[str, Field(max_length=MAX_REASON_CHARS)] = ""


def apply_order_dispute(ctx: ChainContext, view: Overlay, tx: Transaction,
                        body: OrderDispute) -> list[Event]:
    """Refuses not_found, not_buyer, order_state (not shipped)."""
    order = body.order
    record = _require_action(ctx, view, tx, order, OrderAction.DISPUTE)
    move(record, OrderAction.DISPUTE, OrderStatus.DISPUTED)
    record.dispute_reason = body.reason
    schedule_timer(view, record, order, ctx.height + ctx.params.dispute_timeout_blocks)
    put_order(view, order, record)
    return [Event("order_dispute", (record.buyer, record.merchant), (order,))]


register_handler(OrderDispute)(apply_order_dispute)


@register_body
class DisputeVote(TxBody):
    """A validator's vote on a disputed order: release to the merchant or refund the buyer."""

    TYPE = "dispute_vote"
    order: RecordId
    decision: Literal["release", "refund"]


def apply_dispute_vote(ctx: ChainContext, view: Overlay, tx: Transaction,
                       body: DisputeVote) -> list[Event]:
    """Refuses not_validator, not_found, order_state (not disputed), conflict_of_interest
    (the validator is the buyer, merchant or sharer), already_voted."""
    order, action = body.order, OrderAction.DISPUTE_VOTE
    record = _require_action(ctx, view, tx, order, action)
    voter = tx.sender_address
    if voter in (record.buyer, record.merchant, record.sharer):
        raise ValidationError(ErrorCode.CONFLICT_OF_INTEREST, "a party cannot judge its order")
    vote_key = dispute_vote_key(order, voter)
    if view.get(vote_key) is not None:
        raise ValidationError(ErrorCode.ALREADY_VOTED, "this validator voted on this dispute")
    decision = DECISION_RELEASE if body.decision == "release" else DECISION_REFUND
    view.put(vote_key, bytes([decision]))
    # Recounted against the set in force (a removed validator's vote stops counting).
    prefix = dispute_vote_key(order, b"")
    votes = stored_votes(ctx, view, prefix)
    record.votes_release = votes.count(bytes([DECISION_RELEASE]))
    record.votes_refund = votes.count(bytes([DECISION_REFUND]))
    events = [Event("dispute_vote", (voter,), (order, body.decision))]
    if supermajority(ctx, record.votes_release):
        return events + release(ctx, view, order, record, action)
    if supermajority(ctx, record.votes_refund):
        return events + refund(ctx, view, order, record, action, OrderStatus.REFUNDED)
    move(record, action, OrderStatus.DISPUTED)  # no majority yet
    put_order(view, order, record)
    return events


register_handler(DisputeVote)(apply_dispute_vote)


def _run_timer(ctx: ChainContext, view: Overlay, order: int, height: int) -> list[Event]:
    record = get_order(view, order)
    assert record is not None, "a timer's order exists"
    if record.timer_due != height:
        return []  # the order moved on since this timer was set
    assert record.status in OPEN_ORDER_STATUSES, "a live timer belongs to an open order"
    timer = OrderAction.TIMER
    if record.status == OrderStatus.PAID:
        return refund(ctx, view, order, record, timer, OrderStatus.CANCELLED)
    if record.status == OrderStatus.SHIPPED:
        return release(ctx, view, order, record, timer)
    if record.votes_release > record.votes_refund:
        return release(ctx, view, order, record, timer)
    return refund(ctx, view, order, record, timer, OrderStatus.REFUNDED)


def _run_timers_at(ctx: ChainContext, view: Overlay, height: int) -> list[Event]:
    orders = pop_due(view, timer_key, timer_count_key, height, MAX_TIMERS_PER_HEIGHT)
    events: list[Event] = []
    for order in orders:
        events.extend(_run_timer(ctx, view, order, height))
    return events


def run_order_timers(ctx: ChainContext, view: Overlay) -> list[Event]:
    """End-of-block step: act on every order whose timer is due at this height, in order
    id order. Blocks come at consecutive heights, so every due height gets its turn; a
    height with no timers reads one key and writes nothing (an empty block stays empty).
    """
    return _run_timers_at(ctx, view, ctx.height)


register_end_block(100, "commerce.order_timers", run_order_timers)
