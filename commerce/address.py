"""Account addresses: the first 20 bytes of SHA-256 of the public key, shown as bech32m.

The text form is ``agora1`` followed by the data and a six-character checksum (BIP-350), so a
mistyped character is caught rather than sending funds to a wrong account.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NewType

from commerce.encoding import sha256
from commerce.errors import ErrorCode, ValidationError

Address = NewType("Address", bytes)

HRP = "agora"
ADDRESS_BYTES = 20
_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONST = 0x2BC830A3
_MAX_TEXT_CHARS = 90


def address_of(public_key: bytes) -> Address:
    """The 20-byte address of an Ed25519 public key."""
    assert len(public_key) == 32, "Ed25519 public keys are 32 bytes"
    return Address(sha256(public_key)[:ADDRESS_BYTES])


TEXT_CACHE_MAX = 65_536  # addresses whose text form is remembered


@lru_cache(maxsize=TEXT_CACHE_MAX)
def to_text(address: bytes) -> str:
    """The checksummed text form of a 20-byte address.

    Cached: a finalized block renders every touched account for receipts and subscriptions,
    and the bech32 checksum is pure Python (~4% of a node's time under load).
    """
    assert len(address) == ADDRESS_BYTES, "addresses are 20 bytes"
    data = _convert_bits(address, 8, 5, pad=True)
    checksum = _create_checksum(HRP, data)
    return HRP + "1" + "".join(_CHARSET[d] for d in data + checksum)


def from_text(text: str) -> Address:
    """Parse a text address; raises ValidationError(bad_address) naming what is wrong."""
    if not isinstance(text, str) or not 8 <= len(text) <= _MAX_TEXT_CHARS:
        raise ValidationError(ErrorCode.BAD_ADDRESS, "an address is agora1 and 38 characters")
    if text.lower() != text and text.upper() != text:
        raise ValidationError(ErrorCode.BAD_ADDRESS, "address mixes upper and lower case")
    text = text.lower()
    sep = text.rfind("1")
    if text[:sep] != HRP:
        raise ValidationError(ErrorCode.BAD_ADDRESS, f"address must start with {HRP}1")
    try:
        data = [_CHARSET.index(c) for c in text[sep + 1 :]]
    except ValueError as exc:
        raise ValidationError(
            ErrorCode.BAD_ADDRESS, "address has a character outside bech32"
        ) from exc
    if len(data) < 6 or not _verify_checksum(HRP, data):
        raise ValidationError(
            ErrorCode.BAD_ADDRESS, "address checksum does not match (typo?)"
        )
    decoded = _convert_bits(data[:-6], 5, 8, pad=False)
    if decoded is None or len(decoded) != ADDRESS_BYTES:
        raise ValidationError(ErrorCode.BAD_ADDRESS, "address has the wrong length")
    return Address(bytes(decoded))


def _polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if ((top >> i) & 1) else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _verify_checksum(hrp: str, data: list[int]) -> bool:
    return _polymod(_hrp_expand(hrp) + data) == _BECH32M_CONST


def _create_checksum(hrp: str, data: list[int]) -> list[int]:
    polymod = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ _BECH32M_CONST
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, *, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & maxv)
    elif bits >= from_bits or ((acc << (to_bits - bits)) & maxv):
        return None  # type: ignore[return-value]
    return out
