"""Feeds: what the accounts one follows did, newest first, merged at read time.

Fan-out on read. Each feed-worthy event appends one entry to its author's own sequence
(`cE` + author + 1, 2, ...), numbered by one chain-wide counter as well: a constant number
of writes per event, whatever the author's follower count. A feed page merges the
sequences of the (at most MAX_FOLLOWING) followed authors by that chain-wide number,
newest first: per author one read of its length and, past the first page, a binary search
of at most MAX_FEED_SEARCH_STEPS reads for where the cursor falls; then one read per entry
returned. The cursor is the chain-wide number of the last entry returned.

Entries come from events, by kind (`commerce.machine.register_event_hook`), inside the
transaction that emits them: a new listing, a listing update that changes the price, a
review, a share, and a team opening (`team_open`, the group-buying event of issue 23:
its hook is registered here by kind, so its entries appear once that type exists; its
data is read as (team, listing, ...)). The author of an entry is the transaction's sender.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from commerce.address import to_text
from commerce.errors import ErrorCode, ValidationError
from commerce.follows import followed_by, get_social, put_social
from commerce.limits import MAX_FEED_SEARCH_STEPS, MAX_PAGE_ITEMS, MAX_RECORD_ID
from commerce.listings import get_version
from commerce.machine import ChainContext, Event, register_event_hook
from commerce.profiles_schema import FeedEntryRecord, feed_key
from commerce.queries import Item, Page
from commerce.reviews import get_review
from commerce.schema import COUNTER_FEED, load, next_id
from commerce.state import Overlay, StateReader
from commerce.tx import Transaction

FEED_TEAM_EVENT = "team_open"
# Feed kinds and the names of their `ref`, `value` and `previous` fields in reads.
FEED_KINDS: dict[str, tuple[str, str, str]] = {
    "listing": ("version", "price", ""),
    "price": ("version", "price", "previous_price"),
    "review": ("order", "rating", ""),
    "share": ("share", "", ""),
    "team": ("team", "", ""),
}


def append_entry(ctx: ChainContext, view: Overlay, author: bytes, kind: str, listing: int,
                 ref: int, value: int = 0, previous: int = 0) -> int:
    """Append one entry to `author`'s feed (three writes); returns its chain-wide number."""
    assert kind in FEED_KINDS, f"unknown feed kind {kind}"
    entry = next_id(view, COUNTER_FEED)
    social = get_social(view, author)
    social.feed_entries += 1
    record = FeedEntryRecord(entry, kind, ctx.height, listing, ref, value, previous)
    view.put(feed_key(author, social.feed_entries), record.to_bytes())
    put_social(view, author, social)
    return entry


def _on_listing_create(ctx: ChainContext, view: Overlay, tx: Transaction, event: Event) -> None:
    listing, version = int(event.data[0]), int(event.data[1])  # type: ignore[arg-type]
    record = get_version(view, listing, version)
    assert record is not None, "a created listing has its first version"
    append_entry(ctx, view, tx.sender_address, "listing", listing, version, record.price)


def _on_listing_update(ctx: ChainContext, view: Overlay, tx: Transaction, event: Event) -> None:
    listing, version = int(event.data[0]), int(event.data[1])  # type: ignore[arg-type]
    new = get_version(view, listing, version)
    old = get_version(view, listing, version - 1)
    assert new is not None and old is not None, "an update follows a version"
    if new.price != old.price:
        append_entry(ctx, view, tx.sender_address, "price", listing, version, new.price,
                     old.price)


def _on_review(ctx: ChainContext, view: Overlay, tx: Transaction, event: Event) -> None:
    order = int(event.data[0])  # type: ignore[arg-type]
    review = get_review(view, order)
    assert review is not None, "a review event follows its record"
    append_entry(ctx, view, tx.sender_address, "review", review.listing, order, review.rating)


def _on_share(ctx: ChainContext, view: Overlay, tx: Transaction, event: Event) -> None:
    share, listing = int(event.data[0]), int(event.data[1])  # type: ignore[arg-type]
    append_entry(ctx, view, tx.sender_address, "share", listing, share)


def _on_team_open(ctx: ChainContext, view: Overlay, tx: Transaction, event: Event) -> None:
    ints = [item if type(item) is int and 0 <= item <= MAX_RECORD_ID else 0
            for item in event.data[:2]]
    team, listing = (ints + [0, 0])[:2]
    append_entry(ctx, view, tx.sender_address, "team", listing, team)


_HOOKS: dict[str, Callable[[ChainContext, Overlay, Transaction, Event], None]] = {
    "listing_create": _on_listing_create,
    "listing_update": _on_listing_update,
    "review": _on_review,
    "share": _on_share,
    FEED_TEAM_EVENT: _on_team_open,
}
for _kind, _hook in _HOOKS.items():
    register_event_hook(_kind, _hook)


# Reads.

def _entry(reader: StateReader, author: bytes, sequence: int) -> FeedEntryRecord:
    record = load(reader, FeedEntryRecord, feed_key(author, sequence))
    assert record is not None, "an author's sequence has no gap"
    return record


def _item(author: bytes, record: FeedEntryRecord) -> Item:
    ref_name, value_name, previous_name = FEED_KINDS[record.kind]
    item: Item = {"entry": record.entry, "author": to_text(author), "kind": record.kind,
                  "height": record.height, "listing": record.listing or None,
                  ref_name: record.ref}
    if value_name:
        item[value_name] = record.value
    if previous_name:
        item[previous_name] = record.previous
    return item


def _last_before(reader: StateReader, author: bytes, count: int, before: int) -> int:
    """The highest sequence of `author` whose entry is numbered below `before` (0: none),
    by binary search over the sequence (entries are numbered in sequence order)."""
    if count == 0:
        return 0
    if _entry(reader, author, count).entry < before:
        return count
    low, high = 0, count  # entry(low) < before (0: nothing), entry(high) >= before
    for _ in range(MAX_FEED_SEARCH_STEPS):
        if high - low <= 1:
            return low
        middle = (low + high) // 2
        if _entry(reader, author, middle).entry < before:
            low = middle
        else:
            high = middle
    raise AssertionError("a 64-bit sequence is searched in 64 steps")


def _before(cursor: str | None) -> int:
    if cursor is None:
        return MAX_RECORD_ID + 1
    if not cursor.isdigit() or not 1 <= int(cursor) <= MAX_RECORD_ID:
        raise ValidationError(ErrorCode.FIELD_INVALID, "cursor is not a feed cursor")
    return int(cursor)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE_ITEMS:
        raise ValidationError(ErrorCode.FIELD_INVALID, f"limit must be 1-{MAX_PAGE_ITEMS}")


def merged(reader: StateReader, authors: list[bytes], *, cursor: str | None = None,
           limit: int = 50) -> Page:
    """The entries of `authors` merged newest first, `limit` of them older than `cursor`
    (the `next` of the page before)."""
    _check_limit(limit)
    before = _before(cursor)
    heap: list[tuple[int, bytes, int, FeedEntryRecord]] = []
    for author in authors:
        sequence = _last_before(reader, author, get_social(reader, author).feed_entries,
                                before)
        if sequence:
            record = _entry(reader, author, sequence)
            heap.append((-record.entry, author, sequence, record))
    heapq.heapify(heap)
    items: list[Item] = []
    while heap and len(items) < limit:
        _, author, sequence, record = heapq.heappop(heap)
        items.append(_item(author, record))
        if sequence > 1:
            older = _entry(reader, author, sequence - 1)
            heapq.heappush(heap, (-older.entry, author, sequence - 1, older))
    more = bool(heap)
    return {"items": items, "next": str(items[-1]["entry"]) if more else None}


def feed(reader: StateReader, account: bytes, *, cursor: str | None = None,
         limit: int = 50) -> Page:
    """The feed of `account`: the entries of every account it follows, newest first."""
    return merged(reader, followed_by(reader, account), cursor=cursor, limit=limit)


def activity(reader: StateReader, author: bytes, *, cursor: str | None = None,
             limit: int = 50) -> Page:
    """One account's own entries, newest first."""
    return merged(reader, [author], cursor=cursor, limit=limit)
