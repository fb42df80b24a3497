"""Node processes of a local devnet: spawn, find, stop, and wait until they make blocks.

Each validator runs as a detached `agora start --home <home>` in a process group of its own,
so a Ctrl-C in the terminal that ran `agora devnet up` reaches only that command, which then
stops the nodes itself. The nodes stay in the launcher's session: Linux's autogroup
scheduling shares the CPU fairly between sessions first and applies thread priorities only
within one, so with a session per node the lowered priority of each node's LevelDB
compaction thread (`[store] compaction_niceness`) would hold against its own event loop but
not against the other validators sharing the machine. Its stdout and stderr are appended to
`<home>/node.log`, its PID is written to `<home>/node.pid`.

A PID file is trusted only when the process is alive *and* its command line names the home
directory (`/proc/<pid>/cmdline`): a PID left behind by a crash or a reboot, possibly reused by
an unrelated process, is reported as stale and never signalled.

Limits: `stop_processes` waits `STOP_GRACE_S` after SIGTERM, then sends SIGKILL and waits
`KILL_WAIT_S`; `wait_for_chain` polls every `POLL_INTERVAL_S` for at most its `timeout_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.rpc import RpcClient, RpcClientError
from devnet.errors import DevnetError, DevnetErrorCode
from node.errors import NodeError, NodeErrorCode

PID_FILE = "node.pid"
LOG_FILE = "node.log"
STOP_GRACE_S = 10.0
KILL_WAIT_S = 5.0
READY_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.25
STATUS_TIMEOUT_S = 2.0
LOG_TAIL_LINES = 5
MAX_LOG_TAIL_BYTES = 64 * 1024
MAX_PID_FILE_BYTES = 64
LOOPBACK = "127.0.0.1"

# Popen objects of the nodes this process spawned, kept so they can be reaped (no zombies,
# no ResourceWarning) when a foreground `agora devnet up` stops them.
_children: dict[int, subprocess.Popen[bytes]] = {}


def pid_path(home: Path) -> Path:
    """`<home>/node.pid`."""
    return home / PID_FILE


def log_path(home: Path) -> Path:
    """`<home>/node.log`."""
    return home / LOG_FILE


@dataclass(frozen=True)
class ProcessState:
    """What the PID file of one node home says, checked against the live processes."""

    name: str
    home: Path
    pid: int | None  # from the PID file; None when there is none or it is unreadable
    alive: bool  # the PID is a live `agora start` of this home
    pid_file: bool  # a PID file exists

    @property
    def stale(self) -> bool:
        """A PID file exists but names no live node of this home."""
        return self.pid_file and not self.alive


def read_pid(home: Path) -> int | None:
    """The PID in `<home>/node.pid`, or None when it is missing or not a positive integer."""
    try:
        with pid_path(home).open("rb") as handle:
            text = handle.read(MAX_PID_FILE_BYTES).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def write_pid(home: Path, pid: int) -> None:
    """Write `pid` to `<home>/node.pid` atomically."""
    assert pid > 0, f"bad pid {pid}"
    path = pid_path(home)
    temporary = path.with_name(f".{PID_FILE}.tmp")
    temporary.write_text(f"{pid}\n", encoding="ascii")
    os.replace(temporary, path)


def remove_pid(home: Path) -> None:
    """Delete `<home>/node.pid` if present."""
    pid_path(home).unlink(missing_ok=True)


def _reap(pid: int) -> None:
    """Collect the exit status of `pid` if it is our exited child (else do nothing)."""
    child = _children.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _children[pid]
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].strip().startswith("Z")


def is_node_process(pid: int, home: Path) -> bool:
    """True when `pid` is alive and is `agora start` for `home` (a child this process spawned
    and has not reaped, or a process whose command line names it).

    Where /proc is missing, only liveness can be checked.
    """
    _reap(pid)
    child = _children.get(pid)
    if child is not None:
        # Our own child that has not exited (`_reap` forgets it when it does), judged by the
        # command we gave it (which names the home, also behind a wrapper such as `ip netns
        # exec`), not by /proc: right after `Popen` returns, the kernel can still
        # be inside execve with the new command line not yet published (cmdline reads empty;
        # seen once as a node "exited while starting" that was starting).
        return isinstance(child.args, list) and str(home.resolve()) in child.args
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process: not ours
    proc = Path(f"/proc/{pid}")
    if not Path("/proc/self").exists():
        return True
    if _is_zombie(pid):
        return False
    try:
        arguments = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(home.resolve()).encode() in arguments and b"start" in arguments


def process_state(name: str, home: Path) -> ProcessState:
    """The state of node `name` whose home is `home`."""
    pid = read_pid(home)
    exists = pid_path(home).exists()
    alive = pid is not None and is_node_process(pid, home)
    return ProcessState(name, home, pid, alive, exists)


def port_free(port: int, host: str = LOOPBACK) -> bool:
    """True when a listening socket could bind `host:port` now (SO_REUSEADDR, as the node
    binds, so connections in TIME_WAIT from a previous run do not count)."""
    assert 0 < port < 65536, f"bad port {port}"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def check_ports_free(ports: Iterable[tuple[int, str]]) -> None:
    """Raise NodeError(port_in_use) naming the first (port, label) that is taken."""
    for port, label in ports:
        if not port_free(port):
            raise NodeError(
                NodeErrorCode.PORT_IN_USE,
                f"port {port} ({label}) on {LOOPBACK} is in use; stop what holds it or pick "
                "another --base-port (with a new --home)",
            )


def node_command(home: Path) -> list[str]:
    """The command line that runs `agora start` for `home` with this interpreter."""
    script = Path(sys.executable).parent / "agora"
    prefix = [sys.executable, str(script)] if script.is_file() else [
        sys.executable, "-c", "from cli.main import app; app()"]
    return [*prefix, "start", "--home", str(home.resolve())]


def spawn_node(name: str, home: Path) -> int:
    """Start node `name` detached (a process group of its own in this session, see the
    module's docstring), logs appended to `<home>/node.log`; write its PID file and return
    the PID. The caller checks ports and liveness first."""
    home = home.resolve()
    assert home.is_dir(), f"no node home at {home}"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path(home).open("ab") as log:
        log.write(f"--- agora devnet: starting {name} at {stamp} ---\n".encode())
        log.flush()
        child = subprocess.Popen(
            node_command(home), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            process_group=0, close_fds=True, env=env,
        )
    _children[child.pid] = child
    write_pid(home, child.pid)
    return child.pid


@dataclass(frozen=True)
class StopOutcome:
    """How one node ended: `stopped` (SIGTERM), `killed` (SIGKILL), `not_running`."""

    name: str
    pid: int | None
    outcome: str
    stale: bool = False


def stop_processes(
    states: Sequence[ProcessState], *, grace_s: float = STOP_GRACE_S
) -> list[StopOutcome]:
    """Stop every live node in `states` at once: SIGTERM, then SIGKILL to those still alive
    after `grace_s`. PID files are removed (also stale ones). Raises DevnetError(stop_failed)
    when a process survives SIGKILL for `KILL_WAIT_S`."""
    live = [s for s in states if s.alive]
    for state in live:
        assert state.pid is not None
        _signal(state.pid, signal.SIGTERM)
    survivors = _wait_exit(live, grace_s)
    for state in survivors:
        assert state.pid is not None
        _signal(state.pid, signal.SIGKILL)
    stuck = _wait_exit(survivors, KILL_WAIT_S)
    if stuck:
        names = ", ".join(f"{s.name} (pid {s.pid})" for s in stuck)
        raise DevnetError(DevnetErrorCode.STOP_FAILED, f"still alive after SIGKILL: {names}")
    outcomes: list[StopOutcome] = []
    killed = {s.name for s in survivors}
    for state in states:
        remove_pid(state.home)
        if state.alive:
            outcome = "killed" if state.name in killed else "stopped"
            outcomes.append(StopOutcome(state.name, state.pid, outcome))
        else:
            outcomes.append(StopOutcome(state.name, state.pid, "not_running", state.stale))
    return outcomes


def kill_node(state: ProcessState, sig: int = signal.SIGKILL) -> None:
    """Send `sig` to a live node without waiting (fault injection); no-op when not alive."""
    if state.alive and state.pid is not None:
        _signal(state.pid, sig)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_exit(states: Sequence[ProcessState], timeout_s: float) -> list[ProcessState]:
    """Wait up to `timeout_s` for the processes to exit; those still alive."""
    deadline = time.monotonic() + timeout_s
    pending = list(states)
    while pending:
        pending = [s for s in pending if s.pid is not None and is_node_process(s.pid, s.home)]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return pending


def log_tail(home: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last `lines` lines of `<home>/node.log` (reads at most MAX_LOG_TAIL_BYTES)."""
    assert lines >= 0, "a tail has a non-negative length"
    path = log_path(home)
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - MAX_LOG_TAIL_BYTES))
            data = handle.read()
    except OSError:
        return []
    text = data.decode("utf-8", "replace").splitlines()
    if size > MAX_LOG_TAIL_BYTES and text:
        text = text[1:]  # the first line is probably cut
    return text[-lines:] if lines else []


def tail_text(name: str, home: Path) -> str:
    """`last log lines of v1: a | b | c (full log: <path>)` for one-line errors."""
    tail = log_tail(home)
    shown = " | ".join(line.strip() for line in tail) if tail else "(empty)"
    return f"last log lines of {name}: {shown} (full log: {log_path(home)})"


@dataclass(frozen=True)
class Endpoint:
    """A node to poll: its name, home, PID and JSON-RPC URL."""

    name: str
    home: Path
    pid: int
    rpc_url: str


async def fetch_status(url: str, timeout_s: float = STATUS_TIMEOUT_S) -> dict[str, Any] | None:
    """`node_status` of the node at `url`, or None when it does not answer."""
    try:
        async with RpcClient(url, timeout_s=timeout_s) as client:
            result = await client.call("node_status")
    except RpcClientError:
        return None
    return result if isinstance(result, dict) else None


async def block_hash_at(url: str, height: int,
                        timeout_s: float = STATUS_TIMEOUT_S) -> str | None:
    """The hash of the block at `height` on the node at `url`, or None if it has none."""
    try:
        async with RpcClient(url, timeout_s=timeout_s) as client:
            block = await client.call("chain_getBlock", height=height, full_txs=False)
    except RpcClientError:
        return None
    try:
        return str(block["header"]["hash"])
    except (KeyError, TypeError):
        return None


async def hashes_at(urls: Sequence[str], height: int) -> list[str | None]:
    """The block hash at `height` on each node (None where a node does not answer)."""
    return list(await asyncio.gather(*(block_hash_at(url, height) for url in urls)))


async def wait_for_chain(endpoints: Sequence[Endpoint], *, min_height: int = 1,
                         timeout_s: float = READY_TIMEOUT_S) -> dict[str, dict[str, Any]]:
    """Poll until every endpoint answers `node_status` at height >= `min_height` and all agree
    on the block hash at their lowest common height; the statuses by name.

    Raises DevnetError(node_exited) with the node's last log lines as soon as a process dies,
    DevnetError(not_ready) with each node's last known state after `timeout_s`.
    """
    assert endpoints, "nothing to wait for"
    assert timeout_s > 0, "a wait needs a positive timeout"
    deadline = time.monotonic() + timeout_s
    statuses: list[dict[str, Any] | None] = [None] * len(endpoints)
    while True:
        for endpoint in endpoints:
            if not is_node_process(endpoint.pid, endpoint.home):
                raise DevnetError(
                    DevnetErrorCode.NODE_EXITED,
                    f"{endpoint.name} (pid {endpoint.pid}) exited while starting; "
                    + tail_text(endpoint.name, endpoint.home),
                )
        statuses = list(await asyncio.gather(*(fetch_status(e.rpc_url) for e in endpoints)))
        if all(s is not None and int(s.get("height", 0)) >= min_height for s in statuses):
            ready = [s for s in statuses if s is not None]
            common = min(int(s["height"]) for s in ready)
            hashes = await hashes_at([e.rpc_url for e in endpoints], common)
            if None not in hashes and len(set(hashes)) == 1:
                return {e.name: s for e, s in zip(endpoints, ready, strict=True)}
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(POLL_INTERVAL_S)
    report = "; ".join(
        f"{e.name}: " + ("no RPC answer" if s is None else f"height {s.get('height')}")
        for e, s in zip(endpoints, statuses, strict=True)
    )
    slowest = next((e for e, s in zip(endpoints, statuses, strict=True) if s is None),
                   endpoints[0])
    raise DevnetError(
        DevnetErrorCode.NOT_READY,
        f"no agreed block at height >= {min_height} after {timeout_s:g} s ({report}); "
        + tail_text(slowest.name, slowest.home),
    )
