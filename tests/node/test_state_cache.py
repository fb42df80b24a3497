"""StateStore answers what LevelDB holds: the blocks' writes over the genesis state, and
its read cache always agrees.

Method: read keys (present and absent) so they are cached, then write a block's state
changes the way `Store.finalize_block` does (begin, batch, apply) including a delete, and
check every read; after a failed write (`_forget`) nothing cached is trusted. A genesis
key that a block deletes, writes again and deletes again reads right each time, cached
and from a fresh reader, and in iteration.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import plyvel
import pytest

from commerce.machine import BlockResult
from node.state_store import P_STATE, STATE_META_HEIGHT, StateStore


@contextlib.contextmanager
def _dbs(tmp_path: Path) -> Iterator[tuple[plyvel.DB, plyvel.DB]]:
    """The state's LevelDB and an empty genesis one (closed after the block)."""
    db = plyvel.DB(str(tmp_path / "db"), create_if_missing=True)
    genesis_db = plyvel.DB(str(tmp_path / "genesis"), create_if_missing=True)
    try:
        yield db, genesis_db
    finally:
        db.close()
        genesis_db.close()


def _write_block(state: StateStore, height: int, writes: dict[bytes, bytes | None]) -> None:
    """Write a block's state changes as `Store.finalize_block` does."""
    state._begin_write()
    state._write(height, BlockResult(state_root=b"\x00" * 32, writes=writes, txs=[],
                                     receipts=[], end_events=[]), sync=False)
    state._apply(writes)


def test_cache_follows_written_blocks(tmp_path: Path) -> None:
    with _dbs(tmp_path) as (db, genesis_db):
        db.put(P_STATE + b"a", b"1")
        db.put(P_STATE + b"b", b"2")
        state = StateStore(db, genesis_db)
        assert (state.get(b"a"), state.get(b"b"), state.get(b"c")) == (b"1", b"2", None)
        _write_block(state, 1, {b"a": b"10", b"b": None, b"c": b"30"})
        assert (state.get(b"a"), state.get(b"b"), state.get(b"c")) == (b"10", None, b"30")
        assert [k for k, _ in state.iterate(b"")] == [b"a", b"c"]


def test_genesis_key_deleted_written_and_deleted_again_reads_right(tmp_path: Path) -> None:
    with _dbs(tmp_path) as (db, genesis_db):
        for key, value in ((b"g1", b"genesis 1"), (b"g2", b"genesis 2"), (b"g3", b"")):
            genesis_db.put(P_STATE + key, value)
        state = StateStore(db, genesis_db)

        def seen() -> list[tuple[bytes, bytes | None]]:
            fresh = StateStore(db, genesis_db)  # no cache: what LevelDB answers
            reads = [(key, state.get(key)) for key in (b"g1", b"g2", b"g3", b"n")]
            assert reads == [(key, fresh.get(key)) for key in (b"g1", b"g2", b"g3", b"n")]
            listed = list(state.iterate(b""))
            assert listed == [(key, value) for key, value in reads if value is not None]
            assert list(state.iterate(b"g")) == [item for item in listed if item[0] != b"n"]
            return reads

        assert seen() == [(b"g1", b"genesis 1"), (b"g2", b"genesis 2"), (b"g3", b""),
                          (b"n", None)]
        _write_block(state, 1, {b"g1": None, b"g3": None, b"n": b"new"})
        assert seen() == [(b"g1", None), (b"g2", b"genesis 2"), (b"g3", None), (b"n", b"new")]
        _write_block(state, 2, {b"g1": b"again", b"n": None})
        assert seen() == [(b"g1", b"again"), (b"g2", b"genesis 2"), (b"g3", None), (b"n", None)]
        _write_block(state, 3, {b"g1": None, b"g2": b"changed"})
        assert seen() == [(b"g1", None), (b"g2", b"changed"), (b"g3", None), (b"n", None)]
        assert dict(genesis_db.iterator()) == {  # genesis never written
            P_STATE + b"g1": b"genesis 1", P_STATE + b"g2": b"genesis 2", P_STATE + b"g3": b""}


def test_failed_write_forgets_the_cache(tmp_path: Path) -> None:
    with _dbs(tmp_path) as (db, genesis_db):
        state = StateStore(db, genesis_db)
        state._begin_write()
        db.put(P_STATE + b"k", b"old")
        assert state.get(b"k") == b"old"  # read mid-write (cached; _apply would overwrite)
        state._forget()  # e.g. the batch failed
        assert b"k" not in state._cache
        db.put(P_STATE + b"k", b"new")
        assert state.get(b"k") == b"new"


def test_full_cache_drops_its_oldest_entries_and_keeps_the_written_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At its bound the cache drops the oldest-inserted entries, not everything: a key a
    block wrote counts as new, and every read still answers what LevelDB holds."""
    monkeypatch.setattr(StateStore, "CACHE_ENTRIES", 100)
    monkeypatch.setattr(StateStore, "EVICT_ENTRIES", 10)
    with _dbs(tmp_path) as (db, genesis_db):
        keys = [b"k%03d" % i for i in range(300)]
        for i, key in enumerate(keys):
            (db if i % 2 else genesis_db).put(P_STATE + key, b"%d" % i)
        state = StateStore(db, genesis_db)
        for key in keys[:100]:
            state.get(key)
        _write_block(state, 1, {keys[0]: b"written"})  # full: the 10 oldest go, k000 last
        assert len(state._cache) == 91
        assert list(state._cache)[-1] == keys[0] and keys[1] not in state._cache
        assert keys[10] in state._cache
        for key in keys[100:300]:
            state.get(key)
            assert len(state._cache) <= 100
        assert keys[299] in state._cache and keys[0] not in state._cache
        assert [state.get(key) for key in keys] == [
            b"written", *(b"%d" % i for i in range(1, 300))]


def test_pending_writes_of_an_unsynced_run_read_as_the_state_then_flush_as_one(
        tmp_path: Path) -> None:
    """The writes of blocks whose chain batch is not synced are kept pending (not in
    LevelDB) and read before it, deletions of genesis keys too; flushed, LevelDB says the
    same and the state's height is the run's last."""
    with _dbs(tmp_path) as (db, genesis_db):
        for key, value in ((b"g1", b"genesis 1"), (b"g2", b"genesis 2")):
            genesis_db.put(P_STATE + key, value)
        db.put(P_STATE + b"w", b"written")
        state = StateStore(db, genesis_db)
        for height, writes in ((1, {b"g1": None, b"n": b"new", b"w": None}),
                               (2, {b"g2": b"changed", b"n": None, b"m": b"more"})):
            state._begin_write()
            state._defer(height, BlockResult(state_root=bytes([height]) * 32, writes=writes,
                                             txs=[], receipts=[], end_events=[]))
            state._apply(writes)
        want = {b"g2": b"changed", b"m": b"more"}
        assert dict(db.iterator()) == {P_STATE + b"w": b"written"}  # nothing written yet
        state._forget()  # no cache: the pending writes answer
        assert {k: state.get(k) for k in (b"g1", b"g2", b"m", b"n", b"w")} == {
            b"g1": None, b"g2": b"changed", b"m": b"more", b"n": None, b"w": None}
        assert dict(state.iterate(b"")) == want
        assert state._flush(sync=True)
        fresh = StateStore(db, genesis_db)
        assert dict(fresh.iterate(b"")) == want
        assert fresh.get(b"g1") is None
        assert db.get(STATE_META_HEIGHT) == (2).to_bytes(8, "big")
        assert not state._flush(sync=True)
