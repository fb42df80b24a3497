"""Listing media on chain: `listing_media_set` makes a new version with new pictures, under
the version rules of listings, and every version's media are indexed by hash.

Method: a 4-validator chain in memory (shop.py); each rule and refusal is one transaction,
checked through the read API (`commerce.queries`, `commerce.media`).
"""

from __future__ import annotations

import hashlib

import pydantic
import pytest

from commerce import queries
from commerce.errors import ErrorCode
from commerce.keys import verify
from commerce.limits import MAX_MEDIA_HASHES
from commerce.listings import ListingDelist, ListingUpdate
from commerce.media import (
    UPLOAD_DOMAIN,
    ListingMediaSet,
    is_referenced,
    listing_media,
    media_refs,
    upload_signing_bytes,
)
from commerce.merchants import MerchantVote
from commerce.tx import decode_tx
from tests.commerce.shop import Shop, addr, approve, create_listing

PIC_A = hashlib.sha256(b"a").digest()
PIC_B = hashlib.sha256(b"b").digest()
PIC_C = hashlib.sha256(b"c").digest()


def _shop_with_listing() -> tuple[Shop, int]:
    shop = Shop()
    approve(shop, shop.users[0])
    return shop, create_listing(shop, shop.users[0], media=[PIC_A], price=7, stock=3)


def test_listing_media_set_makes_a_new_version_with_only_the_media_changed() -> None:
    shop, listing = _shop_with_listing()
    events = shop.do(shop.users[0], ListingMediaSet(listing=listing, version=1,
                                                    media=[PIC_B, PIC_C]))
    assert events[0].kind == "listing_media_set"
    assert events[0].named() == {"listing": listing, "version": 2}
    now = queries.listing(shop.state, listing)
    before = queries.listing(shop.state, listing, 1)
    assert now is not None and before is not None
    assert now["version"] == 2 and now["media"] == [PIC_B.hex(), PIC_C.hex()]
    assert before["media"] == [PIC_A.hex()], "old versions stay"
    for field in ("title", "description", "category", "price", "referral_bps"):
        assert now[field] == before[field]
    assert now["version_stock"] == 3


def test_listing_media_set_to_no_media_is_allowed() -> None:
    shop, listing = _shop_with_listing()
    shop.do(shop.users[0], ListingMediaSet(listing=listing, version=1, media=[]))
    assert listing_media(shop.state, listing) == {
        "listing": listing, "version": 2, "current_version": 2,
        "merchant": queries.listing(shop.state, listing)["merchant"],  # type: ignore[index]
        "media": []}


def test_every_version_with_media_is_indexed_by_hash() -> None:
    shop, listing = _shop_with_listing()
    shop.do(shop.users[0], ListingMediaSet(listing=listing, version=1, media=[PIC_B]))
    other = create_listing(shop, shop.users[0], media=[PIC_A])
    assert is_referenced(shop.state, PIC_A) and is_referenced(shop.state, PIC_B)
    assert not is_referenced(shop.state, PIC_C)
    assert media_refs(shop.state, PIC_A) == {
        "items": [{"listing": listing, "version": 1}, {"listing": other, "version": 1}],
        "next": None}
    # A version whose media no longer name a blob does not unreference it: versions stay.
    shop.do(shop.users[0], ListingMediaSet(listing=listing, version=2, media=[]))
    assert media_refs(shop.state, PIC_B)["items"] == [{"listing": listing, "version": 2}]


def test_listing_update_media_are_indexed_too() -> None:
    shop, listing = _shop_with_listing()
    shop.do(shop.users[0], ListingUpdate(
        listing=listing, version=1, title="t", description="", category="kitchen", price=1,
        stock=1, media=[PIC_C], referral_bps=0))
    assert media_refs(shop.state, PIC_C)["items"] == [{"listing": listing, "version": 2}]


def test_media_refs_pages_with_a_cursor() -> None:
    shop, listing = _shop_with_listing()
    for _ in range(2):
        create_listing(shop, shop.users[0], media=[PIC_A])
    first = media_refs(shop.state, PIC_A, limit=2)
    assert len(first["items"]) == 2 and first["next"] is not None
    rest = media_refs(shop.state, PIC_A, cursor=first["next"], limit=2)
    assert [item["listing"] for item in first["items"] + rest["items"]] == \
        [listing, listing + 1, listing + 2]
    assert rest["next"] is None


def test_listing_media_set_refusals() -> None:
    shop, listing = _shop_with_listing()
    merchant, stranger = shop.users[0], shop.users[1]
    shop.refuse(ErrorCode.NOT_FOUND, merchant,
                ListingMediaSet(listing=listing + 5, version=1, media=[PIC_B]))
    shop.refuse(ErrorCode.NOT_OWNER, stranger,
                ListingMediaSet(listing=listing, version=1, media=[PIC_B]))
    shop.refuse(ErrorCode.STALE_VERSION, merchant,
                ListingMediaSet(listing=listing, version=2, media=[PIC_B]))
    shop.refuse(ErrorCode.MEDIA_DUPLICATE, merchant,
                ListingMediaSet(listing=listing, version=1, media=[PIC_B, PIC_B]))
    shop.refuse(ErrorCode.MEDIA_UNCHANGED, merchant,
                ListingMediaSet(listing=listing, version=1, media=[PIC_A]))


def test_listing_media_set_by_a_suspended_merchant_is_refused() -> None:
    shop, listing = _shop_with_listing()
    for validator in shop.validators[:3]:
        shop.do(validator, MerchantVote(merchant=addr(shop.users[0]), action="suspend"))
    shop.refuse(ErrorCode.MERCHANT_SUSPENDED, shop.users[0],
                ListingMediaSet(listing=listing, version=1, media=[PIC_B]))


def test_listing_media_set_on_a_delisted_listing_is_refused() -> None:
    shop, listing = _shop_with_listing()
    shop.do(shop.users[0], ListingDelist(listing=listing))
    shop.refuse(ErrorCode.LISTING_INACTIVE, shop.users[0],
                ListingMediaSet(listing=listing, version=1, media=[PIC_B]))


def test_listing_media_set_body_limits() -> None:
    with pytest.raises(pydantic.ValidationError):
        ListingMediaSet(listing=1, version=1, media=[PIC_A[:31]])
    with pytest.raises(pydantic.ValidationError):
        ListingMediaSet(listing=1, version=1,
                        media=[bytes([i]) * 32 for i in range(MAX_MEDIA_HASHES + 1)])
    at_limit = [bytes([i]) * 32 for i in range(MAX_MEDIA_HASHES)]
    assert len(ListingMediaSet(listing=1, version=1, media=at_limit).media) == MAX_MEDIA_HASHES


def test_listing_media_set_round_trips_through_the_wire() -> None:
    shop = Shop()
    tx = shop.sign(shop.users[0], ListingMediaSet(listing=3, version=2, media=[PIC_A, PIC_B]))
    again = decode_tx(tx.raw)
    assert again.body == tx.body and again.type == "listing_media_set"


def test_listing_media_of_an_unknown_listing_or_version_is_none() -> None:
    shop, listing = _shop_with_listing()
    assert listing_media(shop.state, listing + 1) is None
    assert listing_media(shop.state, listing, 9) is None


def test_upload_signing_bytes_bind_chain_hash_size_and_time() -> None:
    shop = Shop()
    key = shop.users[0]
    message = upload_signing_bytes("c", PIC_A, 10, 1_000)
    signature = key.sign(message)
    assert verify(key.public_key, message, signature)
    for other in (upload_signing_bytes("d", PIC_A, 10, 1_000),
                  upload_signing_bytes("c", PIC_B, 10, 1_000),
                  upload_signing_bytes("c", PIC_A, 11, 1_000),
                  upload_signing_bytes("c", PIC_A, 10, 1_001)):
        assert not verify(key.public_key, other, signature)
    assert UPLOAD_DOMAIN.encode() in message
