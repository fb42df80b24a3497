"""Crash atomicity: a store killed at any instant reopens at a whole height, consistent.

Method: a child process (`python -m tests.foundation.chain_child finalize DIR`) finalizes
blocks into a LevelDB store in a loop and is SIGKILLed after a seeded random delay, at
least 20 times. After each kill the store is reopened and checked: every per-height key
(block, certificate, end events) exists exactly up to the head; the hash index and the
transaction index hold exactly the head's blocks and transactions; and re-executing the
stored blocks from genesis in memory gives every header's state root, the head's root and
exactly the stored state.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from commerce.machine import ChainContext, execute_block
from node.store import P_BLOCK, P_CERT, P_EVENTS, P_HASH, P_TX, Store, TxLocation
from tests.foundation.chain_child import TXS_PER_BLOCK
from tests.foundation.raw_db import count_keys
from tests.foundation.workload import (
    certificate_for,
    genesis_head,
    genesis_memory,
    make_genesis,
    make_keys,
)

ROOT = Path(__file__).resolve().parents[2]
KILLS = 22
SEED = 3
MAX_DELAY_S = 0.25
READY_TIMEOUT_S = 30.0

GENESIS = make_genesis(make_keys())


def _run_and_kill(path: Path, delay_s: float) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.foundation.chain_child", "finalize", str(path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("ready"), f"child did not start: {line!r}"
        time.sleep(delay_s)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=READY_TIMEOUT_S)
        if child.stdout is not None:
            child.stdout.close()
        if child.stderr is not None:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL, "the child ran until it was killed"


def _check_store(path: Path) -> int:
    """Check one reopened store; return its height."""
    store = Store.open(path, GENESIS)
    try:
        head = store.head
        memory = genesis_memory(GENESIS)
        prev_hash, root, tx_count = GENESIS.hash, genesis_head(GENESIS).state_root, 0
        for height in range(1, head.height + 1):
            block = store.get_block(height)
            assert block is not None, f"block {height} is missing under head {head.height}"
            assert block.header.prev_hash == prev_hash
            assert store.height_of(block.hash) == height
            assert store.get_certificate(height) == certificate_for(height)
            result = execute_block(memory, ChainContext.of(GENESIS, height), root,
                                   block.txs, drop_invalid=False)
            assert result.state_root == block.header.state_root, f"root differs at {height}"
            assert store.get_end_events(height) == result.end_events
            for index, (tx, receipt) in enumerate(
                    zip(block.txs, result.receipts, strict=True)):
                assert store.get_tx(tx.tx_id) == TxLocation(height, index, receipt.to_array())
            memory.apply(result.writes)
            prev_hash, root = block.hash, result.state_root
            tx_count += len(block.txs)
        assert head.block_hash == prev_hash
        assert head.state_root == root
        assert dict(store.state.iterate(b"")) == memory.items
    finally:
        store.close()
    # Nothing of a half-written next height: each index has exactly the head's entries.
    for prefix in (P_BLOCK, P_CERT, P_EVENTS, P_HASH):
        assert count_keys(path, prefix) == head.height, f"index {prefix!r} disagrees"
    assert count_keys(path, P_TX) == tx_count == head.height * TXS_PER_BLOCK
    return head.height


def test_store_sigkilled_child_reopens_at_whole_consistent_height(tmp_path: Path) -> None:
    path = tmp_path / "data"
    rng = random.Random(SEED)
    heights = [_check_store(path)]
    for _ in range(KILLS):
        _run_and_kill(path, rng.uniform(0.0, MAX_DELAY_S))
        heights.append(_check_store(path))
    assert heights == sorted(heights), "finalized heights never go back"
    assert heights[-1] > KILLS, "the child finalized blocks between kills"
