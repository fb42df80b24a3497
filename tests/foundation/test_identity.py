"""Keys, signatures, addresses and amounts: the identities and numbers users type.

Method: known and generated values, every single-character typo of an address, the
boundaries of the amount range, and signatures altered one byte at a time.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commerce.address import ADDRESS_BYTES, HRP, address_of, from_text, to_text
from commerce.amount import format_amount, parse_amount
from commerce.errors import ErrorCode, ValidationError
from commerce.keys import Keypair, seal, verify
from commerce.limits import MAX_AMOUNT_MINOR
from tests.foundation.test_address_reference import (
    ref_checksum,
    ref_convert,
    ref_expand,
    ref_polymod,
)

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
KEY = Keypair.from_seed(bytes(range(32)))


def _refused(text: str) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        from_text(text)
    return info.value


# Keys and signatures.

def test_keypair_from_seed_is_deterministic() -> None:
    assert Keypair.from_seed(bytes(range(32))).public_key == KEY.public_key
    assert len(KEY.public_key) == 32
    assert KEY.seed == bytes(range(32))


def test_keypair_seed_of_wrong_length_is_field_invalid() -> None:
    with pytest.raises(ValidationError) as info:
        Keypair.from_seed(b"short")
    assert info.value.code is ErrorCode.FIELD_INVALID


def test_verify_own_signature_is_true() -> None:
    assert verify(KEY.public_key, b"message", KEY.sign(b"message"))


def test_verify_other_message_is_false() -> None:
    assert not verify(KEY.public_key, b"messagf", KEY.sign(b"message"))


def test_verify_other_key_is_false() -> None:
    other = Keypair.from_seed(b"\x07" * 32)
    assert not verify(other.public_key, b"m", KEY.sign(b"m"))


@pytest.mark.parametrize("index", [0, 31, 32, 63])
def test_verify_flipped_signature_byte_is_false(index: int) -> None:
    signature = bytearray(KEY.sign(b"m"))
    signature[index] ^= 0x01
    assert not verify(KEY.public_key, b"m", bytes(signature))


def test_verify_wrong_lengths_are_false() -> None:
    assert not verify(KEY.public_key[:31], b"m", KEY.sign(b"m"))
    assert not verify(KEY.public_key, b"m", KEY.sign(b"m")[:63])


def test_seal_opens_only_for_recipient() -> None:
    sealed = seal(KEY.public_key, b"delivery address")
    assert KEY.unseal(sealed) == b"delivery address"
    with pytest.raises(ValidationError):
        Keypair.from_seed(b"\x09" * 32).unseal(sealed)


# Addresses.

ADDRESS = address_of(KEY.public_key)
TEXT = to_text(ADDRESS)


def test_address_text_round_trips() -> None:
    assert TEXT.startswith(HRP + "1")
    assert len(TEXT) == 44  # agora1 + 32 data + 6 checksum characters
    assert from_text(TEXT) == ADDRESS
    assert len(ADDRESS) == ADDRESS_BYTES


def test_address_upper_case_is_accepted() -> None:
    assert from_text(TEXT.upper()) == ADDRESS


def test_address_mixed_case_is_refused() -> None:
    mixed = TEXT[:10] + TEXT[10:].upper()
    assert _refused(mixed).code is ErrorCode.BAD_ADDRESS


def test_address_every_single_character_typo_is_caught() -> None:
    start = len(HRP) + 1
    for position in range(start, len(TEXT)):
        for char in _CHARSET:
            if char == TEXT[position]:
                continue
            typo = TEXT[:position] + char + TEXT[position + 1:]
            assert _refused(typo).code is ErrorCode.BAD_ADDRESS, typo


def test_address_swapped_neighbours_are_caught() -> None:
    for position in range(len(HRP) + 1, len(TEXT) - 1):
        a, b = TEXT[position], TEXT[position + 1]
        if a != b:
            swapped = TEXT[:position] + b + a + TEXT[position + 2:]
            assert _refused(swapped).code is ErrorCode.BAD_ADDRESS


def test_address_wrong_hrp_is_refused() -> None:
    other = "cosmos" + TEXT[len(HRP):]
    assert "start with" in _refused(other).message


def test_address_bech32_not_bech32m_checksum_is_refused() -> None:
    # Same data with the original bech32 constant (1) instead of bech32m's.
    data = ref_convert(ADDRESS, 8, 5, True)
    assert data is not None
    polymod = ref_polymod(ref_expand(HRP) + data + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    text = HRP + "1" + "".join(_CHARSET[d] for d in data + checksum)
    assert _refused(text).code is ErrorCode.BAD_ADDRESS


@pytest.mark.parametrize("text", ["", "agora1", "agora1qqqq", "x" * 91, "agora1" + "b" * 38])
def test_address_malformed_text_is_refused(text: str) -> None:
    assert _refused(text).code is ErrorCode.BAD_ADDRESS


def test_address_wrong_data_length_is_refused() -> None:
    data = ref_convert(bytes(19), 8, 5, True)
    assert data is not None
    text = HRP + "1" + "".join(_CHARSET[d] for d in data + ref_checksum(data))
    assert "length" in _refused(text).message


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=20, max_size=20))
def test_address_any_20_bytes_round_trip(raw: bytes) -> None:
    assert from_text(to_text(raw)) == raw


# Amounts.

@pytest.mark.parametrize(("text", "minor"), [
    ("0", 0), ("1", 1_000_000), ("12.5", 12_500_000), ("0.000001", 1),
    ("1000000000000", 10**18), ("7.123456", 7_123_456), ("  3.1 ", 3_100_000),
])
def test_parse_amount_exact_values(text: str, minor: int) -> None:
    assert parse_amount(text) == minor


@pytest.mark.parametrize("text", [
    "1.0000001", "-1", "1e3", "1.", ".5", "", "1,5", "one", "0x10", "1.5.2", "+1",
    "inf", "nan", "12345678901234",
])
def test_parse_amount_bad_text_is_bad_amount(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_amount(text)
    assert info.value.code is ErrorCode.BAD_AMOUNT


def test_parse_amount_one_over_maximum_is_out_of_range() -> None:
    assert parse_amount(format_amount(MAX_AMOUNT_MINOR)) == MAX_AMOUNT_MINOR
    with pytest.raises(ValidationError) as info:
        parse_amount(format_amount(MAX_AMOUNT_MINOR + 1))
    assert info.value.code is ErrorCode.AMOUNT_OUT_OF_RANGE


def test_parse_amount_float_argument_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        parse_amount(12.5)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.BAD_AMOUNT


@pytest.mark.parametrize(("minor", "text"), [
    (0, "0"), (1, "0.000001"), (12_500_000, "12.5"), (10**18, "1000000000000"),
    (-1_500_000, "-1.5"), (100_000, "0.1"),
])
def test_format_amount_shortest_exact_text(minor: int, text: str) -> None:
    assert format_amount(minor) == text


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR))
def test_format_amount_parse_round_trips(minor: int) -> None:
    assert parse_amount(format_amount(minor)) == minor
