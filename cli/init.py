"""`agora init`: create a node home (config, genesis, node key, data directory).

`--overwrite` replaces the config and genesis of an existing home and keeps its node key; a
node key file that does not load stops it (it may be a validator's identity). `--new-key`
replaces the node key, valid or not; the old file is moved aside, and the command says
which key it replaced and where the old file went.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    HomeOption,
    OutputFormat,
    OutputOption,
    emit,
    handle_errors,
    print_fields,
    resolve_home,
    warn,
)
from node.home import DEFAULT_CHAIN_ID, InitResult, init_home


def _print_result(result: InitResult, genesis: Path | None) -> None:
    typer.echo(f"initialized node home {result.home}")
    source = "created: one validator (this node), its account funded"
    print_fields(
        {
            "moniker": result.moniker,
            "chain id": result.chain_id,
            "node public key": result.node_public_key,
            "node address": result.node_address,
            "genesis": f"copied from {genesis}" if genesis else source,
            "genesis hash": result.genesis_hash,
            "node key": _key_line(result),
        }
    )
    typer.echo(f"next: agora start --home {result.home}")
    if genesis is None:
        typer.echo("The funded account is this node's key. To use it from the CLI:")
        typer.echo(f"  agora keys import operator --from-node-key --home {result.home}")
        typer.echo(f"  agora query account operator --home {result.home}")


def _key_line(result: InitResult) -> str:
    if not result.key_created:
        return "kept (existing)"
    if result.replaced_key is None:
        return "created"
    return f"created, replacing {_old_key(result)} (moved to {result.replaced_key_file})"


def _old_key(result: InitResult) -> str:
    if result.replaced_key == "malformed":
        return "a malformed key file"
    return f"key {result.replaced_key}"


@handle_errors
def init(
    *,
    home: HomeOption = None,
    moniker: Annotated[str, typer.Option("--moniker", help="A human name for this node.")] = (
        "agora-node"
    ),
    chain_id: Annotated[
        str, typer.Option("--chain-id", help="Chain id of a new genesis (ignored with --genesis).")
    ] = DEFAULT_CHAIN_ID,
    genesis: Annotated[
        Path | None,
        typer.Option(
            "--genesis",
            help="Use this genesis.json instead of creating a one-validator chain.",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace the config and genesis of an existing home; the node key is kept, "
            "and a malformed one stops the command (see --new-key).",
        ),
    ] = False,
    new_key: Annotated[
        bool,
        typer.Option(
            "--new-key",
            help="With --overwrite: also replace the node key (a validator's identity), "
            "valid or malformed; the old file is kept as node_key.json.replaced-<time>.",
        ),
    ] = False,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Create a node home: config.toml, genesis.json, node_key.json and data/."""
    result = init_home(
        resolve_home(home),
        moniker=moniker,
        chain_id=chain_id,
        genesis=genesis,
        overwrite=overwrite,
        new_key=new_key,
    )
    if result.replaced_key is not None:
        warn(
            f"warning: replaced the node key: {_old_key(result)} is now"
            f" {result.replaced_key_file}; this node's identity is {result.node_public_key}"
        )
    if result.data_kept:
        warn(
            f"warning: {result.home / 'data'} was kept; a node refuses to start on another"
            " chain's data, so remove it if the genesis changed"
        )
    emit(output, result.to_dict(), lambda: _print_result(result, genesis))
