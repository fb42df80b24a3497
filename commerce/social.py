"""Shares and comments: the social side of a listing.

A share is an account's referral link to a listing (one per account and listing; its id is
what the link carries). A buyer who names it pays the sharer a commission out of the
escrowed payment, and the share's first completed purchase earns the sharer a reward
priced on that order (only a sharer with a completed purchase of its own). A merchant
cannot share its own listing. Comments are open to every account that can act, on a
listing or in reply to a comment of the same listing, to a bounded depth; the first
`reward_comment_limit` comments of a buyer in each epoch earn the comment reward, drawn
from the allowance its purchases earned (commerce.rewards).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from commerce.errors import ErrorCode, ValidationError
from commerce.limits import MAX_COMMENT_CHARS, MAX_COMMENT_DEPTH
from commerce.listings import require_listing
from commerce.machine import ChainContext, Event, register_handler
from commerce.rewards import accrue_comment
from commerce.schema import (
    COUNTER_COMMENT,
    COUNTER_SHARE,
    CommentRecord,
    RecordId,
    ShareRecord,
    comment_key,
    comments_of_key,
    load,
    next_id,
    share_key,
    share_of_key,
    u64,
)
from commerce.state import Overlay, StateReader
from commerce.tx import Transaction, TxBody, register_body


def get_comment(view: StateReader | Overlay, comment: int) -> CommentRecord | None:
    """A comment record, or None."""
    return load(view, CommentRecord, comment_key(comment))


@register_body
class Share(TxBody):
    """Create the sender's referral link to `listing`."""

    TYPE = "share"
    listing: RecordId


def apply_share(ctx: ChainContext, view: Overlay, tx: Transaction, body: Share) -> list[Event]:
    """Refuses not_found, listing_inactive, self_referral (own listing), already_shared."""
    # Read once: a pydantic model's attribute read is ~400 instructions (its class defines
    # __getattr__, so the interpreter cannot specialise the read).
    listing_id = body.listing
    sender = tx.sender_address
    listing = require_listing(view, listing_id)
    if not listing.active:
        raise ValidationError(ErrorCode.LISTING_INACTIVE, f"listing {listing_id} is delisted")
    if listing.merchant == sender:
        raise ValidationError(ErrorCode.SELF_REFERRAL, "a merchant cannot share its own listing")
    of_key = share_of_key(sender, listing_id)
    if view.get(of_key) is not None:
        raise ValidationError(ErrorCode.ALREADY_SHARED, "the account shared this listing")
    share = next_id(view, COUNTER_SHARE)
    view.put(share_key(share), ShareRecord(listing_id, sender, ctx.height).to_bytes())
    view.put(of_key, u64(share))
    return [Event("share", (sender,), (share, listing_id))]


register_handler(Share)(apply_share)


@register_body
class Comment(TxBody):
    """A comment on `listing`; `parent` is the comment replied to, 0 for top level."""

    TYPE = "comment"
    listing: RecordId
    parent: Annotated[int, Field(ge=0)]
    text: Annotated[str, Field(min_length=1, max_length=MAX_COMMENT_CHARS)]


def apply_comment(ctx: ChainContext, view: Overlay, tx: Transaction, body: Comment) -> list[Event]:
    """Refuses not_found (listing, or parent comment not on this listing),
    comment_too_deep."""
    listing_id, parent_id = body.listing, body.parent  # read once (see apply_share)
    sender = tx.sender_address
    require_listing(view, listing_id)
    depth = 0
    parent: CommentRecord | None = None
    if parent_id:
        parent = get_comment(view, parent_id)
        if parent is None or parent.listing != listing_id:
            raise ValidationError(
                ErrorCode.NOT_FOUND, f"no comment {parent_id} on listing {listing_id}"
            )
        depth = parent.depth + 1
        if depth > MAX_COMMENT_DEPTH:
            raise ValidationError(
                ErrorCode.COMMENT_TOO_DEEP, f"replies nest at most {MAX_COMMENT_DEPTH} deep"
            )
    comment = next_id(view, COUNTER_COMMENT)
    record = CommentRecord(listing_id, sender, parent_id, depth, body.text, ctx.height)
    view.put(comment_key(comment), record.to_bytes())
    view.put(comments_of_key(listing_id, comment), b"")
    if parent is not None:
        parent.replies += 1
        view.put(comment_key(parent_id), parent.to_bytes())
    reward = accrue_comment(ctx, view, comment, sender)
    return [Event("comment", (sender,), (comment, listing_id, reward))]


register_handler(Comment)(apply_comment)
