"""Opening a LevelDB with the node's options, and the few bulk operations the stores share.

Each LevelDB of the data directory (the chain's, the state's, the genesis state's) is opened
with `open_leveldb`; a corrupt one is reported as `NodeError(store_corrupt)` with what to
do. Bulk writes go in batches so that no batch becomes one huge memtable.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path

import plyvel

from node.errors import NodeError, NodeErrorCode


def open_leveldb(path: Path, write_buffer_bytes: int) -> plyvel.DB:
    """Open (create) one LevelDB with the node's options; NodeError(store_locked) if not.

    Bloom filters (10 bits a key): a read of an absent key (a new order, timer or reward
    marker) skips the tables that cannot hold it, ~3 -> ~1.5 us a miss. Only the files'
    filter blocks change, never a stored key or value; tables written without filters are
    read as before.

    No block compression: state values are hashes, keys and packed integers that Snappy
    barely shrinks, and with a large state (1,000,000 accounts) compaction took ~20% of a
    core per validator at 1,000 tx/s with it, ~7% without. Applies to new files only:
    stores written before open as they were. The write buffer (memtable) size:
    `write_buffer_for`.
    """
    path.mkdir(parents=True, exist_ok=True)
    try:
        return plyvel.DB(str(path), create_if_missing=True, bloom_filter_bits=10,
                         compression=None, write_buffer_size=write_buffer_bytes)
    except plyvel.IOError as exc:
        raise NodeError(NodeErrorCode.STORE_LOCKED, f"cannot open {path}: {exc}") from exc
    except plyvel.CorruptionError as exc:
        raise corrupt_error(path, exc) from exc


def corrupt_error(path: Path, exc: plyvel.CorruptionError) -> NodeError:
    """NodeError(store_corrupt) for a LevelDB under `path` that LevelDB found corrupt."""
    detail = exc.args[0] if exc.args else b""
    text = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
    first = text.splitlines()[0] if text.strip() else type(exc).__name__
    return NodeError(NodeErrorCode.STORE_CORRUPT,
                     f"the LevelDB in {path} is corrupt ({first}): restore the data "
                     f"directory from a backup, or empty it (keep config/) to re-sync")


def delete_prefix(db: plyvel.DB, prefix: bytes, batch_keys: int) -> None:
    """Delete every key under `prefix`, in batches of `batch_keys` (the iterator reads a
    snapshot taken when it was made)."""
    keys = db.iterator(prefix=prefix, include_value=False)
    while chunk := list(itertools.islice(keys, batch_keys)):
        with db.write_batch() as batch:
            for key in chunk:
                batch.delete(key)


def put_in_batches(db: plyvel.DB, items: Iterable[tuple[bytes, bytes]], batch_keys: int
                   ) -> None:
    """Put every (key, value) of `items`, in batches of `batch_keys` (one batch of a
    million keys is one huge memtable)."""
    items = iter(items)
    while chunk := list(itertools.islice(items, batch_keys)):
        with db.write_batch() as batch:
            for key, value in chunk:
                batch.put(key, value)
