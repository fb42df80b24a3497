"""Canonical encoding of every hashed or signed structure.

A structure is a msgpack array in a fixed field order; bytes use the bin type, text is
UTF-8 str, numbers are integers (no floats anywhere) and maps are not allowed, so one value
has exactly one byte form. `decode` re-encodes what it read and refuses anything that does
not come out byte for byte the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgpack  # type: ignore[import-untyped]

from commerce.errors import ErrorCode, ValidationError
from commerce.limits import MAX_DECODE_BYTES, MAX_DECODE_DEPTH

Canonical = int | bytes | str | bool | None | list["Canonical"] | tuple["Canonical", ...]

_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1


# One Packer for the process: `msgpack.packb` builds a Packer and its buffer on every call,
# about three times the cost of packing a small record. Sharing it between threads is safe
# under CPython's GIL for the plain values packed here: packing bytes, str, int, bool,
# None, lists and tuples runs no Python code and never releases the GIL, so one `pack`
# (which resets the buffer when it returns or raises) cannot interleave with another.
_packer = msgpack.Packer(use_bin_type=True)


pack_plain: Callable[[Any], bytes] = _packer.pack
"""The msgpack bytes of `value`, unchecked: only for values whose leaves are known to be
canonical types (records, write sets, receipts, or after `_check`). The packer's own bound
method: a Python function around it cost a call frame per record, receipt and key."""


def encode(value: Any) -> bytes:
    """The canonical bytes of `value` (nested lists/tuples of int, bytes, str, bool, None).

    Raises ValidationError for floats, maps or other types, and integers outside 64 bits.
    """
    _check(value, 0)
    return pack_plain(value)


def decode(data: bytes, *, max_bytes: int = MAX_DECODE_BYTES, check_leaves: bool = True) -> Any:
    """Decode canonical bytes into nested lists. Raises ValidationError on anything else.

    Refuses input over `max_bytes`, trailing bytes, maps, floats, extension types, and any
    form that re-encodes differently (e.g. an integer in a wider format than needed).
    `check_leaves=False` skips the walk that refuses floats and deep nesting: only for a
    caller that checks the exact type of every leaf itself before using the value
    (`decode_tx`: typed envelope, strict body model).
    """
    exact = type(data) is bytes  # the common case: no isinstance, no copy
    if not exact and not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValidationError(ErrorCode.MALFORMED, "expected bytes")
    if len(data) > max_bytes:
        raise ValidationError(ErrorCode.TOO_LARGE, f"{len(data)} bytes over limit {max_bytes}")
    if not exact:
        data = bytes(data)
    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
            max_bin_len=max_bytes,
            max_str_len=max_bytes,
            max_array_len=max_bytes,
            max_map_len=0,
            max_ext_len=0,
        )
    except msgpack.ExtraData as exc:
        raise ValidationError(ErrorCode.MALFORMED, "trailing bytes after the value") from exc
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise ValidationError(ErrorCode.MALFORMED, f"not valid msgpack: {exc}") from exc
    if check_leaves:
        _check(value, 0)
    if pack_plain(value) != data:
        raise ValidationError(ErrorCode.NON_CANONICAL, "bytes are not the canonical encoding")
    return value


def sha256(data: bytes) -> bytes:
    """SHA-256 digest of `data`."""
    return hashlib.sha256(data).digest()


def hash_value(value: Any) -> bytes:
    """SHA-256 of the canonical encoding of `value`."""
    return sha256(encode(value))


_LEAF_TYPES = frozenset({bytes, str, bool, type(None)})


def _check(value: Any, depth: int) -> None:
    # Fast path for the exact leaf types (most of every structure); same outcome as below.
    kind = type(value)
    if kind in _LEAF_TYPES and depth <= MAX_DECODE_DEPTH:
        return
    if kind is int and depth <= MAX_DECODE_DEPTH and _INT_MIN <= value <= _INT_MAX:
        return
    if depth > MAX_DECODE_DEPTH:
        raise ValidationError(ErrorCode.MALFORMED, f"nesting deeper than {MAX_DECODE_DEPTH}")
    if value is None or isinstance(value, (bool, str, bytes)):
        return
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise ValidationError(ErrorCode.FIELD_INVALID, "integer outside 64 bits")
        return
    if isinstance(value, (list, tuple)):
        if depth + 1 > MAX_DECODE_DEPTH:
            for item in value:
                _check(item, depth + 1)
            return
        # The leaf checks of the fast path above, inlined: one call per container, not
        # per leaf (the same outcome, a third of the time on write sets and receipts).
        leaf_types = _LEAF_TYPES
        for item in value:
            item_kind = type(item)
            if item_kind in leaf_types:
                continue
            if item_kind is int and _INT_MIN <= item <= _INT_MAX:
                continue
            _check(item, depth + 1)
        return
    name = kind.__name__
    raise ValidationError(ErrorCode.MALFORMED, f"type {name} has no canonical encoding")
