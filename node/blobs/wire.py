"""Blob replication over P2P: the `blobs` request kind, its codec and its serving limits.

Request: canonical ``[sha256]``. Response: canonical ``[status, bytes]``: status 1 with
the blob's bytes (checked when read from the store), 0 with empty bytes when this node
does not hold it, 2 with empty bytes when the asking peer is over its serving limits (at
most MAX_BLOB_SERVES_PER_PEER at once, BLOB_SERVE_BYTES_PER_S on average): the asker
tries another peer. A reply is at most MAX_BLOB_REPLY_BYTES, inside one P2P frame
(`node/blobs/limits.py` asserts it). The receiver re-checks everything: a reply that is
not this form, or bytes that do not hash to the name asked for, blame the sender.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from base.codec import CodecError, decode, encode
from base.limits import DIGEST_BYTES
from node.blobs.limits import (
    BLOB_SERVE_BYTES_PER_S,
    MAX_BLOB_REPLY_BYTES,
    MAX_BLOB_SERVE_BURST_BYTES,
    MAX_BLOB_SERVES_PER_PEER,
)
from node.blobs.store import BlobStore
from p2p.ratelimit import TokenBucket

KIND_BLOBS = "blobs"
STATUS_MISSING = 0
STATUS_FOUND = 1
STATUS_BUSY = 2
MAX_BLOB_REQUEST_BYTES = DIGEST_BYTES + 8


class BlobWireError(Exception):
    """A peer's blob request or reply is not of the canonical form."""


def encode_request(name: bytes) -> bytes:
    """The request for blob `name`."""
    assert len(name) == DIGEST_BYTES, "blobs are named by SHA-256"
    return encode([name])


def decode_request(payload: bytes) -> bytes:
    """The blob name a request asks for; raises BlobWireError."""
    try:
        value = decode(payload, max_bytes=MAX_BLOB_REQUEST_BYTES)
    except CodecError as exc:
        raise BlobWireError(f"blob request: {exc}") from None
    if (not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], bytes)
            or len(value[0]) != DIGEST_BYTES):
        raise BlobWireError("blob request is [sha256]")
    return value[0]


def encode_reply(status: int, data: bytes = b"") -> bytes:
    """A reply: the blob's bytes with STATUS_FOUND, empty bytes otherwise."""
    assert (status == STATUS_FOUND) == bool(data), "only a found blob carries bytes"
    reply = encode([status, data])
    assert len(reply) <= MAX_BLOB_REPLY_BYTES, "a blob reply fits its limit"
    return reply


def decode_reply(payload: bytes) -> tuple[int, bytes]:
    """(status, bytes) of a reply; raises BlobWireError when it is not the canonical form
    (the caller blames the sender)."""
    try:
        value = decode(payload, max_bytes=MAX_BLOB_REPLY_BYTES)
    except CodecError as exc:
        raise BlobWireError(f"blob reply: {exc}") from None
    if (not isinstance(value, list) or len(value) != 2 or type(value[0]) is not int
            or not isinstance(value[1], bytes)):
        raise BlobWireError("blob reply is [status, bytes]")
    status, data = value
    if status not in (STATUS_MISSING, STATUS_FOUND, STATUS_BUSY):
        raise BlobWireError(f"blob reply status {status} is unknown")
    if (status == STATUS_FOUND) != bool(data):
        raise BlobWireError("only a found blob carries bytes")
    return status, data


@dataclass(slots=True)
class _PeerServing:
    in_flight: int
    bucket: TokenBucket


@dataclass
class BlobServer:
    """Answers peers' `blobs` requests from the store, within per-peer limits."""

    store: BlobStore
    clock_s: Callable[[], float] = time.monotonic
    on_count: Callable[[str], None] = field(default=lambda outcome: None)
    served: dict[str, int] = field(default_factory=lambda: {"found": 0, "missing": 0,
                                                            "busy": 0})
    _peers: dict[bytes, _PeerServing] = field(default_factory=dict)

    async def serve(self, peer: bytes, payload: bytes) -> bytes:
        """The reply to `peer`'s request; raises BlobWireError on a malformed one. The
        store is read (and the blob re-hashed) in a thread, off the event loop."""
        name = decode_request(payload)
        state = self._peers.get(peer)
        if state is None:
            bucket = TokenBucket(BLOB_SERVE_BYTES_PER_S, MAX_BLOB_SERVE_BURST_BYTES,
                                 self.clock_s())
            state = self._peers[peer] = _PeerServing(0, bucket)
        if state.in_flight >= MAX_BLOB_SERVES_PER_PEER or self.store.closed:
            return self._count("busy", encode_reply(STATUS_BUSY))
        state.in_flight += 1
        try:
            found = await asyncio.to_thread(self.store.get, name)
            if found is None:
                return self._count("missing", encode_reply(STATUS_MISSING))
            _, data = found
            if not state.bucket.take(len(data), self.clock_s()):
                return self._count("busy", encode_reply(STATUS_BUSY))
            return self._count("found", encode_reply(STATUS_FOUND, data))
        finally:
            state.in_flight -= 1

    def forget(self, peer: bytes) -> None:
        """Drop a disconnected peer's serving state."""
        self._peers.pop(peer, None)

    def _count(self, outcome: str, reply: bytes) -> bytes:
        self.served[outcome] += 1
        self.on_count(outcome)
        return reply
