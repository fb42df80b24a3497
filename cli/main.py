"""The `agora` command line: a thin typer app over node/ and the RPC client."""

from __future__ import annotations

import typer

from cli import (
    bench,
    devnet,
    keys,
    media,
    order,
    profile,
    query,
    query_teams,
    tx,
    tx_media,
    tx_promotions,
    tx_teams,
)
from cli import query_governance as _query_governance  # noqa: F401  (registers its queries)
from cli import tx_governance as _tx_governance  # noqa: F401  (registers its commands)
from cli import tx_profiles as _tx_profiles  # noqa: F401  (agora tx profile-*, follow, ...)
from cli.common import OneLineErrorsGroup
from cli.init import init
from cli.start import start

app = typer.Typer(
    name="agora",
    help="Agora: a permissioned blockchain node for social commerce.",
    no_args_is_help=True,
    add_completion=False,
    cls=OneLineErrorsGroup,
    rich_markup_mode=None,
)


@app.callback()
def main() -> None:
    """Agora node, wallet and devnet tools."""


app.command("init")(init)
app.command("start")(start)
app.add_typer(keys.app, name="keys")
app.add_typer(tx.app, name="tx")
app.add_typer(query.app, name="query")
app.add_typer(order.app, name="order")
app.add_typer(bench.app, name="bench")
app.add_typer(devnet.app, name="devnet")
app.add_typer(media.app, name="media")
assert tx_media.listing_media is not None  # registered on `agora tx` when imported
app.add_typer(profile.app, name="profile")
# Modules that add commands to the groups above (importing them registers the commands).
ADDED_COMMANDS = (tx_teams, tx_promotions, query_teams)
