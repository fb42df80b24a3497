"""Follows and feeds: every rule and refusal of `follow` / `unfollow`, the feed merged
newest first across followed authors with a cursor, and the bounded writes per event.

Method: a 4-validator chain in memory (shop.py) with one approved merchant; the feed is
read through `commerce.feeds` exactly as the RPC reads it.
"""

from __future__ import annotations

from typing import Any

import pytest

from commerce import feeds, follows
from commerce.address import to_text
from commerce.errors import ErrorCode, ValidationError
from commerce.follows import Follow, Unfollow
from commerce.limits import MAX_RECORD_ID
from commerce.listings import ListingUpdate
from commerce.machine import Event, apply_tx
from commerce.orders import OrderConfirm, OrderShip
from commerce.reviews import Review
from commerce.schema import P_FEED, P_FOLLOW, P_FOLLOWER
from commerce.social import Share
from commerce.state import Overlay
from tests.commerce.shop import (
    Shop,
    addr,
    buy,
    create_listing,
    keypair,
    listing_body,
    shop_with_merchant,
)


@pytest.fixture
def shop() -> Shop:
    return shop_with_merchant(n_users=8)


def _update(listing: int, version: int, **fields: Any) -> ListingUpdate:
    base = listing_body(**fields).model_dump()
    return ListingUpdate(listing=listing, version=version, **base)


def test_follow_rules_and_counts(shop: Shop) -> None:
    fan, merchant, friend = shop.users[3], shop.users[0], shop.users[4]
    shop.refuse(ErrorCode.SELF_FOLLOW, fan, Follow(account=addr(fan)))
    shop.refuse(ErrorCode.NOT_FOUND, fan, Follow(account=addr(keypair("nobody", 1))))
    shop.do(fan, Follow(account=addr(merchant)))
    shop.do(fan, Follow(account=addr(friend)))
    shop.refuse(ErrorCode.ALREADY_FOLLOWING, fan, Follow(account=addr(merchant)))
    shop.do(shop.users[5], Follow(account=addr(merchant)))
    assert follows.social(shop.state, addr(fan))["following"] == 2
    assert follows.social(shop.state, addr(merchant))["followers"] == 2
    listed = follows.following(shop.state, addr(fan))["items"]
    assert [item["address"] for item in listed] == [
        to_text(a) for a in sorted([addr(merchant), addr(friend)])]
    fans = follows.followers(shop.state, addr(merchant))["items"]
    assert {item["address"] for item in fans} == {to_text(addr(fan)),
                                                  to_text(addr(shop.users[5]))}
    shop.do(fan, Unfollow(account=addr(merchant)))
    shop.refuse(ErrorCode.NOT_FOLLOWING, fan, Unfollow(account=addr(merchant)))
    assert follows.social(shop.state, addr(fan))["following"] == 1
    assert follows.social(shop.state, addr(merchant))["followers"] == 1
    assert len(follows.followers(shop.state, addr(merchant))["items"]) == 1


def test_follow_limit_is_exact(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follows, "MAX_FOLLOWING", 2)
    fan = shop.users[3]
    shop.do(fan, Follow(account=addr(shop.users[4])))
    shop.do(fan, Follow(account=addr(shop.users[5])))
    shop.refuse(ErrorCode.FOLLOW_LIMIT, fan, Follow(account=addr(shop.users[6])))
    shop.do(fan, Unfollow(account=addr(shop.users[5])))
    shop.do(fan, Follow(account=addr(shop.users[6])))


def test_follow_writes_the_same_keys_whoever_is_followed(shop: Shop) -> None:
    merchant = shop.users[0]
    sizes = []
    for fan in shop.users[2:7]:
        view = Overlay(shop.state)
        apply_tx(shop.ctx(), view, shop.sign(fan, Follow(account=addr(merchant))))
        sizes.append(len(view.writes))
        shop.do(fan, Follow(account=addr(merchant)))
    assert sizes == [sizes[0]] * 5 and sizes[0] == 5  # nonce, 2 follow keys, 2 counters


def _feed_world(shop: Shop) -> dict[str, Any]:
    merchant, buyer, sharer, fan = shop.users[0], shop.users[1], shop.users[2], shop.users[3]
    listing = create_listing(shop, merchant, price=10_000_000)
    shop.do(merchant, _update(listing, 1, price=12_000_000))  # a price change
    shop.do(merchant, _update(listing, 2, price=12_000_000, title="Same price"))  # none
    order = buy(shop, buyer, listing, version=3)
    shop.do(merchant, OrderShip(order=order))
    shop.do(buyer, OrderConfirm(order=order))
    shop.do(buyer, Review(order=order, rating=4, text="ok"))
    share = int(shop.do(sharer, Share(listing=listing))[0].data[0])
    second = create_listing(shop, merchant, price=5_000_000)
    for author in (merchant, buyer, sharer):
        shop.do(fan, Follow(account=addr(author)))
    return {"listing": listing, "order": order, "share": share, "second": second,
            "merchant": merchant, "buyer": buyer, "sharer": sharer, "fan": fan}


def test_feed_newest_first_across_followed_authors(shop: Shop) -> None:
    world = _feed_world(shop)
    items = feeds.feed(shop.state, addr(world["fan"]))["items"]
    kinds = [(item["kind"], item["author"]) for item in items]
    merchant, buyer, sharer = (to_text(addr(world[k])) for k in ("merchant", "buyer", "sharer"))
    assert kinds == [("listing", merchant), ("share", sharer), ("review", buyer),
                     ("price", merchant), ("listing", merchant)]
    assert items[0]["listing"] == world["second"] and items[0]["price"] == 5_000_000
    assert items[1]["share"] == world["share"]
    assert items[2]["order"] == world["order"] and items[2]["rating"] == 4
    assert items[3]["price"] == 12_000_000 and items[3]["previous_price"] == 10_000_000
    assert items[3]["version"] == 2
    assert [item["entry"] for item in items] == sorted(
        (item["entry"] for item in items), reverse=True)
    assert feeds.feed(shop.state, addr(shop.users[5])) == {"items": [], "next": None}


def test_feed_pages_with_a_cursor_give_the_whole_feed_once(shop: Shop) -> None:
    world = _feed_world(shop)
    whole = feeds.feed(shop.state, addr(world["fan"]), limit=200)["items"]
    seen: list[Any] = []
    cursor = None
    while True:
        page = feeds.feed(shop.state, addr(world["fan"]), cursor=cursor, limit=2)
        seen.extend(page["items"])
        cursor = page["next"]
        if cursor is None:
            break
        assert len(page["items"]) == 2
    assert seen == whole and len(whole) == 5
    with pytest.raises(Exception, match="cursor"):
        feeds.feed(shop.state, addr(world["fan"]), cursor="zz")
    with pytest.raises(Exception, match="limit"):
        feeds.feed(shop.state, addr(world["fan"]), limit=0)


def test_feed_cursor_at_each_end_of_the_id_range_is_taken_and_one_beyond_refused(
        shop: Shop) -> None:
    world = _feed_world(shop)
    fan = addr(world["fan"])
    whole = feeds.feed(shop.state, fan, limit=200)["items"]
    assert feeds.feed(shop.state, fan, cursor=str(MAX_RECORD_ID), limit=200)["items"] == whole
    assert feeds.feed(shop.state, fan, cursor="1")["items"] == []  # nothing before entry 1
    for cursor in ("0", str(MAX_RECORD_ID + 1)):
        with pytest.raises(ValidationError) as caught:
            feeds.feed(shop.state, fan, cursor=cursor)
        assert caught.value.code is ErrorCode.FIELD_INVALID


def test_feed_drops_an_author_once_unfollowed_and_activity_is_per_author(shop: Shop) -> None:
    world = _feed_world(shop)
    shop.do(world["fan"], Unfollow(account=addr(world["merchant"])))
    kinds = [item["kind"] for item in feeds.feed(shop.state, addr(world["fan"]))["items"]]
    assert kinds == ["share", "review"]
    own = feeds.activity(shop.state, addr(world["merchant"]))["items"]
    assert [item["kind"] for item in own] == ["listing", "price", "listing"]
    page = feeds.activity(shop.state, addr(world["merchant"]), limit=1,
                          cursor=str(own[0]["entry"]))
    assert page["items"] == own[1:2] and page["next"] == str(own[1]["entry"])


def test_feed_entry_writes_do_not_grow_with_followers(shop: Shop) -> None:
    merchant = shop.users[0]

    def listing_writes() -> int:
        view = Overlay(shop.state)
        apply_tx(shop.ctx(), view, shop.sign(merchant, listing_body()))
        return sum(1 for key in view.writes if key.startswith(P_FEED))

    alone = listing_writes()
    for fan in shop.users[2:8]:
        shop.do(fan, Follow(account=addr(merchant)))
    assert listing_writes() == alone == 1
    follow_keys = sum(1 for key, _ in shop.state.iterate(P_FOLLOW))
    assert follow_keys == 6 == sum(1 for key, _ in shop.state.iterate(P_FOLLOWER))


def test_feed_team_openings_land_by_event_kind(shop: Shop) -> None:
    # The group-buying branch emits `team_open` (team, listing, ...); its hook is in place
    # by kind, so an event of that kind becomes a feed entry of its sender.
    opener, fan = shop.users[4], shop.users[3]
    listing = create_listing(shop, shop.users[0])
    shop.do(fan, Follow(account=addr(opener)))
    view = Overlay(shop.state)
    tx = shop.sign(opener, Share(listing=listing))
    event = tuple.__new__(Event, ("team_open", (addr(opener),), (7, listing)))
    feeds._on_team_open(shop.ctx(), view, tx, event)
    shop.state.apply(view.writes)
    items = feeds.feed(shop.state, addr(fan))["items"]
    assert [(item["kind"], item["team"], item["listing"]) for item in items] == [
        ("team", 7, listing)]
