"""What `agora devnet` does: bring a devnet up or down, start or stop one node, report status.

Every function takes the devnet root (the directory with `devnet.json`) and returns a plain
result for the CLI to render; refusals are `DevnetError` or `NodeError` with a one-line
message that says what to do. State lives on disk only (`devnet.json`, each node's
`node.pid`), so any terminal can run any command against a devnet another one started.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devnet.errors import DevnetError, DevnetErrorCode
from devnet.layout import (
    DEFAULT_BASE_PORT,
    DEFAULT_CHAIN_ID,
    LAYOUT_FILE,
    Layout,
    NodeSpec,
    create_layout,
    load_layout,
    node_ports,
)
from devnet.merchants import approve_demo_merchants
from devnet.processes import (
    READY_TIMEOUT_S,
    Endpoint,
    ProcessState,
    StopOutcome,
    check_ports_free,
    fetch_status,
    hashes_at,
    process_state,
    remove_pid,
    spawn_node,
    stop_processes,
    wait_for_chain,
)
from node.errors import NodeError, NodeErrorCode
from node.progress import NoProgress, Progress

DEFAULT_VALIDATORS = 4
DEFAULT_DEVNET_HOME = Path(".devnet")
MAX_VALIDATORS = 64
KEYRING_BACKEND = "test"
WATCH_INTERVAL_S = 1.0
WATCH_EVERY_BLOCKS = 10

# Printed after `up`, in this order: the command and what it shows.
NEXT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("agora devnet demo", "play a shop story: list, share, buy, ship, review, claim, vote"),
    ("agora devnet status", "height, view, peers and agreement of every node"),
    ("agora devnet logs v0 --follow", "one node's log as it grows"),
    ("agora devnet stop v3", "stop a validator (the other three keep making blocks)"),
    ("agora devnet start v3", "bring it back; it catches up"),
    ("agora query status --node {rpc}", "ask one node over JSON-RPC"),
    ("agora tx transfer --from alice --to bob --amount 5 --keyring-backend test "
     "--keyring-dir {keyring} --node {rpc}", "send tokens between demo accounts"),
    ("agora --help", "every command"),
)


@dataclass(frozen=True)
class NodeInfo:
    """A running validator as `up` and `start` report it."""

    name: str
    rpc: str
    p2p: str
    pid: int | None
    home: str

    def to_dict(self) -> dict[str, Any]:
        """`{"name", "rpc", "p2p", "pid", "home"}`."""
        return {"name": self.name, "rpc": self.rpc, "p2p": self.p2p, "pid": self.pid,
                "home": self.home}


def node_info(spec: NodeSpec, pid: int | None) -> NodeInfo:
    """The NodeInfo of `spec` running as `pid`."""
    return NodeInfo(spec.name, spec.rpc_url, f"127.0.0.1:{spec.p2p_port}", pid, spec.home)


@dataclass(frozen=True)
class UpResult:
    """A devnet that `up` started: its layout, processes and what it found on the way."""

    layout: Layout
    nodes: list[NodeInfo]
    created: bool  # a new chain (False: an existing stopped devnet was resumed)
    stale: list[ProcessState]  # PID files that named no live node; removed
    height: int  # the lowest height the nodes agreed on when `up` returned
    approved: list[str] = field(default_factory=list)  # demo merchants approved by this run

    def to_dict(self) -> dict[str, Any]:
        """`{"chain_id", "nodes", "accounts", "keyring"}` (the `--output json` shape)."""
        return {
            "chain_id": self.layout.chain_id,
            "nodes": [n.to_dict() for n in self.nodes],
            "accounts": [dict(a) for a in self.layout.accounts],
            "keyring": self.layout.keyring,
        }


def states_of(layout: Layout) -> list[ProcessState]:
    """The process state of every node, in layout order."""
    return [process_state(spec.name, Path(spec.home)) for spec in layout.nodes]


def _live_names(states: list[ProcessState]) -> str:
    return ", ".join(f"{s.name} pid {s.pid}" for s in states if s.alive)


def _check_layout_options(layout: Layout, validators: int | None, base_port: int | None) -> None:
    if validators is not None and validators != len(layout.nodes):
        raise DevnetError(
            DevnetErrorCode.LAYOUT_MISMATCH,
            f"the devnet at {layout.root} has {len(layout.nodes)} validators, not {validators}; "
            f"run agora devnet reset --home {layout.root} first, or use another --home",
        )
    if base_port is not None and base_port != layout.base_port:
        raise DevnetError(
            DevnetErrorCode.LAYOUT_MISMATCH,
            f"the devnet at {layout.root} uses base port {layout.base_port}, not {base_port}; "
            f"run agora devnet reset --home {layout.root} first, or use another --home",
        )


def _ports_of(names_ports: list[tuple[str, int, int]]) -> list[tuple[int, str]]:
    ports: list[tuple[int, str]] = []
    for name, rpc_port, p2p_port in names_ports:
        ports.extend([(rpc_port, f"{name} rpc"), (p2p_port, f"{name} p2p")])
    return ports


def _existing_layout(root: Path) -> Layout | None:
    """The layout under `root`, None when `root` is missing or empty; refuses a non-empty
    directory that is not a devnet."""
    if (root / LAYOUT_FILE).is_file():
        return load_layout(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DevnetError(
            DevnetErrorCode.NOT_A_DEVNET,
            f"{root} exists and is not a devnet (no {LAYOUT_FILE}); choose another --home",
        )
    return None


def init(root: Path, *, validators: int = DEFAULT_VALIDATORS,
         base_port: int = DEFAULT_BASE_PORT, chain_id: str = DEFAULT_CHAIN_ID,
         listen_host: str = "127.0.0.1", peer_hosts: Sequence[str] | None = None) -> Layout:
    """Write a devnet's homes, genesis and keyring under `root` without starting anything
    (for containers or hosts that run `agora start` themselves; see deploy/).

    Raises NodeError(home_exists) when `root` holds a devnet already, DevnetError(not_a_devnet)
    when it is a non-empty directory, ValueError for counts or hosts that do not fit.
    """
    root = root.expanduser().resolve()
    if _existing_layout(root) is not None:
        raise NodeError(NodeErrorCode.HOME_EXISTS,
                        f"{root} already holds a devnet (agora devnet reset to wipe it)")
    _check_counts(validators, base_port)
    if peer_hosts is not None and len(peer_hosts) != validators:
        raise ValueError(f"--peer-hosts names {len(peer_hosts)} hosts for {validators} "
                         "validators")
    return create_layout(root, validators=validators, base_port=base_port, chain_id=chain_id,
                         listen_host=listen_host, peer_hosts=peer_hosts)


def _check_counts(validators: int, base_port: int) -> None:
    if not 1 <= validators <= MAX_VALIDATORS:
        raise ValueError(f"--validators must be 1..{MAX_VALIDATORS}, not {validators}")
    if not 1024 <= base_port <= 65535 - 2 * validators:
        raise ValueError(f"--base-port must leave room for {2 * validators} ports: 1024.."
                         f"{65535 - 2 * validators}")


def up(root: Path, *, validators: int | None = None, base_port: int | None = None,
       timeout_s: float = READY_TIMEOUT_S, progress: Progress | None = None) -> UpResult:
    """Create the devnet under `root` if there is none (else resume the stopped one), start
    every node and return once all agree on a block made by this run. On a new chain the demo
    merchants are then registered and approved by the validators (`approve_demo_merchants`).
    `progress` hears of each of these phases.

    Refuses with DevnetError(already_running) when a node of this devnet is alive,
    NodeError(port_in_use) naming a taken port, DevnetError(layout_mismatch) when
    `validators`/`base_port` contradict the existing layout. On a start failure (node_exited,
    not_ready) every node it started is stopped again before the error is raised.
    """
    progress = progress or NoProgress()
    root = root.expanduser().resolve()
    layout = _existing_layout(root)
    stale: list[ProcessState] = []
    created = layout is None
    if layout is not None:
        _check_layout_options(layout, validators, base_port)
        states = states_of(layout)
        if any(s.alive for s in states):
            raise DevnetError(
                DevnetErrorCode.ALREADY_RUNNING,
                f"the devnet at {root} is already running ({_live_names(states)}); see "
                f"agora devnet status --home {root}, or stop it with agora devnet down",
            )
        stale = [s for s in states if s.stale]
        for state in stale:
            remove_pid(state.home)
        check_ports_free(_ports_of([(n.name, n.rpc_port, n.p2p_port) for n in layout.nodes]))
    else:
        count = validators if validators is not None else DEFAULT_VALIDATORS
        base = base_port if base_port is not None else DEFAULT_BASE_PORT
        _check_counts(count, base)
        check_ports_free(_ports_of([(f"v{i}", *node_ports(base, i)) for i in range(count)]))
        progress.step(f"creating a devnet of {count} validators: homes, keys, genesis")
        layout = create_layout(root, validators=count, base_port=base)
    progress.step(f"starting {len(layout.nodes)} nodes")
    pids = _spawn_all(layout)
    try:
        height = asyncio.run(_wait_started(layout, pids, timeout_s, resumed=not created,
                                           progress=progress))
    except BaseException:
        stop_processes(states_of(layout))
        raise
    approved: list[str] = []
    if created:
        progress.step("registering the demo merchants and approving them by vote")
        try:
            approved = approve_demo_merchants(layout)
        except BaseException:
            stop_processes(states_of(layout))
            raise
    nodes = [node_info(spec, pids[spec.name]) for spec in layout.nodes]
    return UpResult(layout, nodes, created, stale, height, approved)


def _spawn_all(layout: Layout) -> dict[str, int]:
    pids: dict[str, int] = {}
    try:
        for spec in layout.nodes:
            pids[spec.name] = spawn_node(spec.name, Path(spec.home))
    except BaseException:
        stop_processes(states_of(layout))
        raise
    return pids


async def _wait_started(layout: Layout, pids: dict[str, int], timeout_s: float, *,
                        resumed: bool, progress: Progress) -> int:
    """Wait for agreement at height >= 1; for a `resumed` chain, then for one block more (so
    it is seen to make blocks, not only to hold old ones); the agreed height."""
    endpoints = [Endpoint(s.name, Path(s.home), pids[s.name], s.rpc_url) for s in layout.nodes]
    deadline = time.monotonic() + timeout_s
    progress.step("waiting for the nodes to agree on a first block")
    statuses = await wait_for_chain(endpoints, min_height=1, timeout_s=timeout_s)
    first = min(int(s["height"]) for s in statuses.values())
    if resumed:
        progress.step(f"waiting for a block after height {first}")
        remaining_s = max(1.0, deadline - time.monotonic())
        statuses = await wait_for_chain(endpoints, min_height=first + 1, timeout_s=remaining_s)
    return min(int(s["height"]) for s in statuses.values())


@dataclass
class NodeStatusRow:
    """One line of `agora devnet status`."""

    name: str
    pid: int | None
    alive: bool
    stale: bool
    rpc: str
    height: int | None = None
    view: int | None = None
    peers: int | None = None
    mempool_txs: int | None = None
    latest_block_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON."""
        return {
            "name": self.name, "pid": self.pid, "alive": self.alive, "stale": self.stale,
            "rpc": self.rpc, "height": self.height, "view": self.view, "peers": self.peers,
            "mempool_txs": self.mempool_txs, "latest_block_hash": self.latest_block_hash,
        }


@dataclass
class DevnetStatus:
    """`agora devnet status`: every node, and whether the live ones agree."""

    root: str
    chain_id: str
    nodes: list[NodeStatusRow]
    common_height: int | None = None  # lowest height among the nodes that answered
    hashes: dict[str, str | None] = field(default_factory=dict)  # block hash at it, by node

    @property
    def agree(self) -> bool | None:
        """True when the answering nodes report one hash at `common_height`; None when fewer
        than one node answered or no block exists yet."""
        known = [h for h in self.hashes.values() if h is not None]
        if not known:
            return None
        return len(set(known)) == 1 and len(known) == len(self.hashes)

    def to_dict(self) -> dict[str, Any]:
        """The status as JSON."""
        return {
            "home": self.root, "chain_id": self.chain_id,
            "nodes": [n.to_dict() for n in self.nodes],
            "agreement": {"height": self.common_height, "agree": self.agree,
                          "hashes": self.hashes},
        }


def status(root: Path) -> DevnetStatus:
    """Ask every live node for `node_status`, then each answering node for its block at the
    lowest common height. Raises NodeError(not_found) when there is no devnet at `root`."""
    layout = load_layout(root.expanduser().resolve())
    return asyncio.run(_status(layout))


async def _status(layout: Layout) -> DevnetStatus:
    states = states_of(layout)
    answers = await asyncio.gather(*(
        fetch_status(spec.rpc_url) if state.alive else _none()
        for spec, state in zip(layout.nodes, states, strict=True)
    ))
    rows: list[NodeStatusRow] = []
    for spec, state, answer in zip(layout.nodes, states, answers, strict=True):
        row = NodeStatusRow(spec.name, state.pid, state.alive, state.stale, spec.rpc_url)
        if answer is not None:
            row.height = int(answer.get("height", 0))
            row.view = int(answer.get("view", 0))
            row.peers = int(answer.get("peers", 0))
            row.mempool_txs = int(answer.get("mempool_txs", 0))
            row.latest_block_hash = str(answer.get("latest_block_hash", ""))
        rows.append(row)
    result = DevnetStatus(layout.root, layout.chain_id, rows)
    answered = [(r, spec) for r, spec in zip(rows, layout.nodes, strict=True)
                if r.height is not None]
    if answered:
        common = min(r.height for r, _ in answered if r.height is not None)
        result.common_height = common
        if common >= 1:
            hashes = await hashes_at([spec.rpc_url for _, spec in answered], common)
            result.hashes = {r.name: h for (r, _), h in zip(answered, hashes, strict=True)}
    return result


async def _none() -> None:
    return None


def stop_node(root: Path, name: str) -> StopOutcome:
    """Stop one node (SIGTERM, then SIGKILL after a grace period); a node that is not
    running is reported as such, not refused. Raises NodeError(not_found) for a bad name."""
    layout = load_layout(root.expanduser().resolve())
    spec = layout.node(name)
    return stop_processes([process_state(spec.name, Path(spec.home))])[0]


def start_node(root: Path, name: str, *, timeout_s: float = READY_TIMEOUT_S) -> NodeInfo:
    """Start one stopped node and return once it answers RPC (it may still be catching up).

    Raises DevnetError(already_running), NodeError(port_in_use), DevnetError(node_exited or
    not_ready, with its log tail; the process is stopped again).
    """
    layout = load_layout(root.expanduser().resolve())
    spec = layout.node(name)
    state = process_state(spec.name, Path(spec.home))
    if state.alive:
        raise DevnetError(DevnetErrorCode.ALREADY_RUNNING,
                          f"{name} is already running (pid {state.pid})")
    remove_pid(Path(spec.home))
    check_ports_free(_ports_of([(spec.name, spec.rpc_port, spec.p2p_port)]))
    pid = spawn_node(spec.name, Path(spec.home))
    endpoint = Endpoint(spec.name, Path(spec.home), pid, spec.rpc_url)
    try:
        asyncio.run(wait_for_chain([endpoint], min_height=0, timeout_s=timeout_s))
    except BaseException:
        stop_processes([process_state(spec.name, Path(spec.home))])
        raise
    return node_info(spec, pid)


def down(root: Path) -> list[StopOutcome]:
    """Stop every node of the devnet (data is kept: `up` resumes the same chain)."""
    layout = load_layout(root.expanduser().resolve())
    return stop_processes(states_of(layout))


def require_devnet(root: Path) -> None:
    """Raise DevnetError(not_a_devnet) unless `root` holds a `devnet.json`."""
    if not (root / LAYOUT_FILE).is_file():
        raise DevnetError(DevnetErrorCode.NOT_A_DEVNET,
                          f"{root} holds no {LAYOUT_FILE}; refusing to delete it")


def reset(root: Path) -> list[StopOutcome]:
    """Stop every node, then delete the devnet directory. Refuses with
    DevnetError(not_a_devnet) unless `root` holds a `devnet.json`."""
    root = root.expanduser().resolve()
    require_devnet(root)
    try:
        layout = load_layout(root)
    except Exception:
        outcomes: list[StopOutcome] = []  # a damaged devnet.json: nothing we can stop by it
    else:
        outcomes = stop_processes(states_of(layout))
    shutil.rmtree(root)
    return outcomes


def watch(layout: Layout, stop: asyncio.Event, emit: Callable[[str], None], *,
          every_blocks: int = WATCH_EVERY_BLOCKS,
          interval_s: float = WATCH_INTERVAL_S) -> asyncio.Future[None]:
    """A task that reports the chain while `agora devnet up` runs in the foreground: a line
    each `every_blocks` heights, and a line when a node stops or comes back. It ends when
    `stop` is set or when every node has stopped (e.g. `agora devnet down` elsewhere)."""
    assert every_blocks >= 1, "report at least every block"
    return asyncio.ensure_future(_watch(layout, stop, emit, every_blocks, interval_s))


async def _watch(layout: Layout, stop: asyncio.Event, emit: Callable[[str], None],
                 every_blocks: int, interval_s: float) -> None:
    last_bucket = -1
    alive_before = {spec.name: True for spec in layout.nodes}
    while not stop.is_set():
        states = states_of(layout)
        for state in states:
            if state.alive != alive_before[state.name]:
                emit(f"{state.name} is running again (pid {state.pid})" if state.alive else
                     f"{state.name} stopped (agora devnet start {state.name} brings it back)")
                alive_before[state.name] = state.alive
        live = [spec for spec, state in zip(layout.nodes, states, strict=True) if state.alive]
        if not live:
            emit("every node has stopped; exiting")
            return
        answer = await fetch_status(live[0].rpc_url)
        if answer is not None:
            height = int(answer.get("height", 0))
            if height // every_blocks != last_bucket:
                last_bucket = height // every_blocks
                emit(f"height {height} on {live[0].name}  view {answer.get('view')}  "
                     f"peers {answer.get('peers')}  nodes up {len(live)}/{len(layout.nodes)}")
        try:
            await asyncio.wait_for(stop.wait(), interval_s)
        except TimeoutError:
            pass
