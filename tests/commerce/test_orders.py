"""Purchases, escrow and the order life cycle: every transition, timer and refusal.

Method: a 4-validator chain in memory (tests/commerce/shop.py) with short timers; each test
drives one path and checks balances, escrow, stock and the supply identity.
"""

from __future__ import annotations

import pytest

from commerce import queries
from commerce.errors import ErrorCode
from commerce.ledger import get_supply
from commerce.listings import ListingDelist, ListingUpdate
from commerce.merchants import MerchantVote
from commerce.orders import (
    DisputeVote,
    OrderCancel,
    OrderConfirm,
    OrderDispute,
    OrderRefund,
    OrderShip,
    Purchase,
    get_order,
)
from commerce.schema import OrderStatus
from commerce.social import Share
from tests.commerce.shop import UNIT, Shop, addr, approve, buy, create_listing, shop_with_merchant

PRICE = 10 * UNIT


@pytest.fixture
def shop() -> Shop:
    return shop_with_merchant()


def _merchant_buyer(shop: Shop) -> tuple[object, object]:
    return shop.users[0], shop.users[1]


def test_purchase_moves_payment_into_escrow_and_takes_stock(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    listing = create_listing(shop, merchant)
    before = shop.balance(buyer)
    order = buy(shop, buyer, listing, quantity=2)
    assert shop.balance(buyer) == before - 2 * PRICE
    assert get_supply(shop.state).escrow == 2 * PRICE
    assert queries.listing(shop.state, listing)["stock"] == 3  # type: ignore[index]
    record = get_order(shop.state, order)
    assert record is not None and record.status == OrderStatus.PAID
    assert record.timer_due == shop.height + shop.params.order_ship_timeout_blocks
    shop.check_supply()


def test_order_confirm_releases_escrow_to_merchant_minus_commission(shop: Shop) -> None:
    merchant, buyer, sharer = shop.users[0], shop.users[1], shop.users[2]
    listing = create_listing(shop, merchant, price=999, referral_bps=1_234)
    share = int(shop.do(sharer, Share(listing=listing))[0].data[0])
    order = buy(shop, buyer, listing, quantity=3, share=share)
    m0, s0 = shop.balance(merchant), shop.balance(sharer)
    shop.do(merchant, OrderShip(order=order, tracking=b""))
    shop.do(buyer, OrderConfirm(order=order))
    commission = 2997 * 1_234 // 10_000  # floor: 369
    assert commission == 369
    assert shop.balance(sharer) - s0 == commission
    assert shop.balance(merchant) - m0 == 2997 - commission
    assert get_supply(shop.state).escrow == 0
    record = get_order(shop.state, order)
    assert record is not None and record.status == OrderStatus.COMPLETED
    assert record.commission == commission
    assert queries.share(shop.state, share)["commission_earned"] == commission  # type: ignore[index]
    shop.check_supply()


def test_order_commission_uses_the_version_bought(shop: Shop) -> None:
    merchant, buyer, sharer = shop.users[0], shop.users[1], shop.users[2]
    listing = create_listing(shop, merchant, referral_bps=2_000)
    share = int(shop.do(sharer, Share(listing=listing))[0].data[0])
    order = buy(shop, buyer, listing, share=share)
    shop.do(merchant, ListingUpdate(listing=listing, version=1, title="t", description="",
                                    category="kitchen", price=PRICE, stock=5, media=[],
                                    referral_bps=0))
    s0 = shop.balance(sharer)
    shop.do(merchant, OrderShip(order=order))
    shop.do(buyer, OrderConfirm(order=order))
    assert shop.balance(sharer) - s0 == PRICE * 2_000 // 10_000


def test_order_shipped_auto_releases_after_the_timeout(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    listing = create_listing(shop, merchant)
    order = buy(shop, buyer, listing)
    shop.do(merchant, OrderShip(order=order))
    m0 = shop.balance(merchant)
    shop.advance(shop.params.order_auto_release_blocks - 1)
    assert get_order(shop.state, order).status == OrderStatus.SHIPPED  # type: ignore[union-attr]
    events = shop.advance(1)
    assert [e.kind for e in events] == ["order_release"]
    assert get_order(shop.state, order).status == OrderStatus.COMPLETED  # type: ignore[union-attr]
    assert shop.balance(merchant) - m0 == PRICE
    shop.check_supply()


def test_order_never_shipped_is_refunded_by_the_ship_timeout(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    listing = create_listing(shop, merchant)
    before = shop.balance(buyer)
    order = buy(shop, buyer, listing, quantity=2)
    shop.advance(shop.params.order_ship_timeout_blocks)
    record = get_order(shop.state, order)
    assert record is not None and record.status == OrderStatus.CANCELLED
    assert shop.balance(buyer) == before
    assert queries.listing(shop.state, listing)["stock"] == 5  # type: ignore[index]
    shop.check_supply()


def test_order_cancel_by_either_side_refunds_and_restores_stock(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    listing = create_listing(shop, merchant)
    before = shop.balance(buyer)
    first = buy(shop, buyer, listing)
    second = buy(shop, buyer, listing)
    shop.do(buyer, OrderCancel(order=first))
    shop.do(merchant, OrderCancel(order=second))
    assert shop.balance(buyer) == before
    assert queries.listing(shop.state, listing)["stock"] == 5  # type: ignore[index]
    assert get_supply(shop.state).escrow == 0
    # The old timer of a cancelled order is stale and does nothing.
    assert shop.advance(shop.params.order_ship_timeout_blocks) == []


def test_order_cancel_after_shipping_is_order_state(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    order = buy(shop, buyer, create_listing(shop, merchant))
    shop.do(merchant, OrderShip(order=order))
    shop.refuse(ErrorCode.ORDER_STATE, buyer, OrderCancel(order=order))


def test_order_cancel_by_a_stranger_is_not_buyer(shop: Shop) -> None:
    order = buy(shop, shop.users[1], create_listing(shop, shop.users[0]))
    shop.refuse(ErrorCode.NOT_BUYER, shop.users[2], OrderCancel(order=order))


def test_order_refund_by_merchant_after_shipping_keeps_stock(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    listing = create_listing(shop, merchant)
    before = shop.balance(buyer)
    order = buy(shop, buyer, listing)
    shop.do(merchant, OrderShip(order=order))
    shop.do(merchant, OrderRefund(order=order))
    assert get_order(shop.state, order).status == OrderStatus.REFUNDED  # type: ignore[union-attr]
    assert shop.balance(buyer) == before
    assert queries.listing(shop.state, listing)["stock"] == 4  # type: ignore[index]
    shop.refuse(ErrorCode.ORDER_STATE, merchant, OrderRefund(order=order))
    shop.refuse(ErrorCode.NOT_OWNER, buyer, OrderRefund(order=order))


def test_order_ship_rules(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    order = buy(shop, buyer, create_listing(shop, merchant))
    shop.refuse(ErrorCode.NOT_OWNER, buyer, OrderShip(order=order))
    shop.refuse(ErrorCode.NOT_FOUND, merchant, OrderShip(order=order + 1))
    shop.refuse(ErrorCode.FIELD_INVALID, merchant, OrderShip(order=order, tracking=b"x" * 47))
    shop.do(merchant, OrderShip(order=order, tracking=b"x" * 48))
    shop.refuse(ErrorCode.ORDER_STATE, merchant, OrderShip(order=order))


def test_order_confirm_rules(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    order = buy(shop, buyer, create_listing(shop, merchant))
    shop.refuse(ErrorCode.ORDER_STATE, buyer, OrderConfirm(order=order))
    shop.do(merchant, OrderShip(order=order))
    shop.refuse(ErrorCode.NOT_BUYER, merchant, OrderConfirm(order=order))
    shop.do(buyer, OrderConfirm(order=order))
    shop.refuse(ErrorCode.ORDER_STATE, buyer, OrderConfirm(order=order))


def _disputed(shop: Shop) -> int:
    merchant, buyer = shop.users[0], shop.users[1]
    order = buy(shop, buyer, create_listing(shop, merchant))
    shop.refuse(ErrorCode.ORDER_STATE, buyer, OrderDispute(order=order, reason="early"))
    shop.do(merchant, OrderShip(order=order))
    shop.refuse(ErrorCode.NOT_BUYER, merchant, OrderDispute(order=order, reason="x"))
    shop.do(buyer, OrderDispute(order=order, reason="never arrived"))
    assert get_order(shop.state, order).status == OrderStatus.DISPUTED  # type: ignore[union-attr]
    return order


def test_order_dispute_stops_auto_release(shop: Shop) -> None:
    order = _disputed(shop)
    shop.advance(shop.params.order_auto_release_blocks + 1)
    assert get_order(shop.state, order).status == OrderStatus.DISPUTED  # type: ignore[union-attr]


def test_dispute_vote_supermajority_refunds(shop: Shop) -> None:
    buyer = shop.users[1]
    order = _disputed(shop)
    before = shop.balance(buyer)
    for validator in shop.validators[:2]:
        shop.do(validator, DisputeVote(order=order, decision="refund"))
    assert get_order(shop.state, order).status == OrderStatus.DISPUTED  # type: ignore[union-attr]
    shop.refuse(ErrorCode.ALREADY_VOTED, shop.validators[0],
                DisputeVote(order=order, decision="refund"))
    shop.do(shop.validators[2], DisputeVote(order=order, decision="refund"))
    assert get_order(shop.state, order).status == OrderStatus.REFUNDED  # type: ignore[union-attr]
    assert shop.balance(buyer) - before == PRICE
    shop.refuse(ErrorCode.ORDER_STATE, shop.validators[3],
                DisputeVote(order=order, decision="refund"))
    shop.check_supply()


def test_dispute_vote_supermajority_releases(shop: Shop) -> None:
    merchant = shop.users[0]
    order = _disputed(shop)
    before = shop.balance(merchant)
    for validator in shop.validators[1:4]:
        shop.do(validator, DisputeVote(order=order, decision="release"))
    assert get_order(shop.state, order).status == OrderStatus.COMPLETED  # type: ignore[union-attr]
    assert shop.balance(merchant) - before == PRICE


def test_dispute_vote_by_non_validator_is_not_validator(shop: Shop) -> None:
    order = _disputed(shop)
    shop.refuse(ErrorCode.NOT_VALIDATOR, shop.users[2],
                DisputeVote(order=order, decision="refund"))


def test_dispute_vote_by_a_party_is_conflict_of_interest() -> None:
    shop = Shop()
    merchant, buyer = shop.validators[0], shop.users[1]
    approve(shop, merchant)
    order = buy(shop, buyer, create_listing(shop, merchant))
    shop.do(merchant, OrderShip(order=order))
    shop.do(buyer, OrderDispute(order=order, reason=""))
    shop.refuse(ErrorCode.CONFLICT_OF_INTEREST, merchant,
                DisputeVote(order=order, decision="release"))


def test_dispute_timeout_without_votes_refunds_the_buyer(shop: Shop) -> None:
    buyer = shop.users[1]
    order = _disputed(shop)
    before = shop.balance(buyer)
    shop.advance(shop.params.dispute_timeout_blocks)
    assert get_order(shop.state, order).status == OrderStatus.REFUNDED  # type: ignore[union-attr]
    assert shop.balance(buyer) - before == PRICE


def test_dispute_timeout_follows_the_plurality_of_votes(shop: Shop) -> None:
    merchant = shop.users[0]
    order = _disputed(shop)
    shop.do(shop.validators[0], DisputeVote(order=order, decision="release"))
    before = shop.balance(merchant)
    shop.advance(shop.params.dispute_timeout_blocks)
    assert get_order(shop.state, order).status == OrderStatus.COMPLETED  # type: ignore[union-attr]
    assert shop.balance(merchant) - before == PRICE


def test_disputed_order_can_be_conceded_by_either_party(shop: Shop) -> None:
    first = _disputed(shop)
    shop.do(shop.users[1], OrderConfirm(order=first))
    assert get_order(shop.state, first).status == OrderStatus.COMPLETED  # type: ignore[union-attr]
    second = _disputed(shop)
    shop.do(shop.users[0], OrderRefund(order=second))
    assert get_order(shop.state, second).status == OrderStatus.REFUNDED  # type: ignore[union-attr]


def test_purchase_refusals(shop: Shop) -> None:
    merchant, buyer, other = shop.users[0], shop.users[1], shop.users[2]
    listing = create_listing(shop, merchant, stock=2)
    other_listing = create_listing(shop, merchant)
    share = int(shop.do(buyer, Share(listing=listing))[0].data[0])
    other_share = int(shop.do(other, Share(listing=other_listing))[0].data[0])

    def body(**fields: int | bytes) -> Purchase:
        values: dict[str, int | bytes] = {"listing": listing, "version": 1, "quantity": 1}
        values.update(fields)
        return Purchase(**values)  # type: ignore[arg-type]

    shop.refuse(ErrorCode.NOT_FOUND, buyer, body(listing=99))
    shop.refuse(ErrorCode.SELF_PURCHASE, merchant, body())
    shop.refuse(ErrorCode.STALE_VERSION, buyer, body(version=2))
    shop.refuse(ErrorCode.OUT_OF_STOCK, buyer, body(quantity=3))
    shop.refuse(ErrorCode.NOT_FOUND, buyer, body(share=99))
    shop.refuse(ErrorCode.SHARE_MISMATCH, buyer, body(share=other_share))
    shop.refuse(ErrorCode.SELF_REFERRAL, buyer, body(share=share))
    shop.refuse(ErrorCode.FIELD_INVALID, buyer, body(delivery=b"short"))
    pricey = create_listing(shop, merchant, price=600 * UNIT)
    shop.refuse(ErrorCode.INSUFFICIENT_FUNDS, buyer, body(listing=pricey, quantity=2))
    huge = create_listing(shop, merchant, price=10**18, stock=10)
    shop.refuse(ErrorCode.AMOUNT_OUT_OF_RANGE, buyer, body(listing=huge, quantity=2))
    shop.do(merchant, ListingDelist(listing=listing))
    shop.refuse(ErrorCode.LISTING_INACTIVE, buyer, body())


def test_purchase_from_suspended_merchant_is_refused_but_open_orders_complete(
        shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    listing = create_listing(shop, merchant)
    order = buy(shop, buyer, listing)
    for validator in shop.validators[:3]:
        shop.do(validator, MerchantVote(merchant=addr(merchant), action="suspend"))
    shop.refuse(ErrorCode.MERCHANT_SUSPENDED, buyer,
                Purchase(listing=listing, version=1, quantity=1))
    shop.do(merchant, OrderShip(order=order))
    shop.do(buyer, OrderConfirm(order=order))
    assert get_order(shop.state, order).status == OrderStatus.COMPLETED  # type: ignore[union-attr]


def test_order_timers_run_in_order_id_order_at_the_same_height(shop: Shop) -> None:
    merchant = shop.users[0]
    listing = create_listing(shop, merchant)
    txs = [shop.sign(shop.users[i], Purchase(listing=listing, version=1, quantity=1))
           for i in (1, 2, 3)]
    result = shop.block(txs)
    assert len(result.txs) == 3
    events = shop.advance(shop.params.order_ship_timeout_blocks)
    assert [e.data[0] for e in events] == [1, 2, 3]
    assert all(e.kind == "order_cancel" for e in events)
