"""Block sync: serving finalized blocks with their certificates, and checking fetched ones.

Request: canonical ``[from_height, to_height]``. Response: canonical
``[[block_bytes, certificate_bytes], ...]`` for consecutive heights starting at
`from_height`: at least one block (when we hold `from_height`), at most
`MAX_SYNC_REQUEST_BLOCKS`, and at most `MAX_SYNC_RESPONSE_BYTES` encoded - the payload
of one P2P frame, which one block of the largest size with its certificate always fits
(`node/limits.py` asserts it), so a reply is never refused by the transport.
A fetched block is accepted only if its certificate verifies against the validator set
in force at its height (the replica checks it, following every change of set on the way)
and it extends our head; the node then finalizes it through `Chain`.
"""

from __future__ import annotations

from collections.abc import Callable

from commerce.encoding import decode, encode
from commerce.errors import ErrorCode, ValidationError
from node.limits import (
    MAX_SYNC_REQUEST_BLOCKS,
    MAX_SYNC_RESPONSE_BYTES,
    SYNC_ITEM_OVERHEAD_BYTES,
    SYNC_RESPONSE_OVERHEAD_BYTES,
)
from node.store import Store

CertificateCheck = Callable[[bytes, int, bytes], None]


def encode_request(from_height: int, to_height: int) -> bytes:
    """The request for blocks `from_height..to_height` (inclusive)."""
    assert 1 <= from_height <= to_height
    return encode([from_height, to_height])


def serve_request(store: Store, payload: bytes,
                  max_bytes: int = MAX_SYNC_RESPONSE_BYTES) -> bytes:
    """Answer a block request from our store, in at most `max_bytes` (but with at least one
    block); raises ValidationError on a bad request."""
    value = decode(payload, max_bytes=64)
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise ValidationError(ErrorCode.MALFORMED, "block request is [from, to]")
    start, end = value
    if start < 1 or end < start:
        raise ValidationError(ErrorCode.FIELD_INVALID, "block request range is invalid")
    end = min(end, start + MAX_SYNC_REQUEST_BLOCKS - 1, store.head.height)
    items: list[list[bytes]] = []
    size = SYNC_RESPONSE_OVERHEAD_BYTES
    for height in range(start, end + 1):
        raw = store.get_block_raw(height)
        cert = store.get_certificate(height)
        if raw is None or cert is None:
            break
        item_bytes = SYNC_ITEM_OVERHEAD_BYTES + len(raw) + len(cert)
        if items and size + item_bytes > max_bytes:
            break
        items.append([raw, cert])
        size += item_bytes
    reply = encode(items)
    assert len(reply) <= size, "the overheads bound the reply's encoding"
    return reply


def decode_response(payload: bytes) -> list[tuple[bytes, bytes]]:
    """The (block, certificate) pairs of a response; raises ValidationError if malformed."""
    value = decode(payload, max_bytes=MAX_SYNC_RESPONSE_BYTES)
    if not isinstance(value, list) or len(value) > MAX_SYNC_REQUEST_BLOCKS:
        raise ValidationError(ErrorCode.MALFORMED, "block response is a bounded list")
    pairs: list[tuple[bytes, bytes]] = []
    for item in value:
        if (not isinstance(item, list) or len(item) != 2
                or not isinstance(item[0], bytes) or not isinstance(item[1], bytes)):
            raise ValidationError(ErrorCode.MALFORMED, "block response item is [block, cert]")
        pairs.append((item[0], item[1]))
    return pairs
