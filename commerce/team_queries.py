"""The read API of group buying and promotions, in the form of commerce/queries.py.

Every function returns JSON-ready values (addresses as `agora1...` text, amounts in base
units, statuses as names); lists are pages ``{"items": [...], "next": cursor | None}``
walked with the same cursor and scan limits as every other list.
"""

from __future__ import annotations

from typing import Any

from commerce.address import to_text
from commerce.queries import DEFAULT_PAGE_ITEMS, Item, Page
from commerce.queries import _index_page as index_page
from commerce.schema import P_TEAM_INDEX, load, u64
from commerce.state import StateReader
from commerce.teams_schema import (
    TEAM_OF_ACCOUNT,
    TEAM_OF_LISTING,
    TEAM_STATUS_NAMES,
    TeamOfferRecord,
    TeamRecord,
    team_key,
    team_offer_key,
)


def team_offer(reader: StateReader, listing: int) -> Item | None:
    """A listing's team offer (active or ended), or None."""
    record = load(reader, TeamOfferRecord, team_offer_key(listing))
    if record is None:
        return None
    return {"listing": listing, "size": record.size, "price": record.price,
            "quantity": record.quantity, "window_blocks": record.window_blocks,
            "set_height": record.set_height, "active": record.active,
            "open_teams": record.open_teams, "teams_filled": record.teams_filled,
            "teams_expired": record.teams_expired}


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
