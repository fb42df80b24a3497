"""`agora order open-delivery|open-tracking`: read what was sealed to your key on an order.

A purchase seals the buyer's delivery details to the merchant's key; `tx order-ship` seals
the tracking note to the buyer's key. These commands fetch the order, unlock the caller's
key from the keyring and open the sealed note locally (nothing is sent to the node). The
buyer's public key, which `tx order-ship --tracking` needs, is found on the chain:
`buyer_public_key` reads the purchase transaction in the block that created the order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.chain_client import FromOption, NodeOption, node_url, rpc, signer_options
from cli.common import (
    HomeOption,
    OutputFormat,
    OutputOption,
    emit,
    fail,
    handle_errors,
    subcommands,
)
from cli.keys import BackendOption, KeyringBackend, KeyringDirOption, PassphraseFileOption
from commerce.address import address_of, from_text, to_text
from commerce.errors import AgoraError

app = subcommands("order", "Open the notes sealed to your key on an order (delivery details, "
                  "tracking).")

OrderArg = Annotated[int, typer.Argument(min=1, help="Order id.")]


def buyer_public_key(url: str, order: dict[str, Any]) -> bytes:
    """The buyer's Ed25519 public key: the signer of the purchase in the order's block."""
    block = rpc(url, "chain_getBlock", height=int(order["created_height"]))
    for tx in block.get("txs", []):
        if tx.get("type") == "purchase" and tx.get("sender") == order["buyer"]:
            key = bytes.fromhex(str(tx["sender_public_key"]))
            if to_text(address_of(key)) == order["buyer"]:
                return key
    fail("not_found", f"the purchase of order {order['id']} is not in block "
         f"{order['created_height']} on this node")


def _open(order_id: int, field: str, role: str, from_key: str, keyring_dir: Path | None,
          keyring_backend: KeyringBackend, home: Path | None, passphrase_file: Path | None,
          node: str | None, output: OutputFormat) -> None:
    url = node_url(node, home)
    order = rpc(url, "state_getOrder", id=order_id)
    sealed = bytes.fromhex(str(order.get(field) or ""))
    if not sealed:
        what = "delivery details" if field == "delivery" else "tracking note"
        fail("not_found", f"order {order_id} has no {what}")
    signer = signer_options(from_key, keyring_dir, keyring_backend, home, passphrase_file)
    keypair = signer.keypair()
    if address_of(keypair.public_key) != from_text(order[role]):
        fail("field_invalid", f"the {field} of order {order_id} is sealed to its {role} "
             f"{order[role]}, not to {from_key}")
    try:
        text = keypair.unseal(sealed).decode("utf-8", "replace")
    except AgoraError:
        fail("field_invalid", f"the {field} of order {order_id} does not open with {from_key}")
    emit(output, {"order": order_id, field: text}, lambda: typer.echo(text))


@app.command("open-delivery")
@handle_errors
def open_delivery(order_id: OrderArg, *, from_key: FromOption,
                  keyring_dir: KeyringDirOption = None,
                  keyring_backend: BackendOption = KeyringBackend.file,
                  home: HomeOption = None, passphrase_file: PassphraseFileOption = None,
                  node: NodeOption = None, output: OutputOption = OutputFormat.text) -> None:
    """Print an order's delivery details (the merchant's key opens them)."""
    _open(order_id, "delivery", "merchant", from_key, keyring_dir, keyring_backend, home,
          passphrase_file, node, output)


@app.command("open-tracking")
@handle_errors
def open_tracking(order_id: OrderArg, *, from_key: FromOption,
                  keyring_dir: KeyringDirOption = None,
                  keyring_backend: BackendOption = KeyringBackend.file,
                  home: HomeOption = None, passphrase_file: PassphraseFileOption = None,
                  node: NodeOption = None, output: OutputOption = OutputFormat.text) -> None:
    """Print an order's tracking note (the buyer's key opens it)."""
    _open(order_id, "tracking", "buyer", from_key, keyring_dir, keyring_backend, home,
          passphrase_file, node, output)
