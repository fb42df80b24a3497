"""`agora start`: run a validator (or observer) node until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from cli.common import HomeOption, handle_errors, resolve_home
from node.home import load_home
from node.logs import setup_logging


@handle_errors
def start(
    *,
    home: HomeOption = None,
    log_level: Annotated[
        str | None, typer.Option(help="Override config node.log_level (debug|info|warning).")
    ] = None,
    log_format: Annotated[
        str | None, typer.Option(help="Override config node.log_format (json|text).")
    ] = None,
) -> None:
    """Start the node in the foreground; logs go to stderr, one line per event."""
    loaded = load_home(resolve_home(home))
    setup_logging(log_level or loaded.config.node.log_level,
                  log_format or loaded.config.node.log_format)
    from node.service import run_node  # imported here: the other commands start faster

    asyncio.run(run_node(loaded))
