"""The state's own LevelDB (`data/state/`, the genesis state in `data/state/genesis/`):
brought level with the chain when it opens.

Method: finalize blocks on a store in a temporary directory, then put its `state/`
directory in the situations a crash, an operator or an upgrade leaves it in (a copy from
fewer blocks back, deleted, a copy from another chain, ahead of the chain, its genesis
directory gone, the earlier formats), reopen, and compare the state with an in-memory
execution of the stored blocks from genesis.
"""

from __future__ import annotations

import contextlib
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

import plyvel
import pytest

from commerce.genesis import genesis_writes
from commerce.machine import ChainContext, execute_block
from node.errors import NodeError, NodeErrorCode
from node.state_store import (
    GENESIS_STATE_DIR,
    P_STATE,
    STATE_DIR,
    STATE_FORMAT_1,
    STATE_META_FORMAT,
    STATE_META_GENESIS_HASH,
    STATE_META_HEIGHT,
    STATE_META_ROOT,
)
from node.store import META_FORMAT, STATE_SYNC_BLOCKS, STORE_FORMAT, STORE_FORMAT_1, Store
from tests.foundation import workload
from tests.foundation.raw_db import count_keys

KEYS = workload.make_keys(6)
GENESIS = workload.make_genesis(KEYS)
OTHER = workload.make_genesis(KEYS, chain_id="agora-other")


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[Store]:
    """The store at `path`, open for the block (closed after it, also on failure)."""
    store = Store.open(path, GENESIS)
    try:
        yield store
    finally:
        store.close()


def _finalize(path: Path, count: int) -> None:
    with _opened(path) as store:
        for _ in range(count):
            head = store.head
            txs = workload.block_txs(store.state, KEYS, head.height + 1, 4)
            block, result = workload.make_block(store.state, GENESIS,
                                                workload.Head(head.height, head.block_hash,
                                                              head.state_root), txs)
            store.finalize_block(block, workload.certificate_for(block.height), result)


def _expected_state(store: Store) -> dict[bytes, bytes]:
    """The state of the stored blocks executed in memory from genesis (roots checked)."""
    return _execute_stored(store)[0]


def _execute_stored(store: Store) -> tuple[dict[bytes, bytes], dict[bytes, bytes | None]]:
    """The stored blocks executed in memory from genesis (roots checked): the state, and
    every key the blocks wrote with its last value (None: deleted)."""
    memory = workload.genesis_memory(GENESIS)
    root = workload.genesis_head(GENESIS).state_root
    written: dict[bytes, bytes | None] = {}
    for height in range(1, store.head.height + 1):
        block = store.get_block(height)
        assert block is not None
        result = execute_block(memory, ChainContext.of(GENESIS, height), root, block.txs,
                               drop_invalid=False)
        assert result.state_root == block.header.state_root
        memory.apply(result.writes)
        written.update(result.writes)
        root = result.state_root
    assert root == store.head.state_root
    return memory.items, written


def _opens_whole_at(path: Path, height: int) -> None:
    """The store at `path` opens at `height` with the state its blocks make."""
    with _opened(path) as store:
        assert store.head.height == height
        assert dict(store.state.iterate(b"")) == _expected_state(store)


def _replace_state(path: Path, source: Path) -> None:
    """Put a copy of the state directory `source` in place of the store's."""
    shutil.rmtree(path / STATE_DIR)
    shutil.copytree(source, path / STATE_DIR)


def _refused(path: Path) -> str:
    """Open the store, which must refuse with wrong_chain_data; returns the message."""
    with pytest.raises(NodeError) as caught:
        Store.open(path, GENESIS)
    assert caught.value.code is NodeErrorCode.WRONG_CHAIN_DATA
    return caught.value.message


def _entries(directory: Path) -> dict[bytes, bytes]:
    """The state keys (with their prefix) of the LevelDB in `directory`."""
    db = plyvel.DB(str(directory))
    try:
        return dict(db.iterator(prefix=P_STATE))
    finally:
        db.close()


def _whole_state(path: Path) -> dict[bytes, bytes]:
    """The store's state as its reads see it, keys with their prefix."""
    with _opened(path) as store:
        return {P_STATE + key: value for key, value in store.state.iterate(b"")}


def _files(directory: Path) -> dict[str, tuple[int, int]]:
    """Each file in `directory` with its size and modification time (ns)."""
    return {entry.name: (entry.stat().st_size, entry.stat().st_mtime_ns)
            for entry in directory.iterdir() if entry.is_file()}


def _put_in_chain_db(path: Path, entries: dict[bytes, bytes]) -> None:
    db = plyvel.DB(str(path))
    with db.write_batch() as batch:
        for key, value in entries.items():
            batch.put(key, value)
    db.close()


def test_state_behind_the_chain_is_replayed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "data"
    _finalize(path, 3)
    shutil.copytree(path / STATE_DIR, tmp_path / "state-at-3")
    _finalize(path, 5)
    _replace_state(path, tmp_path / "state-at-3")  # as a crash leaves it
    with _opened(path) as store:
        assert store.replayed == 5
        assert store.head.height == 8
        assert dict(store.state.iterate(b"")) == _expected_state(store)
    with _opened(path) as again:  # level now: nothing to replay
        assert again.replayed == 0
        assert again.head.height == 8


def test_deleted_state_is_rebuilt_from_the_blocks(tmp_path: Path) -> None:
    path = tmp_path / "data"
    _finalize(path, 6)
    shutil.rmtree(path / STATE_DIR)
    with _opened(path) as store:
        assert store.replayed == 6
        assert dict(store.state.iterate(b"")) == _expected_state(store)
    _finalize(path, 2)  # and the chain goes on from it
    _opens_whole_at(path, 8)


def test_state_ahead_of_the_chain_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "data"
    _finalize(path, 2)
    shutil.copytree(path, tmp_path / "chain-at-2", ignore=shutil.ignore_patterns(STATE_DIR))
    _finalize(path, 3)
    for entry in path.iterdir():
        if entry.name != STATE_DIR:
            entry.unlink()
    for entry in (tmp_path / "chain-at-2").iterdir():
        shutil.copy2(entry, path / entry.name)
    message = _refused(path)
    assert "ahead of the chain" in message
    assert "\n" not in message
    # Nothing changed: with the state removed as the message says, it opens at height 2.
    shutil.rmtree(path / STATE_DIR)
    _opens_whole_at(path, 2)


def test_another_chains_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data"
    _finalize(path, 1)
    Store.open(tmp_path / "other", OTHER).close()
    _replace_state(path, tmp_path / "other" / STATE_DIR)
    assert "another chain's state" in _refused(path)


def test_state_that_does_not_follow_from_the_blocks_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data"
    _finalize(path, 2)
    shutil.copytree(path / STATE_DIR, tmp_path / "state-at-2")
    _finalize(path, 1)
    _replace_state(path, tmp_path / "state-at-2")
    db = plyvel.DB(str(path / STATE_DIR))
    keys = [key for key, _ in db.iterator(prefix=P_STATE)]
    db.put(keys[0], db.get(keys[1]))  # a state not of these blocks (same height)
    db.close()
    message = _refused(path)
    assert "does not follow from block 3" in message
    assert "\n" not in message


def test_state_level_with_the_chain_but_of_another_history_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data"
    _finalize(path, 2)
    db = plyvel.DB(str(path / STATE_DIR))
    db.put(STATE_META_ROOT, b"\x00" * 32)
    db.close()
    assert "not the chain's at height 2" in _refused(path)


def test_genesis_state_is_written_once_and_the_blocks_write_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "data"
    Store.open(path, GENESIS).close()
    genesis_dir = path / STATE_DIR / GENESIS_STATE_DIR
    genesis_state = {P_STATE + key: value for key, value in genesis_writes(GENESIS).items()
                     if value is not None}
    assert _entries(genesis_dir) == genesis_state
    assert _entries(path / STATE_DIR) == {}
    tables = {name: stat for name, stat in _files(genesis_dir).items()
              if name.endswith(".ldb")}
    assert tables, "the genesis state is in tables, not only in LevelDB's log"
    genesis_db = plyvel.DB(str(genesis_dir))
    try:  # compacted: nothing left in level 0 for LevelDB to merge later
        assert genesis_db.get_property(b"leveldb.num-files-at-level0") == b"0"
    finally:
        genesis_db.close()
    _finalize(path, 5)
    assert {name: stat for name, stat in _files(genesis_dir).items()
            if name.endswith(".ldb")} == tables
    assert _entries(genesis_dir) == genesis_state
    with _opened(path) as store:
        expected, written = _execute_stored(store)
        assert dict(store.state.iterate(b"")) == expected
    # The state's LevelDB holds exactly what the blocks wrote (they delete no genesis key).
    assert _entries(path / STATE_DIR) == {
        P_STATE + key: value for key, value in written.items() if value is not None}


def test_deleted_genesis_directory_is_written_again(tmp_path: Path) -> None:
    path = tmp_path / "data"
    _finalize(path, 3)
    before = _whole_state(path)
    shutil.rmtree(path / STATE_DIR / GENESIS_STATE_DIR)
    with _opened(path) as store:
        assert store.replayed == 0
        assert dict(store.state.iterate(b"")) == _expected_state(store)
    assert _whole_state(path) == before
    _finalize(path, 1)


def test_state_of_format_1_is_rebuilt_from_the_blocks(tmp_path: Path) -> None:
    """Format 1 kept the whole state in `state/`, genesis included: opened, it is replaced by
    genesis and the blocks' writes beside it, replayed from the chain."""
    path = tmp_path / "data"
    _finalize(path, 4)
    whole = _whole_state(path)
    with _opened(path) as store:
        head = store.head
    shutil.rmtree(path / STATE_DIR)
    state_db = plyvel.DB(str(path / STATE_DIR), create_if_missing=True)
    with state_db.write_batch() as batch:
        for key, value in whole.items():
            batch.put(key, value)
        batch.put(STATE_META_FORMAT, STATE_FORMAT_1)
        batch.put(STATE_META_GENESIS_HASH, GENESIS.hash)
        batch.put(STATE_META_HEIGHT, struct.pack(">Q", head.height))
        batch.put(STATE_META_ROOT, head.state_root)
    state_db.close()
    with _opened(path) as store:
        assert store.replayed == 4
        assert dict(store.state.iterate(b"")) == _expected_state(store)
    assert _whole_state(path) == whole
    assert len(_entries(path / STATE_DIR)) < len(whole)  # genesis now beside it


def _to_format_1(path: Path) -> dict[bytes, bytes]:
    """Turn a store into the one-LevelDB layout of format 1; returns its state entries."""
    entries = _whole_state(path)
    shutil.rmtree(path / STATE_DIR)
    _put_in_chain_db(path, {**entries, META_FORMAT: STORE_FORMAT_1})
    return entries


def test_store_of_format_1_is_rebuilt_on_open(tmp_path: Path) -> None:
    path = tmp_path / "data"
    _finalize(path, 4)
    entries = _to_format_1(path)
    with _opened(path) as store:
        assert store.replayed == 4
        assert store.head.height == 4
        assert {P_STATE + k: v for k, v in store.state.iterate(b"")} == entries
        assert dict(store.state.iterate(b"")) == _expected_state(store)
    assert count_keys(path, P_STATE) == 0
    db = plyvel.DB(str(path))
    assert db.get(META_FORMAT) == STORE_FORMAT
    db.close()
    _finalize(path, 1)


def test_state_keys_left_in_the_chains_store_are_deleted_on_open(tmp_path: Path) -> None:
    path = tmp_path / "data"
    _finalize(path, 2)
    _put_in_chain_db(path, _whole_state(path))  # as format 1's rebuild cut short leaves it
    with _opened(path) as store:
        assert dict(store.state.iterate(b"")) == _expected_state(store)
    assert count_keys(path, P_STATE) == 0


def test_state_batches_are_synced_at_least_every_few_blocks() -> None:
    """Bounds the replay after a power loss (an OS flushes a log within seconds anyway)."""
    assert 0 < STATE_SYNC_BLOCKS <= 1000


def test_power_loss_during_a_catch_up_run_never_leaves_the_state_ahead(tmp_path: Path) -> None:
    """A catch-up run writes its blocks unsynced and syncs the chain at its last block. A
    power loss before that sync may keep any unsynced write of either LevelDB (each has its
    own log, flushed by the OS in no order between them): here the state's are kept and
    the chain's lost. The store must reopen at the chain's durable height, state level."""
    path = tmp_path / "data"
    _finalize(path, 2)  # synced: the durable point
    durable_chain = tmp_path / "chain-at-2"
    store = Store.open(path, GENESIS)
    try:
        shutil.copytree(path, durable_chain, ignore=shutil.ignore_patterns(STATE_DIR, "LOCK"))
        for _ in range(3):  # a run of three fetched blocks, the run's sync not reached
            head = store.head
            txs = workload.block_txs(store.state, KEYS, head.height + 1, 4)
            block, result = workload.make_block(store.state, GENESIS,
                                                workload.Head(head.height, head.block_hash,
                                                              head.state_root), txs)
            store.finalize_block(block, workload.certificate_for(block.height), result, sync=False)
        assert store.head.height == 5
        # The power goes: what the state's LevelDB has written so far is on disk...
        lost_state = tmp_path / "state-on-disk"
        shutil.copytree(path / STATE_DIR, lost_state, ignore=shutil.ignore_patterns("LOCK"))
    finally:
        store.close()
    # ...and the chain's unsynced tail is not.
    shutil.rmtree(path)
    shutil.copytree(durable_chain, path)
    shutil.copytree(lost_state, path / STATE_DIR)
    _opens_whole_at(path, 2)
    _finalize(path, 3)  # and the chain goes on from there
    _opens_whole_at(path, 5)


def test_state_rebuild_reports_its_progress_block_by_block(tmp_path: Path) -> None:
    path = tmp_path / "data"
    _finalize(path, 4)
    shutil.rmtree(path / STATE_DIR)
    steps: list[tuple[str, int, int | None]] = []

    class Recorder:
        def step(self, text: str, done: int = 0, total: int | None = None) -> None:
            steps.append((text, done, total))

        def clear(self) -> None:
            steps.append(("clear", 0, None))

    store = Store.open(path, GENESIS, progress=Recorder())
    store.close()
    assert [(done, total) for _, done, total in steps] == [(0, 4), (1, 4), (2, 4), (3, 4)]
    assert steps[0][0] == "rebuilding the state from the stored blocks"
