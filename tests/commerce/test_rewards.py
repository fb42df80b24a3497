"""Rewards: accrual by the schedule priced on what was paid, once per action, the comment
quota, the epoch caps, and minting by `reward_claim` only.

Method: a chain in memory with small reward amounts (shop.FAST_PARAMS); each test reads
the reward records and the supply after the actions.
"""

from __future__ import annotations

from commerce import queries
from commerce.errors import ErrorCode
from commerce.ledger import get_supply
from commerce.orders import OrderConfirm, OrderShip
from commerce.reviews import Review
from commerce.rewards import RewardClaim
from commerce.schema import P_REWARDED, RewardedRecord
from commerce.social import Comment, Share
from tests.commerce.shop import Shop, addr, approve, buy, complete_purchase, create_listing


def _accrued(shop: Shop, index: int) -> int:
    return int(queries.rewards(shop.state, addr(shop.users[index]))["accrued"])


def test_rewards_accrue_for_purchase_share_review_and_claim_mints() -> None:
    shop = Shop()
    merchant, buyer, sharer = shop.users[0], shop.users[1], shop.users[2]
    approve(shop, merchant)
    listing = create_listing(shop, merchant)  # 10 tokens: every reward at its schedule cap
    complete_purchase(shop, merchant, sharer, listing)  # a sharer is rewarded once a buyer
    sharer_before = _accrued(shop, 2)
    share = int(shop.do(sharer, Share(listing=listing))[0].data[0])
    first = buy(shop, buyer, listing, share=share)
    second = buy(shop, buyer, listing, share=share)
    assert _accrued(shop, 1) == 0 and _accrued(shop, 2) == sharer_before  # until completion
    for order in (first, second):
        shop.do(merchant, OrderShip(order=order))
        shop.do(buyer, OrderConfirm(order=order))
    p = shop.params
    assert _accrued(shop, 1) == 2 * p.reward_purchase_minor
    assert _accrued(shop, 2) == sharer_before + p.reward_share_minor  # a share: once
    shop.do(buyer, Review(order=first, rating=5, text=""))
    assert _accrued(shop, 1) == 2 * p.reward_purchase_minor + p.reward_review_minor
    supply_before = get_supply(shop.state)
    balance_before = shop.balance(buyer)
    shop.do(buyer, RewardClaim())
    claimed = 2 * p.reward_purchase_minor + p.reward_review_minor
    assert shop.balance(buyer) - balance_before == claimed
    assert get_supply(shop.state).minted - supply_before.minted == claimed
    assert queries.rewards(shop.state, addr(buyer))["claimed"] == claimed
    shop.refuse(ErrorCode.NOTHING_TO_CLAIM, buyer, RewardClaim())
    shop.check_supply()


def test_rewards_comment_quota_per_account_per_epoch() -> None:
    shop = Shop(reward_purchase_minor=0)
    approve(shop, shop.users[0])
    listing = create_listing(shop, shop.users[0])
    author = shop.users[3]
    complete_purchase(shop, shop.users[0], author, listing)  # comments reward buyers only
    limit = shop.params.reward_comment_limit
    for _ in range(limit + 2):
        shop.do(author, Comment(listing=listing, parent=0, text="nice"))
    assert _accrued(shop, 3) == limit * shop.params.reward_comment_minor
    shop.advance(shop.params.epoch_blocks - shop.height % shop.params.epoch_blocks)
    shop.do(author, Comment(listing=listing, parent=0, text="new epoch"))
    assert _accrued(shop, 3) == (limit + 1) * shop.params.reward_comment_minor


def test_rewards_epoch_cap_grants_first_comers_then_nothing() -> None:
    shop = Shop(reward_epoch_cap_minor=250, reward_comment_minor=100, reward_comment_limit=5,
                reward_purchase_minor=0)
    approve(shop, shop.users[0])
    listing = create_listing(shop, shop.users[0])
    for i in (1, 2, 3, 4):
        complete_purchase(shop, shop.users[0], shop.users[i], listing)
    txs = [shop.sign(shop.users[i], Comment(listing=listing, parent=0, text="hi"))
           for i in (1, 2, 3, 4)]
    shop.block(txs)
    assert [_accrued(shop, i) for i in (1, 2, 3, 4)] == [100, 100, 50, 0]
    markers = [RewardedRecord.from_bytes(v) for _, v in shop.state.iterate(P_REWARDED)]
    assert sorted(m.amount for m in markers) == [0, 50, 100, 100]
    shop.advance(shop.params.epoch_blocks - shop.height % shop.params.epoch_blocks)
    shop.do(shop.users[4], Comment(listing=listing, parent=0, text="again"))
    assert _accrued(shop, 4) == 100


def test_rewards_supply_limit_refuses_minting_over_the_maximum() -> None:
    from commerce.ledger import Supply, put_supply
    from commerce.limits import MAX_AMOUNT_MINOR
    from commerce.state import Overlay

    shop = Shop()
    approve(shop, shop.users[0])
    listing = create_listing(shop, shop.users[0])
    complete_purchase(shop, shop.users[0], shop.users[1], listing)
    view = Overlay(shop.state)
    supply = get_supply(view)
    put_supply(view, Supply(supply.genesis, MAX_AMOUNT_MINOR - supply.genesis, supply.escrow))
    shop.state.apply(view.writes)
    shop.refuse(ErrorCode.SUPPLY_LIMIT, shop.users[1], RewardClaim())
