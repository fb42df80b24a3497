"""Shares, comments, reviews, polls and sealed delivery details: every rule and refusal.

Method: a 4-validator chain in memory (shop.py) with one approved merchant; each test
checks the records through the read API.
"""

from __future__ import annotations

import pytest

from commerce import queries
from commerce.errors import ErrorCode, ValidationError
from commerce.keys import seal
from commerce.limits import MAX_COMMENT_DEPTH, MAX_SEALED_BYTES
from commerce.listings import ListingDelist
from commerce.orders import OrderConfirm, OrderRefund, OrderShip, Purchase
from commerce.polls import PollCreate, PollVote
from commerce.reviews import Review, ReviewReply
from commerce.social import Comment, Share
from tests.commerce.shop import Shop, addr, approve, buy, create_listing, shop_with_merchant


@pytest.fixture
def shop() -> Shop:
    return shop_with_merchant()


def _completed(shop: Shop, buyer_index: int = 1) -> tuple[int, int]:
    merchant, buyer = shop.users[0], shop.users[buyer_index]
    listing = create_listing(shop, merchant)
    order = buy(shop, buyer, listing)
    shop.do(merchant, OrderShip(order=order))
    shop.do(buyer, OrderConfirm(order=order))
    return listing, order


# Shares.

def test_share_rules(shop: Shop) -> None:
    merchant, sharer = shop.users[0], shop.users[2]
    listing = create_listing(shop, merchant)
    shop.refuse(ErrorCode.NOT_FOUND, sharer, Share(listing=99))
    shop.refuse(ErrorCode.SELF_REFERRAL, merchant, Share(listing=listing))
    share = int(shop.do(sharer, Share(listing=listing))[0].data[0])
    found = queries.share(shop.state, share)
    assert found is not None and found["sharer"] == queries.account(shop.state, addr(sharer))[
        "address"] and found["listing"] == listing
    shop.refuse(ErrorCode.ALREADY_SHARED, sharer, Share(listing=listing))
    shop.do(merchant, ListingDelist(listing=listing))
    shop.refuse(ErrorCode.LISTING_INACTIVE, shop.users[3], Share(listing=listing))


# Comments.

def test_comment_thread_and_depth_limit(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0])
    other = create_listing(shop, shop.users[0])
    author = shop.users[3]
    parent = 0
    for _ in range(MAX_COMMENT_DEPTH + 1):
        events = shop.do(author, Comment(listing=listing, parent=parent, text="hm"))
        parent = int(events[0].data[0])
    shop.refuse(ErrorCode.COMMENT_TOO_DEEP, author, Comment(listing=listing, parent=parent,
                                                            text="deeper"))
    shop.refuse(ErrorCode.NOT_FOUND, author, Comment(listing=other, parent=parent, text="x"))
    shop.refuse(ErrorCode.NOT_FOUND, author, Comment(listing=99, parent=0, text="x"))
    shop.refuse(ErrorCode.NOT_FOUND, author, Comment(listing=listing, parent=999, text="x"))
    page = queries.comments(shop.state, listing, limit=3)
    assert [c["depth"] for c in page["items"]] == [0, 1, 2]
    rest = queries.comments(shop.state, listing, cursor=page["next"], limit=50)
    assert len(rest["items"]) == MAX_COMMENT_DEPTH + 1 - 3 and rest["next"] is None
    assert queries.comment(shop.state, 1)["replies"] == 1  # type: ignore[index]


# Reviews.

def test_review_by_buyer_of_completed_order_once(shop: Shop) -> None:
    listing, order = _completed(shop)
    buyer, merchant = shop.users[1], shop.users[0]
    shop.refuse(ErrorCode.NOT_BUYER, shop.users[2], Review(order=order, rating=5, text=""))
    shop.do(buyer, Review(order=order, rating=4, text="good"))
    shop.refuse(ErrorCode.ALREADY_REVIEWED, buyer, Review(order=order, rating=1, text="edit"))
    found = queries.review(shop.state, order)
    assert found is not None and (found["rating"], found["text"]) == (4, "good")
    assert queries.listing(shop.state, listing)["rating"] == {  # type: ignore[index]
        "sum": 4, "count": 1, "average_x100": 400}
    assert queries.merchant(shop.state, addr(merchant))["rating"]["count"] == 1  # type: ignore[index]
    assert [r["order"] for r in queries.reviews(shop.state, listing)["items"]] == [order]


def test_review_of_open_or_refunded_order_is_order_state(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    listing = create_listing(shop, merchant)
    order = buy(shop, buyer, listing)
    shop.refuse(ErrorCode.ORDER_STATE, buyer, Review(order=order, rating=5, text=""))
    shop.do(merchant, OrderRefund(order=order))
    shop.refuse(ErrorCode.ORDER_STATE, buyer, Review(order=order, rating=5, text=""))
    shop.refuse(ErrorCode.NOT_FOUND, buyer, Review(order=99, rating=5, text=""))


def test_review_rating_outside_one_to_five_is_a_field_error() -> None:
    import pydantic

    for rating in (0, 6):
        with pytest.raises(pydantic.ValidationError):
            Review(order=1, rating=rating, text="")


def test_review_reply_by_merchant_once(shop: Shop) -> None:
    _, order = _completed(shop)
    merchant, buyer = shop.users[0], shop.users[1]
    shop.refuse(ErrorCode.NOT_FOUND, merchant, ReviewReply(order=order, text="thanks"))
    shop.do(buyer, Review(order=order, rating=2, text="slow"))
    shop.refuse(ErrorCode.NOT_OWNER, buyer, ReviewReply(order=order, text="me too"))
    shop.do(merchant, ReviewReply(order=order, text="sorry"))
    shop.refuse(ErrorCode.ALREADY_REPLIED, merchant, ReviewReply(order=order, text="again"))
    assert queries.review(shop.state, order)["reply"] == "sorry"  # type: ignore[index]


# Polls.

def _poll(**fields: object) -> PollCreate:
    values: dict[str, object] = {"question": "Colour?", "options": ["red", "blue"],
                                 "scope": "merchant", "listing": 0, "buyers_only": False,
                                 "close_height": 50}
    values.update(fields)
    return PollCreate(**values)  # type: ignore[arg-type]


def test_poll_vote_tallies_and_closes(shop: Shop) -> None:
    merchant = shop.users[0]
    close = shop.height + 5
    poll = int(shop.do(merchant, _poll(close_height=close))[0].data[0])
    shop.do(shop.users[1], PollVote(poll=poll, option=1))
    shop.refuse(ErrorCode.ALREADY_VOTED, shop.users[1], PollVote(poll=poll, option=0))
    shop.refuse(ErrorCode.FIELD_INVALID, shop.users[2], PollVote(poll=poll, option=2))
    shop.refuse(ErrorCode.NOT_FOUND, shop.users[2], PollVote(poll=99, option=0))
    shop.do(shop.users[2], PollVote(poll=poll, option=1))
    found = queries.poll(shop.state, poll)
    assert found is not None and found["tallies"] == [0, 2] and found["voters"] == 2
    shop.advance(close - shop.height - 1)  # the next block is at the closing height
    shop.refuse(ErrorCode.POLL_CLOSED, shop.users[3], PollVote(poll=poll, option=0))
    assert queries.polls(shop.state, open_at=shop.height + 1)["items"] == []


def test_poll_create_refusals(shop: Shop) -> None:
    merchant, other = shop.users[0], shop.users[1]
    listing = create_listing(shop, merchant)
    shop.refuse(ErrorCode.NOT_MERCHANT, other, _poll())
    shop.refuse(ErrorCode.NOT_VALIDATOR, merchant, _poll(scope="marketplace"))
    shop.refuse(ErrorCode.FIELD_INVALID, shop.validators[0],
                _poll(scope="marketplace", buyers_only=True))
    shop.refuse(ErrorCode.FIELD_INVALID, merchant, _poll(options=["a", "a"]))
    shop.refuse(ErrorCode.NOT_FOUND, merchant, _poll(listing=99))
    shop.refuse(ErrorCode.POLL_WINDOW, merchant, _poll(close_height=shop.height + 1))
    shop.refuse(ErrorCode.POLL_WINDOW, merchant,
                _poll(close_height=shop.height + 2 + shop.params.poll_max_blocks))
    approve(shop, other, name="Other")
    shop.refuse(ErrorCode.NOT_OWNER, other, _poll(listing=listing))
    shop.do(merchant, _poll(listing=listing))
    shop.do(shop.validators[0], _poll(scope="marketplace"))


def test_poll_buyers_only_admits_buyers_of_the_merchant(shop: Shop) -> None:
    merchant = shop.users[0]
    _completed(shop, buyer_index=1)
    poll = int(shop.do(merchant, _poll(buyers_only=True))[0].data[0])
    shop.refuse(ErrorCode.NOT_BUYER, shop.users[2], PollVote(poll=poll, option=0))
    shop.do(shop.users[1], PollVote(poll=poll, option=0))


# Sealed delivery details.

def test_sealed_delivery_opens_with_the_merchant_key_only(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    listing = create_listing(shop, merchant)
    key = bytes.fromhex(queries.merchant(shop.state, addr(merchant))["public_key"])  # type: ignore[index]
    details = b"Ada Lovelace, 12 St James's Square, London"
    order = buy(shop, buyer, listing, delivery=seal(key, details))
    stored = bytes.fromhex(queries.order(shop.state, order)["delivery"])  # type: ignore[index]
    assert details not in stored
    assert merchant.unseal(stored) == details
    for other in (buyer, shop.users[2], shop.validators[0]):
        with pytest.raises(ValidationError) as info:
            other.unseal(stored)
        assert info.value.code is ErrorCode.FIELD_INVALID


def test_sealed_delivery_size_limit_is_exact(shop: Shop) -> None:
    import pydantic

    Purchase(listing=1, version=1, quantity=1, delivery=b"x" * MAX_SEALED_BYTES)
    with pytest.raises(pydantic.ValidationError):
        Purchase(listing=1, version=1, quantity=1, delivery=b"x" * (MAX_SEALED_BYTES + 1))
