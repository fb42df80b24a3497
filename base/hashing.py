"""SHA-256, the one hash of the chain: transaction ids, block digests, state roots."""

from __future__ import annotations

import hashlib
from typing import Any

from base.codec import encode
from base.limits import DIGEST_BYTES

assert hashlib.sha256().digest_size == DIGEST_BYTES


def sha256(data: bytes) -> bytes:
    """SHA-256 digest of `data`."""
    return hashlib.sha256(data).digest()


def hash_value(value: Any) -> bytes:
    """SHA-256 of the canonical encoding of `value`; raises base.codec.CodecError."""
    return sha256(encode(value))
