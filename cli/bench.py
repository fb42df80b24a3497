"""`agora bench`: a real devnet's throughput and latency beside the machine's limit
(`bench.devnet`); `agora bench catch-up`: how fast a restarted validator catches up
(`bench.catchup`); `agora bench state`: the state machine's execution and finalize rates
beside Ed25519's (`bench.state`).

Progress goes to stderr: `rich` bars when stderr is a terminal and the output is text,
otherwise the plain lines of before (`bench.progress`); stdout holds only the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import OutputFormat, OutputOption, emit, handle_errors

app = typer.Typer(
    name="bench",
    help="Benchmarks: `agora bench` runs a devnet under load; `agora bench catch-up` times a "
    "restarted validator's sync; `agora bench state` measures execution and LevelDB finalize.",
    invoke_without_command=True,
    rich_markup_mode=None,
)

SWEEP_FRACTIONS = (0.025, 0.05, 0.1, 0.15, 0.2)

# Options the devnet benchmarks share.
ValidatorsOption = Annotated[int, typer.Option("--validators", help="Validator processes.")]
AccountsOption = Annotated[int, typer.Option("--accounts", help="Funded shoppers.")]
ClientsOption = Annotated[int, typer.Option("--clients", help="Client processes.")]
StateAccountsOption = Annotated[int, typer.Option(
    "--state-accounts", help="Large state: pad genesis with funded idle accounts up to "
    "this many accounts in all (transfers pay accounts drawn over all of them).")]
StateListingsOption = Annotated[int, typer.Option(
    "--state-listings", help="Large state: listings in state before the clock (the "
    "merchants create the missing ones in setup; shopping draws from all).")]
KeepLogsOption = Annotated[Path | None, typer.Option(
    "--keep-logs", help="Copy each node's node.log to DIR/<node>.node.log before the "
    "devnet's temporary directory is removed (made if missing).", metavar="DIR")]


def _keep_logs_dir(path: Path | None) -> Path | None:
    """`--keep-logs` checked before any node starts."""
    if path is not None and path.exists() and not path.is_dir():
        raise ValueError(f"--keep-logs: {path} is not a directory")
    return path


@app.callback()
@handle_errors
def devnet_bench(
    ctx: typer.Context,
    *,
    validators: ValidatorsOption = 4,
    duration: Annotated[
        float, typer.Option("--duration", help="Seconds of offered load per point.")
    ] = 30.0,
    rate: Annotated[
        str, typer.Option("--rate", help="Offered tx/s in total, or `max`.")
    ] = "1000",
    accounts: AccountsOption = 2_000,
    clients: ClientsOption = 2,
    state_accounts: StateAccountsOption = 0,
    state_listings: StateListingsOption = 0,
    keep_logs: KeepLogsOption = None,
    sweep: Annotated[
        bool, typer.Option("--sweep", help="Offered load from low to saturation; a table.")
    ] = False,
    reconfigure: Annotated[
        bool, typer.Option("--reconfigure", help="Vote a validator in a quarter into the "
                           "window (agora devnet add-validator) and report tx/s before, "
                           "during and after, and the longest gap between blocks.")
    ] = False,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Start a fresh devnet, offer a pre-signed mixed workload over JSON-RPC, and report
    committed tx/s, latency, blocks, view changes, CPU and RSS beside the limit."""
    if ctx.invoked_subcommand is not None:
        return
    if sweep and reconfigure:
        raise ValueError("--sweep and --reconfigure measure different things: give one")
    if rate != "max" and not rate.isdigit():
        raise ValueError("--rate must be a positive integer or max")
    offered = None if rate == "max" else int(rate)
    if offered is not None and offered < 1:
        raise ValueError("--rate must be a positive integer or max")
    # Imported here, not at the top: every other `agora` command starts faster without
    # the benchmark's dependencies.
    from bench.devnet import BenchOptions, run_bench, sweep_rates
    from bench.figures import render_point, render_sweep
    from bench.progress import open_progress

    options = BenchOptions(validators=validators, duration_s=duration, rate=offered,
                           accounts=accounts, clients=clients,
                           state_accounts=state_accounts, state_listings=state_listings,
                           keep_logs_dir=_keep_logs_dir(keep_logs))
    if reconfigure:
        from bench.reconfig import render_reconfigure, run_reconfigure_bench

        with open_progress(text_output=output is OutputFormat.text) as progress:
            result = run_reconfigure_bench(options, progress)
        emit(output, result, lambda: typer.echo(render_reconfigure(result)))
        return
    rates = sweep_rates(options, SWEEP_FRACTIONS) if sweep else None
    with open_progress(text_output=output is OutputFormat.text) as progress:
        result = run_bench(options, progress, rates=rates)
    render = render_sweep if sweep else render_point
    emit(output, result, lambda: typer.echo(render(result)))


@app.command("state")
@handle_errors
def state(
    *,
    txs: Annotated[int, typer.Option("--txs", help="Measured transactions.")] = 20_000,
    accounts: Annotated[
        int, typer.Option("--accounts", help="Funded accounts that send and receive.")
    ] = 1_000,
    block_txs: Annotated[
        int, typer.Option("--block-txs", help="Transactions per block.")
    ] = 1_000,
    mix: Annotated[
        str, typer.Option("--mix", help="all: every type in realistic proportions; "
                          "transfers: transfers only.")
    ] = "all",
    output: OutputOption = OutputFormat.text,
) -> None:
    """Execute and finalize a mixed workload of every transaction type on a temporary
    LevelDB, beside one core's Ed25519 verification rate."""
    from bench.progress import open_progress
    from bench.state import render_text, run_state_bench

    with open_progress(text_output=output is OutputFormat.text, lines=False) as progress:
        result = run_state_bench(txs=txs, accounts=accounts, block_txs=block_txs,
                                 mix_name=mix, progress=progress)
    emit(output, result.to_dict(), lambda: typer.echo(render_text(result)))


@app.command("catch-up")
@handle_errors
def catch_up(
    *,
    validators: ValidatorsOption = 4,
    txs: Annotated[
        int, typer.Option("--txs", help="Transactions committed while one validator is down.")
    ] = 100_000,
    rate: Annotated[int, typer.Option("--rate", help="Offered tx/s while it is down.")] = 1_200,
    accounts: AccountsOption = 2_000,
    clients: ClientsOption = 2,
    state_accounts: StateAccountsOption = 0,
    state_listings: StateListingsOption = 0,
    keep_logs: KeepLogsOption = None,
    profile: Annotated[
        Path | None, typer.Option("--profile", help="py-spy the restarted node into this "
                                  "file (collapsed stacks, idle included) until it caught "
                                  "up; its log is copied beside it.")
    ] = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Stop one validator of a fresh devnet, commit `--txs` transactions on the others,
    restart it and time how long it takes to reach their height (production / catch-up)."""
    if rate < 1:
        raise ValueError("--rate must be a positive integer")
    from bench.catchup import render_catch_up, run_catch_up
    from bench.devnet import BenchOptions
    from bench.progress import open_progress

    options = BenchOptions(validators=validators, rate=rate, accounts=accounts,
                           clients=clients, state_accounts=state_accounts,
                           state_listings=state_listings,
                           keep_logs_dir=_keep_logs_dir(keep_logs))
    with open_progress(text_output=output is OutputFormat.text) as progress:
        result = run_catch_up(options, txs, progress, profile)
    emit(output, result, lambda: typer.echo(render_catch_up(result)))
