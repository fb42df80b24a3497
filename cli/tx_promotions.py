"""`agora tx campaign-* | coupon-purchase | flash-sale-set`: promotions from the command line
(commerce/promotions.py). Registered on the `agora tx` group by importing this module
(cli/main.py).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.tx import Common, ListingOpt, amount_option, tx_command, usage
from cli.tx_teams import DeliveryOpt, ShareOpt, sealed_delivery, share_for_listing
from commerce.promotions import CampaignClose, CampaignCreate, CouponPurchase, FlashSaleSet
from commerce.tx import TxBody

CampaignOpt = Annotated[int, typer.Option("--campaign", min=1, help="Campaign id.")]
StartOpt = Annotated[int | None, typer.Option(
    "--start-height", min=0, help="First block it applies in [default: the next one].",
    show_default=False)]


def _heights(opts: Common, start: int | None, end: int | None, blocks: int | None) -> tuple[
        int, int]:
    """(start, end) from --start-height and --end-height or --blocks (from the start)."""
    if (end is None) == (blocks is None):
        usage("give one of --end-height H or --blocks N")
    first = start if start is not None else int(opts.call("node_status")["height"]) + 1
    return first, end if end is not None else first + int(blocks or 0)


def _describe_campaign(result: dict[str, Any], opts: Common) -> dict[str, Any]:
    events = result.get("events") or []
    if not events or events[0].get("kind") != "campaign_create":
        return {}
    return {"campaign": events[0]["data"][0]}


def _describe_coupon(result: dict[str, Any], opts: Common) -> dict[str, Any]:
    events = result.get("events") or []
    if not events or events[0].get("kind") != "coupon_purchase":
        return {}
    order, total, _, discount = events[0]["data"]
    return {"order": order, "total": total, "discount": discount}


@tx_command("campaign-create", _describe_campaign)
def campaign_create(
    opts: Common, *,
    budget: Annotated[str, typer.Option(help="Tokens locked from your balance to pay the "
                                             "discounts.")],
    discount: Annotated[str | None, typer.Option(
        help="A fixed discount in tokens per order.", show_default=False)] = None,
    discount_bps: Annotated[int | None, typer.Option(
        "--discount-bps", min=1, max=10_000, help="A discount in basis points of the total "
        "(needs --discount-cap).", show_default=False)] = None,
    discount_cap: Annotated[str | None, typer.Option(
        help="The most a --discount-bps coupon takes off, in tokens.",
        show_default=False)] = None,
    min_spend: Annotated[str, typer.Option(help="Smallest order total it applies to, in "
                                                "tokens.")] = "0",
    per_account: Annotated[int, typer.Option(min=1, help="Coupons one account may use.")] = 1,
    total_count: Annotated[int, typer.Option(min=1, help="Coupons in all.")] = 100,
    listing: Annotated[int, typer.Option(
        "--listing", min=0, help="Only this listing (0: any of yours).")] = 0,
    start_height: StartOpt = None,
    end_height: Annotated[int | None, typer.Option(
        min=1, help="The block it ends in (coupons apply before it).",
        show_default=False)] = None,
    blocks: Annotated[int | None, typer.Option(
        min=1, help="Or: how many blocks it runs from its start.", show_default=False)] = None,
) -> TxBody:
    """Create a coupon campaign (merchant); its budget is locked from your balance and what
    is left returns when it ends or you close it."""
    if (discount is None) == (discount_bps is None):
        usage("give one of --discount TOKENS or --discount-bps N")
    if discount_bps is not None and discount_cap is None:
        usage("--discount-bps needs --discount-cap TOKENS")
    start, end = _heights(opts, start_height, end_height, blocks)
    return CampaignCreate(
        listing=listing,
        discount_fixed=amount_option("--discount", discount) if discount else 0,
        discount_bps=discount_bps or 0,
        discount_cap=amount_option("--discount-cap", discount_cap) if discount_cap else 0,
        min_spend=0 if min_spend.strip() in ("0", "") else amount_option("--min-spend",
                                                                         min_spend),
        per_account=per_account, total_count=total_count, start_height=start,
        end_height=end, budget=amount_option("--budget", budget))


@tx_command("campaign-close")
def campaign_close(opts: Common, *, campaign: CampaignOpt) -> TxBody:
    """Close a campaign of yours now; what is left of its budget returns to you."""
    return CampaignClose(campaign=campaign)


@tx_command("coupon-purchase", _describe_coupon)
def coupon_purchase(
    opts: Common, *, listing: ListingOpt, campaign: CampaignOpt,
    quantity: Annotated[int, typer.Option(min=1, help="Units to buy.")] = 1,
    share_link: ShareOpt = "0", delivery: DeliveryOpt = "",
) -> TxBody:
    """Buy with a coupon: you pay the total less the discount, the campaign pays the rest."""
    current = opts.call("state_getListing", id=listing)
    return CouponPurchase(listing=listing, version=int(current["current_version"]),
                          quantity=quantity, share=share_for_listing(listing, share_link),
                          delivery=sealed_delivery(opts, current, delivery), campaign=campaign)


@tx_command("flash-sale-set")
def flash_sale_set(
    opts: Common, *, listing: ListingOpt,
    price: Annotated[str, typer.Option(help="Flash unit price in tokens (below the "
                                            "listing's).")],
    stock: Annotated[int, typer.Option(min=0, help="Units sold at the flash price "
                                                   "(0 ends the sale).")],
    start_height: StartOpt = None,
    end_height: Annotated[int | None, typer.Option(
        min=1, help="The block it ends in.", show_default=False)] = None,
    blocks: Annotated[int | None, typer.Option(
        min=1, help="Or: how many blocks it runs from its start.", show_default=False)] = None,
) -> TxBody:
    """Put a listing on flash sale between two heights, for at most --stock units."""
    start, end = _heights(opts, start_height, end_height, blocks)
    return FlashSaleSet(listing=listing, price=amount_option("--price", price), stock=stock,
                        start_height=start, end_height=end)
