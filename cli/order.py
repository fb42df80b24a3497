"""`agora order open-delivery|open-tracking`: read what was sealed to your key on an order.

A purchase seals the buyer's delivery details to the merchant's key; `tx order-ship` seals
the tracking note to the buyer's key. These commands fetch the order, unlock the caller's
key from the keyring and open the sealed note locally (nothing is sent to the node). The
buyer's public key, which `tx order-ship --tracking` needs, is found on the chain:
`buyer_public_key` reads the purchase transaction in the block that created the order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from cli.chain_client import rpc
from cli.common import OUTPUT_OPTIONS, command_with, emit, fail, subcommands
from cli.context import SIGNER_OPTIONS, SigningContext
from commerce.address import address_of, from_text, to_text
from commerce.errors import AgoraError

app = subcommands("order", "Open the notes sealed to your key on an order (delivery details, "
                  "tracking).")

OrderArg = Annotated[int, typer.Argument(min=1, help="Order id.")]
OpenRun = Callable[[SigningContext, int], None]


# The transactions that create an order in their own block: a purchase, a coupon
# purchase, or the team join that fills a team (its sender's order; the other members'
# payments came in earlier blocks: pass --buyer-key for theirs).
ORDER_CREATING_TYPES = frozenset({"purchase", "coupon_purchase", "team_join", "team_open"})


def buyer_public_key(url: str, order: dict[str, Any]) -> bytes:
    """The buyer's Ed25519 public key: the signer of the purchase in the order's block."""
    block = rpc(url, "chain_getBlock", height=int(order["created_height"]))
    for tx in block.get("txs", []):
        if tx.get("type") in ORDER_CREATING_TYPES and tx.get("sender") == order["buyer"]:
            key = bytes.fromhex(str(tx["sender_public_key"]))
            if to_text(address_of(key)) == order["buyer"]:
                return key
    fail("not_found", f"the purchase of order {order['id']} is not in block "
         f"{order['created_height']} on this node (a team order: pass --buyer-key)")


def open_note(signer: SigningContext, order_id: int, field: str, role: str) -> None:
    """Print the `field` note of an order, opened with the key of its `role` (--from)."""
    order = signer.call("state_getOrder", id=order_id)
    sealed = bytes.fromhex(str(order.get(field) or ""))
    if not sealed:
        what = "delivery details" if field == "delivery" else "tracking note"
        fail("not_found", f"order {order_id} has no {what}")
    keypair = signer.signer.keypair()
    if address_of(keypair.public_key) != from_text(order[role]):
        fail("field_invalid", f"the {field} of order {order_id} is sealed to its {role} "
             f"{order[role]}, not to {signer.from_key}")
    try:
        text = keypair.unseal(sealed).decode("utf-8", "replace")
    except AgoraError:
        fail("field_invalid", f"the {field} of order {order_id} does not open with "
             f"{signer.from_key}")
    emit(signer.output, {"order": order_id, field: text}, lambda: typer.echo(text))


def order_command(name: str) -> Callable[[OpenRun], OpenRun]:
    """Register `run(signer, order_id)` as `agora order <name>` with the signing options."""

    def register(run: OpenRun) -> OpenRun:
        app.command(name)(command_with(run, SIGNER_OPTIONS + OUTPUT_OPTIONS, SigningContext))
        return run

    return register


@order_command("open-delivery")
def open_delivery(signer: SigningContext, order_id: OrderArg) -> None:
    """Print an order's delivery details (the merchant's key opens them)."""
    open_note(signer, order_id, "delivery", "merchant")


@order_command("open-tracking")
def open_tracking(signer: SigningContext, order_id: OrderArg) -> None:
    """Print an order's tracking note (the buyer's key opens it)."""
    open_note(signer, order_id, "tracking", "buyer")
