"""The LevelDB store: finalize, reads by height, hash and tx id, and refusals on open.

Method: finalize blocks built by the workload on a fresh store in a temporary directory,
read everything back, compare with an in-memory execution, and open the directory the
ways that must fail (another chain's genesis, a second opener).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from commerce.block import Block
from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import genesis_state_root
from commerce.machine import BlockResult, ChainContext, execute_block
from node.errors import NodeError, NodeErrorCode
from node.store import Store, write_buffer_for
from tests.foundation import workload

KEYS = workload.make_keys(6)
GENESIS = workload.make_genesis(KEYS)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "data", GENESIS)
    yield opened
    opened.close()


def _finalize(store: Store, count: int,
              txs_per_block: int = 4) -> list[tuple[Block, BlockResult]]:
    blocks = []
    for _ in range(count):
        head = store.head
        txs = workload.block_txs(store.state, KEYS, head.height + 1, txs_per_block)
        block, result = workload.make_block(store.state, GENESIS, workload.Head(*_head(store)), txs)
        store.finalize_block(block, workload.certificate_for(block.height), result)
        blocks.append((block, result))
    return blocks


def _head(store: Store) -> tuple[int, bytes, bytes]:
    return store.head.height, store.head.block_hash, store.head.state_root


def test_store_open_fresh_is_at_genesis(store: Store) -> None:
    assert _head(store) == (0, GENESIS.hash, genesis_state_root(GENESIS))
    assert store.get_block(0) is None
    assert store.get_block(1) is None
    assert dict(store.state.iterate(b"")) == workload.genesis_memory(GENESIS).items


def test_store_finalize_reads_back_by_height_hash_and_tx(store: Store) -> None:
    blocks = _finalize(store, 3)
    assert store.head.height == 3
    for block, result in blocks:
        assert store.get_block(block.height) == block
        assert store.get_block_raw(block.height) == block.raw
        assert store.height_of(block.hash) == block.height
        assert store.get_certificate(block.height) == workload.certificate_for(block.height)
        assert store.get_end_events(block.height) == result.end_events
        for index, (tx, receipt) in enumerate(zip(block.txs, result.receipts, strict=True)):
            location = store.get_tx(tx.tx_id)
            assert location is not None
            assert (location.height, location.index) == (block.height, index)
            assert location.receipt == receipt.to_array()
    assert store.get_block(4) is None
    assert store.height_of(b"\x00" * 32) is None
    assert store.get_tx(b"\x00" * 32) is None


def test_store_state_matches_memory_execution(store: Store) -> None:
    blocks = _finalize(store, 4)
    memory = workload.genesis_memory(GENESIS)
    for _, result in blocks:
        memory.apply(result.writes)
    assert dict(store.state.iterate(b"")) == memory.items
    assert store.head.state_root == blocks[-1][0].header.state_root


def test_store_reopen_keeps_head(tmp_path: Path) -> None:
    opened = Store.open(tmp_path / "data", GENESIS)
    _finalize(opened, 2)
    head = _head(opened)
    opened.close()
    again = Store.open(tmp_path / "data", GENESIS)
    try:
        assert _head(again) == head
    finally:
        again.close()


def test_store_write_buffer_size_keeps_what_was_written(tmp_path: Path) -> None:
    """A store written with one memtable size (config `store.write_buffer_mb`) reopens with
    another and reads the same head and blocks."""
    opened = Store.open(tmp_path / "data", GENESIS, write_buffer_bytes=16 * 1024 * 1024)
    _finalize(opened, 3)
    head = _head(opened)
    opened.close()
    again = Store.open(tmp_path / "data", GENESIS, write_buffer_bytes=1024 * 1024)
    try:
        assert _head(again) == head
        assert again.get_block(3) is not None
    finally:
        again.close()


def test_store_write_buffer_is_16_mib_spread_by_node_id(tmp_path: Path) -> None:
    """Unset (`write_buffer_mb = 0`), a store's memtable is 16 MiB; with the node's id,
    0-50% more, fixed by the id, so validators writing the same blocks do not flush and
    compact in the same second."""
    opened = Store.open(tmp_path / "plain", GENESIS)
    try:
        assert opened.write_buffer_bytes == 16 << 20
    finally:
        opened.close()
    sizes = [write_buffer_for(bytes([i]) * 32) for i in range(8)]
    assert all(16 << 20 <= size <= 24 << 20 for size in sizes)
    assert len(set(sizes)) == len(sizes)
    assert sizes == [write_buffer_for(bytes([i]) * 32) for i in range(8)]
    opened = Store.open(tmp_path / "spread", GENESIS, node_id=bytes(32))
    try:
        assert opened.write_buffer_bytes == write_buffer_for(bytes(32))
    finally:
        opened.close()


def test_store_other_chain_data_dir_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path / "data", GENESIS).close()
    with pytest.raises(NodeError) as info:
        Store.open(tmp_path / "data", workload.make_genesis(KEYS, "other-chain"))
    assert info.value.code is NodeErrorCode.WRONG_CHAIN_DATA
    assert "\n" not in str(info.value)


def test_store_locked_data_dir_is_refused_in_one_line(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NodeError) as info:
        Store.open(tmp_path / "data", GENESIS)
    assert info.value.code is NodeErrorCode.STORE_LOCKED
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("store_locked: ")


def test_store_refused_block_leaves_head_unchanged(store: Store) -> None:
    _finalize(store, 1)
    before = (_head(store), dict(store.state.iterate(b"")))
    head = store.head
    # Two transactions with the same nonce: at least one of them is refused.
    bad = [workload.transfer(KEYS[0], KEYS[1], 5, 0), workload.transfer(KEYS[0], KEYS[1], 5, 0)]
    ctx = ChainContext.of(GENESIS, head.height + 1)
    with pytest.raises(ValidationError) as info:
        execute_block(store.state, ctx, head.state_root, bad, drop_invalid=False)
    assert info.value.code is ErrorCode.BAD_BLOCK
    assert (_head(store), dict(store.state.iterate(b""))) == before


def test_store_out_of_order_block_is_an_assertion(store: Store) -> None:
    blocks = _finalize(store, 1)
    block, result = blocks[0]
    with pytest.raises(AssertionError):
        store.finalize_block(block, b"cert", result)
    assert store.head.height == 1


def test_store_consensus_records_round_trip(store: Store) -> None:
    store.put_consensus_record(b"b", b"2")
    store.put_consensus_record(b"a", b"1")
    assert store.consensus_records() == [(b"a", b"1"), (b"b", b"2")]
    store.delete_consensus_records([b"a"])
    assert store.consensus_records() == [(b"b", b"2")]
    assert store.check_writable()


def test_genesis_head_matches_fresh_store(store: Store) -> None:
    assert workload.genesis_head(GENESIS) == workload.Head(*_head(store))
