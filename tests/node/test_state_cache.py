"""StateStore's read cache always answers what LevelDB holds.

Method: read keys (present and absent) so they are cached, then write a block's state
changes the way `Store.finalize_block` does (begin, batch, apply) including a delete, and
check every read; after a failed write (`_forget`) nothing cached is trusted.
"""

from __future__ import annotations

from pathlib import Path

import plyvel
import pytest

from node.store import P_STATE, StateStore


def test_cache_follows_written_blocks(tmp_path: Path) -> None:
    db = plyvel.DB(str(tmp_path / "db"), create_if_missing=True)
    try:
        db.put(P_STATE + b"a", b"1")
        db.put(P_STATE + b"b", b"2")
        state = StateStore(db)
        assert (state.get(b"a"), state.get(b"b"), state.get(b"c")) == (b"1", b"2", None)
        writes: dict[bytes, bytes | None] = {b"a": b"10", b"b": None, b"c": b"30"}
        state._begin_write()
        with db.write_batch(transaction=True) as batch:
            for key, value in writes.items():
                if value is None:
                    batch.delete(P_STATE + key)
                else:
                    batch.put(P_STATE + key, value)
        state._apply(writes)
        assert (state.get(b"a"), state.get(b"b"), state.get(b"c")) == (b"10", None, b"30")
        assert [k for k, _ in state.iterate(b"")] == [b"a", b"c"]
    finally:
        db.close()


def test_failed_write_forgets_the_cache(tmp_path: Path) -> None:
    db = plyvel.DB(str(tmp_path / "db"), create_if_missing=True)
    try:
        state = StateStore(db)
        state._begin_write()
        db.put(P_STATE + b"k", b"old")
        assert state.get(b"k") == b"old"  # read mid-write (cached; _apply would overwrite)
        state._forget()  # e.g. the batch failed
        assert b"k" not in state._cache
        db.put(P_STATE + b"k", b"new")
        assert state.get(b"k") == b"new"
    finally:
        db.close()


def test_full_cache_drops_its_oldest_entries_and_keeps_the_written_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At its bound the cache drops the oldest-inserted entries, not everything: a key a
    block wrote counts as new, and every read still answers what LevelDB holds."""
    monkeypatch.setattr(StateStore, "CACHE_ENTRIES", 100)
    monkeypatch.setattr(StateStore, "EVICT_ENTRIES", 10)
    db = plyvel.DB(str(tmp_path / "db"), create_if_missing=True)
    try:
        keys = [b"k%03d" % i for i in range(300)]
        for i, key in enumerate(keys):
            db.put(P_STATE + key, b"%d" % i)
        state = StateStore(db)
        for key in keys[:100]:
            state.get(key)
        state._begin_write()
        db.put(P_STATE + keys[0], b"written")
        state._apply({keys[0]: b"written"})  # full: the 10 oldest go, k000 comes back last
        assert len(state._cache) == 91
        assert list(state._cache)[-1] == keys[0] and keys[1] not in state._cache
        assert keys[10] in state._cache
        for key in keys[100:300]:
            state.get(key)
            assert len(state._cache) <= 100
        assert keys[299] in state._cache and keys[0] not in state._cache
        assert [state.get(key) for key in keys] == [
            b"written", *(b"%d" % i for i in range(1, 300))]
    finally:
        db.close()
