"""Fresh keys, funded throwaway keys and self-dealing purchases mint nothing; accounts exist
only above the reserve; a farm cannot take an epoch's rewards from honest buyers.

Method: a chain in memory (shop.Shop, default reserve of 1 token, reward_price_bps 1,000);
each test plays an attacker's plan in blocks and reads the minted supply, the balances and
the reward records afterwards.
"""

from __future__ import annotations

from collections.abc import Callable

from commerce import queries
from commerce.errors import ErrorCode
from commerce.keys import Keypair
from commerce.ledger import get_supply
from commerce.reviews import Review
from commerce.rewards import RewardClaim
from commerce.social import Comment, Share
from commerce.transfer import Transfer
from commerce.tx import TxBody
from tests.commerce.shop import (
    UNIT,
    Shop,
    addr,
    approve,
    complete_purchase,
    create_listing,
    keypair,
)

RESERVE = UNIT  # the genesis default account_reserve_minor


def _accrued(shop: Shop, key: Keypair) -> int:
    return int(queries.rewards(shop.state, addr(key))["accrued"])


def _farm(shop: Shop, keys: list[Keypair], listing: int, collector: Keypair,
          comments: int) -> set[str]:
    """Every farm key's whole plan, one step a block for all keys (each transaction signed
    with the key's next nonce): comment, share, claim, then sweep its balance out. Returns
    the refusal reasons seen."""
    steps: list[Callable[[Keypair], TxBody]] = [
        *[lambda _: Comment(listing=listing, parent=0, text="great!")] * comments,
        lambda _: Share(listing=listing),
        lambda _: RewardClaim(),
        lambda key: Transfer(to=addr(collector), amount=max(1, shop.balance(key))),
    ]
    reasons: set[str] = set()
    for step in steps:
        for start in range(0, len(keys), 500):
            result = shop.block([shop.sign(key, step(key)) for key in keys[start:start + 500]])
            reasons |= {rejection.code.reason for _, rejection in result.rejected}
    return reasons


def test_sybil_thousand_fresh_keys_mint_nothing() -> None:
    """1,000 keys that never held anything comment, share, claim and sweep: every
    transaction is refused (reserve_required) and no token is minted."""
    shop = Shop()
    merchant, collector = shop.users[0], shop.users[5]
    approve(shop, merchant)
    listing = create_listing(shop, merchant)
    minted = get_supply(shop.state).minted
    collected = shop.balance(collector)
    fresh = [Keypair.from_seed(b"fresh" + i.to_bytes(27, "big")) for i in range(1_000)]
    blocks_before = shop.height
    reasons = _farm(shop, fresh, listing, collector, comments=2)
    assert get_supply(shop.state).minted == minted == 0
    assert shop.balance(collector) == collected
    assert reasons == {"reserve_required"}
    assert shop.height - blocks_before == 2 * 5  # every step ran, every transaction refused
    assert all(shop.state.get(b"A" + addr(key)) is None for key in fresh), "no account made"
    for key in fresh[:20]:
        shop.refuse(ErrorCode.RESERVE_REQUIRED, key, RewardClaim())
    assert all(_accrued(shop, key) == 0 for key in fresh)
    shop.check_supply()


def test_sybil_twenty_reserve_funded_keys_comment_claim_and_sweep_mint_nothing() -> None:
    """Keys funded with exactly the reserve (the funder's cost: a reserve locked per key) act,
    but without a completed purchase comments and shares earn nothing, the claim has
    nothing to mint, and the reserve cannot be swept out to fund the next key."""
    shop = Shop()
    merchant, funder = shop.users[0], shop.users[5]
    approve(shop, merchant)
    listing = create_listing(shop, merchant)
    keys = [keypair("farm", i) for i in range(20)]
    funder_before = shop.balance(funder)
    shop.block([shop.sign(funder, Transfer(to=addr(k), amount=RESERVE), nonce=n)
                for n, k in enumerate(keys)])
    assert shop.balance(funder) == funder_before - 20 * RESERVE
    reasons = _farm(shop, keys, listing, funder, comments=5)
    assert get_supply(shop.state).minted == 0
    assert reasons == {"below_reserve", "nothing_to_claim"}
    assert all(_accrued(shop, key) == 0 and shop.balance(key) == RESERVE for key in keys)
    assert shop.balance(funder) == funder_before - 20 * RESERVE
    shop.check_supply()


def test_sybil_one_unit_purchase_through_a_second_account_earns_nothing() -> None:
    """An attacker's two funded accounts: one shares a 1-unit listing, the other buys it
    through the share, confirms, reviews and comments. Purchase-linked rewards are a share
    of the price paid, so nothing accrues and the claim is refused."""
    shop = Shop()
    merchant, sharer, buyer = shop.users[0], shop.users[1], shop.users[2]
    approve(shop, merchant)
    real = create_listing(shop, merchant)
    cheap = create_listing(shop, merchant, price=1, stock=100)
    complete_purchase(shop, merchant, sharer, real)  # the sharer qualifies for share rewards
    sharer_before = _accrued(shop, sharer)
    share = int(shop.do(sharer, Share(listing=cheap))[0].data[0])
    order = complete_purchase(shop, merchant, buyer, cheap, share=share)
    events = shop.do(buyer, Review(order=order, rating=5, text="great"))
    assert events[0].named()["reward"] == 0
    shop.do(buyer, Comment(listing=cheap, parent=0, text="great"))
    assert _accrued(shop, buyer) == 0
    assert _accrued(shop, sharer) == sharer_before
    shop.refuse(ErrorCode.NOTHING_TO_CLAIM, buyer, RewardClaim())


def test_sybil_rewards_scale_with_the_price_paid_up_to_the_schedule() -> None:
    """reward_price_bps (10%) of the price: 300 for a 3,000-unit order (purchase and review
    each), the schedule's amount (1,000 and 500) for a 10-token one."""
    shop = Shop()
    merchant, buyer = shop.users[0], shop.users[1]
    approve(shop, merchant)
    small = create_listing(shop, merchant, price=3_000)
    large = create_listing(shop, merchant)
    first = complete_purchase(shop, merchant, buyer, small)
    assert _accrued(shop, buyer) == 300
    shop.do(buyer, Review(order=first, rating=4, text=""))
    assert _accrued(shop, buyer) == 600
    complete_purchase(shop, merchant, buyer, large)
    assert _accrued(shop, buyer) == 600 + shop.params.reward_purchase_minor


def test_sybil_comment_rewards_draw_only_the_allowance_purchases_earned() -> None:
    """A 500-unit purchase earns a comment allowance of 50: the first comment gets 50 (not
    the schedule's 100), the next nothing."""
    shop = Shop(reward_purchase_minor=0)
    merchant, author = shop.users[0], shop.users[1]
    approve(shop, merchant)
    listing = create_listing(shop, merchant, price=500)
    complete_purchase(shop, merchant, author, listing)
    shop.do(author, Comment(listing=listing, parent=0, text="one"))
    shop.do(author, Comment(listing=listing, parent=0, text="two"))
    assert _accrued(shop, author) == 50


def test_sybil_farm_cannot_starve_honest_buyers_of_the_epoch() -> None:
    """Three farm accounts buy 10-token items first in the epoch; the per-account cap (800)
    stops each, so an honest buyer after them is still rewarded from the epoch cap."""
    shop = Shop(reward_epoch_cap_minor=3_000, reward_account_epoch_cap_minor=800,
                epoch_blocks=1_000)
    merchant, honest = shop.users[0], shop.users[4]
    farm = shop.users[1:4]
    approve(shop, merchant)
    listing = create_listing(shop, merchant, stock=10)
    for key in farm:
        for _ in range(2):
            complete_purchase(shop, merchant, key, listing)
    assert [_accrued(shop, key) for key in farm] == [800, 800, 800]
    complete_purchase(shop, merchant, honest, listing)
    assert _accrued(shop, honest) == 600  # what the farm left of the epoch cap


def test_accounts_transfer_below_the_reserve_to_a_new_account_is_refused() -> None:
    """A transfer creating an account must carry the reserve; a debit leaves it locked."""
    shop = Shop()
    sender, stranger = shop.users[1], keypair("new", 1)
    shop.refuse(ErrorCode.BELOW_RESERVE, sender,
                Transfer(to=addr(stranger), amount=RESERVE - 1))
    shop.do(sender, Transfer(to=addr(stranger), amount=RESERVE))
    shop.refuse(ErrorCode.BELOW_RESERVE, stranger,
                Transfer(to=addr(sender), amount=1))  # the reserve is locked
    shop.do(sender, Transfer(to=addr(stranger), amount=1))  # the account exists now
    shop.do(stranger, Transfer(to=addr(sender), amount=1))
    assert shop.balance(stranger) == RESERVE


def test_accounts_whole_balance_cannot_be_swept_below_the_reserve() -> None:
    shop = Shop()
    sender, other = shop.users[1], shop.users[2]
    balance = shop.balance(sender)
    shop.refuse(ErrorCode.BELOW_RESERVE, sender, Transfer(to=addr(other), amount=balance))
    shop.refuse(ErrorCode.INSUFFICIENT_FUNDS, sender,
                Transfer(to=addr(other), amount=balance + 1))
    shop.do(sender, Transfer(to=addr(other), amount=balance - RESERVE))
    assert shop.balance(sender) == RESERVE


def test_accounts_unfunded_validators_still_vote_and_earn_nothing() -> None:
    """Validators are exempt from holding the reserve to act (they vote on merchants and
    disputes), but like anyone without it they earn no rewards."""
    shop = Shop(fund_validators=False)
    approve(shop, shop.users[0])
    assert queries.merchant(shop.state, addr(shop.users[0]))["status"] == "approved"
    validator = shop.validators[0]
    listing = create_listing(shop, shop.users[0])
    shop.do(validator, Comment(listing=listing, parent=0, text="as a validator"))
    assert _accrued(shop, validator) == 0
    shop.refuse(ErrorCode.NOTHING_TO_CLAIM, validator, RewardClaim())
