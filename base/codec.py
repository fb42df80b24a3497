"""The one canonical msgpack codec of every hashed, signed or sent structure.

A structure is a msgpack array in a fixed field order; bytes use the bin type, text is
UTF-8 str, numbers are integers (no floats anywhere) and maps are not allowed, so one value
has exactly one byte form. `decode` re-encodes what it read and refuses anything that does
not come out byte for byte the same.

Errors are `CodecError` with a `CodecFault`; each package turns them into its own error
kind at its decoder (commerce's `ValidationError`, consensus's and p2p's remote-peer
errors), so the codes users see stay those of the package.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

import msgpack  # type: ignore[import-untyped]

from base.limits import MAX_CODEC_INT, MAX_DECODE_BYTES, MAX_DECODE_DEPTH, MIN_CODEC_INT

Canonical = int | bytes | str | bool | None | list["Canonical"] | tuple["Canonical", ...]


class CodecFault(Enum):
    """Why bytes or a value were refused."""

    MALFORMED = "malformed"  # not bytes, not msgpack, trailing bytes, a map, a float...
    NON_CANONICAL = "non_canonical"  # valid msgpack that re-encodes differently
    TOO_LARGE = "too_large"  # over the caller's byte limit
    INT_RANGE = "int_range"  # an integer outside msgpack's 64 bits


class CodecError(Exception):
    """A value or bytes the codec refuses; the caller converts it to its own error kind."""

    def __init__(self, fault: CodecFault, message: str) -> None:
        super().__init__(message)
        self.fault = fault
        self.message = message


# One Packer for the process: `msgpack.packb` builds a Packer and its buffer on every call,
# about three times the cost of packing a small record. Sharing it between threads is safe
# under CPython's GIL for the plain values packed here: packing bytes, str, int, bool,
# None, lists and tuples runs no Python code and never releases the GIL, so one `pack`
# (which resets the buffer when it returns or raises) cannot interleave with another.
_packer = msgpack.Packer(use_bin_type=True)

pack: Callable[[Any], bytes] = _packer.pack
"""The msgpack bytes of `value`, unchecked: only for values whose leaves are known to be
canonical types (records, write sets, receipts, messages built field by field, or after
`encode`'s check). The packer's own bound method: a Python function around it cost a call
frame per record, receipt and key."""

unpack_trusted: Callable[..., Any] = msgpack.unpackb
"""msgpack's reader, unchecked: only for bytes this process wrote itself (stored records)."""


def encode(value: Any) -> bytes:
    """The canonical bytes of `value` (nested lists/tuples of int, bytes, str, bool, None).

    Raises CodecError (MALFORMED for floats, maps or other types; INT_RANGE for integers
    outside 64 bits).
    """
    _check(value, 0)
    return pack(value)


def decode(
    data: bytes,
    *,
    max_bytes: int = MAX_DECODE_BYTES,
    check_leaves: bool = True,
    canonical: bool = True,
    max_str_bytes: int | None = None,
    max_array_items: int | None = None,
) -> Any:
    """Decode msgpack bytes into nested lists. Raises CodecError on anything else.

    Refuses input over `max_bytes` (TOO_LARGE); trailing bytes, maps, extension types and
    strings or arrays over `max_str_bytes`/`max_array_items` (MALFORMED, both default to
    `max_bytes`); and, when `canonical`, any form that re-encodes differently (e.g. an
    integer in a wider format than needed). `check_leaves=False` skips the walk that
    refuses floats and deep nesting: only for a caller that checks the exact type of every
    leaf itself before using the value (typed envelopes, message field checkers).
    `canonical=False` is for a caller that re-encodes its own decoded message instead.
    """
    exact = type(data) is bytes  # the common case: no isinstance, no copy
    if not exact and not isinstance(data, (bytes, bytearray, memoryview)):
        raise CodecError(CodecFault.MALFORMED, "expected bytes")
    if len(data) > max_bytes:
        raise CodecError(CodecFault.TOO_LARGE, f"{len(data)} bytes over limit {max_bytes}")
    if not exact:
        data = bytes(data)
    try:
        value = msgpack.unpackb(
            data, raw=False, use_list=True, strict_map_key=True,
            max_bin_len=max_bytes, max_str_len=max_str_bytes or max_bytes,
            max_array_len=max_array_items or max_bytes, max_map_len=0, max_ext_len=0,
        )
    except msgpack.ExtraData as exc:
        raise CodecError(CodecFault.MALFORMED, "trailing bytes after the value") from exc
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise CodecError(CodecFault.MALFORMED, f"not valid msgpack: {exc}") from exc
    if check_leaves:
        _check(value, 0)
    if canonical and pack(value) != data:
        raise CodecError(CodecFault.NON_CANONICAL, "bytes are not the canonical encoding")
    return value


_LEAF_TYPES = frozenset({bytes, str, bool, type(None)})


def _check(value: Any, depth: int) -> None:
    # Fast path for the exact leaf types (most of every structure); same outcome as below.
    kind = type(value)
    if kind in _LEAF_TYPES and depth <= MAX_DECODE_DEPTH:
        return
    if kind is int and depth <= MAX_DECODE_DEPTH and MIN_CODEC_INT <= value <= MAX_CODEC_INT:
        return
    if depth > MAX_DECODE_DEPTH:
        raise CodecError(CodecFault.MALFORMED, f"nesting deeper than {MAX_DECODE_DEPTH}")
    if value is None or isinstance(value, (bool, str, bytes)):
        return
    if isinstance(value, int):
        if not MIN_CODEC_INT <= value <= MAX_CODEC_INT:
            raise CodecError(CodecFault.INT_RANGE, "integer outside 64 bits")
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
            if item_kind is int and MIN_CODEC_INT <= item <= MAX_CODEC_INT:
                continue
            _check(item, depth + 1)
        return
    name = kind.__name__
    raise CodecError(CodecFault.MALFORMED, f"type {name} has no canonical encoding")
