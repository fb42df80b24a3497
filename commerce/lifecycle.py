"""The order life cycle as a table: status x action -> next statuses, and who may act.

An order is open (paid, shipped, disputed) until it closes (completed, refunded,
cancelled); a closed order never moves again. `ORDER_LIFE_CYCLE` names every move there is:
a pair (status, action) missing from it is refused with order_state, and every status an
order is given is checked against it (`move`). `ORDER_ACTIONS` says who may send each
transaction that moves an order. The timer is the order's deadline, run by the end-of-block
step; every open status has one (asserted below), so no escrow can stay locked for ever.
docs/COMMERCE.md ("Order life cycle") shows the same tables; a test compares them.

Pure data and checks on a record: the rules that read and write state are in
commerce/orders.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from commerce.errors import ErrorCode, ValidationError
from commerce.schema import OrderRecord, OrderStatus

# Short names for the table below.
PAID, SHIPPED, DISPUTED = OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DISPUTED
COMPLETED, REFUNDED, CANCELLED = (
    OrderStatus.COMPLETED, OrderStatus.REFUNDED, OrderStatus.CANCELLED)


class OrderAction(StrEnum):
    """What moves an order: a transaction type, or the order's timer falling due."""

    SHIP = "order_ship"
    CONFIRM = "order_confirm"
    CANCEL = "order_cancel"
    REFUND = "order_refund"
    DISPUTE = "order_dispute"
    DISPUTE_VOTE = "dispute_vote"
    TIMER = "timer"


class Party(StrEnum):
    """Who may send an order's transaction: one of its two sides, or a validator."""

    BUYER = "buyer"
    MERCHANT = "merchant"
    VALIDATOR = "validator"


ORDER_LIFE_CYCLE: dict[tuple[int, OrderAction], tuple[OrderStatus, ...]] = {
    (PAID, OrderAction.SHIP): (SHIPPED,),
    (PAID, OrderAction.CANCEL): (CANCELLED,),
    (PAID, OrderAction.REFUND): (REFUNDED,),
    (PAID, OrderAction.TIMER): (CANCELLED,),  # order_ship_timeout_blocks
    (SHIPPED, OrderAction.CONFIRM): (COMPLETED,),
    (SHIPPED, OrderAction.REFUND): (REFUNDED,),
    (SHIPPED, OrderAction.DISPUTE): (DISPUTED,),
    (SHIPPED, OrderAction.TIMER): (COMPLETED,),  # order_auto_release_blocks
    (DISPUTED, OrderAction.CONFIRM): (COMPLETED,),  # the buyer concedes
    (DISPUTED, OrderAction.REFUND): (REFUNDED,),  # the merchant concedes
    # Open until more than two thirds of the validators voted one way.
    (DISPUTED, OrderAction.DISPUTE_VOTE): (DISPUTED, COMPLETED, REFUNDED),
    # dispute_timeout_blocks: more release votes complete; a tie, or none, refunds.
    (DISPUTED, OrderAction.TIMER): (COMPLETED, REFUNDED),
}
"""(status, action) -> the statuses the action may leave the order in."""

OPEN_ORDER_STATUSES = tuple(sorted({status for status, _ in ORDER_LIFE_CYCLE}))
"""The statuses an order can leave: it holds escrow and has a live timer in them."""

assert all((status, OrderAction.TIMER) in ORDER_LIFE_CYCLE for status in OPEN_ORDER_STATUSES)


@dataclass(frozen=True, slots=True)
class ActionRule:
    """Who may send a transaction that moves an order, and how the others are refused."""

    who: tuple[Party, ...]
    outsider: ErrorCode  # the refusal of a sender who is none of `who`
    outsider_message: str
    participle: str  # "order 7 cannot be <participle> now" (order_state)

    def admits(self, sender: bytes, buyer: bytes, merchant: bytes) -> bool:
        """True when the address `sender` may act on an order of `buyer` and `merchant`.
        A validator's action admits every address here: validators are checked by key,
        before the order is read."""
        return (Party.VALIDATOR in self.who
                or (Party.BUYER in self.who and sender == buyer)
                or (Party.MERCHANT in self.who and sender == merchant))


ORDER_ACTIONS: dict[OrderAction, ActionRule] = {
    OrderAction.SHIP: ActionRule(
        (Party.MERCHANT,), ErrorCode.NOT_OWNER, "only the order's merchant ships it", "shipped"),
    OrderAction.CONFIRM: ActionRule(
        (Party.BUYER,), ErrorCode.NOT_BUYER, "only the buyer confirms an order", "confirmed"),
    OrderAction.CANCEL: ActionRule(
        (Party.BUYER, Party.MERCHANT), ErrorCode.NOT_BUYER,
        "only the buyer or the merchant cancels", "cancelled"),
    OrderAction.REFUND: ActionRule(
        (Party.MERCHANT,), ErrorCode.NOT_OWNER, "only the order's merchant refunds it",
        "refunded"),
    OrderAction.DISPUTE: ActionRule(
        (Party.BUYER,), ErrorCode.NOT_BUYER, "only the buyer disputes an order", "disputed"),
    OrderAction.DISPUTE_VOTE: ActionRule(
        (Party.VALIDATOR,), ErrorCode.NOT_VALIDATOR, "the sender is not a validator",
        "voted on"),
}
"""Every action but the timer. A validator is not a side of the order: one that is the
buyer, merchant or sharer may not judge the dispute (conflict_of_interest, in the rule)."""

assert set(ORDER_ACTIONS) == {action for _, action in ORDER_LIFE_CYCLE} - {OrderAction.TIMER}
assert all(rule.who == (Party.VALIDATOR,) or Party.VALIDATOR not in rule.who
           for rule in ORDER_ACTIONS.values()), "validators act alone (checked by key)"


def require_move(status: int, action: OrderAction, order: int) -> None:
    """Refuse order_state unless `action` may move an order in `status`."""
    if (status, action) not in ORDER_LIFE_CYCLE:
        participle = ORDER_ACTIONS[action].participle
        raise ValidationError(ErrorCode.ORDER_STATE, f"order {order} cannot be {participle} now")


def move(record: OrderRecord, action: OrderAction, status_next: OrderStatus) -> None:
    """Give the order `status_next`, asserting that the table lets `action` lead there
    from its status (the rule refused the action already if not: see `require_move`)."""
    status = record.status
    assert (status, action) in ORDER_LIFE_CYCLE, f"{action} does not apply to status {status}"
    assert status_next in ORDER_LIFE_CYCLE[status, action], f"{action} leads not to {status_next}"
    record.status = status_next
