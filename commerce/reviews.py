"""Reviews: only the buyer of a completed order reviews it, once, for ever; the merchant
replies once. Reviews cannot be edited or removed, by anyone, so a merchant cannot hide a
bad rating. Each review updates the running rating of its listing and its merchant, and
earns the reviewer the review reward, priced on the order's total (commerce.rewards).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from commerce.errors import ErrorCode, ValidationError
from commerce.limits import MAX_REVIEW_CHARS
from commerce.listings import get_listing, put_listing
from commerce.machine import ChainContext, Event, register_handler
from commerce.merchants import get_merchant, put_merchant
from commerce.orders import require_order
from commerce.rewards import accrue, priced
from commerce.schema import (
    ACTION_REVIEW,
    OrderStatus,
    RecordId,
    ReviewRecord,
    load,
    review_key,
    reviews_of_key,
)
from commerce.state import Overlay, StateReader
from commerce.tx import Transaction, TxBody, register_body


def get_review(view: StateReader | Overlay, order: int) -> ReviewRecord | None:
    """The review of an order, or None."""
    return load(view, ReviewRecord, review_key(order))


@register_body
class Review(TxBody):
    """The buyer's rating (1-5) and text for a completed order."""

    TYPE = "review"
    order: RecordId
    rating: Annotated[int, Field(ge=1, le=5)]
    text: Annotated[str, Field(max_length=MAX_REVIEW_CHARS)] = ""


def apply_review(ctx: ChainContext, view: Overlay, tx: Transaction, body: Review) -> list[Event]:
    """Refuses not_found, not_buyer, order_state (not completed), already_reviewed."""
    # Each field read once: a pydantic model's attribute read is ~400 instructions (its
    # class defines __getattr__, so the interpreter cannot specialise the read).
    order_id, rating = body.order, body.rating
    sender = tx.sender_address
    order = require_order(view, order_id)
    if order.buyer != sender:
        raise ValidationError(ErrorCode.NOT_BUYER, "only the order's buyer reviews it")
    if order.status != OrderStatus.COMPLETED:
        raise ValidationError(ErrorCode.ORDER_STATE, "only a completed order is reviewed")
    review = review_key(order_id)
    if view.get(review) is not None:
        raise ValidationError(ErrorCode.ALREADY_REVIEWED, "the order has a review already")
    listing = get_listing(view, order.listing)
    merchant = get_merchant(view, order.merchant)
    assert listing is not None and merchant is not None, "an order's listing and merchant exist"
    record = ReviewRecord(order.listing, order.merchant, sender, rating, body.text,
                          ctx.height)
    view.put(review, record.to_bytes())
    view.put(reviews_of_key(order.listing, order_id), b"")
    listing.rating_sum += rating
    listing.rating_count += 1
    put_listing(view, order.listing, listing)
    merchant.rating_sum += rating
    merchant.rating_count += 1
    put_merchant(view, order.merchant, merchant)
    # An order has one review for ever (checked above), so its reward marker is fresh.
    reward = accrue(ctx, view, ACTION_REVIEW, order_id, sender,
                    priced(ctx, order.total, ctx.params.reward_review_minor), fresh=True)
    return [Event("review", (sender, order.merchant), (order_id, rating, reward))]


register_handler(Review)(apply_review)


@register_body
class ReviewReply(TxBody):
    """The merchant's one public reply to the review of one of its orders."""

    TYPE = "review_reply"
    order: RecordId
    text: Annotated[str, Field(min_length=1, max_length=MAX_REVIEW_CHARS)]


def apply_review_reply(ctx: ChainContext, view: Overlay, tx: Transaction,
                       body: ReviewReply) -> list[Event]:
    """Refuses not_found (no review), not_owner, already_replied."""
    sender = tx.sender_address
    record = get_review(view, body.order)
    if record is None:
        raise ValidationError(ErrorCode.NOT_FOUND, f"order {body.order} has no review")
    if record.merchant != sender:
        raise ValidationError(ErrorCode.NOT_OWNER, "only the order's merchant replies")
    if record.reply_height:
        raise ValidationError(ErrorCode.ALREADY_REPLIED, "the review has a reply already")
    record.reply = body.text
    record.reply_height = ctx.height
    view.put(review_key(body.order), record.to_bytes())
    return [Event("review_reply", (sender, record.author), (body.order,))]


register_handler(ReviewReply)(apply_review_reply)
