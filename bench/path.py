"""The per-transaction path through a node, in process and deterministic, for instruction
counts (`python -m bench.path`; under callgrind with `--callgrind`).

Two validators' `Node` objects (A and B) share one process, each with its own LevelDB
store, mempool, chain and RPC dispatcher, and no sockets, timers or consensus core. After
the untimed setup stages of `bench.workload.MixedWorkload` are finalized on both stores,
`txs` pre-signed mixed transactions take the path a transaction takes through the network:

1. `rpc` (A): `tx_submitBatch` requests of `MAX_SUBMIT_CHUNK` transactions, as JSON bodies
   into the JSON-RPC dispatcher (params, hex, `decode_tx`, mempool check with the
   simulation of an account's next transaction, signature, admission, the response text),
   and the gossip batches of what was admitted, packed for P2P (captured, not sent).
2. `gossip` (B): each captured batch into the gossip handler (decode, check, signature,
   admission).
3. blocks of `block_txs`: `propose` (A reaps, executes and names the block by its consensus
   digest), `validate` (B checks the body against the header for the digest, decodes the block
   reusing its mempool's transactions and re-executes), `finalize` (A and B write the block
   and update their mempools; the finalized-block listeners run, RPC notifications of
   nobody subscribed cost only their checks).

Signatures: libsodium's `crypto_sign_open` is replaced by a stub that accepts (its cost is
inherent and ~20x the rest of a transaction in instructions); every Python step around it
still runs. `--real-verify` keeps libsodium. The periodic mempool recheck (a background
task on a 0.5 s clock) is left out; it is not per transaction.

With `--callgrind` the process must run under ``valgrind --tool=callgrind
--instr-atstart=no``: instrumentation is switched on (``callgrind_control -i on``) only
around each phase, and each phase ends in a dump named after it; the script then prints the
instructions per transaction of each phase from those dumps.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import commerce  # noqa: F401  (registers every transaction type)
import commerce.keys
from bench.load import MAX_SUBMIT_CHUNK
from bench.state import BenchChain, run_setup
from commerce.genesis import Genesis
from commerce.keys import Keypair
from commerce.tx import Transaction
from node.chain import Chain, ConsensusDigest
from node.config import parse_config
from node.home import LoadedHome, NodeHome
from node.intake import TxIntake
from node.mempool import Mempool, MempoolLimits
from node.rpc.jsonrpc import Dispatcher
from node.rpc.methods import build_registry
from node.service import Node, tune_gc
from node.store import Store

PHASES = ("rpc", "gossip", "propose", "validate", "finalize")
SETUP_BLOCK_TXS = 1_000
CERTIFICATE = b"bench-path-certificate"


class _CapturedP2P:
    """Stands in for P2PService: keeps what the node broadcasts."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def broadcast(self, kind: str, payload: bytes) -> int:
        self.sent.append((kind, payload))
        return 0

    def connected_peers(self) -> list[bytes]:
        return []


def _node(root: Path, genesis: Genesis, key: Keypair, block_txs: int) -> Node:
    """A validator's Node with store, mempool, chain and RPC registry, nothing started."""
    config = parse_config({})
    node = Node(LoadedHome(home=NodeHome(root), config=config, genesis=genesis, node_key=key))
    node.store = Store.open(root / "data", genesis)
    pool = config.mempool
    node.mempool = Mempool(node.store.state, genesis.chain_id, MempoolLimits(
        max_txs=pool.max_txs, max_bytes=pool.max_bytes, max_per_account=pool.max_per_account,
        nonce_window=pool.nonce_window), context=node._next_context)
    node.mempool.evict_listeners.append(node._on_evicted)
    node.chain = Chain(node.store, genesis, node.mempool, key.public_key,
                       max_block_txs=block_txs, digests=ConsensusDigest(node.mempool.id_of_bytes))
    node.chain.finalized_listeners.append(node._on_finalized)
    node.p2p = _CapturedP2P()  # type: ignore[assignment]
    node.intake = TxIntake(node.mempool, node.p2p, node.feed, node._signal_work)
    node._rechecked_at = float("inf")  # no background recheck (not per transaction)
    return node


@dataclass
class Harness:
    """Two nodes after setup, the signed workload and the RPC bodies to submit."""

    a: Node
    b: Node
    dispatcher: Dispatcher
    workload: list[Transaction]
    bodies: list[bytes]
    block_txs: int
    counts: dict[str, float] = field(default_factory=dict)


def build(root: Path, *, txs: int, accounts: int, block_txs: int) -> Harness:
    """Genesis, both nodes, the setup stages finalized on both stores, the workload."""
    chain = BenchChain.of(accounts)
    genesis = chain.genesis
    a = _node(root / "a", genesis, chain.validators[0], block_txs)
    b = _node(root / "b", genesis, chain.validators[1], block_txs)
    assert a.store is not None and b.store is not None
    mix = chain.workload(txs)
    run_setup([a.store, b.store], genesis, mix, SETUP_BLOCK_TXS)
    assert a.store.head == b.store.head, "both stores at the same head after setup"
    workload = mix.timed(txs)
    bodies = [
        json.dumps({"jsonrpc": "2.0", "id": number, "method": "tx_submitBatch",
                    "params": {"txs": [tx.raw.hex() for tx in workload[i:i + MAX_SUBMIT_CHUNK]]}
                    }).encode()
        for number, i in enumerate(range(0, len(workload), MAX_SUBMIT_CHUNK))
    ]
    registry = build_registry(a)
    dispatcher = Dispatcher(registry, limits=a.hub.limits, metrics=a.metrics)
    return Harness(a, b, dispatcher, workload, bodies, block_txs)


class Meter:
    """Measures phases: wall/CPU time, a cProfile, or callgrind dumps (one per phase)."""

    def __init__(self, mode: str, profile_phases: set[str]) -> None:
        self.mode = mode
        self.profile_phases = profile_phases
        self.profiler = cProfile.Profile()
        self.cpu_s: dict[str, float] = dict.fromkeys(PHASES, 0.0)

    def _callgrind(self, *args: str) -> None:
        subprocess.run(["callgrind_control", *args, str(os.getpid())], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Measure the body of the `with` as part of phase `name`."""
        if self.mode == "callgrind":
            self._callgrind("-i", "on")
        profiling = name in self.profile_phases
        if profiling:
            self.profiler.enable()
        started = time.thread_time()
        try:
            yield
        finally:
            self.cpu_s[name] += time.thread_time() - started
            if profiling:
                self.profiler.disable()
            if self.mode == "callgrind":
                self._callgrind("-i", "off")
                self._callgrind("-d", f"phase-{name}")


async def run(h: Harness, meter: Meter) -> None:
    """The measured path; asserts every transaction is admitted on both nodes and
    finalized, and both stores end at the same state root."""
    a, b = h.a, h.b
    assert a.mempool is not None and b.mempool is not None
    assert a.chain is not None and b.chain is not None and a.store is not None
    assert a.intake is not None and b.intake is not None
    assert b.store is not None
    captured = a.p2p
    assert isinstance(captured, _CapturedP2P)
    texts: list[str | None] = []
    for body in h.bodies:
        with meter.phase("rpc"):
            texts.append(await h.dispatcher.dispatch_body(body))
            a.intake.cancel_flush()  # the 5 ms gossip timer, run now
            a.intake.flush_gossip()
    for text in texts:
        assert text is not None
        answers = json.loads(text)["result"]
        assert all(answer["ok"] for answer in answers), answers[:3]
    assert len(a.mempool) == len(h.workload)
    peer = a.key.public_key
    for kind, payload in captured.sent:
        with meter.phase("gossip"):
            await b.intake.on_gossip(peer, payload)
            if b.intake.tasks:
                await asyncio.gather(*b.intake.tasks)
        assert kind == "txs"
    assert len(b.mempool) == len(h.workload), "B admitted every gossiped transaction"
    finalized = 0
    while len(a.mempool):
        height = a.store.head.height + 1
        # Each replica names the block by its consensus digest (A's for its PRE-PREPARE,
        # B's on receiving it) before B validates it, as `consensus.Replica` does.
        with meter.phase("propose"):
            raw = a.chain.propose(height, 0)
            assert a.chain.digests is not None
            a.chain.digests(raw)
        with meter.phase("validate"):
            assert b.chain.digests is not None
            named = b.chain.digests(raw)
            digest = b.chain.validate(height, raw, a.key.public_key)
            assert named == digest, "the digest names the block validated"
        with meter.phase("finalize"):
            block = a.chain.finalize(raw, CERTIFICATE, digest)
            b.chain.finalize(raw, CERTIFICATE, digest)
        finalized += len(block.txs)
        assert block.txs, "every proposal carries transactions"
    assert finalized == len(h.workload)
    assert len(b.mempool) == 0
    assert a.store.head == b.store.head


def _callgrind_counts(pid: int, directory: Path) -> dict[str, int]:
    """Instructions per phase from the dumps callgrind wrote for process `pid`."""
    counts = dict.fromkeys(PHASES, 0)
    for path in sorted(directory.glob(f"callgrind.out.{pid}.*")):
        text = path.read_text(errors="replace")
        trigger = next((line for line in text.splitlines() if line.startswith("desc: Trigger")),
                       "")
        name = trigger.rsplit("phase-", 1)[-1] if "phase-" in trigger else None
        totals = next((line for line in text.splitlines() if line.startswith("totals:")), "")
        if name in counts and totals:
            counts[name] += int(totals.split()[1])
    return counts


def main(argv: list[str] | None = None) -> int:
    """Build, run and report; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m bench.path")
    parser.add_argument("--txs", type=int, default=3_000)
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--block-txs", type=int, default=1_000)
    parser.add_argument("--callgrind", action="store_true",
                        help="run under valgrind --tool=callgrind --instr-atstart=no")
    parser.add_argument("--profile", default="",
                        help="comma-separated phases to cProfile (prints the top entries)")
    parser.add_argument("--real-verify", action="store_true",
                        help="verify signatures with libsodium (stubbed by default)")
    args = parser.parse_args(argv)
    profile = {p for p in args.profile.split(",") if p}
    assert profile <= set(PHASES), f"phases are {', '.join(PHASES)}"
    meter = Meter("callgrind" if args.callgrind else "time", profile)
    real_open = commerce.keys.crypto_sign_open  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory(prefix="agora-path-") as tmp:
        h = build(Path(tmp), txs=args.txs, accounts=args.accounts, block_txs=args.block_txs)
        tune_gc()  # as a started node does
        if not args.real_verify:
            commerce.keys.crypto_sign_open = _accept  # type: ignore[attr-defined]
        try:
            asyncio.run(run(h, meter))
        finally:
            commerce.keys.crypto_sign_open = real_open  # type: ignore[attr-defined]
            for node in (h.a, h.b):
                if node.store is not None:
                    node.store.close()
    report: dict[str, Any] = {"txs": args.txs, "accounts": args.accounts,
                              "block_txs": args.block_txs, "real_verify": args.real_verify,
                              "cpu_us_per_tx": {k: round(v / args.txs * 1e6, 2)
                                                for k, v in meter.cpu_s.items()}}
    if args.callgrind:
        counts = _callgrind_counts(os.getpid(), Path.cwd())
        report["instructions_per_tx"] = {k: round(v / args.txs) for k, v in counts.items()}
        report["instructions_per_tx"]["total"] = round(sum(counts.values()) / args.txs)
    print(json.dumps(report))
    if profile:
        stats = pstats.Stats(meter.profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(45)
        stats.sort_stats("cumulative").print_stats(60)
    return 0


def _accept(signed: bytes, pk: bytes) -> bytes:
    """The stub of `crypto_sign_open`: every signature verifies."""
    return signed[64:]


if __name__ == "__main__":
    sys.exit(main())
