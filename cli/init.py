"""`agora init`: create a node home (config, genesis, node key, data directory)."""

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
            "node key": "created" if result.key_created else "kept (existing)",
        }
    )
    typer.echo(f"next: agora start --home {result.home}")
    if genesis is None:
        typer.echo("The funded account is this node's key. To use it from the CLI:")
        typer.echo(f"  agora keys import operator --from-node-key --home {result.home}")
        typer.echo(f"  agora query account operator --home {result.home}")


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
            help="Replace the config and genesis of an existing home (the node key is kept).",
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
    )
    if result.data_kept:
        warn(
            f"warning: {result.home / 'data'} was kept; a node refuses to start on another"
            " chain's data, so remove it if the genesis changed"
        )
    emit(output, result.to_dict(), lambda: _print_result(result, genesis))
