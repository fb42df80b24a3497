"""Group buying: team offers, opening, joining, filling and expiring, and every refusal.

Method: a 4-validator chain in memory (tests/commerce/shop.py) with short timers; each test
drives one path and checks balances, team escrow, order escrow, stock and the supply
identity (genesis + minted = balances + escrow + team escrow + campaign budgets).
"""

from __future__ import annotations

import pytest

from commerce import teams
from commerce.errors import ErrorCode
from commerce.ledger import POOL_TEAM_ESCROW, get_pool, get_supply
from commerce.listings import ListingDelist, ListingUpdate
from commerce.orders import OrderConfirm, OrderShip, get_order
from commerce.schema import OrderStatus
from commerce.social import Share
from commerce.team_queries import account_teams, listing_teams, team, team_offer
from commerce.teams import TeamJoin, TeamOfferEnd, TeamOfferSet, TeamOpen, get_team
from commerce.teams_schema import TeamStatus
from tests.commerce.shop import UNIT, Shop, addr, buy, create_listing, shop_with_merchant

PRICE = 10 * UNIT
TEAM_PRICE = 7 * UNIT


@pytest.fixture
def shop() -> Shop:
    return shop_with_merchant(n_users=8)


def offer(shop: Shop, listing: int, size: int = 3, quantity: int = 1, window: int = 5,
          price: int = TEAM_PRICE) -> None:
    shop.do(shop.users[0], TeamOfferSet(listing=listing, size=size, price=price,
                                        quantity=quantity, window_blocks=window))


def open_team(shop: Shop, user: int, listing: int, share: int = 0) -> int:
    events = shop.do(shop.users[user], TeamOpen(listing=listing, version=1, share=share))
    return int(events[0].data[0])


def stock(shop: Shop, listing: int) -> int:
    from commerce import queries

    found = queries.listing(shop.state, listing)
    assert found is not None
    return int(found["stock"])


def test_team_open_pays_into_team_escrow_and_reserves_the_team_stock(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0], stock=10)
    offer(shop, listing, size=3, quantity=2)
    before = shop.balance(shop.users[1])
    team_id = open_team(shop, 1, listing)
    assert shop.balance(shop.users[1]) == before - 2 * TEAM_PRICE
    assert get_pool(shop.state, POOL_TEAM_ESCROW) == 2 * TEAM_PRICE
    assert stock(shop, listing) == 10 - 6
    record = get_team(shop.state, team_id)
    assert record is not None and record.status == TeamStatus.OPEN
    assert record.deadline == shop.height + 5
    shop.check_supply()


def test_team_full_turns_every_payment_into_a_paid_order(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0], stock=10)
    offer(shop, listing, size=3)
    team_id = open_team(shop, 1, listing)
    shop.do(shop.users[2], TeamJoin(team=team_id))
    events = shop.do(shop.users[3], TeamJoin(team=team_id))
    assert [e.kind for e in events] == ["team_join", "team_filled"]
    first, count = int(events[1].data[1]), int(events[1].data[2])
    assert count == 3
    record = get_team(shop.state, team_id)
    assert record is not None and record.status == TeamStatus.FILLED
    assert record.first_order == first
    assert get_pool(shop.state, POOL_TEAM_ESCROW) == 0
    assert get_supply(shop.state).escrow == 3 * TEAM_PRICE
    for index, order in enumerate(range(first, first + 3)):
        found = get_order(shop.state, order)
        assert found is not None and found.status == OrderStatus.PAID
        assert found.buyer == addr(shop.users[1 + index])
        assert found.total == TEAM_PRICE and found.unit_price == TEAM_PRICE
    assert stock(shop, listing) == 7  # the reservation became the orders' units
    shop.check_supply()


def test_team_order_runs_the_order_life_cycle_and_pays_the_sharer(shop: Shop) -> None:
    merchant, sharer = shop.users[0], shop.users[4]
    listing = create_listing(shop, merchant, referral_bps=1_000)
    offer(shop, listing, size=2)
    share = int(shop.do(sharer, Share(listing=listing))[0].data[0])
    team_id = open_team(shop, 1, listing)
    events = shop.do(shop.users[2], TeamJoin(team=team_id, share=share))
    order = int(events[1].data[1]) + 1  # the joiner's order
    found = get_order(shop.state, order)
    assert found is not None and found.sharer == addr(sharer) and found.share == share
    sharer_before, merchant_before = shop.balance(sharer), shop.balance(merchant)
    shop.do(merchant, OrderShip(order=order))
    shop.do(shop.users[2], OrderConfirm(order=order))
    commission = TEAM_PRICE * 1_000 // 10_000
    assert shop.balance(sharer) == sharer_before + commission
    assert shop.balance(merchant) == merchant_before + TEAM_PRICE - commission
    shop.check_supply()


def test_team_unfilled_at_deadline_refunds_every_member_and_returns_stock(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0], stock=10)
    offer(shop, listing, size=3, quantity=2, window=4)
    balances = [shop.balance(shop.users[i]) for i in (1, 2)]
    team_id = open_team(shop, 1, listing)
    shop.do(shop.users[2], TeamJoin(team=team_id))
    record = get_team(shop.state, team_id)
    assert record is not None
    events = shop.advance(record.deadline - shop.height)
    assert [e.kind for e in events] == ["team_expired"]
    assert int(events[0].data[1]) == 2 * 2 * TEAM_PRICE
    assert [shop.balance(shop.users[i]) for i in (1, 2)] == balances
    assert stock(shop, listing) == 10
    assert get_pool(shop.state, POOL_TEAM_ESCROW) == 0
    expired = get_team(shop.state, team_id)
    assert expired is not None and expired.status == TeamStatus.EXPIRED
    shop.refuse(ErrorCode.TEAM_CLOSED, shop.users[3], TeamJoin(team=team_id))
    shop.check_supply()


def test_team_join_in_the_deadline_block_counts_and_after_it_is_closed(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0])
    offer(shop, listing, size=3, window=4)
    team_id = open_team(shop, 1, listing)
    deadline = shop.height + 4
    shop.advance(deadline - 1 - shop.height)
    assert shop.height + 1 == deadline
    shop.do(shop.users[2], TeamJoin(team=team_id))  # in the deadline's own block
    assert shop.height == deadline
    record = get_team(shop.state, team_id)
    assert record is not None and record.status == TeamStatus.EXPIRED  # its end step ran
    shop.refuse(ErrorCode.TEAM_CLOSED, shop.users[3], TeamJoin(team=team_id))


def test_team_filled_in_the_deadline_block_does_not_expire(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0])
    offer(shop, listing, size=2, window=3)
    team_id = open_team(shop, 1, listing)
    shop.advance(2)
    events = shop.do(shop.users[2], TeamJoin(team=team_id))
    assert [e.kind for e in events] == ["team_join", "team_filled"]
    shop.check_supply()


def test_team_join_refusals(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0])
    offer(shop, listing, size=2)
    team_id = open_team(shop, 1, listing)
    shop.refuse(ErrorCode.NOT_FOUND, shop.users[2], TeamJoin(team=99))
    shop.refuse(ErrorCode.ALREADY_IN_TEAM, shop.users[1], TeamJoin(team=team_id))
    shop.refuse(ErrorCode.SELF_PURCHASE, shop.users[0], TeamJoin(team=team_id))
    other = create_listing(shop, shop.users[0])
    share_other = int(shop.do(shop.users[3], Share(listing=other))[0].data[0])
    shop.refuse(ErrorCode.SHARE_MISMATCH, shop.users[2],
                TeamJoin(team=team_id, share=share_other))
    own = int(shop.do(shop.users[2], Share(listing=listing))[0].data[0])
    shop.refuse(ErrorCode.SELF_REFERRAL, shop.users[2], TeamJoin(team=team_id, share=own))
    shop.refuse(ErrorCode.FIELD_INVALID, shop.users[2],
                TeamJoin(team=team_id, delivery=b"short"))
    shop.do(shop.users[0], ListingDelist(listing=listing))
    shop.refuse(ErrorCode.LISTING_INACTIVE, shop.users[2], TeamJoin(team=team_id))


def test_team_open_without_the_money_is_refused_and_a_team_keeps_its_price(
    shop: Shop,
) -> None:
    listing = create_listing(shop, shop.users[0], price=900 * UNIT)
    offer(shop, listing, size=2, price=600 * UNIT)
    team_id = open_team(shop, 1, listing)  # 400 tokens left
    shop.refuse(ErrorCode.INSUFFICIENT_FUNDS, shop.users[1],
                TeamOpen(listing=listing, version=1))
    offer(shop, listing, size=2, price=500 * UNIT)
    before = shop.balance(shop.users[2])
    shop.do(shop.users[2], TeamJoin(team=team_id))
    assert shop.balance(shop.users[2]) == before - 600 * UNIT  # the team's own terms
    shop.check_supply()


def test_team_open_refusals(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0], stock=5)
    shop.refuse(ErrorCode.NO_TEAM_OFFER, shop.users[1], TeamOpen(listing=listing, version=1))
    offer(shop, listing, size=3, quantity=2)
    shop.refuse(ErrorCode.OUT_OF_STOCK, shop.users[1], TeamOpen(listing=listing, version=1))
    offer(shop, listing, size=2, quantity=2)
    shop.refuse(ErrorCode.STALE_VERSION, shop.users[1], TeamOpen(listing=listing, version=2))
    shop.refuse(ErrorCode.SELF_PURCHASE, shop.users[0], TeamOpen(listing=listing, version=1))
    shop.refuse(ErrorCode.NOT_FOUND, shop.users[1], TeamOpen(listing=99, version=1))
    shop.refuse(ErrorCode.NOT_FOUND, shop.users[1],
                TeamOpen(listing=listing, version=1, share=42))
    shop.do(shop.users[0], TeamOfferEnd(listing=listing))
    shop.refuse(ErrorCode.NO_TEAM_OFFER, shop.users[1], TeamOpen(listing=listing, version=1))
    shop.refuse(ErrorCode.NO_TEAM_OFFER, shop.users[0], TeamOfferEnd(listing=listing))


def test_team_open_past_the_listing_cap_is_team_limit(shop: Shop,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(teams, "MAX_OPEN_TEAMS_PER_LISTING", 1)
    listing = create_listing(shop, shop.users[0])
    offer(shop, listing, size=2)
    open_team(shop, 1, listing)
    shop.refuse(ErrorCode.TEAM_LIMIT, shop.users[2], TeamOpen(listing=listing, version=1))


def test_team_open_past_the_deadline_cap_is_schedule_full(shop: Shop,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(teams, "MAX_TEAM_DEADLINES_PER_HEIGHT", 1)
    listing = create_listing(shop, shop.users[0])
    offer(shop, listing, size=2, window=3)
    txs = [shop.sign(shop.users[i], TeamOpen(listing=listing, version=1)) for i in (1, 2)]
    result = shop.block(txs)
    assert len(result.txs) == 1
    assert result.rejected[0][1].code is ErrorCode.SCHEDULE_FULL
    shop.check_supply()


def test_team_offer_set_refusals(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0])
    body = TeamOfferSet(listing=listing, size=2, price=PRICE + 1, quantity=1, window_blocks=3)
    shop.refuse(ErrorCode.TEAM_OFFER_INVALID, shop.users[0], body)
    fine = TeamOfferSet(listing=listing, size=2, price=PRICE, quantity=1, window_blocks=3)
    shop.refuse(ErrorCode.NOT_OWNER, shop.users[1], fine)
    shop.refuse(ErrorCode.NOT_FOUND, shop.users[0], fine.model_copy(update={"listing": 99}))
    shop.do(shop.users[0], ListingDelist(listing=listing))
    shop.refuse(ErrorCode.LISTING_INACTIVE, shop.users[0], fine)


def test_team_price_never_above_a_lowered_listing_price(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0])
    offer(shop, listing, size=2)
    shop.do(shop.users[0], ListingUpdate(
        listing=listing, version=1, title="Blue mug", description="", category="kitchen",
        price=5 * UNIT, stock=5, media=[], referral_bps=0))
    before = shop.balance(shop.users[1])
    shop.do(shop.users[1], TeamOpen(listing=listing, version=2))
    assert shop.balance(shop.users[1]) == before - 5 * UNIT


def test_team_orders_and_purchases_share_the_stock(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0], stock=3)
    offer(shop, listing, size=2)
    team_id = open_team(shop, 1, listing)
    buy(shop, shop.users[3], listing)
    shop.refuse(ErrorCode.OUT_OF_STOCK, shop.users[4], TeamOpen(listing=listing, version=1))
    shop.do(shop.users[2], TeamJoin(team=team_id))
    assert stock(shop, listing) == 0
    shop.check_supply()


def test_team_queries_list_open_teams_with_seats_and_account_teams(shop: Shop) -> None:
    listing = create_listing(shop, shop.users[0], stock=10)
    offer(shop, listing, size=3, window=6)
    first = open_team(shop, 1, listing)
    second = open_team(shop, 2, listing)
    shop.do(shop.users[3], TeamJoin(team=first))
    page = listing_teams(shop.state, listing)
    assert [(t["id"], t["seats_left"]) for t in page["items"]] == [(first, 1), (second, 2)]
    assert page["items"][0]["deadline"] > shop.height
    half = listing_teams(shop.state, listing, limit=1)
    assert listing_teams(shop.state, listing, cursor=half["next"])["items"][0]["id"] == second
    mine = account_teams(shop.state, addr(shop.users[3]))
    assert [t["id"] for t in mine["items"]] == [first]
    found = team(shop.state, first)
    assert found is not None and found["status"] == "open" and found["seats_left"] == 1
    assert team(shop.state, 99) is None
    terms = team_offer(shop.state, listing)
    assert terms is not None and terms["open_teams"] == 2 and terms["size"] == 3
    shop.do(shop.users[4], TeamJoin(team=first))  # fills
    assert [t["id"] for t in listing_teams(shop.state, listing)["items"]] == [second]
    assert team(shop.state, first)["status"] == "filled"  # type: ignore[index]


def test_team_open_past_the_account_cap_is_team_limit_until_one_closes(
    shop: Shop, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(teams, "MAX_OPEN_TEAMS_PER_ACCOUNT", 2)
    listing = create_listing(shop, shop.users[0], stock=10)
    offer(shop, listing, size=2, window=3)
    first = open_team(shop, 1, listing)
    open_team(shop, 1, listing)
    shop.refuse(ErrorCode.TEAM_LIMIT, shop.users[1], TeamOpen(listing=listing, version=1))
    shop.do(shop.users[2], TeamJoin(team=first))  # fills: one of the two closes
    open_team(shop, 1, listing)
    shop.check_supply()
