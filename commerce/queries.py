"""The read API of the shop: records and indexed lists over any `StateReader`.

Works the same on the node's LevelDB state (`node.store.StateStore`) and on a
`MemoryState`. Every function returns JSON-ready values: addresses as their `agora1...`
text, other bytes as lowercase hex, amounts as integers in base units, statuses as names.
Lists come as pages ``{"items": [...], "next": cursor | None}``: pass `next` back as
`cursor` to continue. A call walks at most MAX_QUERY_SCAN index entries and returns at most
`limit` (<= MAX_PAGE_ITEMS) items, so a filter that matches rarely may return a short or
empty page with a cursor; keep going until `next` is None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from commerce.address import to_text
from commerce.errors import ErrorCode, ValidationError
from commerce.ledger import POOL_CAMPAIGNS, POOL_TEAM_ESCROW, get_account, get_pool, get_supply
from commerce.limits import MAX_PAGE_ITEMS, MAX_QUERY_SCAN
from commerce.schema import (
    MERCHANT_STATUS_NAMES,
    ORDER_STATUS_NAMES,
    P_BY_CATEGORY,
    P_BY_MERCHANT,
    P_COMMENTS_OF,
    P_LISTING,
    P_MERCHANT,
    P_ORDER,
    P_ORDERS_OF_BUYER,
    P_ORDERS_OF_MERCHANT,
    P_POLL,
    P_REVIEWS_OF,
    P_VERSION,
    CommentRecord,
    ListingRecord,
    MerchantRecord,
    OrderRecord,
    PollRecord,
    ReviewRecord,
    RewardRecord,
    ShareRecord,
    VersionRecord,
    comment_key,
    listing_key,
    load,
    merchant_key,
    order_key,
    poll_key,
    read_u64,
    review_key,
    reward_key,
    share_key,
    u64,
    version_key,
)
from commerce.state import StateReader

Item = dict[str, Any]
Page = dict[str, Any]
DEFAULT_PAGE_ITEMS = 50


def _addr(raw: bytes) -> str | None:
    return to_text(raw) if raw else None


def _rating(total: int, count: int) -> dict[str, int]:
    # Integers only: the average in hundredths, rounded down.
    return {"sum": total, "count": count, "average_x100": total * 100 // count if count else 0}


def supply(reader: StateReader) -> Item:
    """The token supply: genesis + minted = total, and the parts held by the state
    machine: order escrow, team escrow (group buying) and campaign budgets (promotions);
    the rest circulates in balances."""
    parts = get_supply(reader)
    teams, campaigns = get_pool(reader, POOL_TEAM_ESCROW), get_pool(reader, POOL_CAMPAIGNS)
    return {"genesis": parts.genesis, "minted": parts.minted, "escrow": parts.escrow,
            "team_escrow": teams, "campaign_budget": campaigns, "total": parts.total,
            "circulating": parts.total - parts.escrow - teams - campaigns}


def account(reader: StateReader, address: bytes) -> Item:
    """An account's balance and next nonce (zeros for an unknown account)."""
    record = get_account(reader, address)
    return {"address": to_text(address), "balance": record.balance, "nonce": record.nonce}


def rewards(reader: StateReader, address: bytes) -> Item:
    """An account's rewards: accrued (claimable) and claimed, and its comment quota use."""
    record = load(reader, RewardRecord, reward_key(address))
    record = record or RewardRecord()
    return {"address": to_text(address), "accrued": record.accrued, "claimed": record.claimed,
            "comment_epoch": record.comment_epoch, "comment_count": record.comment_count}


def _merchant_item(address: bytes, record: MerchantRecord) -> Item:
    return {
        "address": to_text(address), "public_key": record.public_key.hex(),
        "name": record.name, "profile": record.profile,
        "status": MERCHANT_STATUS_NAMES[record.status], "votes": record.votes,
        "registered_height": record.registered_height, "status_height": record.status_height,
        "listings_count": record.listings_count, "orders_completed": record.orders_completed,
        "rating": _rating(record.rating_sum, record.rating_count),
    }


def merchant(reader: StateReader, address: bytes) -> Item | None:
    """A merchant (any status), or None. `public_key` is what buyers seal details to."""
    record = load(reader, MerchantRecord, merchant_key(address))
    return None if record is None else _merchant_item(address, record)


def merchants(reader: StateReader, *, status: str | None = None, cursor: str | None = None,
              limit: int = DEFAULT_PAGE_ITEMS) -> Page:
    """Merchants in address order, optionally only those with `status`
    (pending, approved, suspended)."""
    def item(key: bytes, value: bytes) -> Item | None:
        record = MerchantRecord.from_bytes(value)
        if status is not None and MERCHANT_STATUS_NAMES[record.status] != status:
            return None
        return _merchant_item(key[len(P_MERCHANT):], record)

    return _page(reader, P_MERCHANT, cursor, limit, item)


def _listing_item(listing_id: int, record: ListingRecord, number: int,
                  version: VersionRecord) -> Item:
    return {
        "id": listing_id, "merchant": to_text(record.merchant), "active": record.active,
        "stock": record.stock, "current_version": record.version, "version": number,
        "title": version.title, "description": version.description,
        "category": version.category, "price": version.price,
        "version_stock": version.stock, "media": [m.hex() for m in version.media],
        "referral_bps": version.referral_bps, "version_height": version.height,
        "created_height": record.created_height, "sold_quantity": record.sold_quantity,
        "rating": _rating(record.rating_sum, record.rating_count),
    }


def listing(reader: StateReader, listing_id: int, version: int | None = None) -> Item | None:
    """A listing at its current version, or at `version` (any version ever made)."""
    record = load(reader, ListingRecord, listing_key(listing_id))
    if record is None:
        return None
    number = record.version if version is None else version
    found = load(reader, VersionRecord, version_key(listing_id, number))
    return None if found is None else _listing_item(listing_id, record, number, found)


def listing_versions(reader: StateReader, listing_id: int, *, cursor: str | None = None,
                     limit: int = DEFAULT_PAGE_ITEMS) -> Page:
    """Every version of a listing, oldest first."""
    record = load(reader, ListingRecord, listing_key(listing_id))
    if record is None:
        return {"items": [], "next": None}
    prefix = P_VERSION + u64(listing_id)

    def item(key: bytes, value: bytes) -> Item:
        number = int.from_bytes(key[len(prefix):], "big")
        return _listing_item(listing_id, record, number, VersionRecord.from_bytes(value))

    return _page(reader, prefix, cursor, limit, item)


def listings(reader: StateReader, *, merchant: bytes | None = None,
             category: str | None = None, text: str | None = None, active_only: bool = False,
             cursor: str | None = None, limit: int = DEFAULT_PAGE_ITEMS) -> Page:
    """Listings in id order: all, a merchant's (delisted included), or a category's
    (active only). `text` keeps those whose current title or description contains it
    (case-insensitive)."""
    if merchant is not None and category is not None:
        raise ValidationError(ErrorCode.FIELD_INVALID, "filter by merchant or category, not both")
    needle = text.casefold() if text else None
    if merchant is not None:
        prefix = P_BY_MERCHANT + merchant
    elif category is not None:
        prefix = P_BY_CATEGORY + category.encode() + b"\x00"
    else:
        prefix = P_LISTING

    def item(key: bytes, value: bytes) -> Item | None:
        listing_id = read_u64(key[len(prefix):])
        found = listing(reader, listing_id)
        if found is None or (active_only and not found["active"]):
            return None
        if needle is not None:
            haystack = (found["title"] + "\n" + found["description"]).casefold()
            if needle not in haystack:
                return None
        return found

    return _page(reader, prefix, cursor, limit, item)


def _order_item(order_id: int, record: OrderRecord) -> Item:
    return {
        "id": order_id, "buyer": to_text(record.buyer), "merchant": to_text(record.merchant),
        "listing": record.listing, "version": record.version, "quantity": record.quantity,
        "unit_price": record.unit_price, "total": record.total, "share": record.share,
        "sharer": _addr(record.sharer), "referral_bps": record.referral_bps,
        "status": ORDER_STATUS_NAMES[record.status], "created_height": record.created_height,
        "delivery": record.delivery.hex(), "shipped_height": record.shipped_height,
        "tracking": record.tracking.hex(), "dispute_reason": record.dispute_reason,
        "votes_release": record.votes_release, "votes_refund": record.votes_refund,
        "due_height": record.timer_due, "closed_height": record.closed_height,
        "commission": record.commission,
    }


def order(reader: StateReader, order_id: int) -> Item | None:
    """An order, or None. `delivery` is the sealed note (hex) only the merchant opens;
    `due_height` is when the chain acts on an open order if nobody does."""
    record = load(reader, OrderRecord, order_key(order_id))
    return None if record is None else _order_item(order_id, record)


def orders(reader: StateReader, *, buyer: bytes | None = None, merchant: bytes | None = None,
           status: str | None = None, cursor: str | None = None,
           limit: int = DEFAULT_PAGE_ITEMS) -> Page:
    """Orders in id order: all, a buyer's or a merchant's; optionally only one `status`
    (paid, shipped, disputed, completed, refunded, cancelled)."""
    if buyer is not None and merchant is not None:
        raise ValidationError(ErrorCode.FIELD_INVALID, "filter by buyer or merchant, not both")
    if buyer is not None:
        prefix = P_ORDERS_OF_BUYER + buyer
    elif merchant is not None:
        prefix = P_ORDERS_OF_MERCHANT + merchant
    else:
        prefix = P_ORDER

    def item(key: bytes, value: bytes) -> Item | None:
        found = order(reader, read_u64(key[len(prefix):]))
        if found is None or (status is not None and found["status"] != status):
            return None
        return found

    return _page(reader, prefix, cursor, limit, item)


def _review_item(order_id: int, record: ReviewRecord) -> Item:
    return {
        "order": order_id, "listing": record.listing, "merchant": to_text(record.merchant),
        "author": to_text(record.author), "rating": record.rating, "text": record.text,
        "height": record.height, "reply": record.reply, "reply_height": record.reply_height,
    }


def review(reader: StateReader, order_id: int) -> Item | None:
    """The review of an order, or None."""
    record = load(reader, ReviewRecord, review_key(order_id))
    return None if record is None else _review_item(order_id, record)


def reviews(reader: StateReader, listing_id: int, *, cursor: str | None = None,
            limit: int = DEFAULT_PAGE_ITEMS) -> Page:
    """A listing's reviews in order id order."""
    return _index_page(reader, P_REVIEWS_OF + u64(listing_id), cursor, limit, review)


def comment(reader: StateReader, comment_id: int) -> Item | None:
    """A comment, or None (`parent` 0 is a top-level comment)."""
    record = load(reader, CommentRecord, comment_key(comment_id))
    if record is None:
        return None
    return {"id": comment_id, "listing": record.listing, "author": to_text(record.author),
            "parent": record.parent, "depth": record.depth, "text": record.text,
            "height": record.height, "replies": record.replies}


def comments(reader: StateReader, listing_id: int, *, cursor: str | None = None,
             limit: int = DEFAULT_PAGE_ITEMS) -> Page:
    """A listing's comments (and replies) in the order they were made."""
    return _index_page(reader, P_COMMENTS_OF + u64(listing_id), cursor, limit, comment)


def share(reader: StateReader, share_id: int) -> Item | None:
    """A share (the id a referral link carries), or None."""
    record = load(reader, ShareRecord, share_key(share_id))
    if record is None:
        return None
    return {"id": share_id, "listing": record.listing, "sharer": to_text(record.sharer),
            "height": record.height, "orders_completed": record.orders_completed,
            "commission_earned": record.commission_earned}


def _poll_item(poll_id: int, record: PollRecord) -> Item:
    return {
        "id": poll_id, "creator": to_text(record.creator), "merchant": _addr(record.merchant),
        "listing": record.listing, "question": record.question,
        "options": list(record.options), "buyers_only": record.buyers_only,
        "close_height": record.close_height, "created_height": record.created_height,
        "tallies": list(record.tallies), "voters": record.voters,
    }


def poll(reader: StateReader, poll_id: int) -> Item | None:
    """A poll with its tallies, or None."""
    record = load(reader, PollRecord, poll_key(poll_id))
    return None if record is None else _poll_item(poll_id, record)


def polls(reader: StateReader, *, open_at: int | None = None, cursor: str | None = None,
          limit: int = DEFAULT_PAGE_ITEMS) -> Page:
    """Polls in id order; with `open_at`, only those still open at that height."""
    def item(key: bytes, value: bytes) -> Item | None:
        record = PollRecord.from_bytes(value)
        if open_at is not None and open_at >= record.close_height:
            return None
        return _poll_item(read_u64(key[len(P_POLL):]), record)

    return _page(reader, P_POLL, cursor, limit, item)


def _index_page(reader: StateReader, prefix: bytes, cursor: str | None, limit: int,
                lookup: Callable[[StateReader, int], Item | None]) -> Page:
    """A page of `lookup(reader, id)` over an index whose keys under `prefix` end in ids."""

    def item(key: bytes, value: bytes) -> Item | None:
        return lookup(reader, read_u64(key[len(prefix):]))

    return _page(reader, prefix, cursor, limit, item)


def _page(reader: StateReader, prefix: bytes, cursor: str | None, limit: int,
          item: Callable[[bytes, bytes], Item | None]) -> Page:
    """Walk `prefix` after `cursor` (hex of the last key suffix seen)."""
    if not 1 <= limit <= MAX_PAGE_ITEMS:
        raise ValidationError(ErrorCode.FIELD_INVALID, f"limit must be 1-{MAX_PAGE_ITEMS}")
    after = b""
    if cursor is not None:
        try:
            after = prefix + bytes.fromhex(cursor)
        except ValueError as exc:
            raise ValidationError(ErrorCode.FIELD_INVALID, "cursor is not a page cursor") from exc
    items: list[Item] = []
    scanned = 0
    last = b""
    for key, value in reader.iterate(prefix):
        if after and key <= after:
            continue
        if len(items) >= limit or scanned >= MAX_QUERY_SCAN:
            return {"items": items, "next": last.hex()}
        scanned += 1
        last = key[len(prefix):]
        found = item(key, value)
        if found is not None:
            items.append(found)
    return {"items": items, "next": None}
