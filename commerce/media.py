"""Listing media: the chain's side of product pictures stored as content-addressed blobs.

The chain stores only each picture's SHA-256 in a listing version; the bytes live in every
node's blob store (`node/blobs/`), never in state. `listing_media_set` makes a new version
of a listing that copies the current one and replaces its media list, under the version
rules of `listing_update` (only the listing's merchant, approved, on an active listing,
naming the current version). Every version that names media, whichever transaction made
it, is indexed by media hash (`schema.P_MEDIA_REF`), so a node can tell whether a blob is
referenced (kept, fetched from peers, served) or not (collected after a grace period).

The upload to a node is authenticated by the merchant's signature over
`upload_signing_bytes` (domain-tagged, bound to the chain, the blob's hash and size and a
timestamp); it is here, beside the rules, so the node and the SDK sign the same bytes.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from base.codec import encode
from commerce.address import to_text
from commerce.errors import ErrorCode, ValidationError
from commerce.limits import MAX_MEDIA_HASHES, MEDIA_HASH_BYTES
from commerce.listings import (
    MediaHash,
    get_listing,
    get_version,
    put_listing,
    put_version,
    require_editable_listing,
)
from commerce.machine import ChainContext, Event, register_handler
from commerce.queries import DEFAULT_PAGE_ITEMS
from commerce.queries import _page as page_of
from commerce.schema import P_MEDIA_REF, RecordId, VersionRecord, read_u64
from commerce.state import Overlay, StateReader
from commerce.tx import Transaction, TxBody, register_body

UPLOAD_DOMAIN = "agora/blob-upload/v1"
"""The first item of the signed upload message, so no other signature can stand for one."""


@register_body
class ListingMediaSet(TxBody):
    """A new version of `listing` (replacing `version`, the current one) whose media are
    `media`, in display order; every other field is the current version's."""

    TYPE = "listing_media_set"
    listing: RecordId
    version: RecordId
    media: Annotated[list[MediaHash], Field(max_length=MAX_MEDIA_HASHES)]


def apply_listing_media_set(ctx: ChainContext, view: Overlay, tx: Transaction,
                            body: ListingMediaSet) -> list[Event]:
    """Refuses not_found, not_owner, not_merchant, merchant_suspended, listing_inactive,
    stale_version, media_duplicate, media_unchanged."""
    listing_id, media = body.listing, list(body.media)
    sender = tx.sender_address
    record = require_editable_listing(view, sender, listing_id, body.version)
    if len(set(media)) != len(media):
        raise ValidationError(ErrorCode.MEDIA_DUPLICATE, "a media hash is listed twice")
    current = get_version(view, listing_id, record.version)
    assert current is not None, "a listing's current version exists"
    if current.media == media:
        raise ValidationError(ErrorCode.MEDIA_UNCHANGED,
                              f"version {record.version} has these media already")
    version = record.version + 1
    # The new version records the listing's stock now (what a buyer of it would see).
    new = VersionRecord(current.title, current.description, current.category, current.price,
                        record.stock, media, current.referral_bps, ctx.height)
    record.version = version
    put_listing(view, listing_id, record)
    put_version(view, listing_id, version, new)
    return [Event("listing_media_set", (sender,), (listing_id, version))]


register_handler(ListingMediaSet)(apply_listing_media_set)


def is_referenced(reader: StateReader, media: bytes) -> bool:
    """True when some listing version, of any listing, names the blob `media`."""
    assert len(media) == MEDIA_HASH_BYTES, "media are SHA-256 digests"
    for _ in reader.iterate(P_MEDIA_REF + media):
        return True
    return False


def media_refs(reader: StateReader, media: bytes, *, cursor: str | None = None,
               limit: int = DEFAULT_PAGE_ITEMS) -> dict[str, Any]:
    """The listing versions naming the blob `media`, in listing then version order, as a
    page ``{"items": [{"listing", "version"}], "next": cursor | None}`` (see
    `commerce.queries` for the paging rules)."""
    assert len(media) == MEDIA_HASH_BYTES, "media are SHA-256 digests"
    prefix = P_MEDIA_REF + media

    def item(key: bytes, value: bytes) -> dict[str, Any]:
        tail = key[len(prefix):]
        return {"listing": read_u64(tail[:8]), "version": int.from_bytes(tail[8:], "big")}

    return page_of(reader, prefix, cursor, limit, item)


def listing_media(reader: StateReader, listing_id: int,
                  version: int | None = None) -> dict[str, Any] | None:
    """A listing version's media hashes (hex, in display order) and its merchant, or None."""
    record = get_listing(reader, listing_id)
    if record is None:
        return None
    number = record.version if version is None else version
    found = get_version(reader, listing_id, number)
    if found is None:
        return None
    return {"listing": listing_id, "version": number, "current_version": record.version,
            "merchant": to_text(record.merchant), "media": [m.hex() for m in found.media]}


def upload_signing_bytes(chain_id: str, media: bytes, size_bytes: int,
                         timestamp_ms: int) -> bytes:
    """What a merchant signs to upload a blob to a node: the canonical array
    ``[UPLOAD_DOMAIN, chain_id, sha256, size, timestamp_ms]``."""
    assert len(media) == MEDIA_HASH_BYTES, "media are SHA-256 digests"
    assert size_bytes >= 0 and timestamp_ms >= 0, "sizes and times are not negative"
    return encode([UPLOAD_DOMAIN, chain_id, media, size_bytes, timestamp_ms])
