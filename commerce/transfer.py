"""The `transfer` transaction: move tokens from the sender to another account."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from commerce.address import ADDRESS_BYTES
from commerce.errors import ErrorCode, ValidationError
from commerce.ledger import account_key, credit, debit
from commerce.limits import MAX_AMOUNT_MINOR, MAX_MEMO_CHARS
from commerce.machine import ChainContext, Event, register_handler
from commerce.state import Overlay
from commerce.tx import Transaction, TxBody, register_body


@register_body
class Transfer(TxBody):
    """Send `amount` base units to `to` (a 20-byte address), with an optional memo."""

    TYPE = "transfer"
    to: Annotated[bytes, Field(min_length=ADDRESS_BYTES, max_length=ADDRESS_BYTES)]
    amount: Annotated[int, Field(ge=1, le=MAX_AMOUNT_MINOR)]
    memo: Annotated[str, Field(max_length=MAX_MEMO_CHARS)] = ""


def apply_transfer(ctx: ChainContext, view: Overlay, tx: Transaction,
                   body: Transfer) -> list[Event]:
    """Debit the sender and credit the recipient; refuses self_transfer,
    below_reserve (a new account funded below the reserve, or the sender left below it),
    insufficient_funds."""
    # Each field read once: a pydantic model's attribute read is ~400 instructions (its
    # class defines __getattr__, so the interpreter cannot specialise the read).
    to, amount = body.to, body.amount
    sender = tx.sender_address
    if to == sender:
        raise ValidationError(ErrorCode.SELF_TRANSFER, "cannot transfer to the sending account")
    reserve = ctx.params.account_reserve_minor
    if amount < reserve and view.get(account_key(to)) is None:
        raise ValidationError(
            ErrorCode.BELOW_RESERVE,
            f"a new account needs at least the account reserve {reserve}, not {amount}")
    debit(view, sender, amount, reserve)
    credit(view, to, amount)
    return [Event("transfer", (sender, to), (amount,))]


register_handler(Transfer)(apply_transfer)
