"""Rewards: accrual by the genesis schedule under a per-epoch cap, and `reward_claim`.

An action accrues its reward when it happens (a purchase or a share when the order
completes, a review when written, a comment when posted within the author's per-epoch
quota). Each rewardable action leaves a marker keyed by (kind, id), written once, so no
action is rewarded twice. The epoch (height // epoch_blocks) has a cap: actions are granted
in execution order (block order, then the end-of-block step) until the cap is reached; the
one that crosses it gets the remainder, later ones get 0 (their marker says so).
Accrued rewards are not money yet: `reward_claim` mints them into the balance and into
Supply.minted, and minting happens nowhere else.
"""

from __future__ import annotations

from commerce.errors import ErrorCode, ValidationError
from commerce.ledger import credit, get_supply, put_supply
from commerce.limits import MAX_AMOUNT_MINOR
from commerce.machine import ChainContext, Event, register_handler
from commerce.schema import (
    ACTION_COMMENT,
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
    """The reward epoch of the block being executed."""
    return ctx.height // ctx.params.epoch_blocks


def get_rewards(view: StateReader | Overlay, account: bytes) -> RewardRecord:
    """An account's reward record (a fresh one when absent)."""
    record: RewardRecord | None = load(view, RewardRecord, reward_key(account))
    return record if record is not None else RewardRecord()


def accrue(ctx: ChainContext, view: Overlay, kind: bytes, action: int, account: bytes,
           amount: int, *, fresh: bool = False, record: RewardRecord | None = None) -> int:
    """Grant `account` the reward of action (`kind`, `action`), within the epoch cap.

    Returns the amount granted (0 when the schedule pays nothing, the action was rewarded
    before, or the cap is reached). Never raises: a reward never blocks the action.
    `fresh` says the action's id was issued by this very transaction, so it cannot have
    a marker yet (the lookup is skipped). `record` is the account's reward record when the
    caller holds it already; it is then updated in place and stored only if something was
    granted (the caller stores it otherwise).
    """
    assert amount >= 0, "rewards are not negative"
    assert len(account) == 20
    key = rewarded_key(kind, action)
    if amount == 0 or (not fresh and view.get(key) is not None):
        return 0
    epoch = epoch_of(ctx)
    used = get_u64(view, epoch_key(epoch))
    cap = ctx.params.reward_epoch_cap_minor
    granted = max(0, min(amount, cap - used))
    view.put(key, RewardedRecord(account, granted, epoch, ctx.height).to_bytes())
    if granted == 0:
        return 0
    view.put(epoch_key(epoch), u64(used + granted))
    if record is None:
        record = get_rewards(view, account)
    record.accrued += granted
    view.put(reward_key(account), record.to_bytes())
    assert used + granted <= cap, "the epoch cap holds"
    return granted


def accrue_comment(ctx: ChainContext, view: Overlay, comment: int, author: bytes) -> int:
    """Reward a comment (`comment` is the id just issued) if the author is within the
    per-epoch comment quota."""
    epoch = epoch_of(ctx)
    record = get_rewards(view, author)
    if record.comment_epoch != epoch:
        record.comment_epoch = epoch
        record.comment_count = 0
    if record.comment_count >= ctx.params.reward_comment_limit:
        return 0
    record.comment_count += 1
    granted = accrue(ctx, view, ACTION_COMMENT, comment, author,
                     ctx.params.reward_comment_minor, fresh=True, record=record)
    if granted == 0:
        view.put(reward_key(author), record.to_bytes())
    return granted


@register_body
class RewardClaim(TxBody):
    """Mint everything the sender accrued into its balance."""

    TYPE = "reward_claim"


@register_handler(RewardClaim.TYPE)
def apply_reward_claim(ctx: ChainContext, view: Overlay, tx: Transaction) -> list[Event]:
    """Refuses nothing_to_claim and supply_limit; otherwise mints the accrued amount."""
    assert isinstance(tx.body, RewardClaim)
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
