"""`agora query <thing>`: read chain state over JSON-RPC, as text or `--output json`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.chain_client import NodeOption, node_url, resolve_address, rpc
from cli.common import (
    HomeOption,
    OutputFormat,
    OutputOption,
    emit,
    handle_errors,
    print_fields,
    print_table,
)
from cli.keys import BackendOption, KeyringBackend, KeyringDirOption
from commerce.address import to_text

app = typer.Typer(name="query", help="Read chain state from a node.", no_args_is_help=True)


def _show(output: OutputFormat, value: Any) -> None:
    if isinstance(value, dict):
        flat = {k: v for k, v in value.items() if not isinstance(v, (dict, list))}
        emit(output, value, lambda: print_fields(flat))
    else:
        emit(output, value, lambda: print_fields({"result": value}))


@app.command("status")
@handle_errors
def status(*, node: NodeOption = None, home: HomeOption = None,
           output: OutputOption = OutputFormat.text) -> None:
    """The node's chain, height, view, peers and mempool."""
    _show(output, rpc(node_url(node, home), "node_status"))


@app.command("peers")
@handle_errors
def peers(*, node: NodeOption = None, home: HomeOption = None,
          output: OutputOption = OutputFormat.text) -> None:
    """The node's connected peers."""
    rows = rpc(node_url(node, home), "node_peers")
    emit(output, rows, lambda: print_table(rows, [
        ("id", "ID"), ("address", "ADDRESS"), ("direction", "DIRECTION"),
        ("messages_in", "MSGS IN"), ("messages_out", "MSGS OUT")]))


@app.command("account")
@handle_errors
def account(
    address: Annotated[str, typer.Argument(help="agora1... address or a key name.")],
    *,
    keyring_dir: KeyringDirOption = None,
    keyring_backend: BackendOption = KeyringBackend.file,
    node: NodeOption = None,
    home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """An account's balance and nonce."""
    resolved = resolve_address(address, keyring_dir, keyring_backend, home)
    result = rpc(node_url(node, home), "state_getAccount", address=to_text(resolved))
    emit(output, result, lambda: print_fields({
        "address": result["address"], "balance": result["balance_decimal"],
        "nonce": result["nonce"], "pending nonce": result["pending_nonce"]}))


@app.command("supply")
@handle_errors
def supply(*, node: NodeOption = None, home: HomeOption = None,
           output: OutputOption = OutputFormat.text) -> None:
    """Total supply and its parts (genesis, minted, escrow)."""
    result = rpc(node_url(node, home), "state_getSupply")
    emit(output, result, lambda: print_fields({
        name: result[f"{name}_decimal"] for name in ("total", "genesis", "minted", "escrow")}))


@app.command("block")
@handle_errors
def block(
    height: Annotated[int | None, typer.Argument(min=1, help="Height [default: latest].")] = None,
    *,
    node: NodeOption = None,
    home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """A block by height (latest by default)."""
    params: dict[str, Any] = {} if height is None else {"height": height}
    result = rpc(node_url(node, home), "chain_getBlock", **params)

    def text() -> None:
        print_fields({**result["header"], "txs": result["tx_count"]})
        if result["txs"]:
            print_table([{"id": t["id"], "type": t["type"], "sender": t["sender"],
                          "nonce": t["nonce"]} for t in result["txs"]],
                        [("id", "TX"), ("type", "TYPE"), ("sender", "SENDER"),
                         ("nonce", "NONCE")])

    emit(output, result, text)


@app.command("tx")
@handle_errors
def tx(
    tx_id: Annotated[str, typer.Argument(help="Transaction id (64 hex characters).")],
    *,
    node: NodeOption = None,
    home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """A transaction with its status, block and events."""
    result = rpc(node_url(node, home), "chain_getTransaction", id=tx_id)

    def text() -> None:
        fields: dict[str, Any] = {"id": result["tx"]["id"], "status": result["status"],
                                  "type": result["tx"]["type"],
                                  "sender": result["tx"]["sender"]}
        if "height" in result:
            fields["height"] = result["height"]
            fields["events"] = " ".join(e["kind"] for e in result["events"])
        print_fields(fields)

    emit(output, result, text)


@app.command("certificate")
@handle_errors
def certificate(
    height: Annotated[int, typer.Argument(min=1, help="Block height.")],
    *,
    node: NodeOption = None,
    home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """The commit certificate of a block."""
    _show(output, rpc(node_url(node, home), "chain_getCertificate", height=height))


@app.command("validators")
@handle_errors
def validators(*, node: NodeOption = None, home: HomeOption = None,
               output: OutputOption = OutputFormat.text) -> None:
    """The validator set in primary rotation order."""
    rows = rpc(node_url(node, home), "chain_getValidators")
    emit(output, rows, lambda: print_table(rows, [
        ("index", "#"), ("name", "NAME"), ("address", "ADDRESS"), ("public_key", "PUBLIC KEY")]))
