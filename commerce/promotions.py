"""Promotions: coupon campaigns funded by the merchant, coupons at checkout, flash sales.

A campaign (`campaign_create`) locks its budget from the merchant's balance (the reserve
rule applies) into `POOL_CAMPAIGNS`. A coupon gives `discount_fixed` off, or
`discount_bps` of the total capped at `discount_cap`, on a purchase of the merchant's
listing (or of one listing) of at least `min_spend`, in blocks start_height..end_height-1,
at most `per_account` times per account and `total_count` times in all. A buyer applies it
at purchase (`coupon_purchase`: the fields of `purchase` and the campaign): the buyer pays
total - discount, the campaign's budget pays the discount, and the order's escrow holds
the whole total, so the merchant is paid as promised at release. A refund gives the buyer
back what the buyer paid and the discount back to the campaign (commerce/pricing.py). What
is left of the budget returns to the merchant in the end-of-block step of block
end_height, or at once when the merchant closes the campaign (`campaign_close`).

A flash sale (`flash_sale_set`) overrides a listing's unit price between two heights for at
most its stock of units (commerce/pricing.py applies it to every purchase).

Bounds: at most MAX_OPEN_CAMPAIGNS_PER_MERCHANT open campaigns per merchant
(campaign_limit), MAX_CAMPAIGN_ENDS_PER_HEIGHT campaign ends per height (schedule_full).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from commerce.deadlines import pop_due, schedule
from commerce.errors import ErrorCode, ValidationError
from commerce.ledger import POOL_CAMPAIGNS, credit, debit, pool_add
from commerce.limits import (
    BPS_DENOMINATOR,
    MAX_AMOUNT_MINOR,
    MAX_CAMPAIGN_BLOCKS,
    MAX_CAMPAIGN_ENDS_PER_HEIGHT,
    MAX_COUPONS_PER_ACCOUNT,
    MAX_COUPONS_PER_CAMPAIGN,
    MAX_FLASH_SALE_BLOCKS,
    MAX_OPEN_CAMPAIGNS_PER_MERCHANT,
    MAX_STOCK,
)
from commerce.listings import get_version, require_own_listing
from commerce.machine import ChainContext, Event, register_end_block, register_handler
from commerce.merchants import require_merchant
from commerce.orders import Purchase, check_purchase, open_purchase
from commerce.pricing import get_campaign, put_campaign
from commerce.schema import COUNTER_CAMPAIGN, RecordId, get_u64, next_id, u64
from commerce.state import Overlay
from commerce.teams_schema import (
    CampaignRecord,
    CampaignStatus,
    FlashSaleRecord,
    OrderDiscountRecord,
    campaign_of_merchant_key,
    campaign_timer_count_key,
    campaign_timer_key,
    campaign_use_key,
    campaigns_open_key,
    flash_sale_key,
    order_discount_key,
)
from commerce.tx import Transaction, TxBody, register_body

Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT_MINOR)]
Height = Annotated[int, Field(ge=0, le=2**63 - 1)]


@register_body
class CampaignCreate(TxBody):
    """A coupon campaign of the sender's (a merchant's), funded with `budget` from its
    balance. Exactly one of `discount_fixed` and `discount_bps` is above 0; `discount_cap`
    caps a bps discount (0 with a fixed one). `listing` 0 means any of the merchant's."""

    TYPE = "campaign_create"
    listing: Annotated[int, Field(ge=0)]
    discount_fixed: Amount
    discount_bps: Annotated[int, Field(ge=0, le=BPS_DENOMINATOR)]
    discount_cap: Amount
    min_spend: Amount
    per_account: Annotated[int, Field(ge=1, le=MAX_COUPONS_PER_ACCOUNT)]
    total_count: Annotated[int, Field(ge=1, le=MAX_COUPONS_PER_CAMPAIGN)]
    start_height: Height
    end_height: Height
    budget: Annotated[int, Field(ge=1, le=MAX_AMOUNT_MINOR)]


@register_body
class CampaignClose(TxBody):
    """Close an open campaign of the sender's: what is left of its budget returns."""

    TYPE = "campaign_close"
    campaign: RecordId


@register_body
class CouponPurchase(Purchase):
    """A purchase with a coupon of `campaign`: the fields of `purchase`, then the
    campaign. The buyer pays the total less the discount."""

    TYPE = "coupon_purchase"
    campaign: RecordId


assert tuple(CouponPurchase.model_fields) == (*Purchase.model_fields, "campaign"), "wire order"


@register_body
class FlashSaleSet(TxBody):
    """A flash sale of `listing` (replacing any): `price` per unit in blocks
    start_height..end_height-1 for at most `stock` units; `stock` 0 ends the sale."""

    TYPE = "flash_sale_set"
    listing: RecordId
    price: Annotated[int, Field(ge=1, le=MAX_AMOUNT_MINOR)]
    stock: Annotated[int, Field(ge=0, le=MAX_STOCK)]
    start_height: Height
    end_height: Height


def _check_window(ctx: ChainContext, start: int, end: int, longest: int,
                  code: ErrorCode) -> None:
    if not start < end:
        raise ValidationError(code, f"start_height {start} is not below end_height {end}")
    if end <= ctx.height:
        raise ValidationError(code, f"end_height {end} is not above the height {ctx.height}")
    if end - max(start, ctx.height) > longest:
        raise ValidationError(code, f"the window is longer than {longest} blocks")


def _check_discount(body: CampaignCreate) -> None:
    fixed, bps, cap = body.discount_fixed, body.discount_bps, body.discount_cap
    if (fixed > 0) == (bps > 0):
        raise ValidationError(ErrorCode.CAMPAIGN_INVALID,
                              "give exactly one of discount_fixed and discount_bps")
    if bps and cap == 0:
        raise ValidationError(ErrorCode.CAMPAIGN_INVALID, "a bps discount needs discount_cap")
    if fixed and cap:
        raise ValidationError(ErrorCode.CAMPAIGN_INVALID, "discount_cap is for bps discounts")


def apply_campaign_create(ctx: ChainContext, view: Overlay, tx: Transaction,
                          body: CampaignCreate) -> list[Event]:
    """Refuses not_merchant, merchant_suspended, not_found, not_owner (listing),
    campaign_invalid (discount terms, window), campaign_limit, schedule_full,
    insufficient_funds, below_reserve."""
    sender = tx.sender_address
    require_merchant(view, sender)
    if body.listing:
        require_own_listing(view, sender, body.listing)
    _check_discount(body)
    _check_window(ctx, body.start_height, body.end_height, MAX_CAMPAIGN_BLOCKS,
                  ErrorCode.CAMPAIGN_INVALID)
    open_key = campaigns_open_key(sender)
    open_count = get_u64(view, open_key)
    if open_count >= MAX_OPEN_CAMPAIGNS_PER_MERCHANT:
        raise ValidationError(ErrorCode.CAMPAIGN_LIMIT, f"{open_count} campaigns are open")
    campaign = next_id(view, COUNTER_CAMPAIGN)
    schedule(view, campaign_timer_key, campaign_timer_count_key, body.end_height, campaign,
             MAX_CAMPAIGN_ENDS_PER_HEIGHT, "campaign ends")
    budget = body.budget
    debit(view, sender, budget, ctx.params.account_reserve_minor)
    pool_add(view, POOL_CAMPAIGNS, budget)
    view.put(open_key, u64(open_count + 1))
    record = CampaignRecord(
        sender, body.listing, body.discount_fixed, body.discount_bps, body.discount_cap,
        body.min_spend, body.per_account, body.total_count, body.start_height,
        body.end_height, budget, budget, CampaignStatus.OPEN, ctx.height)
    put_campaign(view, campaign, record)
    view.put(campaign_of_merchant_key(sender, campaign), b"")
    return [Event("campaign_create", (sender,), (campaign, budget))]


register_handler(CampaignCreate)(apply_campaign_create)


def _finish(ctx: ChainContext, view: Overlay, campaign: int, record: CampaignRecord,
            status: CampaignStatus) -> int:
    """End an open campaign in `status`: its budget returns to the merchant."""
    assert record.status == CampaignStatus.OPEN
    left = record.budget
    pool_add(view, POOL_CAMPAIGNS, -left)
    credit(view, record.merchant, left)
    record.returned += left
    record.budget = 0
    record.status = status
    record.closed_height = ctx.height
    put_campaign(view, campaign, record)
    open_key = campaigns_open_key(record.merchant)
    open_count = get_u64(view, open_key)
    assert open_count > 0, "an open campaign counts"
    view.put(open_key, u64(open_count - 1))
    return left


def _require_campaign(view: Overlay, campaign: int) -> CampaignRecord:
    """A campaign's record; raises not_found."""
    record = get_campaign(view, campaign)
    if record is None:
        raise ValidationError(ErrorCode.NOT_FOUND, f"no campaign {campaign}")
    return record


def apply_campaign_close(ctx: ChainContext, view: Overlay, tx: Transaction,
                         body: CampaignClose) -> list[Event]:
    """Refuses not_found, not_owner, campaign_inactive (ended or closed already)."""
    campaign = body.campaign
    sender = tx.sender_address
    record = _require_campaign(view, campaign)
    if record.merchant != sender:
        raise ValidationError(ErrorCode.NOT_OWNER, "the campaign belongs to another merchant")
    if record.status != CampaignStatus.OPEN:
        raise ValidationError(ErrorCode.CAMPAIGN_INACTIVE, f"campaign {campaign} is over")
    returned = _finish(ctx, view, campaign, record, CampaignStatus.CLOSED)
    return [Event("campaign_close", (sender,), (campaign, returned))]


register_handler(CampaignClose)(apply_campaign_close)


def discount_of(record: CampaignRecord, total: int) -> int:
    """A coupon's discount on an order of `total`: never more than the total."""
    if record.discount_fixed:
        return min(record.discount_fixed, total)
    return min(total * record.discount_bps // BPS_DENOMINATOR, record.discount_cap, total)


def _coupon(ctx: ChainContext, view: Overlay, campaign: int, merchant: bytes, listing: int,
            buyer: bytes, total: int) -> tuple[CampaignRecord, int]:
    """The campaign and the discount it gives `buyer` on `total`, after its checks."""
    record = _require_campaign(view, campaign)
    if record.status != CampaignStatus.OPEN \
            or not record.start_height <= ctx.height < record.end_height:
        raise ValidationError(ErrorCode.CAMPAIGN_INACTIVE,
                              f"campaign {campaign} is not running at height {ctx.height}")
    if record.merchant != merchant or record.listing not in (0, listing):
        raise ValidationError(ErrorCode.COUPON_MISMATCH,
                              f"campaign {campaign} does not apply to listing {listing}")
    if total < record.min_spend:
        raise ValidationError(ErrorCode.COUPON_MIN_SPEND,
                              f"total {total} is below the minimum {record.min_spend}")
    if get_u64(view, campaign_use_key(campaign, buyer)) >= record.per_account:
        raise ValidationError(ErrorCode.COUPON_LIMIT,
                              f"used {record.per_account} coupons of campaign {campaign}")
    discount = discount_of(record, total)
    if record.used_count >= record.total_count or discount > record.budget:
        raise ValidationError(ErrorCode.COUPON_EXHAUSTED,  # amounts only (the CLI's words)
                              f"the discount {discount} is over the {record.budget} left"
                              if record.used_count < record.total_count
                              else "every coupon of the campaign is used")
    return record, discount


def apply_coupon_purchase(ctx: ChainContext, view: Overlay, tx: Transaction,
                          body: CouponPurchase) -> list[Event]:
    """Refuses what `purchase` refuses, then not_found (campaign), campaign_inactive,
    coupon_mismatch, coupon_min_spend, coupon_limit, coupon_exhausted; the buyer's
    insufficient_funds and below_reserve are on the total less the discount."""
    campaign = body.campaign
    buyer = tx.sender_address
    terms = check_purchase(ctx, view, buyer, body)
    merchant = terms.listing.merchant
    record, discount = _coupon(ctx, view, campaign, merchant, body.listing, buyer, terms.total)
    debit(view, buyer, terms.total - discount, ctx.params.account_reserve_minor)
    # Nothing below can fail: the order is paid, partly by the campaign.
    use_key = campaign_use_key(campaign, buyer)
    view.put(use_key, u64(get_u64(view, use_key) + 1))
    record.budget -= discount
    record.paid_out += discount
    record.used_count += 1
    put_campaign(view, campaign, record)
    pool_add(view, POOL_CAMPAIGNS, -discount)
    order = open_purchase(ctx, view, buyer, body, terms)
    if discount:
        view.put(order_discount_key(order), OrderDiscountRecord(campaign, discount).to_bytes())
    return [Event("coupon_purchase", (buyer, merchant), (order, terms.total, campaign, discount))]


register_handler(CouponPurchase)(apply_coupon_purchase)


def apply_flash_sale_set(ctx: ChainContext, view: Overlay, tx: Transaction,
                         body: FlashSaleSet) -> list[Event]:
    """Refuses not_found, not_owner, not_merchant, merchant_suspended, listing_inactive,
    flash_sale_invalid (price not below the listing's, or the window)."""
    listing_id, price, stock = body.listing, body.price, body.stock
    sender = tx.sender_address
    listing = require_own_listing(view, sender, listing_id)
    require_merchant(view, sender)
    if not listing.active:
        raise ValidationError(ErrorCode.LISTING_INACTIVE, f"listing {listing_id} is delisted")
    key = flash_sale_key(listing_id)
    if stock == 0:  # ends the sale
        view.delete(key)
        return [Event("flash_sale_set", (sender,), (listing_id, price, 0))]
    version = get_version(view, listing_id, listing.version)
    assert version is not None, "the current version exists"
    if price >= version.price:
        raise ValidationError(ErrorCode.FLASH_SALE_INVALID,
                              f"price {price} is not below the listing's {version.price}")
    _check_window(ctx, body.start_height, body.end_height, MAX_FLASH_SALE_BLOCKS,
                  ErrorCode.FLASH_SALE_INVALID)
    sale = FlashSaleRecord(price, stock, body.start_height, body.end_height, ctx.height)
    view.put(key, sale.to_bytes())
    return [Event("flash_sale_set", (sender,), (listing_id, price, stock))]


register_handler(FlashSaleSet)(apply_flash_sale_set)


def run_campaign_ends(ctx: ChainContext, view: Overlay) -> list[Event]:
    """End-of-block step: every campaign whose end height is this one and that is still
    open ends, its budget returning to the merchant, in campaign id order."""
    events: list[Event] = []
    for campaign in pop_due(view, campaign_timer_key, campaign_timer_count_key, ctx.height,
                            MAX_CAMPAIGN_ENDS_PER_HEIGHT):
        record = get_campaign(view, campaign)
        assert record is not None, "an end's campaign exists"
        assert record.end_height == ctx.height, "a campaign has one end"
        if record.status == CampaignStatus.OPEN:
            returned = _finish(ctx, view, campaign, record, CampaignStatus.ENDED)
            events.append(Event("campaign_end", (record.merchant,), (campaign, returned)))
    return events


register_end_block(120, "commerce.campaign_ends", run_campaign_ends)
