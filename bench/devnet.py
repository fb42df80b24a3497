"""`agora bench`: throughput and latency of a real multi-process devnet beside the machine's
limit, measured in the same run.

Method. A fresh devnet of `validators` nodes (`devnet.layout`, `devnet.processes`) in a
temporary directory on free loopback ports, every shopper and merchant funded in genesis.
Before the clock starts, the setup stages of `bench.workload.MixedWorkload` go through the
chain (merchants registered and approved, listings, polls, shares, orders driven into every
state), then the measured transactions are signed. `clients` processes (`bench.load`)
submit them with `tx_submitBatch` at the offered rate (each account's transactions from one
client, in nonce order, each chunk to the next node in turn); the parent follows
`newBlocks` over WebSocket on the last validator, reads each block's transaction ids
(`chain_getBlock`, `full_txs=false`) and stamps every measured transaction's commit time.
Latency is commit time minus the time its batch was sent (one monotonic clock across
processes). CPU and RSS come from `/proc/<pid>`; the figures and reports are in
`bench.figures`.

The limit: every validator verifies every signature once, so V validators on C cores commit
at most (single-core Ed25519 verify/s x C) / V; `ratio_to_limit` = committed / limit.

Large state (`state_accounts`, `state_listings`): genesis is padded with funded idle
accounts (`bench.workload.idle_address`, no keys) up to `state_accounts` accounts in all,
and the setup creates listings up to `state_listings` in all before the clock; the
measured transfers pay accounts drawn over the whole state and purchases, comments and
shares draw from every listing. The one-time costs (genesis build and size, node start,
setup) are in the JSON's `state`.

Limits: `bench.load.MAX_SUBMIT_CHUNK` transactions per batch; the drain after the clock
waits at most `DRAIN_TIMEOUT_S`; `state_accounts` at most `MAX_GENESIS_ACCOUNTS`,
`state_listings` at most `MAX_STATE_LISTINGS`; every node is stopped and the directory
removed on every path out, each node's log copied first to `keep_logs_dir` when given.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import shutil
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.figures import CLOCK_TICKS, NodeProc, PointResult, cpu_ticks, point_figures, rss_kb
from bench.load import client_main, split_streams
from bench.progress import Progress
from bench.state import BENCH_CHAIN_ID, SHOPPERS_PER_MERCHANT, bench_keys, measure_verify_rate
from bench.workload import (
    GENESIS_PARAMS,
    MIX_PER_MILLE,
    MixedWorkload,
    created_id,
    idle_address,
)
from client.rpc import RpcClient, RpcClientError
from commerce.address import address_of, to_text
from commerce.keys import Keypair
from commerce.limits import MAX_GENESIS_ACCOUNTS
from commerce.transfer import Transfer
from commerce.tx import Transaction, sign_tx
from devnet.layout import Layout, create_layout, load_layout
from devnet.processes import (
    Endpoint,
    log_path,
    port_free,
    process_state,
    spawn_node,
    stop_processes,
    wait_for_chain,
)
from node.home import NodeHome, load_node_key

SETUP_CHUNK = 500
DRAIN_TIMEOUT_S = 120.0
DRAIN_IDLE_S = 8.0
SETUP_TIMEOUT_S = 300.0
START_TIMEOUT_S = 60.0
START_S_PER_MILLION_ACCOUNTS = 240.0  # more start-up time for a large genesis
MAX_STATE_LISTINGS = 200_000  # ~2-3 minutes of setup on the 2-core machine
IDLE_BALANCE = "1000"
MAX_TIMED_TXS = 900_000  # 10 minutes at 1,500 tx/s
MAX_OFFERED_TPS = 4_000  # what `--rate max` signs per second of duration
MEMPOOL = {"max_txs": 400_000, "max_bytes": 512 * 1024 * 1024, "max_per_account": 2_000,
           "nonce_window": 2_000}


@dataclass(frozen=True)
class BenchOptions:
    """What `agora bench` was asked for; `rate` None means as fast as the clients can."""

    validators: int = 4
    duration_s: float = 30.0
    rate: int | None = 1_000
    accounts: int = 2_000
    clients: int = 2
    state_accounts: int = 0  # pad genesis with idle funded accounts up to this many in all
    state_listings: int = 0  # listings in state (at least) when the clock starts
    keep_logs_dir: Path | None = None  # each node's log is copied here before the cleanup
    mix: Mapping[str, int] = field(default_factory=lambda: dict(MIX_PER_MILLE))


class BenchDevnet:
    """A temporary devnet with the bench's accounts; use as a context manager."""

    def __init__(self, options: BenchOptions, progress: Progress) -> None:
        self.options = options
        self.progress = progress
        self.root = Path(tempfile.mkdtemp(prefix="agora-bench-"))
        self.nodes: list[NodeProc] = []
        self.layout: Layout | None = None
        self.shoppers = bench_keys(options.accounts, 0)
        self.merchants = bench_keys(max(2, options.accounts // SHOPPERS_PER_MERCHANT), 1)
        self.validator_keys: list[Keypair] = []
        self.workload: MixedWorkload | None = None
        self.idle_accounts = 0
        self.state: dict[str, Any] = {}
        # Run beside the next measured point, from its clock start (monotonic s) on; the
        # point waits for it after the drain. `blocks`: the point's (height, txs, stamp).
        self.during_run: Callable[[float], Awaitable[None]] | None = None
        self.blocks: list[tuple[int, int, float]] = []

    def __enter__(self) -> BenchDevnet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every node this bench started, keep their logs if asked, and remove the
        directory (also when keeping the logs fails)."""
        try:
            if self.layout is not None:
                with contextlib.suppress(Exception):  # nodes added since (devnet.reconfig)
                    self.layout = load_layout(Path(self.layout.root))
                homes = [(s.name, Path(s.home)) for s in self.layout.nodes]
                with contextlib.suppress(Exception):
                    stop_processes([process_state(name, home) for name, home in homes],
                                   grace_s=5.0)
                self.layout = None
                if self.options.keep_logs_dir is not None:
                    kept = keep_node_logs(homes, self.options.keep_logs_dir)
                    self.progress(f"kept {len(kept)} node logs in "
                                  f"{self.options.keep_logs_dir}")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def start(self) -> None:
        """Write the layout on free ports, start the nodes, wait for an agreed block."""
        v = self.options.validators
        funded = [(to_text(address_of(k.public_key)), "1000000")
                  for k in [*self.shoppers, *self.merchants]]
        self.idle_accounts = max(0, self.options.state_accounts - len(funded) - v)
        if self.idle_accounts:
            self.progress(f"genesis: {len(funded) + v} active and {self.idle_accounts} "
                          "idle accounts")
        funded.extend((to_text(idle_address(i)), IDLE_BALANCE)
                      for i in range(self.idle_accounts))
        t0 = time.monotonic()
        self.layout = create_layout(
            self.root / "devnet", validators=v, base_port=_free_base_port(2 * v),
            chain_id=BENCH_CHAIN_ID, demo_accounts=(), genesis_params=dict(GENESIS_PARAMS),
            extra_accounts=funded, mempool=MEMPOOL)
        del funded
        genesis_file = NodeHome(self.layout.nodes[0].home).genesis_file
        self.state.update(accounts=self.idle_accounts + len(self.shoppers)
                          + len(self.merchants) + v,
                          genesis_bytes=genesis_file.stat().st_size,
                          genesis_s=round(time.monotonic() - t0, 1))
        self.validator_keys = [load_node_key(NodeHome(s.home).node_key_file)
                               for s in self.layout.nodes]
        endpoints = []
        t0 = time.monotonic()
        for spec in self.layout.nodes:
            pid = spawn_node(spec.name, Path(spec.home))
            self.nodes.append(NodeProc(spec.name, pid, spec.rpc_url))
            endpoints.append(Endpoint(spec.name, Path(spec.home), pid, spec.rpc_url))
        timeout = START_TIMEOUT_S + START_S_PER_MILLION_ACCOUNTS * self.state["accounts"] / 1e6
        asyncio.run(wait_for_chain(endpoints, min_height=1, timeout_s=timeout))
        self.state["start_s"] = round(time.monotonic() - t0, 1)
        self.state["rss_mb_after_start"] = [round(rss_kb(n.pid) / 1024, 1) for n in self.nodes]

    def prepare(self, timed_hint: int) -> None:
        """Run the workload's setup stages through the chain (before any clock)."""
        self.workload = MixedWorkload(chain_id=BENCH_CHAIN_ID, validators=self.validator_keys,
                                      shoppers=self.shoppers, merchants=self.merchants,
                                      timed_hint=timed_hint, idle_accounts=self.idle_accounts,
                                      state_listings=self.options.state_listings,
                                      mix=self.options.mix)
        t0 = time.monotonic()
        asyncio.run(self._setup())
        self.state["setup_s"] = round(time.monotonic() - t0, 1)
        self.state["listings"] = self.workload.listings_created

    async def _setup(self) -> None:
        assert self.workload is not None
        url = self.nodes[0].rpc_url
        async with RpcClient(url, timeout_s=60.0) as client:
            stage_no = 0
            txs = 0
            while (stage := self.workload.next_setup()) is not None:
                stage_no += 1
                txs += len(stage)
                self.progress.advance("setup", stage_no, None,
                                      f"setup stage {stage_no}: {len(stage)} txs")
                ids = await _submit_and_collect(client, stage)
                self.workload.record(ids)
            self.state["setup_txs"] = txs

    def run_point(self, rate: int | None, duration_s: float) -> PointResult:
        """Offer `rate` tx/s (None: as fast as possible) for `duration_s`; the figures."""
        assert self.workload is not None
        count = _timed_count(rate, duration_s, self.options, self.limit_hint)
        self.progress(f"signing {count} transactions")
        txs = self.workload.timed(count)
        streams = split_streams(txs, self.options.clients)
        point, attempted = asyncio.run(self._measure(
            [[tx.raw.hex() for tx in stream] for stream in streams], rate, duration_s))
        # Transactions a client did not send before the window closed (its stream's tail)
        # are sent, unmeasured, before the next point on this devnet: otherwise that
        # point's transactions would start above a nonce gap, be accepted and never be
        # executable, and count as dropped.
        self._unsent = [tx for stream, sent in zip(streams, attempted, strict=True)
                        for tx in stream[sent:]]
        return point

    _unsent: list[Transaction] = []

    def flush_unsent(self) -> None:
        """Submit the previous point's unsent tail and wait until the pools are empty."""
        if self._unsent:
            self.progress(f"sending the {len(self._unsent)} transactions the last point "
                          "did not send (not measured)")
            asyncio.run(self._flush(self._unsent))
        self._unsent = []

    async def _flush(self, txs: list[Transaction]) -> None:
        async with RpcClient(self.nodes[0].rpc_url, timeout_s=60.0) as client:
            for start in range(0, len(txs), SETUP_CHUNK):
                await client.call("tx_submitBatch",
                                  txs=[tx.raw.hex() for tx in txs[start:start + SETUP_CHUNK]])
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        last, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            pending = sum(m["mempool_txs"] for m in (await _mempools(self.nodes)).values())
            if pending == 0:
                return
            if pending != last:
                last, last_change = pending, time.monotonic()
            elif time.monotonic() - last_change > DRAIN_IDLE_S:
                return
            await asyncio.sleep(0.5)

    limit_hint: float = 8_000.0

    async def _measure(self, streams: list[list[str]], rate: int | None,
                       duration_s: float) -> tuple[PointResult, list[int]]:
        views_before = await _view_changes(self.nodes)
        # The height before any client starts: the follower stamps every block above it,
        # also those finalized before it is connected (starting the clients hands each
        # its stream through a pipe, which can take longer than the 3 s lead).
        async with RpcClient(self.nodes[-1].rpc_url, timeout_s=30.0) as client:
            from_height = int((await client.call("node_status"))["height"])
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        start_at = time.monotonic() + 3.0  # clients import and connect before this
        stop_at = start_at + duration_s
        # Each client is paced at its stream's share of the offered rate (streams split by
        # sender are not equal), so every stream is due by the end of the window.
        total = sum(len(stream) for stream in streams)
        procs = [ctx.Process(target=client_main, daemon=True, args=(
            i, [node.rpc_url for node in self.nodes], stream,
            None if rate is None else rate * len(stream) / total, start_at, stop_at,
            queue)) for i, stream in enumerate(streams)]
        for proc in procs:
            proc.start()
        commits: dict[str, float] = {}
        blocks: list[tuple[int, int, float]] = []
        self.blocks = blocks
        follower = asyncio.create_task(self._follow(commits, blocks, from_height))
        side = None if self.during_run is None else \
            asyncio.create_task(self.during_run(start_at))
        try:
            while time.monotonic() < start_at:
                await asyncio.sleep(0.05)
            for node in self.nodes:
                node.cpu_ticks_start = cpu_ticks(node.pid)
            cpu_t0 = time.monotonic()
            while time.monotonic() < stop_at:
                await asyncio.sleep(1.0)
                self._sample_rss()
                elapsed = time.monotonic() - start_at
                height = blocks[-1][0] if blocks else 0
                self.progress.advance(
                    f"{'max' if rate is None else rate} tx/s", min(elapsed, duration_s),
                    duration_s, f"[{elapsed:5.1f}/{duration_s:g} s] committed {len(commits)} "
                    f"({len(commits) / max(elapsed, 1e-9):,.0f} tx/s) height {height}")
            cpu_t1 = time.monotonic()
            cpu = {n.name: (cpu_ticks(n.pid) - n.cpu_ticks_start) / CLOCK_TICKS
                   / (cpu_t1 - cpu_t0) * 100 for n in self.nodes}
            outcomes = await asyncio.get_running_loop().run_in_executor(
                None, lambda: [queue.get(timeout=120) for _ in procs])
            sent: dict[str, float] = {}
            reasons: dict[str, int] = {}
            attempted = 0
            per_stream = [0] * len(streams)
            for index, client_sent, client_reasons, client_attempted in outcomes:
                sent.update(client_sent)
                attempted += client_attempted
                per_stream[index] = client_attempted
                for reason, n in client_reasons.items():
                    reasons[reason] = reasons.get(reason, 0) + n
            await self._drain(sent, commits)
            if side is not None:
                await side
        finally:
            if side is not None and not side.done():
                side.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await side
            failed = follower.done() and not follower.cancelled() and follower.exception()
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await follower
            for proc in procs:
                proc.join(timeout=5)
                if proc.is_alive():
                    proc.kill()
        if failed:  # its commits stopped: the figures would count committed as dropped
            raise RuntimeError(f"following the blocks failed: {failed!r}")
        views_after = await _view_changes(self.nodes)
        mempools = await _mempools(self.nodes)
        return point_figures(sent, commits, blocks, reasons, attempted, start_at, duration_s,
                             views_after - views_before, self.nodes, cpu,
                             mempools), per_stream

    def _sample_rss(self) -> None:
        for node in self.nodes:
            node.rss_kb_max = max(node.rss_kb_max, rss_kb(node.pid))

    async def _drain(self, sent: dict[str, float], commits: dict[str, float]) -> None:
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        last_count, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            done = sum(1 for tx_id in sent if tx_id in commits)
            if done == len(sent):
                return
            if done != last_count:
                last_count, last_change = done, time.monotonic()
            elif time.monotonic() - last_change > DRAIN_IDLE_S:
                return
            self.progress.advance("draining", done, len(sent),
                                  f"draining: {done}/{len(sent)} committed")
            await asyncio.sleep(0.5)

    async def _follow(self, commits: dict[str, float], blocks: list[tuple[int, int, float]],
                      seen: int) -> None:
        """Stamp the commit time of every transaction of every block above `seen` on the
        last validator (not v0, the first primary, which has the most work)."""
        url = self.nodes[-1].rpc_url
        async with RpcClient(url, timeout_s=30.0) as client:
            socket = await client.websocket()
            async with socket:
                subscription = await socket.subscribe("newBlocks")
                while True:
                    note = await subscription.next()
                    now = time.monotonic()
                    height = int(note["header"]["height"]) if "header" in note else \
                        int(note["height"])
                    for h in range(seen + 1, height + 1):
                        block = await client.call("chain_getBlock", height=h, full_txs=False)
                        for tx_id in block["txs"]:
                            commits.setdefault(tx_id, now)
                        blocks.append((h, len(block["txs"]), now))
                    seen = max(seen, height)


async def _submit_and_collect(client: RpcClient, txs: list[Transaction]) -> list[int | None]:
    """Submit a setup stage, wait until every transaction is finalized; the new ids."""
    for start in range(0, len(txs), SETUP_CHUNK):
        chunk = txs[start:start + SETUP_CHUNK]
        answers = await client.call("tx_submitBatch", txs=[tx.raw.hex() for tx in chunk])
        refused = [a for a in answers if not a.get("ok")]
        if refused:
            raise RuntimeError(f"setup transaction refused: {refused[0]}")
    ids: list[int | None] = []
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    for start in range(0, len(txs), 100):
        calls = [("chain_getTransaction", {"id": tx.tx_id.hex()})
                 for tx in txs[start:start + 100]]
        while True:
            results = await client.batch(calls)
            if all(isinstance(r, dict) and r.get("status") == "finalized" for r in results):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("setup transactions were not finalized in time")
            await asyncio.sleep(0.2)
        for result in results:
            assert isinstance(result, dict), "every result was checked finalized above"
            events = result.get("events") or []
            ids.append(_event_id(events[0]) if events else None)
    return ids


def _event_id(event: Any) -> int | None:
    """The id a setup transaction created, from its first event as the RPC renders it."""
    return created_id(event.get("data") if isinstance(event, dict) else event[2])


def _timed_count(rate: int | None, duration_s: float, options: BenchOptions,
                 limit: float) -> int:
    offered = rate if rate is not None else min(limit, MAX_OFFERED_TPS)
    return max(1, min(MAX_TIMED_TXS, int(offered * duration_s)))


def keep_node_logs(homes: Sequence[tuple[str, Path]], directory: Path) -> list[Path]:
    """Copy each (name, home)'s `node.log` to `<directory>/<name>.node.log` (made if
    missing; a log of that name there is replaced); the copies. A node without a log is
    skipped."""
    directory.mkdir(parents=True, exist_ok=True)
    kept = []
    for name, home in homes:
        if log_path(home).is_file():
            kept.append(Path(shutil.copyfile(log_path(home), directory / f"{name}.node.log")))
    return kept


def _free_base_port(count: int) -> int:
    # Below Linux's ephemeral range (32768-60999): a port in it can be taken by a node's
    # outgoing peer connection between this check and the listener's bind.
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 32_700 - count, 2)
        if all(port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no free loopback ports")


async def _mempools(nodes: Sequence[NodeProc]) -> dict[str, dict[str, Any]]:
    """Per node after the drain: transactions still pending, and evictions by reason
    since the node started (an admitted transaction that is neither committed nor
    evicted with a reason is still pending)."""
    out: dict[str, dict[str, Any]] = {}
    for node in nodes:
        with contextlib.suppress(RpcClientError, KeyError, TypeError, ValueError):
            async with RpcClient(node.rpc_url, timeout_s=5.0) as client:
                status = await client.call("node_status")
                out[node.name] = {"mempool_txs": int(status["mempool_txs"]),
                                  "evicted": dict(status.get("mempool_evicted") or {})}
    return out


async def _view_changes(nodes: Sequence[NodeProc]) -> int:
    total = 0
    for node in nodes:
        with contextlib.suppress(RpcClientError, KeyError, TypeError, ValueError):
            async with RpcClient(node.rpc_url, timeout_s=5.0) as client:
                total = max(total, int((await client.call("node_status"))["view_changes"]))
    return total


# Entry points.


def run_bench(options: BenchOptions, progress: Progress,
              rates: Sequence[int | None] | None = None) -> dict[str, Any]:
    """One point (or a sweep over `rates`) on one fresh devnet; the JSON-ready result."""
    if not 1 <= options.validators <= 64:
        raise ValueError("--validators must be 1..64")
    if options.duration_s <= 0:
        raise ValueError("--duration must be positive")
    if not 8 <= options.accounts <= 100_000:
        raise ValueError("--accounts must be 8..100000")
    if not 1 <= options.clients <= 64:
        raise ValueError("--clients must be 1..64")
    if not 0 <= options.state_accounts <= MAX_GENESIS_ACCOUNTS:
        raise ValueError(f"--state-accounts must be 0..{MAX_GENESIS_ACCOUNTS}")
    if not 0 <= options.state_listings <= MAX_STATE_LISTINGS:
        raise ValueError(f"--state-listings must be 0..{MAX_STATE_LISTINGS}")
    verify_per_s, cores, limit = machine_limit(options.validators, samples=500)
    points = list(rates) if rates else [options.rate]
    hint = sum(_timed_count(r, options.duration_s, options, limit) for r in points)
    unwind_on_sigterm()
    with BenchDevnet(options, progress) as devnet:
        devnet.limit_hint = limit
        progress(f"starting {options.validators} validators in {devnet.root}")
        devnet.start()
        devnet.prepare(hint)
        results = []
        for rate in points:
            devnet.flush_unsent()
            progress(f"measuring at {'max' if rate is None else rate} tx/s offered")
            results.append((rate, devnet.run_point(rate, options.duration_s)))
        state = dict(devnet.state)
    out = [_point_json(rate, point, options, verify_per_s, cores, limit)
           for rate, point in results]
    if rates:
        return {"sweep": out, "validators": options.validators, "limit_tps": round(limit, 1),
                "verify_per_s_one_core": round(verify_per_s, 1), "cores": cores,
                "state": state}
    return {**out[0], "state": state}


def machine_limit(validators: int, samples: int) -> tuple[float, int, float]:
    """(one core's Ed25519 verifications per second, cores, the committed tx/s that
    `validators` validators on these cores cannot pass) measured now over `samples`
    signed transfers: every validator verifies every signature once."""
    cores = os.cpu_count() or 1
    sample = bench_keys(1, 3)[0]
    txs = [sign_tx(sample, BENCH_CHAIN_ID, n, Transfer(to=bytes(20), amount=1))
           for n in range(samples)]
    verify_per_s = measure_verify_rate(txs)
    return verify_per_s, cores, verify_per_s * cores / validators


def unwind_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C, so the nodes are stopped and the directory removed
    on that path out too."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _point_json(rate: int | None, point: PointResult, options: BenchOptions,
                verify_per_s: float, cores: int, limit: float) -> dict[str, Any]:
    return {
        "validators": options.validators, "duration_s": options.duration_s,
        "rate": "max" if rate is None else rate, "clients": options.clients,
        "accounts": options.accounts,
        "offered_tps": point.offered_tps, "committed_tps": point.committed_tps,
        "submitted": point.submitted, "committed": point.committed,
        "rejected": point.rejected, "rejected_reasons": point.rejected_reasons,
        "dropped": point.dropped,
        "latency_ms_p50": point.latency_ms["p50"], "latency_ms_p95": point.latency_ms["p95"],
        "latency_ms_p99": point.latency_ms["p99"], "latency_ms_max": point.latency_ms["max"],
        "blocks": point.blocks, "txs_per_block_mean": point.txs_per_block_mean,
        "txs_per_block_max": point.txs_per_block_max, "view_changes": point.view_changes,
        "verify_per_s_one_core": round(verify_per_s, 1), "cores": cores,
        "limit_tps": round(limit, 1),
        "ratio_to_limit": round(point.committed_tps / limit, 3) if limit else 0.0,
        "nodes": point.nodes,
    }


def sweep_rates(options: BenchOptions, fractions: Sequence[float]) -> list[int | None]:
    """Offered loads for a sweep: fractions of this machine's limit, then `max`."""
    limit = machine_limit(options.validators, samples=200)[2]
    return [max(50, int(limit * f / 50) * 50) for f in fractions] + [None]
