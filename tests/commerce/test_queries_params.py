"""The read API (paging, filters, supply parts), the chain parameters' validation, and a
check that every commerce rejection code is exercised by some test here.

Method: a small shop in memory queried through commerce.queries; genesis documents with
bad parameters; a scan of this directory's sources for each code name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from commerce import queries
from commerce.address import to_text
from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import parse_genesis
from commerce.listings import ListingDelist, ListingUpdate
from commerce.merchants import MerchantRegister
from commerce.orders import OrderConfirm, OrderShip
from commerce.polls import PollCreate, PollVote
from commerce.reviews import Review, ReviewReply
from commerce.social import Comment, Share
from tests.commerce.shop import (
    UNIT,
    Shop,
    addr,
    approve,
    buy,
    complete_purchase,
    create_listing,
    make_genesis,
)


def test_queries_listings_filters_and_paging() -> None:
    shop = Shop()
    merchant, other = shop.users[0], shop.users[1]
    approve(shop, merchant)
    approve(shop, other, name="Other")
    ids = [create_listing(shop, merchant, title=f"Mug {i}") for i in range(5)]
    toy = create_listing(shop, other, title="Wooden toy", category="toys")
    page = queries.listings(shop.state, limit=2)
    assert [x["id"] for x in page["items"]] == ids[:2] and page["next"] is not None
    seen = list(page["items"])
    while page["next"] is not None:
        page = queries.listings(shop.state, cursor=page["next"], limit=2)
        seen.extend(page["items"])
    assert [x["id"] for x in seen] == ids + [toy]
    by_merchant = queries.listings(shop.state, merchant=addr(other))
    assert [x["id"] for x in by_merchant["items"]] == [toy]
    assert [x["id"] for x in queries.listings(shop.state, category="toys")["items"]] == [toy]
    assert [x["id"] for x in queries.listings(shop.state, text="WOODEN")["items"]] == [toy]
    assert queries.listing(shop.state, 99) is None
    with pytest.raises(ValidationError):
        queries.listings(shop.state, limit=0)
    with pytest.raises(ValidationError):
        queries.listings(shop.state, cursor="zz")


def test_queries_orders_by_buyer_and_merchant_and_supply_parts() -> None:
    shop = Shop()
    merchant, buyer = shop.users[0], shop.users[1]
    approve(shop, merchant)
    listing = create_listing(shop, merchant)
    first = buy(shop, buyer, listing)
    second = buy(shop, shop.users[2], listing)
    shop.do(merchant, OrderShip(order=first))
    mine = queries.orders(shop.state, buyer=addr(buyer))
    assert [o["id"] for o in mine["items"]] == [first]
    theirs = queries.orders(shop.state, merchant=addr(merchant))
    assert [o["id"] for o in theirs["items"]] == [first, second]
    assert [o["id"] for o in queries.orders(shop.state, status="paid")["items"]] == [second]
    found = queries.order(shop.state, first)
    assert found is not None and found["status"] == "shipped" and found["due_height"] > 0
    supply = queries.supply(shop.state)
    assert supply["escrow"] == 20 * UNIT
    assert supply["total"] == supply["genesis"] + supply["minted"]
    assert supply["circulating"] == supply["total"] - supply["escrow"]
    assert queries.merchants(shop.state, status="approved")["items"][0]["name"] == "Acme"
    assert queries.account(shop.state, addr(buyer))["nonce"] == 1


def test_queries_items_with_every_field_set_answer_each_documented_field() -> None:
    """Each record the read API renders (docs/RPC.md, the `state_get*` results) carries
    every field under its documented name with the value the transactions gave it."""
    shop = Shop()
    merchant, buyer, sharer = shop.users[0], shop.users[1], shop.users[2]
    approve(shop, merchant)  # registered at height 1, approved at height 4
    listing = create_listing(shop, merchant)  # height 5: 10 units, stock 5, 10% referral
    shop.do(sharer, Share(listing=listing))  # height 6: share 1
    order = buy(shop, buyer, listing, quantity=2, share=1)  # height 7
    shop.do(merchant, OrderShip(order=order))  # height 8
    shop.do(buyer, OrderConfirm(order=order))  # height 9
    shop.do(buyer, Review(order=order, rating=4, text="good"))  # height 10
    shop.do(merchant, ReviewReply(order=order, text="thanks"))  # height 11
    for other in shop.users[3:5]:  # heights 12-19: two more orders rated 5
        shop.do(other, Review(order=complete_purchase(shop, merchant, other, listing), rating=5))
    shop.do(buyer, Comment(listing=listing, parent=0, text="nice"))  # height 20
    shop.do(merchant, Comment(listing=listing, parent=1, text="ta"))  # height 21
    shop.do(merchant, PollCreate(scope="merchant", question="Colour?", options=["red", "blue"],
                                 listing=listing, buyers_only=True, close_height=30))  # 22
    shop.do(buyer, PollVote(poll=1, option=1))  # height 23
    seller, paid_by, shared_by = (to_text(addr(key)) for key in (merchant, buyer, sharer))
    # 4 + 5 + 5 over 3 reviews: the average in hundredths, rounded down, as an integer.
    rating = {"sum": 14, "count": 3, "average_x100": 466}
    commission = 2 * 10 * UNIT * 1_000 // 10_000
    assert queries.order(shop.state, order) == {
        "id": order, "buyer": paid_by, "merchant": seller, "listing": listing, "version": 1,
        "quantity": 2, "unit_price": 10 * UNIT, "total": 20 * UNIT, "share": 1,
        "sharer": shared_by, "referral_bps": 1_000, "status": "completed",
        "created_height": 7, "delivery": "", "shipped_height": 8, "tracking": "",
        "dispute_reason": "", "votes_release": 0, "votes_refund": 0, "due_height": 0,
        "closed_height": 9, "commission": commission,
    }
    listing_item = queries.listing(shop.state, listing)
    assert listing_item == {
        "id": listing, "merchant": seller, "active": True, "stock": 1, "current_version": 1,
        "version": 1, "title": "Blue mug", "description": "A mug, blue.",
        "category": "kitchen", "price": 10 * UNIT, "version_stock": 5,
        "media": ["00" * 32], "referral_bps": 1_000, "version_height": 5,
        "created_height": 5, "sold_quantity": 4, "rating": rating,
    }
    assert type(listing_item["rating"]["average_x100"]) is int
    assert queries.listing_versions(shop.state, listing) == {"items": [listing_item],
                                                             "next": None}
    assert queries.merchant(shop.state, addr(merchant)) == {
        "address": seller, "public_key": merchant.public_key.hex(), "name": "Acme",
        "profile": "", "status": "approved", "votes": 0, "registered_height": 1,
        "status_height": 4, "listings_count": 1, "orders_completed": 3, "rating": rating,
    }
    assert queries.review(shop.state, order) == {
        "order": order, "listing": listing, "merchant": seller, "author": paid_by,
        "rating": 4, "text": "good", "height": 10, "reply": "thanks", "reply_height": 11,
    }
    assert queries.comment(shop.state, 1) == {
        "id": 1, "listing": listing, "author": paid_by, "parent": 0, "depth": 0,
        "text": "nice", "height": 20, "replies": 1,
    }
    assert queries.comment(shop.state, 2) == {
        "id": 2, "listing": listing, "author": seller, "parent": 1, "depth": 1,
        "text": "ta", "height": 21, "replies": 0,
    }
    assert queries.share(shop.state, 1) == {
        "id": 1, "listing": listing, "sharer": shared_by, "height": 6,
        "orders_completed": 1, "commission_earned": commission,
    }
    assert queries.poll(shop.state, 1) == {
        "id": 1, "creator": seller, "merchant": seller, "listing": listing,
        "question": "Colour?", "options": ["red", "blue"], "buyers_only": True,
        "close_height": 30, "created_height": 22, "tallies": [0, 1], "voters": 1,
    }
    assert queries.account(shop.state, addr(buyer)) == {
        "address": paid_by, "balance": shop.balance(buyer), "nonce": 5,
    }


def test_queries_two_exclusive_filters_are_field_invalid() -> None:
    shop = Shop()
    merchant = addr(shop.users[0])
    with pytest.raises(ValidationError) as info:
        queries.listings(shop.state, merchant=merchant, category="kitchen")
    assert info.value.code is ErrorCode.FIELD_INVALID
    with pytest.raises(ValidationError) as info:
        queries.orders(shop.state, buyer=merchant, merchant=merchant)
    assert info.value.code is ErrorCode.FIELD_INVALID


def test_queries_listings_active_only_leaves_out_a_delisted_listing() -> None:
    shop = Shop()
    merchant = shop.users[0]
    approve(shop, merchant)
    kept, delisted = create_listing(shop, merchant), create_listing(shop, merchant)
    shop.do(merchant, ListingDelist(listing=delisted))
    mine = addr(merchant)
    every = queries.listings(shop.state, merchant=mine)
    assert [x["id"] for x in every["items"]] == [kept, delisted]
    assert [x["active"] for x in every["items"]] == [True, False]
    active = queries.listings(shop.state, merchant=mine, active_only=True)
    assert [x["id"] for x in active["items"]] == [kept]


def test_queries_orders_and_versions_pages_follow_the_cursor() -> None:
    shop = Shop()
    merchant = shop.users[0]
    approve(shop, merchant)
    listing = create_listing(shop, merchant)
    shop.do(merchant, ListingUpdate(listing=listing, version=1, title="Red mug",
                                    description="", category="kitchen", price=10 * UNIT,
                                    stock=5, media=[], referral_bps=0))
    orders = [buy(shop, buyer, listing, version=2) for buyer in shop.users[1:4]]
    first = queries.orders(shop.state, limit=2)
    rest = queries.orders(shop.state, cursor=first["next"], limit=2)
    assert [o["id"] for o in first["items"] + rest["items"]] == orders
    assert rest["next"] is None
    page = queries.listing_versions(shop.state, listing, limit=1)
    later = queries.listing_versions(shop.state, listing, cursor=page["next"], limit=1)
    assert [(v["version"], v["title"]) for v in page["items"] + later["items"]] == [
        (1, "Blue mug"), (2, "Red mug")]
    assert queries.listing_versions(shop.state, 99) == {"items": [], "next": None}


def test_queries_unknown_ids_are_none_and_merchants_filter_by_status() -> None:
    shop = Shop()
    approve(shop, shop.users[0])
    shop.do(shop.users[1], MerchantRegister(name="Later", profile=""))
    for get in (queries.order, queries.review, queries.poll, queries.listing,
                queries.comment, queries.share):
        assert get(shop.state, 99) is None, get.__name__
    assert queries.merchant(shop.state, addr(shop.users[2])) is None
    pending = queries.merchants(shop.state, status="pending")
    assert [m["address"] for m in pending["items"]] == [to_text(addr(shop.users[1]))]
    first = queries.merchants(shop.state, limit=1)
    rest = queries.merchants(shop.state, cursor=first["next"], limit=1)
    assert {m["name"] for m in first["items"] + rest["items"]} == {"Acme", "Later"}


def test_queries_rewards_and_polls_of_an_empty_account() -> None:
    shop = Shop()
    assert queries.rewards(shop.state, addr(shop.users[0]))["accrued"] == 0
    assert queries.polls(shop.state) == {"items": [], "next": None}
    approve(shop, shop.users[0])
    listing = create_listing(shop, shop.users[0])
    shop.do(shop.users[1], Comment(listing=listing, parent=0, text="hello"))
    # No completed purchase yet: a comment earns nothing (commerce.rewards).
    assert queries.rewards(shop.state, addr(shop.users[1]))["accrued"] == 0
    assert queries.rewards(shop.state, addr(shop.users[1]))["comment_count"] == 0


@pytest.mark.parametrize("field, value", [
    ("order_auto_release_blocks", 0), ("epoch_blocks", 0), ("max_referral_bps", 5_001),
    ("reward_purchase_minor", -1), ("reward_comment_limit", 10_000),
    ("dispute_timeout_blocks", 0), ("poll_max_blocks", 0), ("account_reserve_minor", 0),
    ("account_reserve_minor", 10**12 + 1), ("reward_price_bps", 1_501),
    ("reward_account_epoch_cap_minor", -1),
])
def test_genesis_commerce_params_out_of_range_are_bad_genesis(field: str, value: int) -> None:
    genesis = make_genesis([Shop().validators[0]], [])
    document = genesis.model_dump(mode="json")
    document["params"][field] = value
    with pytest.raises(ValidationError) as info:
        parse_genesis(document)
    assert info.value.code is ErrorCode.BAD_GENESIS
    assert field in info.value.message


def test_every_commerce_rejection_code_is_tested() -> None:
    sources = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    commerce_codes = [c for c in ErrorCode if c.rpc_code <= ErrorCode.NOT_VALIDATOR.rpc_code]
    missing = [c.name for c in commerce_codes if f"ErrorCode.{c.name}" not in sources]
    assert missing == []
