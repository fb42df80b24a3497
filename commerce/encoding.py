"""Canonical encoding of commerce's hashed or signed structures, on the shared codec.

The codec itself (one msgpack form per value, decoders that re-encode and compare) is
`base.codec`; this module gives it commerce's errors: every refusal is a
`ValidationError` with `malformed`, `non_canonical`, `too_large` or `field_invalid`.
"""

from __future__ import annotations

from typing import Any

from base import codec
from base.codec import Canonical, CodecError, CodecFault
from base.codec import pack as pack_plain
from base.hashing import sha256
from commerce.errors import ErrorCode, ValidationError
from commerce.limits import MAX_DECODE_BYTES

__all__ = ["Canonical", "decode", "encode", "hash_value", "pack_plain", "sha256"]

_CODES = {
    CodecFault.MALFORMED: ErrorCode.MALFORMED,
    CodecFault.NON_CANONICAL: ErrorCode.NON_CANONICAL,
    CodecFault.TOO_LARGE: ErrorCode.TOO_LARGE,
    CodecFault.INT_RANGE: ErrorCode.FIELD_INVALID,
}
assert set(_CODES) == set(CodecFault)


def _validation_error(exc: CodecError) -> ValidationError:
    return ValidationError(_CODES[exc.fault], exc.message)


def encode(value: Any) -> bytes:
    """The canonical bytes of `value` (nested lists/tuples of int, bytes, str, bool, None).

    Raises ValidationError for floats, maps or other types, and integers outside 64 bits.
    """
    try:
        return codec.encode(value)
    except CodecError as exc:
        raise _validation_error(exc) from exc


def decode(data: bytes, *, max_bytes: int = MAX_DECODE_BYTES, check_leaves: bool = True) -> Any:
    """Decode canonical bytes into nested lists. Raises ValidationError on anything else.

    Refuses input over `max_bytes`, trailing bytes, maps, floats, extension types, and any
    form that re-encodes differently (e.g. an integer in a wider format than needed).
    `check_leaves=False` skips the walk that refuses floats and deep nesting: only for a
    caller that checks the exact type of every leaf itself before using the value
    (`decode_tx`: typed envelope, strict body model).
    """
    try:
        return codec.decode(data, max_bytes=max_bytes, check_leaves=check_leaves)
    except CodecError as exc:
        raise _validation_error(exc) from exc


def hash_value(value: Any) -> bytes:
    """SHA-256 of the canonical encoding of `value`; raises ValidationError like `encode`."""
    return sha256(encode(value))
