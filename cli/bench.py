"""`agora bench state`: the state machine's execution and finalize rates beside Ed25519's.

`agora bench` with no subcommand is reserved for the devnet benchmark (issue 9).
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import OutputFormat, OutputOption, emit, handle_errors
from node.bench_state import render_text, run_state_bench

app = typer.Typer(
    name="bench",
    help="Benchmarks: `agora bench state` measures execution and LevelDB finalize.",
    no_args_is_help=True,
)


@app.command("state")
@handle_errors
def state(
    *,
    txs: Annotated[int, typer.Option("--txs", help="Transfers in the workload.")] = 20_000,
    accounts: Annotated[
        int, typer.Option("--accounts", help="Funded accounts that send and receive.")
    ] = 1_000,
    block_txs: Annotated[
        int, typer.Option("--block-txs", help="Transactions per block.")
    ] = 1_000,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Execute and finalize transfers on a temporary LevelDB beside one core's Ed25519 rate."""
    result = run_state_bench(txs=txs, accounts=accounts, block_txs=block_txs)
    emit(output, result.to_dict(), lambda: typer.echo(render_text(result)))
