"""Promotions: coupon campaigns (budget locked, coupons at checkout, refunds, ends and
closes) and flash sales, with every refusal and the height boundaries.

Method: a 4-validator chain in memory (tests/commerce/shop.py); each test drives one path and
checks balances, the campaign's budget, order escrow and the supply identity (genesis +
minted = balances + escrow + team escrow + campaign budgets).
"""

from __future__ import annotations

from typing import Any

import pytest

from commerce import promotions
from commerce.errors import ErrorCode
from commerce.ledger import POOL_CAMPAIGNS, get_pool
from commerce.orders import OrderCancel, OrderConfirm, OrderShip, Purchase, get_order
from commerce.pricing import get_campaign
from commerce.promotions import CampaignClose, CampaignCreate, CouponPurchase, FlashSaleSet
from commerce.team_queries import campaign, campaigns, flash_sale, order_discount
from commerce.teams_schema import CampaignStatus
from tests.commerce.shop import UNIT, Shop, addr, approve, buy, create_listing, shop_with_merchant

PRICE = 10 * UNIT


@pytest.fixture
def shop() -> Shop:
    return shop_with_merchant(n_users=6)


def terms(shop: Shop, **fields: Any) -> CampaignCreate:
    values: dict[str, Any] = {
        "listing": 0, "discount_fixed": 2 * UNIT, "discount_bps": 0, "discount_cap": 0,
        "min_spend": 0, "per_account": 1, "total_count": 10, "start_height": 0,
        "end_height": shop.height + 20, "budget": 10 * UNIT}
    values.update(fields)
    return CampaignCreate(**values)


def create(shop: Shop, **fields: Any) -> int:
    return int(shop.do(shop.users[0], terms(shop, **fields))[0].data[0])


def coupon(listing: int, campaign_id: int, quantity: int = 1) -> CouponPurchase:
    return CouponPurchase(listing=listing, version=1, quantity=quantity, campaign=campaign_id)


def unit_price_paid(shop: Shop, order: int) -> int:
    found = get_order(shop.state, order)
    assert found is not None
    return found.unit_price


def budget(shop: Shop, campaign_id: int) -> int:
    record = get_campaign(shop.state, campaign_id)
    assert record is not None
    return record.budget


def test_campaign_create_locks_the_budget_from_the_merchant(shop: Shop) -> None:
    before = shop.balance(shop.users[0])
    campaign_id = create(shop, budget=50 * UNIT)
    assert shop.balance(shop.users[0]) == before - 50 * UNIT
    assert get_pool(shop.state, POOL_CAMPAIGNS) == 50 * UNIT
    found = campaign(shop.state, campaign_id)
    assert found is not None and found["status"] == "open" and found["budget"] == 50 * UNIT
    shop.check_supply()


def test_campaign_item_after_a_coupon_purchase_accounts_for_the_funded_budget(
        shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0], referral_bps=0)
    campaign_id = create(shop, budget=50 * UNIT)
    shop.do(shop.users[1], coupon(listing, campaign_id))
    found = campaign(shop.state, campaign_id)
    assert found is not None and found["used_count"] == 1
    # docs/RPC.md: funded_budget = paid_out_budget + budget + returned_budget
    assert found["funded_budget"] == 50 * UNIT and found["returned_budget"] == 0
    assert 0 < found["paid_out_budget"] == 50 * UNIT - found["budget"]


def test_coupon_purchase_pays_the_discount_from_the_budget(shop: Shop) -> None:
    merchant, buyer = shop.users[0], shop.users[1]
    listing = create_listing(shop, merchant, referral_bps=0)
    campaign_id = create(shop)
    buyer_before, merchant_before = shop.balance(buyer), shop.balance(merchant)
    events = shop.do(buyer, coupon(listing, campaign_id))
    order = int(events[0].data[0])
    assert events[0].data[2:] == (campaign_id, 2 * UNIT)
    assert shop.balance(buyer) == buyer_before - PRICE + 2 * UNIT
    assert budget(shop, campaign_id) == 8 * UNIT
    found = get_order(shop.state, order)
    assert found is not None and found.total == PRICE  # the escrow holds the whole total
    assert order_discount(shop.state, order) == {"order": order, "campaign": campaign_id,
                                                 "discount": 2 * UNIT}
    shop.do(merchant, OrderShip(order=order))
    shop.do(buyer, OrderConfirm(order=order))
    assert shop.balance(merchant) == merchant_before + PRICE  # the promise kept on chain
    shop.check_supply()


def test_coupon_bps_discount_is_capped(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0], price=100 * UNIT)
    campaign_id = create(shop, discount_fixed=0, discount_bps=2_000, discount_cap=15 * UNIT,
                         budget=100 * UNIT, per_account=2)
    events = shop.do(shop.users[1], coupon(listing, campaign_id))
    assert events[0].data[3] == 15 * UNIT  # 20% of 100 is 20, capped at 15
    small = create_listing(shop, shop.users[0], price=10 * UNIT)
    shop.do(shop.users[1], coupon(small, campaign_id))
    assert budget(shop, campaign_id) == 100 * UNIT - 15 * UNIT - 2 * UNIT
    shop.check_supply()


def test_coupon_refund_returns_the_discount_to_the_campaign_not_the_buyer(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0])
    campaign_id = create(shop)
    before = shop.balance(shop.users[1])
    order = int(shop.do(shop.users[1], coupon(listing, campaign_id))[0].data[0])
    shop.do(shop.users[1], OrderCancel(order=order))
    assert shop.balance(shop.users[1]) == before  # back what the buyer paid, no more
    assert budget(shop, campaign_id) == 10 * UNIT
    assert get_pool(shop.state, POOL_CAMPAIGNS) == 10 * UNIT
    shop.check_supply()


def test_coupon_refund_after_the_campaign_ended_pays_the_merchant(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0])
    campaign_id = create(shop, end_height=shop.height + 4)
    order = int(shop.do(shop.users[1], coupon(listing, campaign_id))[0].data[0])
    shop.advance(5)
    record = get_campaign(shop.state, campaign_id)
    assert record is not None and record.status == CampaignStatus.ENDED
    merchant_before = shop.balance(shop.users[0])
    shop.do(shop.users[0], OrderCancel(order=order))
    assert shop.balance(shop.users[0]) == merchant_before + 2 * UNIT
    shop.check_supply()


def test_campaign_end_returns_what_is_left_at_its_end_height(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0])
    end = shop.height + 6
    campaign_id = create(shop, end_height=end)
    shop.do(shop.users[1], coupon(listing, campaign_id))
    before = shop.balance(shop.users[0])
    shop.advance(end - 1 - shop.height)
    assert budget(shop, campaign_id) == 8 * UNIT  # still open in the block before the end
    events = shop.advance(1)
    assert [(e.kind, e.data) for e in events] == [("campaign_end", (campaign_id, 8 * UNIT))]
    assert shop.balance(shop.users[0]) == before + 8 * UNIT
    assert get_pool(shop.state, POOL_CAMPAIGNS) == 0
    shop.check_supply()


def test_coupon_height_boundaries_one_either_side(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0], stock=10)
    start, end = shop.height + 3, shop.height + 6
    campaign_id = create(shop, start_height=start, end_height=end, per_account=5)
    shop.advance(start - 2 - shop.height)  # the next block is start - 1
    shop.refuse(ErrorCode.CAMPAIGN_INACTIVE, shop.users[1], coupon(listing, campaign_id))
    shop.advance(1)  # the next block is start
    shop.do(shop.users[1], coupon(listing, campaign_id))
    shop.advance(end - 2 - shop.height)  # the next block is end - 1
    shop.do(shop.users[1], coupon(listing, campaign_id))
    assert shop.height == end - 1
    shop.refuse(ErrorCode.CAMPAIGN_INACTIVE, shop.users[1], coupon(listing, campaign_id))


def test_campaign_close_returns_the_budget_at_once(shop: Shop) -> None:
    campaign_id = create(shop)
    before = shop.balance(shop.users[0])
    events = shop.do(shop.users[0], CampaignClose(campaign=campaign_id))
    assert events[0].data == (campaign_id, 10 * UNIT)
    assert shop.balance(shop.users[0]) == before + 10 * UNIT
    shop.refuse(ErrorCode.CAMPAIGN_INACTIVE, shop.users[0], CampaignClose(campaign=campaign_id))
    shop.refuse(ErrorCode.NOT_FOUND, shop.users[0], CampaignClose(campaign=99))
    listing = create_listing(shop, shop.users[0])
    shop.refuse(ErrorCode.CAMPAIGN_INACTIVE, shop.users[1], coupon(listing, campaign_id))
    other = create(shop)
    shop.refuse(ErrorCode.NOT_OWNER, shop.users[1], CampaignClose(campaign=other))
    ends = shop.advance(25)
    assert [e.data[0] for e in ends] == [other]  # a closed campaign's end is skipped
    shop.check_supply()


def test_coupon_refusals(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0], stock=20)
    campaign_id = create(shop, min_spend=2 * PRICE, per_account=1, total_count=2)
    shop.refuse(ErrorCode.COUPON_MIN_SPEND, shop.users[1], coupon(listing, campaign_id))
    shop.do(shop.users[1], coupon(listing, campaign_id, quantity=2))
    shop.refuse(ErrorCode.COUPON_LIMIT, shop.users[1], coupon(listing, campaign_id, 2))
    shop.do(shop.users[2], coupon(listing, campaign_id, quantity=2))
    shop.refuse(ErrorCode.COUPON_EXHAUSTED, shop.users[3], coupon(listing, campaign_id, 2))
    shop.refuse(ErrorCode.NOT_FOUND, shop.users[1], coupon(listing, 99))
    scoped = create(shop, listing=listing)
    other_listing = create_listing(shop, shop.users[0])
    shop.refuse(ErrorCode.COUPON_MISMATCH, shop.users[1], coupon(other_listing, scoped))
    approve(shop, shop.users[5], name="Other")
    foreign = create_listing(shop, shop.users[5])
    shop.refuse(ErrorCode.COUPON_MISMATCH, shop.users[1], coupon(foreign, scoped))
    shop.refuse(ErrorCode.SELF_PURCHASE, shop.users[0], coupon(listing, scoped))


def test_coupon_over_the_budget_left_is_exhausted(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0])
    campaign_id = create(shop, discount_fixed=3 * UNIT, budget=4 * UNIT)
    shop.do(shop.users[1], coupon(listing, campaign_id))
    shop.refuse(ErrorCode.COUPON_EXHAUSTED, shop.users[2], coupon(listing, campaign_id))
    record = get_campaign(shop.state, campaign_id)
    assert record is not None and record.paid_out == 3 * UNIT <= record.funded


def test_campaign_create_refusals(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    h = shop.height
    for bad in (terms(shop, discount_bps=100), terms(shop, discount_fixed=0),
                terms(shop, discount_fixed=0, discount_bps=100),
                terms(shop, discount_cap=UNIT), terms(shop, start_height=h + 30),
                terms(shop, end_height=h + 1 - 1),
                terms(shop, end_height=h + 1 + promotions.MAX_CAMPAIGN_BLOCKS + 1)):
        shop.refuse(ErrorCode.CAMPAIGN_INVALID, shop.users[0], bad)
    shop.refuse(ErrorCode.NOT_MERCHANT, shop.users[1], terms(shop))
    shop.refuse(ErrorCode.NOT_FOUND, shop.users[0], terms(shop, listing=99))
    approve(shop, shop.users[5], name="Other")
    foreign = create_listing(shop, shop.users[5])
    shop.refuse(ErrorCode.NOT_OWNER, shop.users[0], terms(shop, listing=foreign))
    shop.refuse(ErrorCode.INSUFFICIENT_FUNDS, shop.users[0], terms(shop, budget=10**6 * UNIT))
    shop.refuse(ErrorCode.BELOW_RESERVE, shop.users[0],
                terms(shop, budget=shop.balance(shop.users[0])))
    monkeypatch.setattr(promotions, "MAX_OPEN_CAMPAIGNS_PER_MERCHANT", 1)
    create(shop)
    shop.refuse(ErrorCode.CAMPAIGN_LIMIT, shop.users[0], terms(shop))


def test_campaign_ends_past_the_height_cap_are_schedule_full(
    shop: Shop, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(promotions, "MAX_CAMPAIGN_ENDS_PER_HEIGHT", 1)
    end = shop.height + 10
    create(shop, end_height=end)
    shop.refuse(ErrorCode.SCHEDULE_FULL, shop.users[0], terms(shop, end_height=end))
    create(shop, end_height=end + 1)


def test_campaigns_query_lists_a_merchants_campaigns(shop: Shop) -> None:
    first = create(shop)
    second = create(shop)
    shop.do(shop.users[0], CampaignClose(campaign=first))
    merchant = addr(shop.users[0])
    assert [c["id"] for c in campaigns(shop.state, merchant)["items"]] == [first, second]
    assert [c["id"] for c in campaigns(shop.state, merchant, open_only=True)["items"]] \
        == [second]
    assert campaign(shop.state, 99) is None and order_discount(shop.state, 1) is None


def test_flash_sale_prices_purchases_in_its_window_up_to_its_stock(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0], stock=10)
    start, end = shop.height + 3, shop.height + 8
    shop.do(shop.users[0], FlashSaleSet(listing=listing, price=6 * UNIT, stock=3,
                                        start_height=start, end_height=end))
    shop.advance(start - 2 - shop.height)  # the next block is start - 1: not yet
    full = get_order(shop.state, buy(shop, shop.users[1], listing))
    assert full is not None and full.unit_price == PRICE
    cheap = get_order(shop.state, buy(shop, shop.users[1], listing, quantity=2))  # at start
    assert cheap is not None and cheap.unit_price == 6 * UNIT and cheap.total == 12 * UNIT
    over = get_order(shop.state, buy(shop, shop.users[2], listing, quantity=2))
    assert over is not None and over.unit_price == PRICE  # 2 more would pass the flash stock
    last = get_order(shop.state, buy(shop, shop.users[2], listing))
    assert last is not None and last.unit_price == 6 * UNIT
    sale = flash_sale(shop.state, listing)
    assert sale is not None and sale["sold"] == 3
    shop.check_supply()


def test_flash_sale_ends_at_its_end_height_and_with_stock_zero(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0], stock=10)
    end = shop.height + 4
    shop.do(shop.users[0], FlashSaleSet(listing=listing, price=6 * UNIT, stock=5,
                                        start_height=0, end_height=end))
    shop.advance(end - 2 - shop.height)
    assert unit_price_paid(shop, buy(shop, shop.users[1], listing)) == 6 * UNIT
    assert shop.height == end - 1
    assert unit_price_paid(shop, buy(shop, shop.users[1], listing)) == PRICE
    shop.do(shop.users[0], FlashSaleSet(listing=listing, price=6 * UNIT, stock=1,
                                        start_height=0, end_height=shop.height + 9))
    shop.do(shop.users[0], FlashSaleSet(listing=listing, price=1, stock=0,
                                        start_height=0, end_height=1))
    assert flash_sale(shop.state, listing) is None
    assert unit_price_paid(shop, buy(shop, shop.users[1], listing)) == PRICE


def test_coupon_applies_to_the_flash_price(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0])
    shop.do(shop.users[0], FlashSaleSet(listing=listing, price=6 * UNIT, stock=5,
                                        start_height=0, end_height=shop.height + 9))
    campaign_id = create(shop, discount_fixed=0, discount_bps=5_000, discount_cap=10 * UNIT)
    events = shop.do(shop.users[1], coupon(listing, campaign_id))
    assert events[0].data[1] == 6 * UNIT and events[0].data[3] == 3 * UNIT


def test_flash_sale_set_refusals(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0])
    h = shop.height

    def sale(**fields: Any) -> FlashSaleSet:
        values: dict[str, Any] = {"listing": listing, "price": 5 * UNIT, "stock": 2,
                                  "start_height": 0, "end_height": h + 10}
        values.update(fields)
        return FlashSaleSet(**values)

    for bad in (sale(price=PRICE), sale(start_height=h + 10),
                sale(end_height=h + 1 - 1),
                sale(end_height=h + 2 + promotions.MAX_FLASH_SALE_BLOCKS)):
        shop.refuse(ErrorCode.FLASH_SALE_INVALID, shop.users[0], bad)
    shop.refuse(ErrorCode.NOT_OWNER, shop.users[1], sale())
    shop.refuse(ErrorCode.NOT_FOUND, shop.users[0], sale(listing=99))


def test_purchase_body_is_unchanged_by_coupons(shop: Shop) -> None:
    # The round-1 wire form: a purchase is 5 fields; a coupon purchase adds the campaign.
    assert tuple(Purchase.model_fields) == ("listing", "version", "quantity", "share",
                                            "delivery")
    assert CouponPurchase.TYPE != Purchase.TYPE
