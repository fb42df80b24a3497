"""The node's blob store: listing pictures by SHA-256, in a LevelDB of their own.

`data/blobs/` holds, per blob, its bytes and a small record (owner, size, checked content
type, when it was stored and how), plus per merchant an index of its blobs and their total
size (the quota). A put or a delete is one synced write batch, so a crash leaves a blob
wholly there (bytes, record, index, quota) or wholly absent; there is no file to leave
half written. The store is node-local: nothing in it is consensus state.

Every blob is checked before it is put (its bytes hash to its name, they are an image:
`node.blobs.images`), and again when read (`get`): a blob whose bytes no longer hash to
its name (a damaged disk) is deleted and reported absent, so the node never serves or
forwards unchecked bytes.
"""

from __future__ import annotations

import hashlib
import logging
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import msgpack  # type: ignore[import-untyped,unused-ignore]
import plyvel

from base.limits import DIGEST_BYTES
from node.blobs.errors import BlobError, BlobErrorCode
from node.blobs.images import ImageInfo
from node.leveldb import open_leveldb
from node.logs import get_logger, log

P_DATA = b"d"  # + sha256 -> the blob's bytes
P_RECORD = b"m"  # + sha256 -> BlobRecord
P_OWNED = b"o"  # + owner (20) + sha256 -> b""
P_USAGE = b"q"  # + owner (20) -> bytes held (8 BE)
BLOB_WRITE_BUFFER_BYTES = 4 * 1024 * 1024

_U64 = struct.Struct(">Q")
_log = get_logger("blobs")


class BlobSource(IntEnum):
    """How a blob came to this node."""

    UPLOAD = 0  # a merchant uploaded it here (collected if no listing version names it)
    FETCHED = 1  # fetched from a peer because a finalized listing version names it


@dataclass(frozen=True, slots=True)
class BlobRecord:
    """What the store knows of a blob beside its bytes."""

    owner: bytes
    size_bytes: int
    content_type: str
    width: int
    height: int
    stored_ms: int
    source: BlobSource

    def to_bytes(self) -> bytes:
        return bytes(msgpack.packb([self.owner, self.size_bytes, self.content_type, self.width,
                                    self.height, self.stored_ms, int(self.source)],
                                   use_bin_type=True))

    @classmethod
    def from_bytes(cls, raw: bytes) -> BlobRecord:
        owner, size, content_type, width, height, stored_ms, source = msgpack.unpackb(raw)
        return cls(owner, size, content_type, width, height, stored_ms, BlobSource(source))


def blob_name(data: bytes) -> bytes:
    """The name of `data`: its SHA-256."""
    return hashlib.sha256(data).digest()


class BlobStore:
    """Blobs by SHA-256 in `path` (a LevelDB). Safe to call from threads (the node puts and
    reads large blobs off its event loop): puts and deletes, which read and write an
    owner's usage, hold one lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: plyvel.DB | None = open_leveldb(path, BLOB_WRITE_BUFFER_BYTES)
        self._write_lock = threading.Lock()

    @property
    def db(self) -> plyvel.DB:
        assert self._db is not None, "the blob store is open"
        return self._db

    def close(self) -> None:
        """Close the LevelDB (idempotent)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def closed(self) -> bool:
        return self._db is None

    def record(self, name: bytes) -> BlobRecord | None:
        """The record of blob `name`, or None when it is not held."""
        assert len(name) == DIGEST_BYTES, "blobs are named by SHA-256"
        raw = self.db.get(P_RECORD + name)
        return None if raw is None else BlobRecord.from_bytes(raw)

    def has(self, name: bytes) -> bool:
        """True when blob `name` is held (its bytes not yet re-checked)."""
        return self.db.get(P_RECORD + name) is not None

    def get(self, name: bytes) -> tuple[BlobRecord, bytes] | None:
        """Blob `name`'s record and bytes, re-checked against the name; None if absent (or
        found damaged, in which case it is deleted)."""
        record = self.record(name)
        if record is None:
            return None
        data = self.db.get(P_DATA + name)
        if data is None or len(data) != record.size_bytes or blob_name(data) != name:
            log(_log, logging.ERROR, "blob_damaged_deleted", blob=name.hex())
            self.delete(name)
            return None
        return record, data

    def usage_bytes(self, owner: bytes) -> int:
        """Bytes of the blobs `owner` holds on this node."""
        raw = self.db.get(P_USAGE + owner)
        return 0 if raw is None else int(_U64.unpack(raw)[0])

    def put(self, name: bytes, data: bytes, info: ImageInfo, owner: bytes, now_ms: int,
            source: BlobSource, *, quota_bytes: int | None = None) -> BlobRecord:
        """Store a checked blob (the caller checked `info = sniff(data)`), charging its size
        to `owner`; a blob held already is left as it is and its record returned. With
        `quota_bytes`, raises BlobError(blob_quota) when the owner's blobs would exceed it
        (checked under the write lock, so concurrent uploads cannot pass it together)."""
        assert blob_name(data) == name, "a blob is stored under its own hash"
        with self._write_lock:
            return self._put_locked(name, data, info, owner, now_ms, source, quota_bytes)

    def _put_locked(self, name: bytes, data: bytes, info: ImageInfo, owner: bytes,
                    now_ms: int, source: BlobSource, quota_bytes: int | None) -> BlobRecord:
        existing = self.record(name)
        if existing is not None:
            return existing
        used = self.usage_bytes(owner)
        if quota_bytes is not None and used + len(data) > quota_bytes:
            raise BlobError(BlobErrorCode.BLOB_QUOTA,
                            f"{used} + {len(data)} bytes is over the quota of {quota_bytes}")
        record = BlobRecord(owner, len(data), info.content_type, info.width, info.height,
                            now_ms, source)
        usage = used + len(data)
        with self.db.write_batch(sync=True) as batch:
            batch.put(P_DATA + name, data)
            batch.put(P_RECORD + name, record.to_bytes())
            batch.put(P_OWNED + owner + name, b"")
            batch.put(P_USAGE + owner, _U64.pack(usage))
        return record

    def delete(self, name: bytes) -> bool:
        """Remove blob `name` and give its size back to its owner; False if not held."""
        with self._write_lock:
            return self._delete_locked(name)

    def _delete_locked(self, name: bytes) -> bool:
        record = self.record(name)
        if record is None:
            self.db.delete(P_DATA + name, sync=True)
            return False
        usage = max(0, self.usage_bytes(record.owner) - record.size_bytes)
        with self.db.write_batch(sync=True) as batch:
            batch.delete(P_DATA + name)
            batch.delete(P_RECORD + name)
            batch.delete(P_OWNED + record.owner + name)
            if usage:
                batch.put(P_USAGE + record.owner, _U64.pack(usage))
            else:
                batch.delete(P_USAGE + record.owner)
        return True

    def records_after(self, after: bytes, limit: int) -> Iterator[tuple[bytes, BlobRecord]]:
        """Up to `limit` (name, record) pairs in name order, after the name `after` (b"" for
        the first); a collection pass walks the store with these."""
        count = 0
        # Records end before the next prefix byte ("m" + 1 = "n").
        stop = bytes([P_RECORD[0] + 1])
        for key, raw in self.db.iterator(start=P_RECORD + after, stop=stop):
            name = key[len(P_RECORD):]
            if name == after:
                continue
            if count >= limit:
                return
            count += 1
            yield name, BlobRecord.from_bytes(raw)
