"""`agora bench state`: how fast the state machine executes and finalizes transfers.

The workload is generated and signed before any clock starts: a genesis with `accounts`
funded accounts, then `txs` transfers (each account sends to the next, round robin) cut
into blocks of `block_txs`. Each block is executed with `execute_block` (signatures
already checked, as the mempool does) over a temporary LevelDB store and finalized with
`Store.finalize_block`. In the same run, the machine's Ed25519 verification rate on one
core is measured with PyNaCl over pre-signed messages of transaction size, so the figures
can be compared: the goal is execution and finalization at least twice as fast as one
core verifies signatures, so that signatures, not state, limit the chain.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from nacl.signing import VerifyKey

import commerce  # noqa: F401  (registers the transaction types)
from commerce.address import address_of, to_text
from commerce.block import BlockHeader, encode_block, tx_root
from commerce.genesis import Genesis, parse_genesis
from commerce.keys import Keypair
from commerce.machine import ChainContext, execute_block
from commerce.transfer import Transfer
from commerce.tx import Transaction, sign_tx
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
    accounts: int
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

    def to_dict(self) -> dict[str, object]:
        """The result as a JSON-ready dict."""
        return asdict(self)


def bench_keys(count: int) -> list[Keypair]:
    """Deterministic keypairs for the workload's accounts."""
    return [Keypair.from_seed(i.to_bytes(32, "big")) for i in range(1, count + 1)]


def bench_genesis(keys: list[Keypair]) -> Genesis:
    """A one-validator genesis funding every key with a million tokens."""
    return parse_genesis({
        "chain_id": BENCH_CHAIN_ID,
        "token": {"symbol": "AGR"},
        "validators": [{"name": "bench", "public_key": keys[0].public_key.hex()}],
        "accounts": [
            {"address": to_text(address_of(key.public_key)), "balance": "1000000"}
            for key in keys
        ],
        "params": {"max_block_txs": 10_000},
    })


def bench_transfers(keys: list[Keypair], count: int) -> list[Transaction]:
    """`count` signed transfers: account i sends 1 base unit to account i+1, round robin."""
    addresses = [address_of(key.public_key) for key in keys]
    nonces = [0] * len(keys)
    txs: list[Transaction] = []
    for n in range(count):
        i = n % len(keys)
        to = addresses[(i + 1) % len(keys)]
        txs.append(sign_tx(keys[i], BENCH_CHAIN_ID, nonces[i], Transfer(to=to, amount=1)))
        nonces[i] += 1
    return txs


def measure_verify_rate(txs: list[Transaction]) -> float:
    """Ed25519 verifications per second on this core, over the workload's own signatures."""
    samples = [(VerifyKey(tx.sender), tx.signing_bytes(), tx.signature)
               for tx in txs[:VERIFY_SAMPLES]]
    assert samples, "the verification rate needs at least one signed message"
    done = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < VERIFY_MIN_SECONDS:
        for key, message, signature in samples:
            key.verify(message, signature)
        done += len(samples)
        elapsed = time.perf_counter() - start
    return done / elapsed


def run_state_bench(*, txs: int, accounts: int, block_txs: int,
                    data_dir: Path | None = None) -> StateBenchResult:
    """Generate, execute and finalize the workload; measure the verification rate.

    Uses a temporary LevelDB directory unless `data_dir` is given (it must be empty).
    Raises ValueError when a figure is out of its range.
    """
    if not 1 <= txs <= MAX_BENCH_TXS:
        raise ValueError(f"--txs must be 1..{MAX_BENCH_TXS}")
    if not 2 <= accounts <= MAX_BENCH_ACCOUNTS:
        raise ValueError(f"--accounts must be 2..{MAX_BENCH_ACCOUNTS}")
    if not 1 <= block_txs <= 10_000:
        raise ValueError("--block-txs must be 1..10000")
    keys = bench_keys(accounts)
    genesis = bench_genesis(keys)
    workload = bench_transfers(keys, txs)
    verify_per_s = measure_verify_rate(workload)
    with tempfile.TemporaryDirectory(prefix="agora-bench-") as tmp:
        path = data_dir if data_dir is not None else Path(tmp) / "data"
        exec_s, finalize_s, blocks = _execute_and_finalize(path, genesis, workload, block_txs)
    exec_rate = txs / exec_s
    commit_rate = txs / (exec_s + finalize_s)
    ratio = commit_rate / verify_per_s
    return StateBenchResult(
        txs=txs, accounts=accounts, block_txs=block_txs, blocks=blocks,
        exec_seconds=round(exec_s, 6), finalize_seconds=round(finalize_s, 6),
        exec_txs_per_s=round(exec_rate, 1), commit_txs_per_s=round(commit_rate, 1),
        verify_per_s=round(verify_per_s, 1), commit_to_verify_ratio=round(ratio, 3),
        goal_ratio=GOAL_RATIO, goal_met=ratio >= GOAL_RATIO,
    )


def _execute_and_finalize(path: Path, genesis: Genesis, workload: list[Transaction],
                          block_txs: int) -> tuple[float, float, int]:
    """Run the blocks; return (execution seconds, finalization seconds, block count)."""
    store = Store.open(path, genesis)
    proposer = genesis.validator_keys[0]
    exec_s = 0.0
    finalize_s = 0.0
    blocks = 0
    try:
        for start in range(0, len(workload), block_txs):
            txs = tuple(workload[start:start + block_txs])
            head = store.head
            height = head.height + 1
            t0 = time.perf_counter()
            result = execute_block(store.state, ChainContext.of(genesis, height),
                                   head.state_root, txs, drop_invalid=False,
                                   check_signatures=False)
            t1 = time.perf_counter()
            header = BlockHeader(genesis.chain_id, height, head.block_hash, tx_root(txs),
                                 result.state_root, proposer, 0)
            store.finalize_block(encode_block(header, txs), b"bench-certificate", result)
            t2 = time.perf_counter()
            exec_s += t1 - t0
            finalize_s += t2 - t1
            blocks += 1
        assert store.head.height == blocks, "every block was finalized"
    finally:
        store.close()
    return exec_s, finalize_s, blocks


def render_text(result: StateBenchResult) -> str:
    """A short human-readable report."""
    verdict = "met" if result.goal_met else "NOT met"
    return "\n".join([
        f"workload: {result.txs} transfers, {result.accounts} accounts, "
        f"{result.blocks} blocks of up to {result.block_txs}",
        f"executed:  {result.exec_txs_per_s:>12,.0f} tx/s (execution only)",
        f"committed: {result.commit_txs_per_s:>12,.0f} tx/s (execution + LevelDB finalize)",
        f"verify:    {result.verify_per_s:>12,.0f} Ed25519 verifications/s (one core)",
        f"ratio committed/verify: {result.commit_to_verify_ratio:.2f} "
        f"(goal >= {result.goal_ratio:.1f}: {verdict})",
    ])
