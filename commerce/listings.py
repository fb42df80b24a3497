"""Listings: create, update (each update is a new version, old ones stay) and delist.

Only an approved merchant lists or updates; a suspended one may still delist. An update
names the version it replaces and is refused (stale_version) if another update came first.
The stock is the listing's current stock; each version also records the stock it set.
Delisting is final (list again with a new listing); a delisted listing takes no orders,
but its open orders run their course and its versions stay readable.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from commerce.errors import ErrorCode, ValidationError
from commerce.limits import (
    MAX_AMOUNT_MINOR,
    MAX_CATEGORY_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_MEDIA_HASHES,
    MAX_REFERRAL_BPS,
    MAX_STOCK,
    MAX_TITLE_CHARS,
    MEDIA_HASH_BYTES,
)
from commerce.machine import ChainContext, Event, register_handler
from commerce.merchants import get_merchant, put_merchant, require_merchant
from commerce.schema import (
    COUNTER_LISTING,
    ListingRecord,
    RecordId,
    VersionRecord,
    by_category_key,
    by_merchant_key,
    listing_key,
    load,
    media_ref_key,
    next_id,
    version_key,
)
from commerce.state import Overlay, StateReader
from commerce.tx import Transaction, TxBody, register_body

CATEGORY_PATTERN = r"^[a-z0-9][a-z0-9-]{0," + str(MAX_CATEGORY_CHARS - 1) + r"}$"
MediaHash = Annotated[bytes, Field(min_length=MEDIA_HASH_BYTES, max_length=MEDIA_HASH_BYTES)]


def get_listing(view: StateReader | Overlay, listing: int) -> ListingRecord | None:
    """A listing's current record, or None."""
    return load(view, ListingRecord, listing_key(listing))


def get_version(view: StateReader | Overlay, listing: int, version: int) -> VersionRecord | None:
    """One version of a listing, or None."""
    return load(view, VersionRecord, version_key(listing, version))


def put_listing(view: Overlay, listing: int, record: ListingRecord) -> None:
    """Store a listing's current record."""
    assert 0 <= record.stock <= MAX_STOCK, "stock stays in range"
    view.put(listing_key(listing), record.to_bytes())


def put_version(view: Overlay, listing: int, version: int, record: VersionRecord) -> None:
    """Store a new version of a listing and index each of its media hashes (the blob
    store keeps a blob that some version names: see docs/COMMERCE.md, "Listing media")."""
    view.put(version_key(listing, version), record.to_bytes())
    for media in record.media:
        view.put(media_ref_key(media, listing, version), b"")


def require_listing(view: Overlay, listing: int) -> ListingRecord:
    """A listing's record; raises not_found."""
    record = get_listing(view, listing)
    if record is None:
        raise ValidationError(ErrorCode.NOT_FOUND, f"no listing {listing}")
    return record


def require_own_listing(view: Overlay, sender: bytes, listing: int) -> ListingRecord:
    """The record of a listing of `sender`'s; raises not_found, not_owner."""
    record = require_listing(view, listing)
    if record.merchant != sender:
        raise ValidationError(ErrorCode.NOT_OWNER, "the listing belongs to another merchant")
    return record


def require_editable_listing(view: Overlay, sender: bytes, listing: int,
                             version: int) -> ListingRecord:
    """The record of `sender`'s active listing whose current version is `version` (what an
    edit builds on); raises not_found, not_owner, not_merchant, merchant_suspended,
    listing_inactive, stale_version."""
    record = require_own_listing(view, sender, listing)
    require_merchant(view, sender)
    if not record.active:
        raise ValidationError(ErrorCode.LISTING_INACTIVE, f"listing {listing} is delisted")
    if version != record.version:
        raise ValidationError(
            ErrorCode.STALE_VERSION, f"current version is {record.version}, not {version}"
        )
    return record


class _ListingFields(TxBody):
    """The fields of a listing version, defined once: `listing_create` is exactly these,
    `listing_update` sends them after the listing and the version it replaces."""

    title: Annotated[str, Field(min_length=1, max_length=MAX_TITLE_CHARS)]
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS)]
    category: Annotated[str, Field(pattern=CATEGORY_PATTERN)]
    price: Annotated[int, Field(ge=1, le=MAX_AMOUNT_MINOR)]
    stock: Annotated[int, Field(ge=0, le=MAX_STOCK)]
    media: Annotated[list[MediaHash], Field(max_length=MAX_MEDIA_HASHES)]
    referral_bps: Annotated[int, Field(ge=0, le=MAX_REFERRAL_BPS)]


class _ListingVersionRef(TxBody):
    """The version an update replaces: first in `listing_update`'s wire order."""

    listing: RecordId
    version: RecordId


@register_body
class ListingCreate(_ListingFields):
    """A new listing (version 1). Price in base units; media are 32-byte content hashes."""

    TYPE = "listing_create"


@register_body
class ListingUpdate(_ListingFields, _ListingVersionRef):
    """A new version of `listing`, replacing `version` (which must be the current one).

    Fields in wire order: listing, version, then those of `listing_create` (pydantic
    collects the fields of the bases last to first, so `_ListingVersionRef` comes first).
    """

    TYPE = "listing_update"


assert tuple(ListingUpdate.model_fields) == ("listing", "version",
                                             *_ListingFields.model_fields), "wire order"


@register_body
class ListingDelist(TxBody):
    """Take a listing off sale for good."""

    TYPE = "listing_delist"
    listing: RecordId


def _check_referral(ctx: ChainContext, referral_bps: int) -> None:
    if referral_bps > ctx.params.max_referral_bps:
        raise ValidationError(
            ErrorCode.REFERRAL_TOO_HIGH,
            f"referral_bps {referral_bps} is over {ctx.params.max_referral_bps}",
        )


def _version_of(ctx: ChainContext, body: _ListingFields) -> VersionRecord:
    return VersionRecord(body.title, body.description, body.category, body.price, body.stock,
                         list(body.media), body.referral_bps, ctx.height)


def apply_listing_create(ctx: ChainContext, view: Overlay, tx: Transaction,
                         body: ListingCreate) -> list[Event]:
    """Refuses not_merchant, merchant_suspended, referral_too_high."""
    sender = tx.sender_address
    merchant = require_merchant(view, sender)
    _check_referral(ctx, body.referral_bps)
    listing = next_id(view, COUNTER_LISTING)
    record = ListingRecord(sender, 1, True, body.stock, ctx.height, body.category)
    put_listing(view, listing, record)
    put_version(view, listing, 1, _version_of(ctx, body))
    view.put(by_merchant_key(sender, listing), b"")
    view.put(by_category_key(body.category, listing), b"")
    merchant.listings_count += 1
    put_merchant(view, sender, merchant)
    return [Event("listing_create", (sender,), (listing, 1))]


register_handler(ListingCreate)(apply_listing_create)


def apply_listing_update(ctx: ChainContext, view: Overlay, tx: Transaction,
                         body: ListingUpdate) -> list[Event]:
    """Refuses not_found, not_owner, not_merchant, merchant_suspended, listing_inactive,
    stale_version, referral_too_high."""
    # Each field read once: a pydantic model's attribute read is ~400 instructions (its
    # class defines __getattr__, so the interpreter cannot specialise the read).
    listing_id, category = body.listing, body.category
    sender = tx.sender_address
    record = require_editable_listing(view, sender, listing_id, body.version)
    _check_referral(ctx, body.referral_bps)
    version = record.version + 1
    if category != record.category:
        view.delete(by_category_key(record.category, listing_id))
        view.put(by_category_key(category, listing_id), b"")
    record.version = version
    record.stock = body.stock
    record.category = category
    put_listing(view, listing_id, record)
    put_version(view, listing_id, version, _version_of(ctx, body))
    return [Event("listing_update", (sender,), (listing_id, version))]


register_handler(ListingUpdate)(apply_listing_update)


def apply_listing_delist(ctx: ChainContext, view: Overlay, tx: Transaction,
                         body: ListingDelist) -> list[Event]:
    """Refuses not_found, not_owner, listing_inactive (delisted already)."""
    sender = tx.sender_address
    record = require_own_listing(view, sender, body.listing)
    if not record.active:
        raise ValidationError(ErrorCode.LISTING_INACTIVE, f"listing {body.listing} is delisted")
    assert get_merchant(view, sender) is not None, "a listing's merchant exists"
    record.active = False
    put_listing(view, body.listing, record)
    view.delete(by_category_key(record.category, body.listing))
    return [Event("listing_delist", (sender,), (body.listing,))]


register_handler(ListingDelist)(apply_listing_delist)
