"""The read API of group buying and promotions (teams, campaigns, flash sales).

Every function returns JSON-ready values (addresses as `agora1...` text, amounts in base
units, statuses as names); lists are pages ``{"items": [...], "next": cursor | None}``
walked with the same cursor and scan limits as every other list.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from commerce.address import to_text
from commerce.queries import DEFAULT_PAGE_ITEMS, Item, Page
from commerce.queries import _index_page as index_page
from commerce.schema import P_CAMPAIGN_INDEX, P_TEAM_INDEX, load, u64
from commerce.state import StateReader
from commerce.teams_schema import (
    CAMPAIGN_OF_MERCHANT,
    CAMPAIGN_STATUS_NAMES,
    TEAM_OF_ACCOUNT,
    TEAM_OF_LISTING,
    TEAM_STATUS_NAMES,
    CampaignRecord,
    FlashSaleRecord,
    OrderDiscountRecord,
    TeamOfferRecord,
    TeamRecord,
    campaign_key,
    flash_sale_key,
    order_discount_key,
    team_key,
    team_offer_key,
)


def team_offer(reader: StateReader, listing: int) -> Item | None:
    """A listing's team offer (active or ended): the listing and every field of its
    record, or None."""
    record = load(reader, TeamOfferRecord, team_offer_key(listing))
    if record is None:
        return None
    return {"listing": listing, **asdict(record)}


def _team_item(team_id: int, record: TeamRecord) -> Item:
    members: list[dict[str, Any]] = [
        {"address": to_text(member), "share": share}
        for member, share in zip(record.members, record.shares, strict=True)]
    return {
        "id": team_id, "listing": record.listing, "version": record.version,
        "merchant": to_text(record.merchant), "status": TEAM_STATUS_NAMES[record.status],
        "size": record.size, "seats_left": record.size - len(record.members),
        "price": record.price, "quantity": record.quantity,
        "paid_each": record.paid_each, "reserved": record.reserved,
        "referral_bps": record.referral_bps, "created_height": record.created_height,
        "deadline": record.deadline, "closed_height": record.closed_height,
        "members": members,
        "orders": list(range(record.first_order, record.first_order + record.size))
        if record.first_order else [],
    }


def team(reader: StateReader, team_id: int) -> Item | None:
    """A team with its members, seats left and deadline (the height at whose end an
    unfilled team expires), and its orders once filled; or None."""
    record = load(reader, TeamRecord, team_key(team_id))
    return None if record is None else _team_item(team_id, record)


def listing_teams(reader: StateReader, listing: int, *, cursor: str | None = None,
                  limit: int = DEFAULT_PAGE_ITEMS) -> Page:
    """A listing's open teams (the ones a buyer can join), oldest first."""
    prefix = P_TEAM_INDEX + TEAM_OF_LISTING + u64(listing)
    return index_page(reader, prefix, cursor, limit, team)


def account_teams(reader: StateReader, account: bytes, *, cursor: str | None = None,
                  limit: int = DEFAULT_PAGE_ITEMS) -> Page:
    """Every team an account has a place in (open, filled or expired), oldest first."""
    return index_page(reader, P_TEAM_INDEX + TEAM_OF_ACCOUNT + account, cursor, limit, team)


def _campaign_item(campaign_id: int, record: CampaignRecord) -> Item:
    return {
        "id": campaign_id, "merchant": to_text(record.merchant), "listing": record.listing,
        "status": CAMPAIGN_STATUS_NAMES[record.status],
        "discount_fixed": record.discount_fixed, "discount_bps": record.discount_bps,
        "discount_cap": record.discount_cap, "min_spend": record.min_spend,
        "per_account": record.per_account, "total_count": record.total_count,
        "used_count": record.used_count, "start_height": record.start_height,
        "end_height": record.end_height, "funded_budget": record.funded,
        "budget": record.budget, "paid_out_budget": record.paid_out,
        "returned_budget": record.returned, "created_height": record.created_height,
        "closed_height": record.closed_height,
    }


def campaign(reader: StateReader, campaign_id: int) -> Item | None:
    """A coupon campaign: its terms, what is left of its budget (`budget`), what it paid
    out in discounts and what returned to the merchant; or None."""
    record = load(reader, CampaignRecord, campaign_key(campaign_id))
    return None if record is None else _campaign_item(campaign_id, record)


def campaigns(reader: StateReader, merchant: bytes, *, open_only: bool = False,
              cursor: str | None = None, limit: int = DEFAULT_PAGE_ITEMS) -> Page:
    """A merchant's campaigns, oldest first; with `open_only`, only the open ones."""
    prefix = P_CAMPAIGN_INDEX + CAMPAIGN_OF_MERCHANT + merchant

    def lookup(reader: StateReader, campaign_id: int) -> Item | None:
        found = campaign(reader, campaign_id)
        if found is None or (open_only and found["status"] != "open"):
            return None
        return found

    return index_page(reader, prefix, cursor, limit, lookup)


def flash_sale(reader: StateReader, listing: int) -> Item | None:
    """A listing's flash sale (past, running or to come), or None."""
    record = load(reader, FlashSaleRecord, flash_sale_key(listing))
    if record is None:
        return None
    return {"listing": listing, "price": record.price, "stock": record.stock,
            "sold": record.sold, "start_height": record.start_height,
            "end_height": record.end_height, "set_height": record.set_height}


def order_discount(reader: StateReader, order: int) -> Item | None:
    """The coupon on an order: its campaign and the discount the campaign paid; or None."""
    record = load(reader, OrderDiscountRecord, order_discount_key(order))
    if record is None:
        return None
    return {"order": order, "campaign": record.campaign, "discount": record.discount}
