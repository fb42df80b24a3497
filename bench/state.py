"""`agora bench state`: how fast the state machine executes and finalizes a mixed workload.

The workload is generated and signed before any clock starts (`bench.workload`): a genesis
with `accounts` funded shoppers, one merchant per 25 of them and four validators; setup
blocks (not timed) register and approve the merchants, list ten items each, open polls,
share listings and drive orders into every state; then `txs` transactions of every type
in realistic proportions (transfers, purchases with and without referral, shares,
comments, listing updates, ships, confirms, reviews, reward claims, polls, ...) are cut
into blocks of `block_txs` and timed. Each block is executed with `execute_block` (signatures
already checked, as the mempool does) over a temporary LevelDB store and finalized with
`Store.finalize_block`. In the same run, the machine's Ed25519 verification rate on one
core is measured with PyNaCl over pre-signed messages of transaction size, so the figures
can be compared: the goal is execution and finalization at least twice as fast as one
core verifies signatures, so that signatures, not state, limit the chain.

Progress (the setup stages, then the measured blocks) goes to a `bench.progress.Progress`,
between timed sections only; by default nowhere.
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from nacl.bindings import crypto_sign_open

import commerce  # noqa: F401  (registers the transaction types)
from bench.progress import Progress, QuietProgress
from bench.workload import GENESIS_PARAMS, MIX_PER_MILLE, MIXES, MixedWorkload, created_id
from commerce.address import address_of, to_text
from commerce.block import BlockHeader, encode_block, tx_root
from commerce.genesis import Genesis
from commerce.keys import Keypair
from commerce.machine import BlockResult, ChainContext, execute_block
from commerce.tx import Transaction
from node.home import make_genesis
from node.service import GC_GEN0_THRESHOLD
from node.store import Store

BENCH_CHAIN_ID = "agora-bench"
MAX_BENCH_TXS = 1_000_000
MAX_BENCH_ACCOUNTS = 100_000
VERIFY_SAMPLES = 2_000
VERIFY_MIN_SECONDS = 0.5
GOAL_RATIO = 2.0


@dataclass(frozen=True, slots=True)
class StateBenchResult:
    """The figures of one run; rates are per second on this machine."""

    txs: int
    mix: str
    accounts: int
    merchants: int
    listings: int
    setup_txs: int
    types: dict[str, int]
    block_txs: int
    blocks: int
    exec_seconds: float
    finalize_seconds: float
    exec_txs_per_s: float
    commit_txs_per_s: float
    verify_per_s: float
    commit_to_verify_ratio: float
    goal_ratio: float
    goal_met: bool
    # The same in CPU time of the measuring thread (less sensitive to other processes on
    # a shared machine; a synced write's wait for the disk is not CPU time).
    exec_cpu_seconds: float
    finalize_cpu_seconds: float
    verify_per_cpu_s: float
    commit_to_verify_ratio_cpu: float

    def to_dict(self) -> dict[str, object]:
        """The result as a JSON-ready dict."""
        return asdict(self)


BENCH_VALIDATORS = 4
SHOPPERS_PER_MERCHANT = 25
# The genesis time a document without one gets: the pinned state roots were computed
# with it (tests/node/test_state_root_pin.py).
GENESIS_TIME = "1970-01-01T00:00:00Z"


def bench_keys(count: int, tag: int = 0) -> list[Keypair]:
    """Deterministic keypairs: `tag` separates roles (0 shoppers, 1 merchants, 2 validators)."""
    return [Keypair.from_seed(bytes([tag]) + i.to_bytes(31, "big"))
            for i in range(1, count + 1)]


def bench_genesis(validators: list[Keypair], funded: list[Keypair]) -> Genesis:
    """A genesis with `validators`, funding them and every `funded` key with a million."""
    return make_genesis(
        BENCH_CHAIN_ID, [(f"v{i}", key.public_key) for i, key in enumerate(validators)],
        [(to_text(address_of(key.public_key)), "1000000") for key in [*validators, *funded]],
        {"max_block_txs": 10_000, **GENESIS_PARAMS}, genesis_time=GENESIS_TIME)


@dataclass(frozen=True)
class BenchChain:
    """The keys and genesis of an in-process bench chain: shoppers, one merchant per
    `SHOPPERS_PER_MERCHANT` of them (at least two), `BENCH_VALIDATORS` validators."""

    shoppers: list[Keypair]
    merchants: list[Keypair]
    validators: list[Keypair]
    genesis: Genesis

    @classmethod
    def of(cls, accounts: int) -> BenchChain:
        """The chain of `accounts` funded shoppers."""
        shoppers = bench_keys(accounts, 0)
        merchants = bench_keys(max(2, accounts // SHOPPERS_PER_MERCHANT), 1)
        validators = bench_keys(BENCH_VALIDATORS, 2)
        return cls(shoppers, merchants, validators,
                   bench_genesis(validators, [*shoppers, *merchants]))

    def workload(self, timed_hint: int,
                 mix: Mapping[str, int] = MIX_PER_MILLE) -> MixedWorkload:
        """A mixed workload for these keys, its setup pools sized for `timed_hint`."""
        return MixedWorkload(chain_id=self.genesis.chain_id, validators=self.validators,
                             shoppers=self.shoppers, merchants=self.merchants,
                             timed_hint=timed_hint, mix=mix)


def measure_verify_rate(txs: list[Transaction]) -> float:
    """Ed25519 verifications per second of wall-clock time on this core (see
    `measure_verify_rates`)."""
    return measure_verify_rates(txs)[0]


def measure_verify_rates(txs: list[Transaction]) -> tuple[float, float]:
    """Ed25519 verifications per second on this core, per second of wall-clock time and
    per second of this thread's CPU time, over the workload's own signatures (libsodium's
    crypto_sign_open, as the node's `commerce.keys.verify` calls it, with the signed
    message concatenated before the clock: the bare cost of a verification)."""
    samples = [(tx.signature + tx.signing_bytes(), tx.sender) for tx in txs[:VERIFY_SAMPLES]]
    assert samples, "the verification rate needs at least one signed message"
    done = 0
    start = time.perf_counter()
    cpu_start = time.thread_time()
    elapsed = 0.0
    while elapsed < VERIFY_MIN_SECONDS:
        for signed, key in samples:
            crypto_sign_open(signed, key)
        done += len(samples)
        elapsed = time.perf_counter() - start
    return done / elapsed, done / (time.thread_time() - cpu_start)


def run_state_bench(*, txs: int, accounts: int, block_txs: int,
                    data_dir: Path | None = None, mix_name: str = "all",
                    progress: Progress | None = None) -> StateBenchResult:
    """Generate, execute and finalize the workload; measure the verification rate.

    Uses a temporary LevelDB directory unless `data_dir` is given (it must be empty).
    Raises ValueError when a figure is out of its range.
    """
    if not 1 <= txs <= MAX_BENCH_TXS:
        raise ValueError(f"--txs must be 1..{MAX_BENCH_TXS}")
    if not 4 <= accounts <= MAX_BENCH_ACCOUNTS:
        raise ValueError(f"--accounts must be 4..{MAX_BENCH_ACCOUNTS}")
    if not 1 <= block_txs <= 10_000:
        raise ValueError("--block-txs must be 1..10000")
    if mix_name not in MIXES:
        raise ValueError(f"--mix must be one of {', '.join(MIXES)}")
    progress = progress if progress is not None else QuietProgress()
    chain = BenchChain.of(accounts)
    genesis = chain.genesis
    mix = chain.workload(txs, MIXES[mix_name])
    with tempfile.TemporaryDirectory(prefix="agora-bench-") as tmp:
        path = data_dir if data_dir is not None else Path(tmp) / "data"
        store = Store.open(path, genesis)
        try:
            setup_txs = run_setup([store], genesis, mix, block_txs, progress)
            progress(f"signing {txs} transactions")
            workload = mix.timed(txs)
            progress("measuring one core's Ed25519 verifications")
            verify_per_s, verify_per_cpu_s = measure_verify_rates(workload)
            with node_gc():
                exec_s, finalize_s, blocks, cpu = _execute_and_finalize(
                    store, genesis, workload, block_txs, progress)
        finally:
            store.close()
    types: dict[str, int] = {}
    for tx in workload:
        types[tx.type] = types.get(tx.type, 0) + 1
    exec_rate = txs / exec_s
    commit_rate = txs / (exec_s + finalize_s)
    ratio = commit_rate / verify_per_s
    return StateBenchResult(
        txs=txs, mix=mix_name, accounts=accounts, merchants=len(chain.merchants),
        listings=len(mix.pools.shop),
        setup_txs=setup_txs, types=dict(sorted(types.items())),
        block_txs=block_txs, blocks=blocks,
        exec_seconds=round(exec_s, 6), finalize_seconds=round(finalize_s, 6),
        exec_txs_per_s=round(exec_rate, 1), commit_txs_per_s=round(commit_rate, 1),
        verify_per_s=round(verify_per_s, 1), commit_to_verify_ratio=round(ratio, 3),
        goal_ratio=GOAL_RATIO, goal_met=ratio >= GOAL_RATIO,
        exec_cpu_seconds=round(cpu[0], 6), finalize_cpu_seconds=round(cpu[1], 6),
        verify_per_cpu_s=round(verify_per_cpu_s, 1),
        commit_to_verify_ratio_cpu=round(txs / (cpu[0] + cpu[1]) / verify_per_cpu_s, 3),
    )


@contextmanager
def node_gc() -> Iterator[None]:
    """Run the block with the cyclic collector set as a running node sets it
    (`node.service.tune_gc`: one collection, the objects so far frozen, a young-generation
    threshold of GC_GEN0_THRESHOLD), and put it back after. With CPython's defaults a
    full collection walks the whole workload (every signed transaction) every ~70,000
    allocations: ~10% of the measured CPU time, a cost the node does not have."""
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def run_setup(stores: Sequence[Store], genesis: Genesis, mix: MixedWorkload, block_txs: int,
              progress: Progress | None = None) -> int:
    """Finalize every setup stage of `mix` (untimed) on each of `stores`, all at the same
    head, in blocks of at most `block_txs`, handing the new ids back; the tx count."""
    assert stores, "the setup needs a store"
    done = 0
    stage_no = 0
    while (stage := mix.next_setup()) is not None:
        stage_no += 1
        if progress is not None:
            progress.advance("setup", stage_no, None, f"setup stage {stage_no}: "
                             f"{len(stage)} txs")
        ids: list[int | None] = []
        for start in range(0, len(stage), block_txs):
            chunk = tuple(stage[start:start + block_txs])
            result = _finalize_one(stores[0], genesis, chunk)
            for store in stores[1:]:
                _finalize_one(store, genesis, chunk)
            ids.extend(created_id(r.events[0].data) for r in result.receipts)
        mix.record(ids)
        done += len(stage)
    return done


def _finalize_one(store: Store, genesis: Genesis,
                  txs: tuple[Transaction, ...]) -> BlockResult:
    head = store.head
    height = head.height + 1
    context = ChainContext.at(store.state, genesis, height)
    result = execute_block(store.state, context, head.state_root, txs, drop_invalid=False,
                           check_signatures=False)
    header = BlockHeader(genesis.chain_id, height, head.block_hash, tx_root(txs),
                         result.state_root, genesis.validator_keys[0], 0,
                         result.next_validators_hash)
    store.finalize_block(encode_block(header, txs), b"bench-certificate", result)
    return result


def _execute_and_finalize(store: Store, genesis: Genesis, workload: list[Transaction],
                          block_txs: int, progress: Progress
                          ) -> tuple[float, float, int, tuple[float, float]]:
    """Run the blocks; return (execution seconds, finalization seconds, block count,
    (execution, finalization) seconds of this thread's CPU time). `progress` hears of
    each block after its clocks stopped."""
    proposer = genesis.validator_keys[0]
    exec_s = 0.0
    finalize_s = 0.0
    exec_cpu = 0.0
    finalize_cpu = 0.0
    blocks = 0
    total = -(-len(workload) // block_txs)
    first = store.head.height
    for start in range(0, len(workload), block_txs):
        txs = tuple(workload[start:start + block_txs])
        head = store.head
        height = head.height + 1
        t0 = time.perf_counter()
        c0 = time.thread_time()
        result = execute_block(store.state, ChainContext.at(store.state, genesis, height),
                               head.state_root, txs, drop_invalid=False,
                               check_signatures=False)
        t1 = time.perf_counter()
        c1 = time.thread_time()
        header = BlockHeader(genesis.chain_id, height, head.block_hash, tx_root(txs),
                             result.state_root, proposer, 0, result.next_validators_hash)
        store.finalize_block(encode_block(header, txs), b"bench-certificate", result)
        t2 = time.perf_counter()
        c2 = time.thread_time()
        exec_s += t1 - t0
        finalize_s += t2 - t1
        exec_cpu += c1 - c0
        finalize_cpu += c2 - c1
        blocks += 1
        progress.advance("blocks", blocks, total, f"block {blocks}/{total} executed and "
                         "finalized")
    assert store.head.height == first + blocks, "every block was finalized"
    return exec_s, finalize_s, blocks, (exec_cpu, finalize_cpu)


def render_text(result: StateBenchResult) -> str:
    """A short human-readable report."""
    verdict = "met" if result.goal_met else "NOT met"
    return "\n".join([
        f"workload: {result.txs} txs ({result.mix} mix) of {len(result.types)} types over "
        f"{result.accounts} shoppers, {result.merchants} merchants, {result.listings} "
        f"listings; {result.blocks} blocks of up to {result.block_txs} "
        f"(after {result.setup_txs} setup txs)",
        "mix: " + ", ".join(f"{k} {v}" for k, v in result.types.items()),
        f"executed:  {result.exec_txs_per_s:>12,.0f} tx/s (execution only)",
        f"committed: {result.commit_txs_per_s:>12,.0f} tx/s (execution + LevelDB finalize)",
        f"verify:    {result.verify_per_s:>12,.0f} Ed25519 verifications/s (one core)",
        f"ratio committed/verify: {result.commit_to_verify_ratio:.2f} "
        f"(goal >= {result.goal_ratio:.1f}: {verdict}); in CPU time of the thread: "
        f"{result.commit_to_verify_ratio_cpu:.2f}",
    ])
