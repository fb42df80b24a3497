"""Merchants: registration, and approval, suspension and reinstatement by the validators.

A merchant registers (pending); it is approved once more than two thirds of all validators
voted `approve` (distinct validators, counted per round). An approved merchant can be
suspended by the same rule and a suspended one reinstated. Each status change opens a new
round, so votes never carry over from one question to the next. Voting power is one per
validator, never per token: governance is not bought.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field

from commerce.address import address_of
from commerce.errors import ErrorCode, ValidationError
from commerce.limits import MAX_NAME_CHARS, MAX_PROFILE_CHARS
from commerce.machine import ChainContext, Event, register_handler
from commerce.schema import (
    AddressField,
    MerchantRecord,
    MerchantStatus,
    load,
    merchant_key,
    merchant_vote_key,
)
from commerce.state import Overlay, StateReader
from commerce.tx import Transaction, TxBody, register_body


def require_validator(ctx: ChainContext, tx: Transaction) -> None:
    """Raise not_validator unless the sender's key is a validator's."""
    if tx.sender not in ctx.validators:
        raise ValidationError(ErrorCode.NOT_VALIDATOR, "the sender is not a validator")


def supermajority(ctx: ChainContext, votes: int) -> bool:
    """True when `votes` is more than two thirds of all validators."""
    assert 0 <= votes <= len(ctx.validators), "at most one vote per validator"
    return votes * 3 > 2 * len(ctx.validators)


@lru_cache(maxsize=16)
def validator_addresses(validators: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """The account addresses of the validators' public keys, in the set's order."""
    return tuple(address_of(key) for key in validators)


def stored_votes(ctx: ChainContext, view: Overlay, prefix: bytes) -> list[bytes]:
    """The votes stored under `prefix` by validators of the set in force, in the set's order.

    A vote's key is `prefix` + the voter's address, so one read per validator of the set
    finds every vote that counts (a removed validator's vote is never read): the set
    changes by governance (docs/GOVERNANCE.md), so a tally is recounted against the
    current set rather than kept as a running sum. Reads, not a scan of the prefix: a scan
    of an overlay walks every key the block wrote so far."""
    get = view.get
    votes = [get(prefix + voter) for voter in validator_addresses(ctx.validators)]
    return [vote for vote in votes if vote is not None]


def counted_votes(ctx: ChainContext, view: Overlay, prefix: bytes) -> int:
    """The number of `stored_votes` under `prefix`."""
    return len(stored_votes(ctx, view, prefix))


def get_merchant(view: StateReader | Overlay, merchant: bytes) -> MerchantRecord | None:
    """The merchant record of an address, or None."""
    return load(view, MerchantRecord, merchant_key(merchant))


def put_merchant(view: Overlay, merchant: bytes, record: MerchantRecord) -> None:
    """Store a merchant record."""
    view.put(merchant_key(merchant), record.to_bytes())


def require_merchant(view: Overlay, merchant: bytes) -> MerchantRecord:
    """The record of an approved merchant; raises not_merchant or merchant_suspended."""
    record = get_merchant(view, merchant)
    if record is None or record.status == MerchantStatus.PENDING:
        raise ValidationError(ErrorCode.NOT_MERCHANT, "the sender is not an approved merchant")
    if record.status == MerchantStatus.SUSPENDED:
        raise ValidationError(ErrorCode.MERCHANT_SUSPENDED, "the merchant is suspended")
    assert record.status == MerchantStatus.APPROVED
    return record


@register_body
class MerchantRegister(TxBody):
    """Apply to become a merchant; the sender's key is the one buyers seal details to."""

    TYPE = "merchant_register"
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)]
    profile: Annotated[str, Field(max_length=MAX_PROFILE_CHARS)] = ""


def apply_merchant_register(ctx: ChainContext, view: Overlay, tx: Transaction,
                            body: MerchantRegister) -> list[Event]:
    """Record a pending merchant; refuses already_registered."""
    sender = tx.sender_address
    if get_merchant(view, sender) is not None:
        raise ValidationError(ErrorCode.ALREADY_REGISTERED, "the account is a merchant already")
    record = MerchantRecord(tx.sender, body.name, body.profile, MerchantStatus.PENDING, 0, 0,
                            ctx.height, ctx.height)
    put_merchant(view, sender, record)
    return [Event("merchant_register", (sender,), ())]


register_handler(MerchantRegister)(apply_merchant_register)


# The status a vote applies to, and the status it leads to.
_VOTE_TRANSITIONS: dict[str, tuple[MerchantStatus, MerchantStatus]] = {
    "approve": (MerchantStatus.PENDING, MerchantStatus.APPROVED),
    "suspend": (MerchantStatus.APPROVED, MerchantStatus.SUSPENDED),
    "reinstate": (MerchantStatus.SUSPENDED, MerchantStatus.APPROVED),
}


@register_body
class MerchantVote(TxBody):
    """A validator's yes vote to approve, suspend or reinstate a merchant."""

    TYPE = "merchant_vote"
    merchant: AddressField
    action: Literal["approve", "suspend", "reinstate"]


def apply_merchant_vote(ctx: ChainContext, view: Overlay, tx: Transaction,
                        body: MerchantVote) -> list[Event]:
    """Count a validator's vote; the status changes on more than two thirds of validators.

    Refuses not_validator, not_found, merchant_state (the action does not apply to the
    current status) and already_voted (this validator voted in this round).
    """
    require_validator(ctx, tx)
    record = get_merchant(view, body.merchant)
    if record is None:
        raise ValidationError(ErrorCode.NOT_FOUND, "no merchant at that address")
    before, after = _VOTE_TRANSITIONS[body.action]
    if record.status != before:
        raise ValidationError(
            ErrorCode.MERCHANT_STATE, f"cannot {body.action} a merchant in this status"
        )
    sender = tx.sender_address
    vote_key = merchant_vote_key(body.merchant, record.round, sender)
    if view.get(vote_key) is not None:
        raise ValidationError(ErrorCode.ALREADY_VOTED, "this validator voted in this round")
    view.put(vote_key, b"")
    record.votes = counted_votes(ctx, view, merchant_vote_key(body.merchant, record.round, b""))
    events = [Event("merchant_vote", (sender, body.merchant), (body.action, record.votes))]
    if supermajority(ctx, record.votes):
        record.status = after
        record.round += 1
        record.votes = 0
        record.status_height = ctx.height
        events.append(Event("merchant_status", (body.merchant,), (body.action,)))
    put_merchant(view, body.merchant, record)
    return events


register_handler(MerchantVote)(apply_merchant_vote)
