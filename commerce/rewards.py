"""Rewards: accrual priced against Sybil farms, under per-account and global epoch caps,
and `reward_claim`.

An action accrues its reward when it happens (a purchase or a share when the order
completes, a review when written, a comment when posted within the author's per-epoch
quota). Each rewardable action leaves a marker keyed by (kind, id), written once, so no
action is rewarded twice.

Pricing (docs/COMMERCE.md, "Rewards"): nothing is free to earn.
- The earner must hold the account reserve (`account_reserve_minor`, locked once held,
  see commerce.ledger): a fresh key earns nothing, and every farm account locks a reserve.
- Purchase-linked rewards (purchase, review, share) are `reward_price_bps` of the amount
  paid, capped by the schedule's amount: buying a 1-unit listing earns nothing.
- Share and comment rewards go only to accounts with a completed purchase; comment rewards
  are drawn from the comment allowance those purchases earned (`reward_price_bps` of what
  was paid), so comments never earn more than a share of what the author spent.
- Caps: an account is granted at most `reward_account_epoch_cap_minor` per epoch
  (height // epoch_blocks, renumbered forward when a vote changes the length:
  docs/GOVERNANCE.md), and the epoch at most `reward_epoch_cap_minor` in all, in
  execution order (block order, then the end-of-block step): the grant that crosses a cap
  gets the remainder, later ones 0 (their marker says so). A farm needs one reserve and
  one purchase history per account-cap of rewards, so it cannot take the epoch for free.
Accrued rewards are not money yet: `reward_claim` mints them into the balance and into
Supply.minted, and minting happens nowhere else.
"""

from __future__ import annotations

from commerce.address import ADDRESS_BYTES
from commerce.errors import ErrorCode, ValidationError
from commerce.governance_state import epoch_at
from commerce.ledger import credit, get_supply, holds_reserve, put_supply
from commerce.limits import BPS_DENOMINATOR, MAX_AMOUNT_MINOR
from commerce.machine import ChainContext, Event, register_handler
from commerce.schema import (
    ACTION_COMMENT,
    ACTION_PURCHASE,
    ACTION_SHARE,
    OrderRecord,
    RewardedRecord,
    RewardRecord,
    epoch_key,
    get_u64,
    load,
    reward_key,
    rewarded_key,
    u64,
)
from commerce.state import Overlay, StateReader
from commerce.tx import Transaction, TxBody, register_body


def epoch_of(ctx: ChainContext) -> int:
    """The reward epoch of the block being executed: height // epoch_blocks, counted from
    the epoch origin once governance changed the length (docs/GOVERNANCE.md)."""
    return epoch_at(ctx.height, ctx.params.epoch_blocks, ctx.epoch_origin)


def get_rewards(view: StateReader | Overlay, account: bytes) -> RewardRecord:
    """An account's reward record (a fresh one when absent)."""
    record = load(view, RewardRecord, reward_key(account))
    return record if record is not None else RewardRecord()


def priced(ctx: ChainContext, paid: int, schedule: int) -> int:
    """A purchase-linked reward: `reward_price_bps` of the amount `paid` (floor), at most
    the `schedule` amount."""
    assert paid >= 0 and schedule >= 0
    reward = min(schedule, paid * ctx.params.reward_price_bps // BPS_DENOMINATOR)
    assert 0 <= reward <= paid, "a reward is a share of what was paid"
    return reward


def accrue(ctx: ChainContext, view: Overlay, kind: bytes, action: int, account: bytes,
           amount: int, *, fresh: bool = False, record: RewardRecord | None = None) -> int:
    """Grant `account` the reward of action (`kind`, `action`), within the caps.

    Returns the amount granted: 0 (and no marker) when the amount is 0, the action was
    rewarded before or the account does not hold the reserve; 0 with a marker when a cap is
    reached. Never raises: a reward never blocks the action. `fresh` says the action's id
    was issued by this very transaction, so it cannot have a marker yet (the lookup is
    skipped). `record` is the account's reward record when the caller holds it already; it
    is then updated in place and stored only if something was granted (the caller stores
    it otherwise).
    """
    assert amount >= 0, "rewards are not negative"
    assert len(account) == ADDRESS_BYTES
    key = rewarded_key(kind, action)
    if amount == 0 or (not fresh and view.get(key) is not None):
        return 0
    params = ctx.params
    if not holds_reserve(view, account, params.account_reserve_minor):
        return 0  # never held the reserve: a fresh key earns nothing
    epoch = epoch_of(ctx)
    if record is None:
        record = get_rewards(view, account)
    if record.grant_epoch != epoch:
        record.grant_epoch = epoch
        record.grant_epoch_total = 0
    used = get_u64(view, epoch_key(epoch))
    cap = params.reward_epoch_cap_minor
    account_cap = params.reward_account_epoch_cap_minor
    granted = max(0, min(amount, cap - used, account_cap - record.grant_epoch_total))
    view.put(key, RewardedRecord(account, granted, epoch, ctx.height).to_bytes())
    if granted == 0:
        return 0
    view.put(epoch_key(epoch), u64(used + granted))
    record.accrued += granted
    record.grant_epoch_total += granted
    view.put(reward_key(account), record.to_bytes())
    assert used + granted <= cap, "the epoch cap holds"
    assert record.grant_epoch_total <= account_cap, "the account's epoch cap holds"
    return granted


def accrue_completed_order(ctx: ChainContext, view: Overlay, order: int,
                           record: OrderRecord) -> None:
    """At an order's release: count the buyer's completed purchase, add its comment
    allowance, and grant the purchase reward and (to a sharer with a completed purchase of
    its own) the share reward, both priced on the order's total."""
    params = ctx.params
    buyer = get_rewards(view, record.buyer)
    buyer.purchases += 1
    buyer.comment_allowance = min(
        MAX_AMOUNT_MINOR,
        buyer.comment_allowance + record.total * params.reward_price_bps // BPS_DENOMINATOR)
    # An order completes once, so its purchase marker is fresh.
    accrue(ctx, view, ACTION_PURCHASE, order, record.buyer,
           priced(ctx, record.total, params.reward_purchase_minor), fresh=True, record=buyer)
    view.put(reward_key(record.buyer), buyer.to_bytes())
    if record.share and get_rewards(view, record.sharer).purchases > 0:
        # A share converts in many orders, so its marker is looked up.
        accrue(ctx, view, ACTION_SHARE, record.share, record.sharer,
               priced(ctx, record.total, params.reward_share_minor))


def accrue_comment(ctx: ChainContext, view: Overlay, comment: int, author: bytes) -> int:
    """Reward a comment (`comment` is the id just issued) if the author has a completed
    purchase, is within the per-epoch comment quota, and has comment allowance left."""
    record = get_rewards(view, author)
    if record.purchases == 0:
        return 0  # comment rewards go only to buyers
    epoch = epoch_of(ctx)
    if record.comment_epoch != epoch:
        record.comment_epoch = epoch
        record.comment_count = 0
    if record.comment_count >= ctx.params.reward_comment_limit:
        return 0
    record.comment_count += 1
    amount = min(ctx.params.reward_comment_minor, record.comment_allowance)
    granted = accrue(ctx, view, ACTION_COMMENT, comment, author, amount, fresh=True,
                     record=record)
    record.comment_allowance -= granted
    assert record.comment_allowance >= 0, "comments draw only the allowance purchases earned"
    view.put(reward_key(author), record.to_bytes())
    return granted


@register_body
class RewardClaim(TxBody):
    """Mint everything the sender accrued into its balance."""

    TYPE = "reward_claim"


def apply_reward_claim(ctx: ChainContext, view: Overlay, tx: Transaction,
                       body: RewardClaim) -> list[Event]:
    """Refuses nothing_to_claim and supply_limit; otherwise mints the accrued amount."""
    sender = tx.sender_address
    record = get_rewards(view, sender)
    amount = record.accrued
    if amount == 0:
        raise ValidationError(ErrorCode.NOTHING_TO_CLAIM, "no rewards accrued")
    supply = get_supply(view)
    if supply.total + amount > MAX_AMOUNT_MINOR:
        raise ValidationError(ErrorCode.SUPPLY_LIMIT, "the supply would exceed the maximum")
    credit(view, sender, amount)
    supply.minted += amount
    put_supply(view, supply)
    record.claimed += amount
    record.accrued = 0
    view.put(reward_key(sender), record.to_bytes())
    return [Event("reward_claim", (sender,), (amount,))]


register_handler(RewardClaim)(apply_reward_claim)
