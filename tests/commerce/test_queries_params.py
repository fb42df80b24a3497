"""The read API (paging, filters, supply parts), the chain parameters' validation, and a
check that every commerce rejection code is exercised by some test here.

Method: a small shop in memory queried through commerce.queries; genesis documents with
bad parameters; a scan of this directory's sources for each code name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from commerce import queries
from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import parse_genesis
from commerce.orders import OrderShip
from commerce.social import Comment
from tests.commerce.shop import UNIT, Shop, addr, approve, buy, create_listing, make_genesis


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
