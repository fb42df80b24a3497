"""`agora devnet`: a local multi-validator chain on loopback, one process per validator.

`up` creates (or resumes) the devnet under `--home` (default ./.devnet) and prints what a
newcomer needs; `demo` plays a shop story against it; `status`, `logs`, `stop NODE`,
`start NODE`, `down` and `reset` act on it from any terminal; `add-validator`,
`remove-validator` and `rotate-key` change its validator set by vote (devnet/reconfig.py).
Every command takes `--home` (the devnet directory) and `--output json`; failures are one
line and exit 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.client_config import write_client_config
from cli.common import (
    OUTPUT_OPTIONS,
    OutputFormat,
    OutputOption,
    command_with,
    emit,
    fail,
    handle_errors,
    print_json,
    print_table,
    shared_options,
    warn,
)
from cli.progress import terminal_progress
from commerce.amount import format_amount
from devnet import control, demo, reconfig
from devnet.errors import DevnetError, DevnetErrorCode
from devnet.layout import DEFAULT_BASE_PORT, DEFAULT_CHAIN_ID, Layout, load_layout
from devnet.logs import follow
from devnet.processes import READY_TIMEOUT_S, StopOutcome, log_tail
from node.progress import Progress

app = typer.Typer(
    name="devnet",
    help="A local multi-validator devnet: up, demo, status, logs, stop/start NODE, down, "
    "add-validator, remove-validator, rotate-key, "
    "reset.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DevnetHomeOption = Annotated[
    Path,
    typer.Option("--home", envvar="AGORA_DEVNET_HOME",
                 help="The devnet directory (holds devnet.json and a home per validator)."),
]
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", min=1.0, help="Seconds to wait for the nodes to answer."),
]
NodeArgument = Annotated[str, typer.Argument(help="The node's name: v0, v1, ...")]
DEVNET_OPTIONS = shared_options(("home", DevnetHomeOption, control.DEFAULT_DEVNET_HOME))


@dataclass
class Devnet:
    """The devnet a command acts on (--home) and how it prints (--output)."""

    home: Path
    output: OutputFormat

    @property
    def root(self) -> Path:
        """The devnet directory, absolute."""
        return self.home.expanduser().resolve()


DevnetRun = Callable[..., None]


def devnet_command(name: str) -> Callable[[DevnetRun], DevnetRun]:
    """Register `run(devnet: Devnet, <own arguments>)` as `agora devnet <name>`, with --home
    and --output after its own options."""

    def register(run: DevnetRun) -> DevnetRun:
        app.command(name)(command_with(run, DEVNET_OPTIONS + OUTPUT_OPTIONS, Devnet))
        return run

    return register


@app.command("init")
@handle_errors
def init(
    *,
    validators: Annotated[
        int, typer.Option("--validators", "-n", min=1, max=control.MAX_VALIDATORS,
                          help="Validators in the genesis.")
    ] = control.DEFAULT_VALIDATORS,
    home: DevnetHomeOption = control.DEFAULT_DEVNET_HOME,
    base_port: Annotated[
        int, typer.Option("--base-port", help="Node i: RPC on base+2i, P2P on base+2i+1.")
    ] = DEFAULT_BASE_PORT,
    chain_id: Annotated[str, typer.Option("--chain-id", help="The chain id.")] = (
        DEFAULT_CHAIN_ID
    ),
    listen_host: Annotated[
        str, typer.Option("--listen-host", help="Address every node binds (0.0.0.0 in "
                          "containers).")
    ] = "127.0.0.1",
    peer_hosts: Annotated[
        str | None,
        typer.Option("--peer-hosts", help="Comma-separated host of each validator, as the "
                     "others dial it (e.g. v0,v1,v2,v3) [default: the listen host].",
                     show_default=False),
    ] = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Write the homes, genesis and test keyring of a devnet without starting it (for
    deploy/docker-compose.yml, or to edit configs before `agora devnet up`)."""
    hosts = [h.strip() for h in peer_hosts.split(",")] if peer_hosts is not None else None
    layout = control.init(home, validators=validators, base_port=base_port, chain_id=chain_id,
                          listen_host=listen_host, peer_hosts=hosts)
    nodes = [control.node_info(spec, None).to_dict() for spec in layout.nodes]
    value = {"chain_id": layout.chain_id, "nodes": nodes, "accounts": layout.accounts,
             "keyring": layout.keyring}

    def text() -> None:
        typer.echo(f"wrote devnet {layout.chain_id!r} with {len(nodes)} validators at "
                   f"{layout.root}")
        print_table(nodes, [("name", "NODE"), ("rpc", "RPC"), ("p2p", "P2P"),
                            ("home", "HOME")])

    emit(output, value, text)


@app.command("up")
@handle_errors
def up(
    *,
    validators: Annotated[
        int | None,
        typer.Option("--validators", "-n", min=1, max=control.MAX_VALIDATORS,
                     help="Validators of a new devnet [default: 4].", show_default=False),
    ] = None,
    home: DevnetHomeOption = control.DEFAULT_DEVNET_HOME,
    base_port: Annotated[
        int | None,
        typer.Option("--base-port", help="First port of a new devnet: node i listens for RPC "
                     "on base+2i and P2P on base+2i+1 [default: 27100].", show_default=False),
    ] = None,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Return once the chain makes blocks.")
    ] = False,
    timeout: TimeoutOption = READY_TIMEOUT_S,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Start the devnet (created on first use, resumed after `down`) and wait for blocks.

    Without --detach it stays in the foreground, prints the height now and then, and stops
    every node on Ctrl-C.
    """
    with terminal_progress(output is OutputFormat.text) as progress:
        result = control.up(home, validators=validators, base_port=base_port,
                            timeout_s=timeout, progress=progress)
    for state in result.stale:
        warn(f"{state.name}: stale pid file (pid {state.pid} is not a running node); removed")
    _write_client_config(result)
    emit(output, result.to_dict(), lambda: _print_up(result, detach))
    if not detach:
        _foreground(result.layout, output)


def _write_client_config(result: control.UpResult) -> None:
    """Leave `<devnet>/client.toml` so `agora` run next to the devnet finds its node and
    its account names without flags."""
    layout = result.layout
    write_client_config(Path(layout.root), node=result.nodes[0].rpc, chain_id=layout.chain_id,
                        keyring_dir=str(layout.keyring), keyring_backend=control.KEYRING_BACKEND,
                        accounts={a["name"]: a["address"] for a in layout.accounts})


def _print_up(result: control.UpResult, detach: bool) -> None:
    layout = result.layout
    verb = "created and started" if result.created else "resumed"
    typer.echo(f"Agora devnet {layout.chain_id!r} {verb}: {len(result.nodes)} validators, "
               f"height {result.height}, home {layout.root}")
    typer.echo("")
    print_table([n.to_dict() for n in result.nodes],
                [("name", "NODE"), ("rpc", "RPC"), ("p2p", "P2P"), ("pid", "PID"),
                 ("home", "HOME")])
    typer.echo("")
    typer.echo(f"Web app (storefront, wallet, merchant console, explorer): "
               f"{result.nodes[0].rpc}/")
    typer.echo("")
    typer.echo(f"Demo accounts (keyring {layout.keyring}, backend {control.KEYRING_BACKEND}: "
               "unencrypted, for devnets only)")
    print_table(layout.accounts, [("name", "NAME"), ("address", "ADDRESS"), ("role", "ROLE"),
                                  ("balance", "BALANCE")])
    if result.approved:
        typer.echo(f"Approved merchants (registered and voted in by the validators): "
                   f"{', '.join(result.approved)}")
    typer.echo("")
    typer.echo("Try next (in another terminal):")
    rpc = result.nodes[0].rpc
    home_flag = "" if Path(layout.root) == control.DEFAULT_DEVNET_HOME.resolve() else \
        f" --home {layout.root}"
    # `make devnet` runs agora from .venv without activating it: show the path that works.
    program = "agora"
    if shutil.which("agora") is None:
        script = Path(sys.executable).parent / "agora"
        program = os.path.relpath(script) if script.is_file() else "agora"
    for command, meaning in control.NEXT_COMMANDS:
        text = command.format(rpc=rpc, keyring=layout.keyring)
        if text.startswith("agora devnet "):
            text += home_flag
        text = program + text.removeprefix("agora")
        typer.echo(f"  {text}")
        typer.echo(f"      {meaning}")
    typer.echo("")
    if detach:
        typer.echo(f"Running in the background. Stop it with: agora devnet down{home_flag}")
    else:
        typer.echo("Ctrl-C stops every node (the data is kept: agora devnet up resumes it).")


def _foreground(layout: Layout, output: OutputFormat) -> None:
    """Report the chain until SIGINT/SIGTERM, then stop every node and exit 0."""

    def report(line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        if output is OutputFormat.json:
            print_json({"time": stamp, "event": line})
        else:
            typer.echo(f"[{stamp}] {line}")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await control.watch(layout, stop, report)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass  # a second Ctrl-C during shutdown of the watcher: stop the nodes all the same
    report("stopping every node...")
    outcomes = control.down(Path(layout.root))
    stopped = sum(1 for o in outcomes if o.outcome != "not_running")
    report(f"stopped {stopped} node(s); data kept in {layout.root}")


@devnet_command("demo")
def demo_command(devnet: Devnet) -> None:
    """Play a shop story on the running devnet: listings, a share, a purchase through the
    referral link with sealed delivery details, shipping, confirmation, a review and reply,
    reward claims, a poll and votes, a team filled through a share link, a team refunded at
    its deadline, a coupon at checkout; then a table of balances that adds up (exit 1 if
    not)."""
    layout = load_layout(devnet.root)
    text = devnet.output is OutputFormat.text
    asyncio.run(demo.live_node_url(layout))  # one clear line when the devnet is not running
    if text:
        typer.echo(f"Agora devnet demo on {layout.chain_id!r} ({layout.root})")
        typer.echo("")
    result = demo.run_demo(layout, (lambda step: typer.echo(step.line())) if text else None)
    emit(devnet.output, result.to_dict(), lambda: _print_demo(result))
    if not result.adds_up:
        fail("mismatch", result.check_line())


def _print_demo(result: demo.DemoResult) -> None:
    typer.echo("")
    typer.echo(f"Referral link shared by alice: {result.referral_link}")
    typer.echo(f"Delivery details as acme's key opens them: {result.delivery_opened!r}")
    teams = result.teams
    typer.echo(f"Team {teams.team_filled} filled through {teams.team_link}: orders "
               f"{', '.join(map(str, teams.team_orders))}; team {teams.team_expired} "
               f"refunded {format_amount(teams.team_refunded)} at its deadline; coupon "
               f"order {teams.coupon_order} saved {format_amount(teams.discount)}")
    typer.echo("")
    rows = [{"name": b.name, "before": b.to_dict()["before_decimal"],
             "after": b.to_dict()["after_decimal"],
             "delta": ("+" if b.delta > 0 else "") + b.to_dict()["delta_decimal"]}
            for b in result.balances]
    print_table(rows, [("name", "ACCOUNT"), ("before", "BEFORE"), ("after", "AFTER"),
                       ("delta", "DELTA")])
    typer.echo("")
    typer.echo(result.check_line())


@devnet_command("status")
def status(devnet: Devnet) -> None:
    """Each node's PID, height, view, peers, mempool and latest hash, and whether the live
    nodes agree on the block at their lowest common height (exit 1 if they do not)."""
    result = control.status(devnet.home)
    emit(devnet.output, result.to_dict(), lambda: _print_status(result))
    if result.agree is False:
        fail(DevnetErrorCode.DIVERGED.reason,
             f"nodes disagree at height {result.common_height}: {result.hashes}")


def _print_status(result: control.DevnetStatus) -> None:
    rows: list[dict[str, Any]] = []
    for node in result.nodes:
        row = node.to_dict()
        row["state"] = "running" if node.alive else ("stale pid" if node.stale else "stopped")
        row["hash"] = (node.latest_block_hash or "")[:16] or None
        rows.append(row)
    typer.echo(f"devnet {result.chain_id!r} at {result.root}")
    print_table(rows, [("name", "NODE"), ("pid", "PID"), ("state", "STATE"),
                       ("height", "HEIGHT"), ("view", "VIEW"), ("peers", "PEERS"),
                       ("mempool_txs", "MEMPOOL"), ("hash", "LATEST HASH")])
    if not any(node.alive for node in result.nodes):
        typer.echo("agreement: no node is running (start them with agora devnet up)")
    elif result.agree is None:
        typer.echo("agreement: no answering node has a block yet")
    elif result.agree:
        some = next(h for h in result.hashes.values() if h is not None)
        typer.echo(f"agreement: yes, {len(result.hashes)} live node(s) have block "
                   f"{some[:16]} at height {result.common_height}")
    else:
        typer.echo(f"agreement: NO at height {result.common_height}")


@devnet_command("logs")
def logs(
    devnet: Devnet,
    node: Annotated[
        str | None, typer.Argument(help="The node (v0, v1, ...); all nodes when omitted.")
    ] = None,
    *,
    follow_lines: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")
    ] = False,
    lines: Annotated[
        int, typer.Option("--lines", "-n", min=0, max=10_000, help="Lines to show first.")
    ] = 20,
) -> None:
    """Print the last lines of one node's log (or of every node's, prefixed by its name)."""
    layout = load_layout(devnet.root)
    specs = [layout.node(node)] if node is not None else layout.nodes
    prefix = node is None
    homes = {spec.name: Path(spec.home) for spec in specs}
    for name, node_home in homes.items():
        for line in log_tail(node_home, lines):
            _print_log_line(name, line, prefix, devnet.output)
    if follow_lines:
        try:
            for name, line in follow(homes):
                _print_log_line(name, line, prefix, devnet.output)
        except KeyboardInterrupt:
            return


def _print_log_line(name: str, line: str, prefix: bool, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        typer.echo(json.dumps({"node": name, "line": line}))
    else:
        typer.echo(f"{name} | {line}" if prefix else line)


def _outcomes_dict(outcomes: list[StopOutcome]) -> list[dict[str, Any]]:
    return [{"name": o.name, "pid": o.pid, "outcome": o.outcome, "stale": o.stale}
            for o in outcomes]


def _print_outcomes(outcomes: list[StopOutcome]) -> None:
    for o in outcomes:
        if o.outcome == "not_running":
            note = " (removed a stale pid file)" if o.stale else ""
            typer.echo(f"{o.name}: was not running{note}")
        else:
            how = "stopped" if o.outcome == "stopped" else "killed after the grace period"
            typer.echo(f"{o.name}: {how} (pid {o.pid})")


@devnet_command("stop")
def stop(devnet: Devnet, node: NodeArgument) -> None:
    """Stop one node (SIGTERM, SIGKILL after a grace period); the others keep running."""
    outcome = control.stop_node(devnet.home, node)
    emit(devnet.output, _outcomes_dict([outcome])[0], lambda: _print_outcomes([outcome]))


@app.command("start")
@handle_errors
def start(
    node: NodeArgument,
    *,
    home: DevnetHomeOption = control.DEFAULT_DEVNET_HOME,
    timeout: TimeoutOption = READY_TIMEOUT_S,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Start one stopped node and wait until it answers JSON-RPC."""
    info = control.start_node(home, node, timeout_s=timeout)
    emit(output, info.to_dict(),
         lambda: typer.echo(f"{info.name}: started (pid {info.pid}), RPC {info.rpc}"))


@devnet_command("down")
def down(devnet: Devnet) -> None:
    """Stop every node; the data is kept, so `agora devnet up` resumes the same chain."""
    outcomes = control.down(devnet.home)
    emit(devnet.output, {"nodes": _outcomes_dict(outcomes)}, lambda: _print_outcomes(outcomes))


@devnet_command("reset")
def reset(
    devnet: Devnet, *,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = (
        False
    ),
) -> None:
    """Stop every node and delete the devnet directory (chain data, keys, logs)."""
    root = devnet.root
    control.require_devnet(root)  # refuses before asking when this is not a devnet
    if not yes:
        if not sys.stdin.isatty():
            raise DevnetError(DevnetErrorCode.CONFIRMATION_REQUIRED,
                              f"reset deletes {root}; pass --yes to confirm")
        if not typer.confirm(f"Delete the devnet at {root} (chain data, keys, logs)?"):
            fail("aborted", "nothing was deleted")
    outcomes = control.reset(root)

    def text() -> None:
        _print_outcomes(outcomes)
        typer.echo(f"deleted {root}")

    emit(devnet.output, {"deleted": str(root), "nodes": _outcomes_dict(outcomes)}, text)


def _print_reconfig(result: reconfig.ReconfigResult) -> None:
    if result.action == "remove":
        typer.echo(f"{result.name}: out of the validator set from height "
                   f"{result.activation_height} (proposal {result.proposal} passed at "
                   f"{result.passed_height}); node stopped, home kept at {result.home}")
        return
    verb = "joined the validator set" if result.action == "add" else "signs with its new key"
    typer.echo(f"{result.name}: {verb} at height {result.activation_height} (proposal "
               f"{result.proposal} passed at {result.passed_height}); first commit "
               f"certificate signed at height {result.first_signed_height}, "
               f"{result.blocks_to_first_vote} blocks and {result.seconds_to_first_vote} s "
               f"after the passing vote")
    typer.echo(f"  key {result.public_key}  RPC {result.rpc}  pid {result.pid}  "
               f"home {result.home}")


def _reconfigure(devnet: Devnet,
                 change: Callable[[Progress], reconfig.ReconfigResult]) -> None:
    """Run a validator-set change with a progress line on a terminal, then show or emit
    its result."""
    with terminal_progress(devnet.output is OutputFormat.text) as progress:
        result = change(progress)
    emit(devnet.output, result.to_dict(), lambda: _print_reconfig(result))


ReconfigTimeoutOption = Annotated[
    float,
    typer.Option("--timeout", min=1.0,
                 help="Seconds to wait for the change to take effect."),
]


@devnet_command("add-validator")
def add_validator(
    devnet: Devnet, *,
    name: Annotated[str | None, typer.Option(
        "--name", help="The new validator's name [default: v<next index>].",
        show_default=False)] = None,
    timeout: ReconfigTimeoutOption = reconfig.RECONFIG_TIMEOUT_S,
) -> None:
    """Admit a new validator by vote: write its home and key, propose it, have the
    validators vote, start its node, and wait until it signs commit certificates."""
    _reconfigure(devnet, lambda progress: reconfig.add_validator(
        devnet.home, name, timeout_s=timeout, progress=progress))


@devnet_command("remove-validator")
def remove_validator(
    devnet: Devnet, node: NodeArgument, *,
    timeout: ReconfigTimeoutOption = reconfig.RECONFIG_TIMEOUT_S,
) -> None:
    """Vote a validator out: propose its removal, have the others vote, wait for the
    activation height, and stop its node (its home is kept)."""
    _reconfigure(devnet, lambda progress: reconfig.remove_validator(
        devnet.home, node, timeout_s=timeout, progress=progress))


@devnet_command("rotate-key")
def rotate_key(
    devnet: Devnet, node: NodeArgument, *,
    timeout: ReconfigTimeoutOption = reconfig.RECONFIG_TIMEOUT_S,
) -> None:
    """Replace a validator's consensus key by vote (signed by the old and the new key),
    then restart its node with the new key once the change is in force."""
    _reconfigure(devnet, lambda progress: reconfig.rotate_key(
        devnet.home, node, timeout_s=timeout, progress=progress))
