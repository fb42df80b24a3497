"""`agora start`: run a validator (or observer) node until SIGINT/SIGTERM.

On a terminal, a progress line on stderr shows the long phases (a large genesis read, the
state rebuilt from the stored blocks, a catch-up with peers); the log lines scroll above it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated

import typer

from cli.common import HomeOption, handle_errors, resolve_home
from cli.progress import CurrentStderr, terminal_progress
from node.config import parse_config
from node.home import LoadedHome, load_home
from node.logs import setup_logging
from node.progress import Progress


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
    rpc_cors: Annotated[
        list[str] | None,
        typer.Option("--rpc-cors", help="Allow browser calls from this origin (repeatable; "
                     "'*' for any). Overrides config rpc.cors_origins."),
    ] = None,
) -> None:
    """Start the node in the foreground; logs go to stderr, one line per event.

    Refuses a node_key.json that group or others may access (fix: chmod 600 it).
    """
    with terminal_progress() as progress:
        progress.step("reading the home and its genesis")
        loaded = load_home(resolve_home(home))
        progress.clear()
        _run(loaded, progress, log_level, log_format, rpc_cors)


def _run(loaded: LoadedHome, progress: Progress, log_level: str | None,
         log_format: str | None, rpc_cors: list[str] | None) -> None:
    overrides: dict[str, dict[str, object]] = {"node": {}, "rpc": {}}
    if log_level:
        overrides["node"]["log_level"] = log_level
    if log_format:
        overrides["node"]["log_format"] = log_format
    if rpc_cors:
        overrides["rpc"]["cors_origins"] = list(rpc_cors)
    if overrides["node"] or overrides["rpc"]:
        document = loaded.config.model_dump(mode="json")
        for section, values in overrides.items():
            document[section].update(values)
        loaded = dataclasses.replace(
            loaded, config=parse_config(document, source="command line"))
    # Through the current sys.stderr: above the progress line while a terminal shows one.
    setup_logging(loaded.config.node.log_level, loaded.config.node.log_format,
                  stream=CurrentStderr())
    from node.service import run_node  # imported here: the other commands start faster

    asyncio.run(run_node(loaded, progress))
