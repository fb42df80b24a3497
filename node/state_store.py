"""The committed state as the state machine reads it: `StateStore`, over the state's LevelDB
(`data/state/`: what blocks wrote since genesis, with deletion marks) and the genesis
state's (`data/state/genesis/`: height 0, never written again). `node.store.Store` owns
both databases and writes through this class (see its module's docstring for the order of
writes and syncs); this module holds the reading side, its cache and its key layout.
"""

from __future__ import annotations

import heapq
import itertools
import struct
import threading
from collections.abc import Iterator, Mapping

import plyvel

from commerce.machine import BlockResult

P_STATE = b"s"
P_DELETED = b"d"  # state store: a key of the genesis state that a block deleted
P_META = b"m"
STATE_DIR = "state"  # the state store's directory, inside the chain store's
GENESIS_STATE_DIR = "genesis"  # the height-0 state's directory, inside the state store's
STATE_FORMAT = b"agora-state-2"
STATE_FORMAT_1 = b"agora-state-1"  # the whole state in one LevelDB (rebuilt on open)
GENESIS_STATE_FORMAT = b"agora-genesis-state-1"
STATE_META_FORMAT = P_META + b"format"
STATE_META_GENESIS_HASH = P_META + b"genesis_hash"
STATE_META_HEIGHT = P_META + b"height"
STATE_META_ROOT = P_META + b"state_root"
STATE_META_SYNC = P_META + b"sync"

_MISS = object()


class StateStore:
    """Committed state as a `StateReader` (keys without the state prefix): the blocks'
    writes in the state's LevelDB over the genesis state in its own (see the module's
    docstring). A key is what the blocks last wrote, else absent if a block deleted it
    from genesis (a `P_DELETED` mark), else what genesis holds.

    Reads are cached (absent keys too): the same accounts, listings and counters are read
    block after block. `Store.finalize_block` writes each block's write set through the
    cache (`_apply`) right after its batch, so the cache always holds what LevelDB holds.
    A value read from LevelDB is cached only if no block's writes began or were applied to
    the cache meanwhile (the generation check, under a lock taken on misses only), so a
    reader in another thread cannot leave a stale value behind; a value read while a
    batch is in flight is overwritten by `_apply`. Bounded: at `CACHE_ENTRIES`, the oldest
    entries go (`_evict`).
    """

    CACHE_ENTRIES = 200_000
    EVICT_ENTRIES = CACHE_ENTRIES // 16

    def __init__(self, db: plyvel.DB, genesis_db: plyvel.DB) -> None:
        self._db = db
        self._genesis_db = genesis_db
        # Writes of blocks whose chain batch is not synced yet, not in LevelDB (see the
        # module's docstring), and the (height, root) of the last of them.
        self._pending: dict[bytes, bytes | None] = {}
        self._pending_top: tuple[int, bytes] | None = None
        self._cache: dict[bytes, bytes | None] = {}
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def read_cache(self) -> Mapping[bytes, bytes | None]:
        """The cached entries (overlays look here before calling `get`)."""
        return self._cache

    def get(self, key: bytes) -> bytes | None:
        cache = self._cache
        value = cache.get(key, _MISS)
        if value is not _MISS:
            return value  # type: ignore[return-value]
        generation = self._generation
        value = self._read(key)
        with self._lock:
            if generation == self._generation:
                if len(cache) >= self.CACHE_ENTRIES:
                    self._evict(1)
                cache[key] = value
        return value

    def _read(self, key: bytes) -> bytes | None:
        """`key`'s value: a pending write, else in LevelDB the blocks' writes, then genesis
        unless marked deleted."""
        if self._pending:
            pending = self._pending.get(key, _MISS)
            if pending is not _MISS:
                return pending  # type: ignore[return-value]
        value: bytes | None = self._db.get(P_STATE + key)
        if value is None:
            value = self._genesis_db.get(P_STATE + key)
            if value is not None and self._db.get(P_DELETED + key) is not None:
                return None
        return value

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        cut = len(P_STATE)
        # One key order over four sources, ranked for equal keys: a pending write (0; None
        # deletes) before a block's write (1) before a deletion mark (2) before genesis (3);
        # the first of each key decides.
        pending = sorted((key, 0, value) for key, value in list(self._pending.items())
                         if key.startswith(prefix))
        written = ((key[cut:], 1, value)
                   for key, value in self._db.iterator(prefix=P_STATE + prefix))
        deleted = ((key[cut:], 2, b"")
                   for key in self._db.iterator(prefix=P_DELETED + prefix, include_value=False))
        genesis = ((key[cut:], 3, value)
                   for key, value in self._genesis_db.iterator(prefix=P_STATE + prefix))
        last = None
        for key, rank, value in heapq.merge(pending, written, deleted, genesis):
            if key != last:
                last = key
                if rank != 2 and value is not None:
                    yield key, value

    def _write(self, height: int, result: BlockResult, *, sync: bool) -> None:
        """One block's state batch: its writes, the state's height and root (`_write_all`)."""
        self._write_all(height, result.writes, result.state_root, sync=sync)

    def _write_all(self, height: int, writes: Mapping[bytes, bytes | None], state_root: bytes,
                   *, sync: bool) -> None:
        """One state batch: the writes of the blocks up to `height` (a genesis key deleted
        gets its mark), the state's height and root. Atomic; synced if `sync`."""
        genesis_get = self._genesis_db.get
        with self._db.write_batch(transaction=True, sync=sync) as batch:
            put = batch.put
            for key, value in writes.items():
                if value is None:
                    batch.delete(P_STATE + key)
                    if genesis_get(P_STATE + key) is not None:
                        put(P_DELETED + key, b"")
                else:
                    put(P_STATE + key, value)  # a mark left from a delete is then shadowed
            put(STATE_META_HEIGHT, struct.pack(">Q", height))
            put(STATE_META_ROOT, state_root)

    def _defer(self, height: int, result: BlockResult) -> None:
        """Keep a block's writes pending (its chain batch is not synced yet)."""
        self._pending.update(result.writes)
        self._pending_top = (height, result.state_root)

    def _flush(self, *, sync: bool) -> bool:
        """Write the pending writes in one batch (call once the chain's are synced); False
        when none were pending."""
        if self._pending_top is None:
            return False
        height, root = self._pending_top
        self._write_all(height, self._pending, root, sync=sync)
        self._pending = {}
        self._pending_top = None
        return True

    def _begin_write(self) -> None:
        """A block's state writes are about to reach LevelDB: misses read now are not kept."""
        with self._lock:
            self._generation += 1

    def _apply(self, writes: Mapping[bytes, bytes | None]) -> None:
        """The block's state writes are in LevelDB: update the cached keys (None deletes)."""
        with self._lock:
            cache = self._cache
            if len(cache) + len(writes) >= self.CACHE_ENTRIES:
                self._evict(len(writes))
            for key in writes:
                cache.pop(key, None)  # re-inserted last: a key a block writes is a hot one
            cache.update(writes)
            self._generation += 1

    def _evict(self, room: int) -> None:
        """Drop the oldest-inserted entries (at least `room`, at least `EVICT_ENTRIES`), under
        the lock: the keys a block wrote or read last stay, so a full cache does not send
        the hot accounts and listings back to LevelDB at once."""
        cache = self._cache
        count = min(len(cache), max(room, self.EVICT_ENTRIES))
        for key in list(itertools.islice(cache, count)):
            del cache[key]

    def _forget(self) -> None:
        """Drop the cache (after a failed write: LevelDB may hold either version)."""
        with self._lock:
            self._cache.clear()
            self._generation += 1
