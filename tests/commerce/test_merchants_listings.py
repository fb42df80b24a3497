"""Merchant admission by validators and listings with versions: every rule and refusal.

Method: a 4-validator chain in memory (shop.py); votes and listings are sent one per
block and checked through the read API.
"""

from __future__ import annotations

import pydantic
import pytest

from commerce import queries
from commerce.errors import ErrorCode
from commerce.listings import ListingDelist, ListingUpdate
from commerce.merchants import MerchantRegister, MerchantVote
from commerce.tx import decode_tx
from tests.commerce.shop import Shop, addr, approve, create_listing, listing_body


def _update(listing: int, version: int, **fields: object) -> ListingUpdate:
    values: dict[str, object] = {
        "listing": listing, "version": version, "title": "Red mug", "description": "red",
        "category": "kitchen", "price": 7, "stock": 9, "media": [], "referral_bps": 0,
    }
    values.update(fields)
    return ListingUpdate(**values)  # type: ignore[arg-type]


def test_merchant_is_approved_by_more_than_two_thirds_of_validators() -> None:
    shop = Shop()
    merchant = shop.users[0]
    shop.do(merchant, MerchantRegister(name="Acme", profile="mugs"))
    assert queries.merchant(shop.state, addr(merchant))["status"] == "pending"  # type: ignore[index]
    for validator in shop.validators[:2]:
        shop.do(validator, MerchantVote(merchant=addr(merchant), action="approve"))
    # 2 of 4 is not more than two thirds.
    assert queries.merchant(shop.state, addr(merchant))["status"] == "pending"  # type: ignore[index]
    shop.refuse(ErrorCode.ALREADY_VOTED, shop.validators[0],
                MerchantVote(merchant=addr(merchant), action="approve"))
    shop.do(shop.validators[2], MerchantVote(merchant=addr(merchant), action="approve"))
    found = queries.merchant(shop.state, addr(merchant))
    assert found is not None and found["status"] == "approved"
    assert found["public_key"] == merchant.public_key.hex()


def test_merchant_vote_refusals() -> None:
    shop = Shop()
    merchant = shop.users[0]
    vote = MerchantVote(merchant=addr(merchant), action="approve")
    shop.refuse(ErrorCode.NOT_FOUND, shop.validators[0], vote)
    shop.do(merchant, MerchantRegister(name="Acme", profile=""))
    shop.refuse(ErrorCode.ALREADY_REGISTERED, merchant, MerchantRegister(name="B", profile=""))
    shop.refuse(ErrorCode.NOT_VALIDATOR, shop.users[1], vote)
    shop.refuse(ErrorCode.MERCHANT_STATE, shop.validators[0],
                MerchantVote(merchant=addr(merchant), action="suspend"))


def test_merchant_suspension_and_reinstatement_use_fresh_rounds() -> None:
    shop = Shop()
    merchant = shop.users[0]
    approve(shop, merchant)
    listing = create_listing(shop, merchant)
    for validator in shop.validators[:3]:
        shop.do(validator, MerchantVote(merchant=addr(merchant), action="suspend"))
    assert queries.merchant(shop.state, addr(merchant))["status"] == "suspended"  # type: ignore[index]
    shop.refuse(ErrorCode.MERCHANT_SUSPENDED, merchant, listing_body())
    shop.refuse(ErrorCode.MERCHANT_SUSPENDED, merchant, _update(listing, 1))
    shop.do(merchant, ListingDelist(listing=listing))  # a suspended merchant may delist
    for validator in shop.validators[1:]:
        shop.do(validator, MerchantVote(merchant=addr(merchant), action="reinstate"))
    assert queries.merchant(shop.state, addr(merchant))["status"] == "approved"  # type: ignore[index]
    create_listing(shop, merchant)


def test_merchant_with_one_validator_needs_its_vote() -> None:
    shop = Shop(n_validators=1)
    approve(shop, shop.users[0])
    assert queries.merchant(shop.state, addr(shop.users[0]))["status"] == "approved"  # type: ignore[index]


def test_listing_create_by_non_merchant_is_not_merchant() -> None:
    shop = Shop()
    shop.refuse(ErrorCode.NOT_MERCHANT, shop.users[0], listing_body())
    shop.do(shop.users[0], MerchantRegister(name="Pending", profile=""))
    shop.refuse(ErrorCode.NOT_MERCHANT, shop.users[0], listing_body())


def test_listing_referral_over_the_chain_maximum_is_refused() -> None:
    shop = Shop(max_referral_bps=2_000)
    approve(shop, shop.users[0])
    shop.refuse(ErrorCode.REFERRAL_TOO_HIGH, shop.users[0], listing_body(referral_bps=2_001))
    listing = create_listing(shop, shop.users[0], referral_bps=2_000)
    shop.refuse(ErrorCode.REFERRAL_TOO_HIGH, shop.users[0], _update(listing, 1, referral_bps=2_001))


def test_listing_body_limits_are_field_errors() -> None:
    for bad in ({"referral_bps": 5_001}, {"category": "Bad Cat"}, {"title": ""},
                {"media": [b"x"]}, {"price": 0}, {"stock": -1}):
        with pytest.raises(pydantic.ValidationError):
            listing_body(**bad)


def test_listing_update_makes_a_new_version_and_keeps_the_old() -> None:
    shop = Shop()
    merchant = shop.users[0]
    approve(shop, merchant)
    listing = create_listing(shop, merchant)
    shop.do(merchant, _update(listing, 1, category="cups"))
    current = queries.listing(shop.state, listing)
    old = queries.listing(shop.state, listing, version=1)
    assert current is not None and old is not None
    assert (current["version"], current["title"], current["stock"]) == (2, "Red mug", 9)
    assert (old["version"], old["title"], old["price"]) == (1, "Blue mug", 10_000_000)
    versions = queries.listing_versions(shop.state, listing)
    assert [v["version"] for v in versions["items"]] == [1, 2]
    assert queries.listings(shop.state, category="kitchen")["items"] == []
    assert [x["id"] for x in queries.listings(shop.state, category="cups")["items"]] == [listing]


def test_listing_update_refusals() -> None:
    shop = Shop()
    merchant, other = shop.users[0], shop.users[1]
    approve(shop, merchant)
    approve(shop, other, name="Other")
    listing = create_listing(shop, merchant)
    shop.refuse(ErrorCode.NOT_FOUND, merchant, _update(99, 1))
    shop.refuse(ErrorCode.NOT_OWNER, other, _update(listing, 1))
    shop.refuse(ErrorCode.STALE_VERSION, merchant, _update(listing, 2))
    shop.do(merchant, _update(listing, 1))
    shop.refuse(ErrorCode.STALE_VERSION, merchant, _update(listing, 1))
    shop.refuse(ErrorCode.NOT_OWNER, other, ListingDelist(listing=listing))
    shop.do(merchant, ListingDelist(listing=listing))
    shop.refuse(ErrorCode.LISTING_INACTIVE, merchant, ListingDelist(listing=listing))
    shop.refuse(ErrorCode.LISTING_INACTIVE, merchant, _update(listing, 2))


def test_listing_bodies_round_trip_through_the_wire() -> None:
    shop = Shop()
    tx = shop.sign(shop.users[0], listing_body(media=[bytes(32), b"\x01" * 32]))
    assert decode_tx(tx.raw).body == tx.body
