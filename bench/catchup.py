"""`agora bench catch-up`: how fast a validator that was down catches up with the chain.

Method. A fresh devnet (`bench.devnet.BenchDevnet`: separate processes, funded accounts,
the mixed workload's setup stages run before any clock). Then:

1. Stop one validator that is not the primary of the current view (SIGTERM).
2. Production: the live validators take `txs` transactions offered at `rate` tx/s, measured
   exactly as `agora bench` measures a point (every accepted transaction tracked to
   commit). Production time = first submit to last commit.
3. Catch-up: restart the stopped validator and poll `node_status` of it and of a live
   node every `POLL_S`. Start-up = restart to its first new finalized block; catch-up =
   restart to its height reaching the live node's height (empty blocks keep coming at the
   idle interval, so the target is read at each poll).
4. Check: the caught-up node's block hash and state root at its height equal the live
   nodes' (`chain_getBlock` on every node, over JSON-RPC).

ratio = production s / catch-up s (the issue-9 target is >= 5 for 100,000 transactions).
Limits: the catch-up waits at most `CATCH_UP_TIMEOUT_S`; every node is stopped and the
directory removed on every path out.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.devnet import BenchDevnet, BenchOptions, unwind_on_sigterm
from bench.figures import NodeProc
from bench.progress import Progress
from client.rpc import RpcClient, RpcClientError
from devnet.processes import log_path, process_state, spawn_node, stop_processes

POLL_S = 0.1
CATCH_UP_TIMEOUT_S = 900.0
STOP_GRACE_S = 10.0
MAX_CATCH_UP_TXS = 600_000


async def _status(url: str, timeout_s: float = 5.0) -> dict[str, Any] | None:
    with contextlib.suppress(RpcClientError, OSError, TimeoutError):
        async with RpcClient(url, timeout_s=timeout_s) as client:
            status: dict[str, Any] = await client.call("node_status")
            return status
    return None


def _pick_stopped(devnet: BenchDevnet) -> NodeProc:
    """The last validator that is not the primary of the live view."""
    status = asyncio.run(_status(devnet.nodes[0].rpc_url))
    primary = status["primary"] if status is not None else ""
    for index in range(len(devnet.nodes) - 1, -1, -1):
        if devnet.validator_keys[index].public_key.hex() != primary:
            return devnet.nodes[index]
    raise RuntimeError("no validator to stop")


async def _watch_catch_up(node: NodeProc, live: NodeProc, stopped_height: int,
                          restart_height: int, spawned_at: float,
                          progress: Progress) -> dict[str, Any]:
    """Poll until `node` reaches `live`'s height; the phase times from `spawned_at`
    (also when it reached `restart_height`, the live height when it was restarted)."""
    rpc_up: float | None = None
    first_block: float | None = None
    reached: float | None = None
    deadline = spawned_at + CATCH_UP_TIMEOUT_S
    last_print = 0.0
    target = 0
    async with RpcClient(live.rpc_url, timeout_s=10.0) as live_client:
        while True:
            now = time.monotonic()
            if now > deadline:
                raise RuntimeError(f"{node.name} did not catch up in {CATCH_UP_TIMEOUT_S:g} s")
            status = await _status(node.rpc_url, timeout_s=2.0)
            seen = time.monotonic()
            if status is not None:
                if rpc_up is None:
                    rpc_up = seen
                height = int(status["height"])
                if first_block is None and height > stopped_height:
                    first_block = seen
                if reached is None and height >= restart_height:
                    reached = seen
                target = int((await live_client.call("node_status"))["height"])
                if height >= target:
                    return {"rpc_up_s": rpc_up - spawned_at,
                            "first_block_s": (first_block or seen) - spawned_at,
                            "caught_up_s": seen - spawned_at, "height": height,
                            "reached_restart_height_s": (reached or seen) - spawned_at,
                            "live_height": target, "state_root": status["state_root"],
                            "block_hash": status["latest_block_hash"]}
                if seen - last_print >= 1.0:
                    last_print = seen
                    progress.advance("catch-up", height - stopped_height,
                                     target - stopped_height,
                                     f"[{seen - spawned_at:5.1f} s] {node.name} at {height} / "
                                     f"{target}")
            await asyncio.sleep(POLL_S)


async def _compare(nodes: list[NodeProc], height: int) -> dict[str, Any]:
    """Every node's block hash and state root at `height` (JSON-RPC)."""
    out: dict[str, Any] = {}
    for node in nodes:
        async with RpcClient(node.rpc_url, timeout_s=10.0) as client:
            block = await client.call("chain_getBlock", height=height, full_txs=False)
            header = block["header"]
            out[node.name] = {"hash": header["hash"], "state_root": header["state_root"]}
    return out


def _start_profiler(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy (beside this Python, or on PATH) sampling `pid` into collapsed stacks."""
    exe = Path(sys.executable).with_name("py-spy")
    found = str(exe) if exe.exists() else shutil.which("py-spy")
    if found is None:
        return None
    return subprocess.Popen([found, "record", "--pid", str(pid), "--format", "raw",
                             "--rate", "200", "--nonblocking", "--idle", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop_profiler(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_catch_up(options: BenchOptions, txs: int, progress: Progress,
                 profile: Path | None = None) -> dict[str, Any]:
    """One catch-up measurement on a fresh devnet; the JSON-ready result. With `profile`,
    py-spy samples the restarted node from its spawn until it caught up (collapsed
    stacks written to that file; the node's log is copied beside it)."""
    if not 4 <= options.validators <= 64:
        raise ValueError("--validators must be 4..64 (one is stopped; the rest keep a quorum)")
    if not 1 <= txs <= MAX_CATCH_UP_TXS:
        raise ValueError(f"--txs must be 1..{MAX_CATCH_UP_TXS}")
    assert options.rate is not None and options.rate > 0, "catch-up needs a finite rate"
    duration_s = txs / options.rate
    options = dataclasses.replace(options, duration_s=duration_s)
    unwind_on_sigterm()
    t0 = time.monotonic()
    with BenchDevnet(options, progress) as devnet:
        progress(f"starting {options.validators} validators in {devnet.root}")
        devnet.start()
        devnet.prepare(txs)
        setup_s = time.monotonic() - t0
        down = _pick_stopped(devnet)
        assert devnet.layout is not None
        home = Path(next(s.home for s in devnet.layout.nodes if s.name == down.name))
        progress(f"stopping {down.name}")
        stop_processes([process_state(down.name, home)], grace_s=STOP_GRACE_S)
        live = [n for n in devnet.nodes if n is not down]
        stopped_height = _stored_height(home)
        all_nodes = devnet.nodes
        devnet.nodes = live
        try:
            progress(f"production: {txs} transactions at {options.rate} tx/s on "
                     f"{len(live)} validators")
            point = devnet.run_point(options.rate, duration_s)
        finally:
            devnet.nodes = all_nodes
        production_s = point.committed / point.committed_tps if point.committed_tps else 0.0
        if point.submitted < txs:
            progress(f"the clients sent {point.submitted} of {txs} transactions in the "
                     "window (behind schedule): the figures are for those")
        before = asyncio.run(_status(live[0].rpc_url))
        assert before is not None, "a live node answers"
        progress(f"restarting {down.name} at height {stopped_height} "
                 f"(live height {before['height']})")
        spawned_at = time.monotonic()
        down.pid = spawn_node(down.name, home)
        profiler = _start_profiler(down.pid, profile) if profile is not None else None
        try:
            watched = asyncio.run(_watch_catch_up(down, live[0], stopped_height,
                                                  int(before["height"]), spawned_at, progress))
        finally:
            _stop_profiler(profiler)
        if profile is not None:  # the node's log beside the profile, for its timeline
            shutil.copyfile(log_path(home), profile.with_name(profile.name + ".node.log"))
        checked = asyncio.run(_compare([*live, down], watched["height"]))
    blocks = int(before["height"]) - stopped_height
    catch_up_s = watched["caught_up_s"]
    sync_s = catch_up_s - watched["first_block_s"]
    hashes = {v["hash"] for v in checked.values()}
    roots = {v["state_root"] for v in checked.values()}
    return {
        "validators": options.validators, "rate": options.rate, "txs": txs,
        "clients": options.clients, "accounts": options.accounts, "stopped": down.name,
        "state_accounts": options.state_accounts, "state_listings": options.state_listings,
        "setup_s": round(setup_s, 1),
        "production": {
            "submitted": point.submitted, "committed": point.committed,
            "dropped": point.dropped, "rejected": point.rejected,
            "view_changes": point.view_changes, "committed_tps": point.committed_tps,
            "seconds": round(production_s, 2), "blocks": point.blocks,
            "txs_per_block_mean": point.txs_per_block_mean,
        },
        "catch_up": {
            "from_height": stopped_height, "to_height": watched["height"],
            "blocks": watched["height"] - stopped_height,
            "rpc_up_s": round(watched["rpc_up_s"], 2),
            "startup_s": round(watched["first_block_s"], 2),
            "sync_s": round(sync_s, 2),
            # Until it had every block the live nodes had at its restart; the rest of
            # `seconds` is following their head (an empty block every idle interval),
            # which it joins through consensus rounds.
            "reached_restart_height_s": round(watched["reached_restart_height_s"], 2),
            "seconds": round(catch_up_s, 2),
            "blocks_per_s": round((watched["height"] - stopped_height) / sync_s, 1)
            if sync_s > 0 else 0.0,
            "txs_per_s": round(point.committed / sync_s, 1) if sync_s > 0 else 0.0,
        },
        "production_s": round(production_s, 2), "catch_up_s": round(catch_up_s, 2),
        "blocks": blocks, "committed": point.committed,
        "ratio": round(production_s / catch_up_s, 2) if catch_up_s > 0 else 0.0,
        "ratio_without_startup": round(production_s / sync_s, 2) if sync_s > 0 else 0.0,
        "ratio_to_restart_height": round(production_s / watched["reached_restart_height_s"],
                                         2) if watched["reached_restart_height_s"] > 0 else 0.0,
        "check": {
            "height": watched["height"], "nodes": checked,
            "same_hash": len(hashes) == 1, "same_state_root": len(roots) == 1,
            # The restarted node's own head (node_status) when it was caught up.
            "caught_up_status": {"state_root": watched["state_root"],
                                 "block_hash": watched["block_hash"]},
        },
        "cores": os.cpu_count() or 1,
    }


def _stored_height(home: Path) -> int:
    """A stopped node's height, read from its store (exact, unlike a status read before
    the stop, after which it may still have finalized a block)."""
    from node.home import load_home
    from node.store import Store

    loaded = load_home(home)
    store = Store.open(loaded.home.data_dir, loaded.genesis)
    try:
        return store.head.height
    finally:
        store.close()


def render_catch_up(result: dict[str, Any]) -> str:
    """A human-readable report."""
    prod, cu, check = result["production"], result["catch_up"], result["check"]
    return "\n".join([
        f"devnet: {result['validators']} validators, {result['stopped']} stopped; "
        f"{result['txs']} txs offered at {result['rate']} tx/s",
        f"production: {prod['committed']} txs in {prod['seconds']:.1f} s "
        f"({prod['committed_tps']:,.0f} tx/s), {prod['blocks']} blocks, "
        f"{prod['view_changes']} view changes, {prod['dropped']} dropped",
        f"catch-up: heights {cu['from_height']} -> {cu['to_height']} ({cu['blocks']} blocks) "
        f"in {cu['seconds']:.1f} s: start-up {cu['startup_s']:.1f} s (RPC up at "
        f"{cu['rpc_up_s']:.1f} s), sync {cu['sync_s']:.1f} s ({cu['blocks_per_s']:,.0f} "
        f"blocks/s, {cu['txs_per_s']:,.0f} tx/s); the height at its restart reached at "
        f"{cu['reached_restart_height_s']:.1f} s",
        f"ratio production/catch-up: {result['ratio']:.2f}x "
        f"({result['ratio_without_startup']:.2f}x without start-up)",
        f"check at height {check['height']}: same block hash {check['same_hash']}, "
        f"same state root {check['same_state_root']}",
    ])
