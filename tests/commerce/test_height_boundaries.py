"""Every height boundary of the commerce rules, tested one block either side: poll votes
and poll windows, the ship, auto-release and dispute timers, and reward epochs.

Method: the in-memory chain of tests/commerce/shop.py with short timers; `Shop.do` runs a
transaction in the next block (at `shop.height + 1`), so a test walks with empty blocks to
the block just before a boundary, checks the old rule still holds there, then checks the
new rule in the block at the boundary.
"""

from __future__ import annotations

import pytest

from commerce import queries
from commerce.errors import ErrorCode
from commerce.orders import OrderDispute, OrderShip, get_order
from commerce.polls import PollCreate, PollVote
from commerce.schema import OrderStatus
from commerce.social import Comment
from tests.commerce.shop import Shop, addr, approve, buy, complete_purchase, create_listing


@pytest.fixture
def shop() -> Shop:
    shop = Shop()
    approve(shop, shop.users[0])
    return shop


def next_block_at(shop: Shop, height: int) -> None:
    """Run empty blocks until the next block (the one `Shop.do` runs) is at `height`."""
    assert shop.height < height, (shop.height, height)
    shop.advance(height - 1 - shop.height)
    assert shop.height + 1 == height


def status(shop: Shop, order: int) -> int:
    record = get_order(shop.state, order)
    assert record is not None
    return record.status


def poll_body(close_height: int) -> PollCreate:
    return PollCreate(question="Colour?", options=["red", "blue"], scope="merchant",
                      listing=0, buyers_only=False, close_height=close_height)


# Polls: a vote counts only in a block below close_height.


def test_poll_vote_at_close_height_minus_one_counts_and_at_close_height_is_closed(
    shop: Shop,
) -> None:
    merchant = shop.users[0]
    close = shop.height + 10
    poll = int(shop.do(merchant, poll_body(close))[0].data[0])
    next_block_at(shop, close - 1)
    shop.do(shop.users[1], PollVote(poll=poll, option=1))  # the last block that counts
    found = queries.poll(shop.state, poll)
    assert found is not None and found["tallies"] == [0, 1] and found["voters"] == 1
    assert shop.height + 1 == close
    shop.refuse(ErrorCode.POLL_CLOSED, shop.users[2], PollVote(poll=poll, option=0))


def test_poll_listed_open_at_close_height_minus_one_not_at_close_height(shop: Shop) -> None:
    close = shop.height + 10
    poll = int(shop.do(shop.users[0], poll_body(close))[0].data[0])
    open_ids = [item["id"] for item in queries.polls(shop.state, open_at=close - 1)["items"]]
    assert open_ids == [poll]
    assert queries.polls(shop.state, open_at=close)["items"] == []


def test_poll_create_window_accepts_both_ends_and_refuses_one_beyond_each(
    shop: Shop,
) -> None:
    merchant = shop.users[0]
    low = shop.height + 2  # the next block is at shop.height + 1: it must close after it
    shop.refuse(ErrorCode.POLL_WINDOW, merchant, poll_body(low - 1))
    shop.do(merchant, poll_body(low))
    high = shop.height + 1 + shop.params.poll_max_blocks
    shop.refuse(ErrorCode.POLL_WINDOW, merchant, poll_body(high + 1))
    shop.do(merchant, poll_body(high))


# Order timers: each fires in the block at its due height, not one block earlier.


def test_order_ship_timeout_cancels_at_its_height_not_one_before(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    listing = create_listing(shop, merchant)
    before = shop.balance(buyer)
    order = buy(shop, buyer, listing)
    due = shop.height + shop.params.order_ship_timeout_blocks
    next_block_at(shop, due)  # blocks up to due - 1 ran
    assert status(shop, order) == OrderStatus.PAID
    shop.advance(1)
    assert status(shop, order) == OrderStatus.CANCELLED and shop.balance(buyer) == before
    shop.check_supply()


def test_order_auto_release_at_its_height_not_one_before(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    order = buy(shop, buyer, create_listing(shop, merchant))
    shop.do(merchant, OrderShip(order=order))
    due = shop.height + shop.params.order_auto_release_blocks
    next_block_at(shop, due)
    assert status(shop, order) == OrderStatus.SHIPPED
    assert [event.kind for event in shop.advance(1)] == ["order_release"]
    assert status(shop, order) == OrderStatus.COMPLETED


def test_order_dispute_timeout_refunds_at_its_height_not_one_before(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    order = buy(shop, buyer, create_listing(shop, merchant))
    shop.do(merchant, OrderShip(order=order))
    shop.do(buyer, OrderDispute(order=order, reason="never arrived"))
    due = shop.height + shop.params.dispute_timeout_blocks
    next_block_at(shop, due)
    assert status(shop, order) == OrderStatus.DISPUTED
    shop.advance(1)
    assert status(shop, order) == OrderStatus.REFUNDED
    shop.check_supply()


# Reward epochs: epoch = height // epoch_blocks; the last block of an epoch still counts
# against its quota, the first block of the next starts a fresh one.


def test_reward_epoch_quota_holds_in_its_last_block_and_resets_in_the_next() -> None:
    shop = Shop(reward_purchase_minor=0)
    merchant, author = shop.users[0], shop.users[3]
    approve(shop, merchant)
    listing = create_listing(shop, merchant)
    complete_purchase(shop, merchant, author, listing)  # comments reward buyers only
    epoch = shop.params.epoch_blocks
    limit, reward = shop.params.reward_comment_limit, shop.params.reward_comment_minor
    for _ in range(limit):
        shop.do(author, Comment(listing=listing, parent=0, text="nice"))
    assert shop.height < epoch - 1, "the quota is used up inside epoch 0"

    def accrued() -> int:
        return int(queries.rewards(shop.state, addr(author))["accrued"])

    assert accrued() == limit * reward
    next_block_at(shop, epoch - 1)  # the last block of epoch 0: still over the quota
    shop.do(author, Comment(listing=listing, parent=0, text="last block of epoch 0"))
    assert accrued() == limit * reward
    assert shop.height + 1 == epoch  # the first block of epoch 1: a fresh quota
    shop.do(author, Comment(listing=listing, parent=0, text="first block of epoch 1"))
    assert accrued() == (limit + 1) * reward
