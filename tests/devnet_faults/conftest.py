"""Real 4-validator devnets for the fault tests, and the tools to break and observe them.

A `Devnet` is created with short consensus timers (so a view change takes about a second,
not the default four), started with `devnet.control.up`, and driven over JSON-RPC. Every
process a test starts is stopped by PID in a finalizer, even when the test fails; a failed
test gets the tail of every node's log attached to its report (pytest prints it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from client.rpc import RpcClient, RpcClientError
from consensus.messages import verify_certificate
from devnet import control
from devnet.layout import Layout, create_layout
from devnet.merchants import approve_demo_merchants
from devnet.processes import (
    ProcessState,
    log_tail,
    process_state,
    read_pid,
    remove_pid,
    spawn_node,
    stop_processes,
)
from tests.devnet.conftest import free_base_port

VALIDATORS = 4
# Short timers: a backup suspects the primary after 1 s without progress, a view change
# waits 1 s first (doubling up to 4 s); an idle chain makes a block every 300 ms.
FAST_CONSENSUS: dict[str, Any] = {
    "view_change_timeout_ms": 1_000,
    "view_change_timeout_max_ms": 4_000,
    "idle_block_interval_ms": 300,
}
RPC_TIMEOUT_S = 2.0
LOG_LINES_ON_FAILURE = 40
# Observed times, printed at the end of the session (tests/conftest.py, also from workers).
TIMINGS: dict[str, float] = {}

# The node logs every live devnet contributes to a failed test's report.
_live: list[Devnet] = []


def run(coro: Any) -> Any:
    """Run one coroutine to completion (the tests are synchronous)."""
    return asyncio.run(coro)


async def _gather(coros: list[Any]) -> list[Any]:
    return list(await asyncio.gather(*coros))


def run_all(coros: Any) -> list[Any]:
    """Run coroutines concurrently; their results in order."""
    return asyncio.run(_gather(list(coros)))


async def call(url: str, method: str, timeout_s: float = RPC_TIMEOUT_S, **params: Any) -> Any:
    """One JSON-RPC call; None when the node does not answer or refuses."""
    try:
        async with RpcClient(url, timeout_s=timeout_s) as client:
            return await client.call(method, **params)
    except RpcClientError:
        return None


async def call_answered(url: str, method: str, timeout_s: float = RPC_TIMEOUT_S,
                        **params: Any) -> Any:
    """One JSON-RPC call whose answer a check depends on: a node that does not answer
    fails the test (with the error) instead of passing it vacuously."""
    try:
        async with RpcClient(url, timeout_s=timeout_s) as client:
            return await client.call(method, **params)
    except RpcClientError as exc:
        pytest.fail(f"{url} did not answer {method}: {exc!r}")


class Devnet:
    """A devnet under test: its layout plus the operations the fault tests need."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.root = Path(layout.root)
        self.names = [spec.name for spec in layout.nodes]
        self.extra_homes: list[Path] = []  # homes of intruder nodes the tests started
        self.urls: dict[str, str] = {spec.name: spec.rpc_url for spec in layout.nodes}

    # --- processes -------------------------------------------------------------------

    def home(self, name: str) -> Path:
        return Path(self.layout.node(name).home)

    def pid(self, name: str) -> int | None:
        return read_pid(self.home(name))

    def alive(self, name: str) -> bool:
        return process_state(name, self.home(name)).alive

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the node (SIGKILL: it dies without any cleanup)."""
        pid = self.pid(name)
        assert pid is not None and self.alive(name), f"{name} is not running"
        os.kill(pid, sig)
        if sig == signal.SIGKILL:
            deadline = time.monotonic() + 5
            while self.alive(name) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not self.alive(name), f"{name} survived SIGKILL"
            remove_pid(self.home(name))

    def stop(self, name: str) -> None:
        """SIGTERM (a clean stop)."""
        control.stop_node(self.root, name)

    def start(self, name: str) -> None:
        """Start a stopped node and wait until it answers RPC."""
        control.start_node(self.root, name, timeout_s=30)

    def states(self) -> list[ProcessState]:
        states = [process_state(n, self.home(n)) for n in self.names]
        states += [process_state(h.name, h) for h in self.extra_homes]
        return states

    def stop_all(self) -> None:
        for state in self.states():
            if state.alive and state.pid is not None:
                os.kill(state.pid, signal.SIGCONT)  # a SIGSTOPped node cannot handle SIGTERM
        stop_processes(self.states(), grace_s=5.0)

    def log_report(self) -> str:
        parts: list[str] = []
        homes = [(n, self.home(n)) for n in self.names] + [(h.name, h)
                                                            for h in self.extra_homes]
        for name, home in homes:
            parts.append(f"----- {name} ({home}) -----")
            parts.extend(log_tail(home, LOG_LINES_ON_FAILURE))
        return "\n".join(parts)

    # --- observation -----------------------------------------------------------------

    def status(self, name: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = run(call(self.urls[name], "node_status"))
        return result

    def statuses(self, names: Sequence[str] | None = None) -> dict[str, dict[str, Any] | None]:
        names = list(names or self.names)

        async def gather() -> list[Any]:
            return list(await asyncio.gather(*(call(self.urls[n], "node_status")
                                               for n in names)))
        return dict(zip(names, run(gather()), strict=True))

    def height(self, name: str) -> int:
        answer = self.status(name)
        return -1 if answer is None else int(answer["height"])

    def heights(self, names: Sequence[str] | None = None) -> dict[str, int]:
        return {n: (-1 if s is None else int(s["height"]))
                for n, s in self.statuses(names).items()}

    def primary(self) -> str:
        """The name of the current primary, as a majority of the live nodes reports it."""
        keys = {spec.public_key: spec.name for spec in self.layout.nodes}
        votes: dict[str, int] = {}
        for answer in self.statuses().values():
            if answer is not None:
                votes[answer["primary"]] = votes.get(answer["primary"], 0) + 1
        assert votes, "no node answers"
        return keys[max(votes, key=lambda k: votes[k])]

    def block(self, name: str, height: int) -> dict[str, Any] | None:
        result: dict[str, Any] | None = run(call(self.urls[name], "chain_getBlock",
                                                 height=height, full_txs=False))
        return result

    def hashes(self, names: Sequence[str], heights: Sequence[int]) -> dict[str, list[str | None]]:
        """Block hashes of each node at each height (None where it has none)."""

        async def one(url: str) -> list[str | None]:
            out: list[str | None] = []
            async with RpcClient(url, timeout_s=RPC_TIMEOUT_S) as client:
                for h in heights:
                    try:
                        block = await client.call("chain_getBlock", height=h, full_txs=False)
                        out.append(str(block["header"]["hash"]))
                    except RpcClientError:
                        out.append(None)
            return out

        async def gather() -> list[list[str | None]]:
            return list(await asyncio.gather(*(one(self.urls[n]) for n in names)))
        return dict(zip(names, run(gather()), strict=True))

    def wait(self, ok: Callable[[], bool], timeout_s: float, what: str,
             interval_s: float = 0.1) -> float:
        """Poll `ok` until it holds; the seconds it took (fails the test on timeout)."""
        start = time.monotonic()
        while not ok():
            if time.monotonic() - start > timeout_s:
                pytest.fail(f"timed out after {timeout_s} s waiting for {what}; heights "
                            f"{self.heights()}")
            time.sleep(interval_s)
        return time.monotonic() - start

    def wait_heights(self, names: Sequence[str], at_least: int, timeout_s: float,
                     what: str = "") -> float:
        return self.wait(lambda: all(h >= at_least for h in self.heights(names).values()),
                         timeout_s, what or f"{list(names)} at height >= {at_least}")

    def catch_up(self, name: str, others: Sequence[str]) -> tuple[int, float]:
        """Wait until `name` reaches the highest height of `others` now, then until every
        node agrees without a fork: that height and the seconds the catch-up took."""
        target = max(self.heights(others).values())
        took = self.wait(lambda: self.height(name) >= target, 30,
                         f"{name} to catch up to {target}")
        self.wait_synced()
        self.assert_no_fork()
        return target, took

    def wait_synced(self, names: Sequence[str] | None = None, timeout_s: float = 30.0) -> int:
        """Wait until the nodes agree on the hash at the lowest of their heights and that
        height is within 2 of the highest; the common height."""
        names = list(names or self.names)
        result = 0

        def synced() -> bool:
            nonlocal result
            heights = self.heights(names)
            if min(heights.values()) < 1 or max(heights.values()) - min(heights.values()) > 2:
                return False
            low = min(heights.values())
            found = self.hashes(names, [low])
            if len({v[0] for v in found.values()}) != 1 or None in {v[0] for v in found.values()}:
                return False
            result = low
            return True

        self.wait(synced, timeout_s, f"{names} in sync", interval_s=0.2)
        return result

    def assert_no_fork(self, names: Sequence[str] | None = None, max_full: int = 400,
                       samples: int = 120) -> int:
        """The nodes agree on every block hash up to their common height (all heights up to
        `max_full`, else an even sample plus the last 20); the common height."""
        names = list(names or self.names)
        common = min(self.heights(names).values())
        assert common >= 1, self.heights(names)
        if common <= max_full:
            heights = list(range(1, common + 1))
        else:
            step = max(1, common // samples)
            heights = sorted(set(range(1, common + 1, step)) | set(range(common - 20,
                                                                          common + 1)))
        found = self.hashes(names, heights)
        for index, height in enumerate(heights):
            values = {n: found[n][index] for n in names}
            assert None not in values.values(), f"missing block {height}: {values}"
            assert len(set(values.values())) == 1, f"fork at height {height}: {values}"
        return common

    def verify_certificates(self, name: str, heights: Sequence[int]) -> None:
        """Check on node `name` that each block's stored certificate proves it final against
        the genesis validators (what catch-up verifies before it accepts a block)."""
        validators = [bytes.fromhex(spec.public_key) for spec in self.layout.nodes]

        async def check() -> None:
            async with RpcClient(self.urls[name], timeout_s=RPC_TIMEOUT_S) as client:
                for h in heights:
                    cert = await client.call("chain_getCertificate", height=h)
                    verify_certificate(bytes.fromhex(cert["certificate"]), h,
                                       bytes.fromhex(cert["block_hash"]), validators,
                                       self.layout.chain_id.encode())
        run(check())


def make_devnet(root: Path, consensus: dict[str, Any] | None = None,
                **layout_options: Any) -> Devnet:
    """Create and start a 4-validator devnet with fast timers and approved demo merchants.
    The caller stops it (`Devnet.stop_all`) in a finalizer."""
    base = free_base_port(VALIDATORS)
    layout = create_layout(root, validators=VALIDATORS, base_port=base,
                           consensus=consensus or FAST_CONSENSUS, **layout_options)
    net = Devnet(layout)
    _live.append(net)
    try:
        control.up(root, timeout_s=30)
        approve_demo_merchants(layout)
    except BaseException:
        net.stop_all()
        _live.remove(net)
        raise
    return net


@pytest.fixture(scope="package")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """One devnet shared by the tests that leave it healthy."""
    root = tmp_path_factory.mktemp("faults") / "net"
    devnet: Devnet | None = None
    try:
        devnet = make_devnet(root)
        yield devnet
    finally:
        if devnet is not None:
            devnet.stop_all()
            if devnet in _live:
                _live.remove(devnet)


def spawn_home(net: Devnet, home: Path, name: str) -> int:
    """Start `agora start` for an extra home (an intruder); stopped with the devnet."""
    net.extra_homes.append(home)
    return spawn_node(name, home)


def copy_home(source: Path, target: Path) -> None:
    """A node home without its data, PID file or log."""
    shutil.copytree(source / "config", target / "config")
    (target / "data").mkdir()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.failed and _live:
        for devnet in _live:
            report.sections.append((f"node logs {devnet.root}", devnet.log_report()))
