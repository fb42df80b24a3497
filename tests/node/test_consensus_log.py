"""A validator's consensus log stays a few records however long its chain grows, across
restarts, and an old store's long log is pruned when the node starts.

Method: the real `node.service.Node` (one validator, a home from `init_home`, 10 ms idle
blocks, so it makes empty blocks as fast as it can) runs over thousands of heights in the
test's event loop; the log is read from the node's store while it runs and after it
stopped, and the node is started again on the same home.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import plyvel

import commerce  # noqa: F401  (registers transaction types)
from consensus.messages import PHASE_PREPARE, pack
from consensus.replica import REC_VIEW_CHANGE, REC_VOTE
from node.config import parse_config
from node.home import init_home, load_home
from node.service import Node

CHAIN_ID = "conslog"
LONG_RUN_HEIGHTS = 2_000
# One validator signs a PREPARE and a COMMIT per height, and the log keeps the finalized
# height's and the next one's: 4, plus room for a view change's record and its keeper.
MAX_LOG_RECORDS = 6
OLD_VIEW = 7  # the view of the old log's record at an old height
OLD_LOG_PREFIX = b"l"  # the log's keys before issue 19: prefix + 8-byte sequence number


def _home(tmp_path: Path) -> Path:
    config = parse_config({"rpc": {"listen": "127.0.0.1:0"}, "p2p": {"listen": "127.0.0.1:0"},
                           "consensus": {"idle_block_interval_ms": 10}})
    init_home(tmp_path / "home", chain_id=CHAIN_ID, config=config)
    return tmp_path / "home"


async def _start(home: Path) -> Node:
    node = Node(load_home(home))
    await node.start()
    return node


def _height(node: Node) -> int:
    assert node.store is not None
    return node.store.head.height


def _log_size(node: Node) -> int:
    assert node.store is not None
    return len(node.store.consensus_records())


async def _run_to(node: Node, height: int, timeout_s: float) -> list[int]:
    """Wait until the node finalized `height`; returns the log sizes seen meanwhile."""
    sizes = []
    async with asyncio.timeout(timeout_s):
        while _height(node) < height:
            await asyncio.sleep(0.05)
            sizes.append(_log_size(node))
    sizes.append(_log_size(node))
    return sizes


async def test_node_consensus_log_over_thousands_of_heights_and_restart_stays_bounded(
        tmp_path: Path) -> None:
    home = _home(tmp_path)
    node = await _start(home)
    try:
        sizes = await _run_to(node, LONG_RUN_HEIGHTS, timeout_s=300)
    finally:
        await node.stop()
    assert node.store is not None
    stopped_at = node.store.head.height
    stopped_hash = node.store.head.block_hash
    assert max(sizes) <= MAX_LOG_RECORDS, f"log sizes up to {max(sizes)}"

    node = await _start(home)
    try:
        assert node.store is not None
        block = node.store.get_block(stopped_at)
        assert block is not None and block.hash == stopped_hash
        assert _log_size(node) <= MAX_LOG_RECORDS
        sizes = await _run_to(node, stopped_at + 200, timeout_s=60)
        assert node.store.get_block(stopped_at + 1) is not None
    finally:
        await node.stop()
    assert max(sizes) <= MAX_LOG_RECORDS, f"log sizes up to {max(sizes)}"


async def test_node_old_long_consensus_log_is_pruned_on_start_and_keeps_its_view(
        tmp_path: Path) -> None:
    home = _home(tmp_path)
    node = await _start(home)
    try:
        await _run_to(node, 200, timeout_s=60)
    finally:
        await node.stop()
    assert node.store is not None
    stopped_at = node.store.head.height
    # The log as the node wrote it before issue 19 (keyed by sequence number alone, two
    # records a height, never pruned), with a VIEW-CHANGE of a high view at an old height.
    db = plyvel.DB(str(load_home(home).home.data_dir))
    try:
        with db.write_batch(sync=True) as batch:
            seq = 0
            for height in range(1, stopped_at + 1):
                for _ in range(2):
                    seq += 1
                    batch.put(OLD_LOG_PREFIX + seq.to_bytes(8, "big"), pack(
                        [REC_VOTE, PHASE_PREPARE, 0, height, bytes(32), None]))
                if height == 5:
                    seq += 1
                    batch.put(OLD_LOG_PREFIX + seq.to_bytes(8, "big"),
                              pack([REC_VIEW_CHANGE, OLD_VIEW, height]))
    finally:
        db.close()

    node = await _start(home)
    try:
        assert node.store is not None and node.replica is not None
        assert _log_size(node) <= MAX_LOG_RECORDS
        sizes = await _run_to(node, stopped_at + 50, timeout_s=60)
        assert node.replica.view == OLD_VIEW and node.replica.active
        assert node.store.get_block(stopped_at + 1) is not None
    finally:
        await node.stop()
    assert max(sizes) <= MAX_LOG_RECORDS, f"log sizes up to {max(sizes)}"
    db = plyvel.DB(str(load_home(home).home.data_dir))
    try:
        assert list(db.iterator(prefix=OLD_LOG_PREFIX, include_value=False)) == []
    finally:
        db.close()
