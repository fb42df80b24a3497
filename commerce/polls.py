"""Polls: a merchant asks about its products, a validator about the marketplace.

One vote per account, one account one vote (never weighted by tokens). A merchant's poll
may be limited to its buyers: accounts with at least one completed order from it. A poll
accepts votes in blocks below its closing height; the tallies are in state all along.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from commerce.errors import ErrorCode, ValidationError
from commerce.limits import MAX_OPTION_CHARS, MAX_POLL_OPTIONS, MAX_QUESTION_CHARS
from commerce.listings import require_listing
from commerce.machine import ChainContext, Event, register_handler
from commerce.merchants import require_merchant, require_validator
from commerce.schema import (
    COUNTER_POLL,
    PollRecord,
    RecordId,
    buyer_of_key,
    load,
    next_id,
    poll_key,
    poll_vote_key,
    u64,
)
from commerce.state import Overlay, StateReader
from commerce.tx import Transaction, TxBody, register_body

PollOption = Annotated[str, Field(min_length=1, max_length=MAX_OPTION_CHARS)]


def get_poll(view: StateReader | Overlay, poll: int) -> PollRecord | None:
    """A poll record, or None."""
    return load(view, PollRecord, poll_key(poll))


@register_body
class PollCreate(TxBody):
    """A poll: `scope` "merchant" (sender an approved merchant; `listing` 0 or one of its
    own) or "marketplace" (sender a validator; no listing, not buyers-only)."""

    TYPE = "poll_create"
    question: Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS)]
    options: Annotated[list[PollOption], Field(min_length=2, max_length=MAX_POLL_OPTIONS)]
    scope: Literal["merchant", "marketplace"]
    listing: Annotated[int, Field(ge=0)]
    buyers_only: bool
    close_height: Annotated[int, Field(ge=1)]


def apply_poll_create(ctx: ChainContext, view: Overlay, tx: Transaction,
                      body: PollCreate) -> list[Event]:
    """Refuses not_merchant, merchant_suspended, not_validator, not_found, not_owner,
    field_invalid (duplicate options, marketplace poll with a listing or buyers-only),
    poll_window (closing height not after this block or beyond poll_max_blocks)."""
    sender = tx.sender_address
    if len(set(body.options)) != len(body.options):
        raise ValidationError(ErrorCode.FIELD_INVALID, "poll_create.options: duplicates")
    merchant = b""
    if body.scope == "merchant":
        require_merchant(view, sender)
        merchant = sender
        if body.listing:
            listing = require_listing(view, body.listing)
            if listing.merchant != sender:
                raise ValidationError(ErrorCode.NOT_OWNER, "the listing is another merchant's")
    else:
        require_validator(ctx, tx)
        if body.listing or body.buyers_only:
            raise ValidationError(
                ErrorCode.FIELD_INVALID, "a marketplace poll has no listing and no buyers_only"
            )
    if not ctx.height < body.close_height <= ctx.height + ctx.params.poll_max_blocks:
        raise ValidationError(
            ErrorCode.POLL_WINDOW,
            f"close_height must be in ({ctx.height}, {ctx.height + ctx.params.poll_max_blocks}]",
        )
    poll = next_id(view, COUNTER_POLL)
    record = PollRecord(sender, merchant, body.listing, body.question, list(body.options),
                        body.buyers_only, body.close_height, ctx.height,
                        [0] * len(body.options), 0)
    view.put(poll_key(poll), record.to_bytes())
    return [Event("poll_create", (sender,), (poll,))]


register_handler(PollCreate)(apply_poll_create)


@register_body
class PollVote(TxBody):
    """The sender's vote for option index `option` (0-based) of `poll`."""

    TYPE = "poll_vote"
    poll: RecordId
    option: Annotated[int, Field(ge=0, lt=MAX_POLL_OPTIONS)]


def apply_poll_vote(ctx: ChainContext, view: Overlay, tx: Transaction,
                    body: PollVote) -> list[Event]:
    """Refuses not_found, poll_closed, field_invalid (no such option), already_voted,
    not_buyer (buyers-only poll and no completed order from the merchant)."""
    # Each field read once: a pydantic model's attribute read is ~400 instructions (its
    # class defines __getattr__, so the interpreter cannot specialise the read).
    poll, option = body.poll, body.option
    sender = tx.sender_address
    record = get_poll(view, poll)
    if record is None:
        raise ValidationError(ErrorCode.NOT_FOUND, f"no poll {poll}")
    if ctx.height >= record.close_height:
        raise ValidationError(ErrorCode.POLL_CLOSED, f"poll closed at {record.close_height}")
    if option >= len(record.options):
        raise ValidationError(ErrorCode.FIELD_INVALID, f"poll has {len(record.options)} options")
    vote_key = poll_vote_key(poll, sender)
    if view.get(vote_key) is not None:
        raise ValidationError(ErrorCode.ALREADY_VOTED, "the account voted in this poll")
    if record.buyers_only and view.get(buyer_of_key(record.merchant, sender)) is None:
        raise ValidationError(ErrorCode.NOT_BUYER, "the poll is for the merchant's buyers")
    view.put(vote_key, u64(option))
    record.tallies[option] += 1
    record.voters += 1
    view.put(poll_key(poll), record.to_bytes())
    return [Event("poll_vote", (sender,), (poll, option))]


register_handler(PollVote)(apply_poll_vote)
