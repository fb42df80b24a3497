"""The node's LevelDB stores: the chain (blocks, certificates, indexes, head, consensus log)
in `data/`, the state in `data/state/`, the genesis state in `data/state/genesis/`.

Keys are namespaced by a one-byte prefix. Finalizing a block writes the chain's part (the
block, its commit certificate, the transaction index with each receipt, the end events
and the new head) in ONE write batch, synced, and then the block's state changes with the
state's height in one batch of the state store. The chain is the record, the state is
derived from it: the state is synced once `STATE_SYNC_BLOCKS` blocks passed since its
last sync (right after a sync of the chain, never before), and a store whose state is
behind its chain after a crash re-executes the missing blocks when it opens
(`Store.open`), checking each state root against its header - CometBFT's block store and
application state, replayed on handshake, work the same way. So a crash at any instant
leaves the store at height h or h+1, never between.

A run of blocks finalized unsynced (catch-up: the chain's batches synced once, at the run's
last block) keeps the run's state writes in memory (`StateStore`'s pending writes, read
before LevelDB) and writes them in one state batch only after the chain's sync. Written
unsynced at once, a power loss could keep the state's log and lose the chain's (two files
the OS flushes in no order between them): a state ahead of the chain, which `open` must
refuse (it cannot be undone). So the durable state is never ahead of the durable chain.

Why the state is apart from the chain: a state of 1,000,000 accounts is written at
random keys and read cold, while blocks grow by height; in one LevelDB the state's reads
set off compactions of the whole store and every flush merged the chain's bytes with it (issue 9:
`docs/PERFORMANCE.md`, "the state in its own store"). Reads of state go through
`StateStore`, which the state machine uses as its `StateReader`.

The state of height 0 has a LevelDB of its own, `data/state/genesis/`: written once when
the store is made, compacted to one level and never written again. `data/state/` holds
what blocks changed since (a key deleted that genesis holds is marked deleted), and
reads fall through to genesis. A million accounts that no block touches are then not
rewritten each time the blocks' writes sink through LevelDB's levels (issue 9:
`docs/PERFORMANCE.md`, "the genesis state in a store of its own").
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plyvel

from commerce.block import Block, decode_block
from commerce.encoding import decode, encode
from commerce.genesis import Genesis, genesis_state_root, genesis_writes
from commerce.machine import BlockResult, ChainContext, Event, execute_block
from node.consensus_records import (
    delete_records,
    prune_consensus_log,
    put_record,
    read_records,
)
from node.errors import NodeError, NodeErrorCode
from node.leveldb import corrupt_error, delete_prefix, open_leveldb, put_in_batches
from node.progress import NoProgress, Progress
from node.state_store import (
    GENESIS_STATE_DIR,
    GENESIS_STATE_FORMAT,
    P_META,
    P_STATE,
    STATE_DIR,
    STATE_FORMAT,
    STATE_FORMAT_1,
    STATE_META_FORMAT,
    STATE_META_GENESIS_HASH,
    STATE_META_HEIGHT,
    STATE_META_ROOT,
    STATE_META_SYNC,
    StateStore,
)

P_BLOCK = b"b"
P_CERT = b"c"
P_HASH = b"h"
P_TX = b"t"
P_EVENTS = b"e"

META_CHAIN_ID = P_META + b"chain_id"
META_GENESIS_HASH = P_META + b"genesis_hash"
META_HEIGHT = P_META + b"height"
META_STATE_ROOT = P_META + b"state_root"
META_LAST_HASH = P_META + b"last_hash"
META_FORMAT = P_META + b"format"
META_SYNC = P_META + b"sync"
STORE_FORMAT = b"agora-store-2"
STORE_FORMAT_1 = b"agora-store-1"  # the state in the chain's LevelDB (rebuilt on open)

STATE_SYNC_BLOCKS = 1000  # the state is synced once this many blocks passed since last


def height_key(prefix: bytes, height: int) -> bytes:
    """`prefix` + the height as 8 big-endian bytes (so keys sort by height)."""
    assert 0 <= height < 2**64, "heights are unsigned 64-bit"
    return prefix + struct.pack(">Q", height)


@dataclass(frozen=True, slots=True)
class TxLocation:
    """Where a finalized transaction is: its block height, index and receipt array."""

    height: int
    index: int
    receipt: list[Any]


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last finalized block: height, its hash and the state root after it."""

    height: int
    block_hash: bytes
    state_root: bytes


WRITE_BUFFER_BYTES = 16 * 1024 * 1024  # the memtable's base size (`write_buffer_for`)
LARGE_GENESIS_ACCOUNTS = 100_000
WRITE_BUFFER_SPREAD_STEPS = 1024  # `write_buffer_for`: up to +50% in steps of 1/2048


def write_buffer_for(node_id: bytes | None = None) -> int:
    """The memtable size a store gets when the operator did not choose one: 16 MiB plus
    0-50%, fixed by the node's id (its public key; None: no spread).

    Why 16 MiB (LevelDB's own default is 4): ten minutes at 1,400 tx/s on a 4-validator
    devnet, the default state's store grew past 300 MB and with 4-6 MiB LevelDB compacted
    for 25-33% of a core per node (153-196 s in 600 s); with 16-24 MiB for 8-11% (49-64 s),
    and latency p50/p95/p99 fell from 50/140/191 ms to 37/90/132 ms. With 1,000,000 accounts
    it was ~7% against ~2% of a core at 1,000 tx/s. A brand-new, small store writes each
    block's batch ~10% slower with the deeper skip list (`agora bench state`), which no
    devnet figure showed.

    Why the spread: every validator writes the same blocks, so with one memtable size they
    all fill it, flush it and run the compactions that follow in the same second - 2-3 s of
    a core each with a large state, every ~15 s, which made the latency tail of a devnet
    sharing a machine (LevelDB logs of four nodes: each burst of late transactions was such
    a moment). With different sizes the flushes drift apart, and a quorum does not wait for
    the one validator that is compacting.
    """
    if node_id is None:
        return WRITE_BUFFER_BYTES
    step = int.from_bytes(hashlib.sha256(node_id).digest()[:4], "big") % WRITE_BUFFER_SPREAD_STEPS
    return WRITE_BUFFER_BYTES + WRITE_BUFFER_BYTES * step // (2 * WRITE_BUFFER_SPREAD_STEPS)


def _release_memory() -> None:
    """After loading a large genesis and writing its state (transients of several hundred
    MB for 1,000,000 accounts): collect, and hand freed heap back to the OS where glibc
    allows (`malloc_trim`); measured at 1,000,000 accounts, RSS 220 -> 118 MB."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Store:
    """One node's database. Open with `Store.open(path, genesis)`; close with `close()`."""

    def __init__(self, db: plyvel.DB, state_db: plyvel.DB, genesis_db: plyvel.DB,
                 genesis: Genesis, write_buffer_bytes: int, replayed: int) -> None:
        self._db = db
        self._state_db = state_db
        self._genesis_db = genesis_db
        self.genesis = genesis
        self.write_buffer_bytes = write_buffer_bytes
        self.replayed = replayed  # blocks re-executed by `open` to bring the state level
        self.state = StateStore(state_db, genesis_db)
        self._head = self._read_head()
        self._state_synced = self._head.height  # `open` left the state level and synced

    @classmethod
    def open(cls, path: Path | str, genesis: Genesis, *,
             write_buffer_bytes: int | None = None, node_id: bytes | None = None,
             progress: Progress | None = None) -> Store:
        """Open or create the store for `genesis`'s chain: the chain at `path`, the state at
        `path/state`, the genesis state at `path/state/genesis`. Brings the state level
        with the chain, re-executing the blocks it is behind by (a crash, or a `state/`
        directory deleted or of an earlier format: then every block from genesis).
        `write_buffer_bytes` is each LevelDB's memtable size (config
        `store.write_buffer_mb`); None: `write_buffer_for` (with `node_id`, the node's
        public key, that spreads it). `progress` hears of each block re-executed.

        Raises NodeError(store_locked) when another process holds it,
        NodeError(wrong_chain_data) when it belongs to another chain or the state does
        not follow from the chain's blocks, and NodeError(store_corrupt) when LevelDB finds
        one of its files corrupt (`plyvel.CorruptionError`, on opening or on a read).
        """
        path = Path(path)
        if write_buffer_bytes is None:
            write_buffer_bytes = write_buffer_for(node_id)
        opened: list[plyvel.DB] = []
        try:
            for directory in (path, path / STATE_DIR, path / STATE_DIR / GENESIS_STATE_DIR):
                opened.append(open_leveldb(directory, write_buffer_bytes))
            db, state_db, genesis_db = opened
            try:
                cls._init_or_check(db, state_db, genesis_db, genesis)
                replayed = _replay(db, StateStore(state_db, genesis_db), genesis,
                                   progress or NoProgress())
            except plyvel.CorruptionError as exc:
                raise corrupt_error(path, exc) from exc
        except BaseException:
            for each in opened:
                each.close()
            raise
        if len(genesis.accounts) >= LARGE_GENESIS_ACCOUNTS:
            _release_memory()
        store = cls(db, state_db, genesis_db, genesis, write_buffer_bytes, replayed)
        try:
            store.prune_consensus_log()
        except BaseException:
            store.close()
            raise
        return store

    GENESIS_BATCH_KEYS = 50_000  # state keys per write batch when a state is written

    @staticmethod
    def _init_or_check(db: plyvel.DB, state_db: plyvel.DB, genesis_db: plyvel.DB,
                       genesis: Genesis) -> None:
        stored_hash = db.get(META_GENESIS_HASH)
        if stored_hash is None:
            # The state first (synced), then the chain's metadata in a final synced batch,
            # genesis hash last: a store without it is not initialized, and a state left
            # by a crash in between is written again (a changed genesis file cannot
            # inherit its keys).
            # Of a one-LevelDB store whose start was cut short:
            delete_prefix(db, P_STATE, Store.GENESIS_BATCH_KEYS)
            root = _write_genesis_state(state_db, genesis_db, genesis)
            with db.write_batch(transaction=True, sync=True) as batch:
                batch.put(META_FORMAT, STORE_FORMAT)
                batch.put(META_CHAIN_ID, genesis.chain_id.encode())
                batch.put(META_HEIGHT, struct.pack(">Q", 0))
                batch.put(META_STATE_ROOT, root)
                batch.put(META_LAST_HASH, genesis.hash)
                batch.put(META_GENESIS_HASH, genesis.hash)
            return
        store_format = db.get(META_FORMAT)
        if store_format not in (STORE_FORMAT, STORE_FORMAT_1):
            raise NodeError(NodeErrorCode.WRONG_CHAIN_DATA, "data directory has an unknown format")
        if stored_hash != genesis.hash:
            chain = (db.get(META_CHAIN_ID) or b"?").decode(errors="replace")
            raise NodeError(
                NodeErrorCode.WRONG_CHAIN_DATA,
                f"data directory belongs to chain {chain!r} with another genesis",
            )
        if store_format == STORE_FORMAT_1:
            # The state was in the chain's LevelDB: rebuilt from the blocks in `state/`.
            db.put(META_FORMAT, STORE_FORMAT, sync=True)
        # Format 1's, or left by a cut-short start:
        delete_prefix(db, P_STATE, Store.GENESIS_BATCH_KEYS)
        state_hash = state_db.get(STATE_META_GENESIS_HASH)
        state_format = state_db.get(STATE_META_FORMAT)
        if state_hash not in (None, genesis.hash) or state_format not in (
                None, STATE_FORMAT, STATE_FORMAT_1):
            raise NodeError(NodeErrorCode.WRONG_CHAIN_DATA,
                            f"{STATE_DIR}/ in the data directory is another chain's state")
        if state_hash is None or state_format != STATE_FORMAT:
            # No state yet, or the whole state in one LevelDB (format 1): replayed from
            # height 0 over the genesis state.
            _write_genesis_state(state_db, genesis_db, genesis)
        elif _genesis_state_root(genesis_db, genesis.hash) is None:
            # The blocks' writes are there but not genesis (its directory deleted or cut
            # short): genesis is rewritten from the genesis file, the same bytes.
            _write_genesis_db(genesis_db, genesis)

    def close(self) -> None:
        """Close the database (idempotent)."""
        if not self._db.closed:
            self._db.close()
        if not self._state_db.closed:
            self._state_db.close()
        if not self._genesis_db.closed:
            self._genesis_db.close()

    @property
    def closed(self) -> bool:
        """True once `close` ran."""
        return bool(self._db.closed)

    def _read_head(self) -> ChainHead:
        raw_height = self._db.get(META_HEIGHT)
        root = self._db.get(META_STATE_ROOT)
        last = self._db.get(META_LAST_HASH)
        assert raw_height is not None and root is not None and last is not None, "store metadata"
        return ChainHead(struct.unpack(">Q", raw_height)[0], last, root)

    @property
    def head(self) -> ChainHead:
        """The last finalized block (height 0 is genesis: its hash is the genesis hash)."""
        return self._head

    def finalize_block(self, block: Block, certificate: bytes, result: BlockResult, *,
                       sync: bool = True) -> None:
        """Write a finalized block and everything it changes: the chain's batch, synced
        unless `sync` is False, then the state's (see the module's docstring).

        `result` must come from executing `block` on this store's state at the current head;
        the caller has checked that `result.state_root` equals the header's. An unsynced
        batch is still atomic (a crash loses whole batches from the end, never part of
        one); the caller of a run of unsynced blocks makes them durable with a synced write
        (the run's last block, or `sync`) before it reports any of them. Until then the
        state's writes of the run stay in memory (read as the state), written in one batch
        after the chain's sync; closed before it, the store replays them on `open`. If the
        state's write fails after the chain's, the store closes: it reopens level (`open`).
        """
        head = self._head
        header = block.header
        assert header.height == head.height + 1, "blocks are finalized in order"
        assert header.prev_hash == head.block_hash, "the block extends the head"
        assert header.state_root == result.state_root, "the header commits to this result"
        assert len(result.txs) == len(block.txs), "every block transaction succeeded"
        block_hash = block.hash
        raw = block.raw or encode([header.to_array(), [tx.raw for tx in block.txs]])
        height = header.height
        self.state._begin_write()
        try:
            with self._db.write_batch(transaction=True, sync=sync) as batch:
                put = batch.put
                put(height_key(P_BLOCK, height), raw)
                put(height_key(P_CERT, height), certificate)
                put(P_HASH + block_hash, struct.pack(">Q", height))
                for index, (tx, receipt) in enumerate(zip(block.txs, result.receipts,
                                                          strict=True)):
                    put(P_TX + tx.tx_id, receipt.pack(height, index))
                put(height_key(P_EVENTS, height),
                    encode([event.to_array() for event in result.end_events]))
                put(META_HEIGHT, struct.pack(">Q", height))
                put(META_STATE_ROOT, result.state_root)
                put(META_LAST_HASH, block_hash)
        except BaseException:
            self.state._forget()
            raise
        state_sync = sync and height - self._state_synced >= STATE_SYNC_BLOCKS
        try:
            if not sync:
                self.state._defer(height, result)  # written after the chain's sync
            elif self.state._pending_top is not None:
                self.state._defer(height, result)
                self.state._flush(sync=state_sync)
            else:
                self.state._write(height, result, sync=state_sync)
        except BaseException:
            self.state._forget()
            self.close()
            raise
        self.state._apply(result.writes)
        self._head = ChainHead(header.height, block_hash, result.state_root)
        if state_sync:
            self._state_synced = height

    def sync(self) -> None:
        """Make the chain's writes so far durable (LevelDB syncs its log up to this write),
        then write the state's pending writes (blocks finalized unsynced), and sync the
        state too once `STATE_SYNC_BLOCKS` blocks passed since it was last synced: the
        chain's first, so the durable state is never ahead of the durable chain."""
        self._db.put(META_SYNC, b"", sync=True)
        height = self._head.height
        state_sync = height - self._state_synced >= STATE_SYNC_BLOCKS
        try:
            flushed = self.state._flush(sync=state_sync)
        except BaseException:
            self.state._forget()
            self.close()
            raise
        if state_sync:
            if not flushed:
                self._state_db.put(STATE_META_SYNC, b"", sync=True)
            self._state_synced = height

    def get_block(self, height: int) -> Block | None:
        """The finalized block at `height`, or None (height 0 has no block)."""
        if height < 1 or height > self._head.height:
            return None
        raw = self._db.get(height_key(P_BLOCK, height))
        if raw is None:
            return None
        block = decode_block(raw)
        assert block.height == height, "a stored block sits at its own height"
        return block

    def get_block_raw(self, height: int) -> bytes | None:
        """The stored bytes of the block at `height`, or None."""
        if height < 1 or height > self._head.height:
            return None
        raw: bytes | None = self._db.get(height_key(P_BLOCK, height))
        return raw

    def get_certificate(self, height: int) -> bytes | None:
        """The commit certificate stored with the block at `height`, or None."""
        if height < 1 or height > self._head.height:
            return None
        cert: bytes | None = self._db.get(height_key(P_CERT, height))
        return cert

    def height_of(self, block_hash: bytes) -> int | None:
        """The height of the block with `block_hash`, or None."""
        raw = self._db.get(P_HASH + block_hash)
        return None if raw is None else int(struct.unpack(">Q", raw)[0])

    def get_tx(self, tx_id: bytes) -> TxLocation | None:
        """Where the finalized transaction `tx_id` is, with its receipt; None if unknown."""
        raw = self._db.get(P_TX + tx_id)
        if raw is None:
            return None
        height, index, receipt = decode(raw)
        return TxLocation(height, index, receipt)

    def get_end_events(self, height: int) -> list[Event]:
        """The end-of-block events of `height` (auto-releases and the like)."""
        raw = self._db.get(height_key(P_EVENTS, height))
        if raw is None:
            return []
        return [Event(kind, tuple(addrs), tuple(data)) for kind, addrs, data in decode(raw)]

    # Consensus log (`node.consensus_records`): opaque records the consensus core asks to
    # persist, each under a `RecordKey` (the driver's), pruned by `obsolete_records`.

    def put_consensus_record(self, key: bytes, value: bytes) -> None:
        """Durably store one consensus record (synced before returning)."""
        put_record(self._db, key, value)

    def consensus_records(self) -> list[tuple[bytes, bytes]]:
        """All consensus records in key order."""
        return read_records(self._db)

    def delete_consensus_records(self, keys: Iterable[bytes], *, sync: bool = True) -> None:
        """Remove consensus records in one atomic batch (synced if `sync`)."""
        delete_records(self._db, keys, sync=sync)

    def prune_consensus_log(self) -> int:
        """Drop the consensus records the replica no longer needs at the head's height;
        returns how many are left (`node.consensus_records.prune_consensus_log`).

        Raises NodeError(wrong_chain_data) on a record or key that is not one.
        """
        return prune_consensus_log(self._db, self._head.height,
                                   lambda: self._db.put(META_SYNC, b"", sync=True))

    def check_writable(self) -> bool:
        """True when a synced write to the chain's and the state's LevelDB succeeds (for the
        health check; the genesis store is never written)."""
        try:
            self._db.put(P_META + b"health", b"ok", sync=True)
            self._state_db.put(P_META + b"health", b"ok", sync=True)
        except (plyvel.Error, RuntimeError):  # RuntimeError: closed
            return False
        return True


def _write_genesis_state(state_db: plyvel.DB, genesis_db: plyvel.DB, genesis: Genesis) -> bytes:
    """Empty the state store and make it the state of height 0: the genesis store written
    unless it holds this genesis already, then the state's metadata (synced); returns the
    root."""
    root = _genesis_state_root(genesis_db, genesis.hash) or _write_genesis_db(genesis_db, genesis)
    delete_prefix(state_db, b"", Store.GENESIS_BATCH_KEYS)
    _write_state_meta(state_db, genesis.hash, 0, root)
    return root


def _genesis_state_root(genesis_db: plyvel.DB, genesis_hash: bytes) -> bytes | None:
    """The root of the genesis store's state if it is complete and of `genesis_hash`."""
    if (genesis_db.get(STATE_META_FORMAT) != GENESIS_STATE_FORMAT
            or genesis_db.get(STATE_META_GENESIS_HASH) != genesis_hash):
        return None
    root: bytes | None = genesis_db.get(STATE_META_ROOT)
    return root


def _write_genesis_db(genesis_db: plyvel.DB, genesis: Genesis) -> bytes:
    """Empty the genesis store and write the state of height 0 (in batches), its metadata
    last in a synced batch, then compact it all out of level 0 and LevelDB's log (a read
    then looks in one table, and LevelDB has no reason to rewrite it); returns its root."""
    writes = genesis_writes(genesis)
    root = genesis_state_root(genesis, writes)
    delete_prefix(genesis_db, b"", Store.GENESIS_BATCH_KEYS)
    put_in_batches(genesis_db, ((P_STATE + key, value) for key, value in sorted(writes.items())
                                if value is not None), Store.GENESIS_BATCH_KEYS)
    del writes
    _write_state_meta(genesis_db, genesis.hash, 0, root, GENESIS_STATE_FORMAT)
    genesis_db.compact_range()
    return root


def _write_state_meta(state_db: plyvel.DB, genesis_hash: bytes, height: int,
                      root: bytes, state_format: bytes = STATE_FORMAT) -> None:
    with state_db.write_batch(transaction=True, sync=True) as batch:
        batch.put(STATE_META_FORMAT, state_format)
        batch.put(STATE_META_HEIGHT, struct.pack(">Q", height))
        batch.put(STATE_META_ROOT, root)
        batch.put(STATE_META_GENESIS_HASH, genesis_hash)


def _replay(db: plyvel.DB, state: StateStore, genesis: Genesis, progress: Progress) -> int:
    """Re-execute the chain's blocks the state is behind by, telling `progress`; returns
    how many.

    Raises NodeError(wrong_chain_data) when the state is ahead of the chain (a data
    directory put together from two copies), level with it but with another root, or a
    block's execution does not give its header's state root (the root of each block
    commits to the one before, so a state of another history fails at the first block).
    """
    raw_chain, raw_state = db.get(META_HEIGHT), state._db.get(STATE_META_HEIGHT)
    state_root = state._db.get(STATE_META_ROOT)
    assert raw_chain is not None and raw_state is not None and state_root is not None, \
        "store metadata"
    chain_height = struct.unpack(">Q", raw_chain)[0]
    state_height = struct.unpack(">Q", raw_state)[0]
    if state_height > chain_height:
        raise NodeError(NodeErrorCode.WRONG_CHAIN_DATA,
                        f"the state ({STATE_DIR}/, height {state_height}) is ahead of the "
                        f"chain (height {chain_height}): restore both from one copy, or "
                        f"delete {STATE_DIR}/ to rebuild it from the blocks")
    if state_height == chain_height and state_root != db.get(META_STATE_ROOT):
        raise NodeError(NodeErrorCode.WRONG_CHAIN_DATA,
                        f"the state ({STATE_DIR}/) is not the chain's at height {chain_height}:"
                        f" delete {STATE_DIR}/ to rebuild it from the blocks")
    for height in range(state_height + 1, chain_height + 1):
        progress.step("rebuilding the state from the stored blocks", height - state_height - 1,
                      chain_height - state_height)
        raw = db.get(height_key(P_BLOCK, height))
        assert raw is not None, f"block {height} is under the head"
        block = decode_block(raw)
        try:
            result = execute_block(state, ChainContext.at(state, genesis, height), state_root,
                                   block.txs, drop_invalid=False, check_signatures=False)
            wrong = "" if result.state_root == block.header.state_root else "another root"
        except Exception as exc:  # noqa: BLE001 - a refused tx or a stored value not decoding
            wrong = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if wrong:
            raise NodeError(NodeErrorCode.WRONG_CHAIN_DATA,
                            f"the state does not follow from block {height} ({wrong}): "
                            f"delete {STATE_DIR}/ to rebuild it from the blocks")
        state._begin_write()
        state._write(height, result, sync=height == chain_height)
        state._apply(result.writes)
        state_root = result.state_root
    return chain_height - state_height
