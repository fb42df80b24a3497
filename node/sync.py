"""Block sync: serving finalized blocks with their certificates, and checking fetched ones.

Request: canonical ``[from_height, to_height]``. Response: canonical
``[[block_bytes, certificate_bytes], ...]`` for consecutive heights starting at
`from_height`, at most `SYNC_MAX_BLOCKS_PER_REQUEST` blocks and `SYNC_MAX_RESPONSE_BYTES`.
A fetched block is accepted only if its certificate verifies against the genesis
validator set and it extends our head; the node then finalizes it through `Chain`.
"""

from __future__ import annotations

from collections.abc import Callable

from commerce.encoding import decode, encode
from commerce.errors import ErrorCode, ValidationError
from node.limits import SYNC_MAX_BLOCKS_PER_REQUEST, SYNC_MAX_RESPONSE_BYTES
from node.store import Store

CertificateCheck = Callable[[bytes, int, bytes], None]


def encode_request(from_height: int, to_height: int) -> bytes:
    """The request for blocks `from_height..to_height` (inclusive)."""
    assert 1 <= from_height <= to_height
    return encode([from_height, to_height])


def serve_request(store: Store, payload: bytes) -> bytes:
    """Answer a block request from our store; raises ValidationError on a bad request."""
    value = decode(payload, max_bytes=64)
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise ValidationError(ErrorCode.MALFORMED, "block request is [from, to]")
    start, end = value
    if start < 1 or end < start:
        raise ValidationError(ErrorCode.FIELD_INVALID, "block request range is invalid")
    end = min(end, start + SYNC_MAX_BLOCKS_PER_REQUEST - 1, store.head.height)
    items: list[list[bytes]] = []
    size = 0
    for height in range(start, end + 1):
        raw = store.get_block_raw(height)
        cert = store.get_certificate(height)
        if raw is None or cert is None:
            break
        if items and size + len(raw) + len(cert) > SYNC_MAX_RESPONSE_BYTES:
            break
        items.append([raw, cert])
        size += len(raw) + len(cert)
    return encode(items)


def decode_response(payload: bytes) -> list[tuple[bytes, bytes]]:
    """The (block, certificate) pairs of a response; raises ValidationError if malformed."""
    value = decode(payload, max_bytes=SYNC_MAX_RESPONSE_BYTES + 4 * 1024 * 1024)
    if not isinstance(value, list) or len(value) > SYNC_MAX_BLOCKS_PER_REQUEST:
        raise ValidationError(ErrorCode.MALFORMED, "block response is a bounded list")
    pairs: list[tuple[bytes, bytes]] = []
    for item in value:
        if (not isinstance(item, list) or len(item) != 2
                or not isinstance(item[0], bytes) or not isinstance(item[1], bytes)):
            raise ValidationError(ErrorCode.MALFORMED, "block response item is [block, cert]")
        pairs.append((item[0], item[1]))
    return pairs
