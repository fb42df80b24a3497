"""Canonical encoding: every value has one byte form and decoding refuses any other.

Method: hand-made msgpack bytes for each non-canonical form (maps, floats, ext types,
wide integers, trailing bytes, deep nesting, the size limit exactly and one over), plus
hypothesis properties: encode/decode round-trips, and a re-encoding in a wider format
is refused.
"""

from __future__ import annotations

import struct

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commerce.encoding import decode, encode, hash_value, sha256
from commerce.errors import ErrorCode, ValidationError
from commerce.limits import MAX_DECODE_DEPTH

leaves = st.one_of(
    st.none(), st.booleans(), st.binary(max_size=40), st.text(max_size=20),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
)
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=5), max_leaves=30)


def _code(data: bytes, **kwargs: int) -> ErrorCode:
    with pytest.raises(ValidationError) as info:
        decode(data, **kwargs)
    assert isinstance(info.value.code, ErrorCode)
    return info.value.code


def test_encode_nested_values_round_trip() -> None:
    value = [1, -5, 2**64 - 1, -(2**63), b"\x00\xff", "héllo", True, False, None, [[], [1]]]
    assert decode(encode(value)) == value


def test_encode_tuple_equals_list_bytes() -> None:
    assert encode((1, (b"a", "b"))) == encode([1, [b"a", "b"]])


def test_encode_bytes_use_bin_type() -> None:
    assert encode(b"ab") == b"\xc4\x02ab"
    assert encode("ab") == b"\xa2ab"


@pytest.mark.parametrize("value", [1.5, {"a": 1}, {1, 2}, object(), bytearray(b"x")])
def test_encode_non_canonical_type_is_refused(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        encode([value])
    assert info.value.code is ErrorCode.MALFORMED


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1])
def test_encode_integer_outside_64_bits_is_refused(value: int) -> None:
    with pytest.raises(ValidationError) as info:
        encode(value)
    assert info.value.code is ErrorCode.FIELD_INVALID


def test_decode_map_is_refused() -> None:
    assert _code(msgpack.packb({"a": 1})) is ErrorCode.MALFORMED
    assert _code(msgpack.packb({})) is not None


def test_decode_float_is_refused() -> None:
    assert _code(msgpack.packb(1.5)) is ErrorCode.MALFORMED
    assert _code(msgpack.packb([1, 2.0], use_single_float=True)) is ErrorCode.MALFORMED


def test_decode_ext_type_is_refused() -> None:
    assert _code(msgpack.packb(msgpack.ExtType(1, b"abc"))) is ErrorCode.MALFORMED


def test_decode_timestamp_ext_is_refused() -> None:
    assert _code(b"\xd6\xff" + struct.pack(">I", 1)) is ErrorCode.MALFORMED


@pytest.mark.parametrize("wide", [
    b"\xcc\x05",  # uint8 holding 5 (fixint is canonical)
    b"\xcd\x00\x05",  # uint16
    b"\xce\x00\x00\x00\x05",  # uint32
    b"\xcf" + struct.pack(">Q", 5),  # uint64
    b"\xd0\x05",  # int8 holding a positive value
    b"\xd1\xff\xff",  # int16 holding -1 (negative fixint is canonical)
])
def test_decode_non_minimal_integer_is_non_canonical(wide: bytes) -> None:
    assert _code(wide) is ErrorCode.NON_CANONICAL


def test_decode_str8_for_short_text_is_non_canonical() -> None:
    assert _code(b"\xd9\x02ab") is ErrorCode.NON_CANONICAL


def test_decode_array16_for_short_array_is_non_canonical() -> None:
    assert _code(b"\xdc\x00\x01\x01") is ErrorCode.NON_CANONICAL


def test_decode_invalid_utf8_text_is_malformed() -> None:
    # Old msgpack without the bin type carried bytes as str; text must be UTF-8.
    assert _code(b"\xa2\xff\xfe") is ErrorCode.MALFORMED


def test_decode_trailing_bytes_is_malformed() -> None:
    assert _code(encode([1, 2]) + b"\x00") is ErrorCode.MALFORMED


def test_decode_truncated_input_is_malformed() -> None:
    assert _code(encode([1, b"abcdef"])[:-2]) is ErrorCode.MALFORMED
    assert _code(b"") is ErrorCode.MALFORMED


def test_decode_non_bytes_input_is_malformed() -> None:
    assert _code("text") is ErrorCode.MALFORMED  # type: ignore[arg-type]


def _nested(depth: int) -> bytes:
    return b"\x91" * depth + b"\x01"


def test_decode_depth_at_limit_is_accepted() -> None:
    assert decode(_nested(MAX_DECODE_DEPTH)) is not None


def test_decode_depth_over_limit_is_refused() -> None:
    assert _code(_nested(MAX_DECODE_DEPTH + 1)) is ErrorCode.MALFORMED
    with pytest.raises(ValidationError):
        encode([decode(_nested(MAX_DECODE_DEPTH))])


def test_decode_size_exactly_at_limit_is_accepted() -> None:
    data = encode(b"x" * 90)
    assert decode(data, max_bytes=len(data)) == b"x" * 90


def test_decode_size_one_over_limit_is_too_large() -> None:
    data = encode(b"x" * 90)
    assert _code(data, max_bytes=len(data) - 1) is ErrorCode.TOO_LARGE


def test_sha256_known_vector() -> None:
    assert sha256(b"abc").hex().startswith("ba7816bf8f01cfea")
    assert hash_value([1]) == sha256(b"\x91\x01")


@settings(max_examples=300, deadline=None)
@given(values)
def test_encode_any_value_round_trips(value: object) -> None:
    data = encode(value)
    assert decode(data) == value
    assert encode(decode(data)) == data


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_decode_integer_in_uint64_form_is_refused_unless_minimal(value: int) -> None:
    wide = b"\xcf" + struct.pack(">Q", value)
    with pytest.raises(ValidationError) as info:
        decode(wide)
    assert info.value.code is ErrorCode.NON_CANONICAL


@settings(max_examples=200, deadline=None)
@given(values, st.binary(min_size=1, max_size=4))
def test_decode_value_with_trailing_bytes_is_refused(value: object, tail: bytes) -> None:
    with pytest.raises(ValidationError) as info:
        decode(encode(value) + tail)
    assert info.value.code in (ErrorCode.MALFORMED, ErrorCode.NON_CANONICAL)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_decode_random_bytes_either_round_trips_or_is_refused(data: bytes) -> None:
    try:
        value = decode(data)
    except ValidationError as exc:
        assert exc.code in (ErrorCode.MALFORMED, ErrorCode.NON_CANONICAL, ErrorCode.FIELD_INVALID)
        return
    assert encode(value) == data


def test_pack_plain_is_exact_when_threads_pack_at_once() -> None:
    """pack_plain shares one Packer (safe under the GIL for plain values): six threads
    packing different values at the same time each get exactly msgpack's bytes."""
    import threading

    from commerce.encoding import pack_plain

    values = [[i, b"x" * (i % 50), "s" * (i % 7), [i, -i, (b"a", True, None)]]
              for i in range(2_000)]
    expected = [msgpack.packb(v, use_bin_type=True) for v in values]
    wrong: list[int] = []

    def work() -> None:
        for _ in range(10):
            wrong.extend(i for i, v in enumerate(values) if pack_plain(v) != expected[i])

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
