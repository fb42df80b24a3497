"""Account addresses: the first 20 bytes of SHA-256 of the public key, shown as bech32m.

The text form is ``agora1`` followed by the data and a six-character checksum (BIP-350), so a
mistyped character is caught rather than sending funds to a wrong account.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NewType

from base.limits import PUBLIC_KEY_BYTES
from commerce.encoding import sha256
from commerce.errors import ErrorCode, ValidationError

Address = NewType("Address", bytes)

HRP = "agora"
ADDRESS_BYTES = 20
_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONST = 0x2BC830A3
_MAX_TEXT_CHARS = 90
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _generator_terms(top: int) -> int:
    out = 0
    for i in range(5):
        if (top >> i) & 1:
            out ^= _GENERATOR[i]
    return out


# XOR of the generator terms selected by each value of the checksum's top five bits.
_GEN_TABLE = tuple(_generator_terms(top) for top in range(32))
_VALUES = {c: i for i, c in enumerate(_CHARSET)}
_PREFIX = HRP + "1"
_SHIFTS_20 = tuple(range(5 * 31, -1, -5))  # the 32 five-bit groups of 160 bits, high first


def address_of(public_key: bytes) -> Address:
    """The 20-byte address of an Ed25519 public key."""
    assert len(public_key) == PUBLIC_KEY_BYTES, "Ed25519 public keys are 32 bytes"
    return Address(sha256(public_key)[:ADDRESS_BYTES])


TEXT_CACHE_MAX = 65_536  # addresses whose text form is remembered


@lru_cache(maxsize=TEXT_CACHE_MAX)
def to_text(address: bytes) -> str:
    """The checksummed text form of a 20-byte address.

    Cached: a finalized block renders every touched account for receipts and subscriptions,
    and the bech32 checksum is pure Python (~4% of a node's time under load).
    """
    assert len(address) == ADDRESS_BYTES, "addresses are 20 bytes"
    # 160 bits are exactly 32 five-bit groups (no padding): split the integer directly.
    number = int.from_bytes(address, "big")
    data = [(number >> shift) & 31 for shift in _SHIFTS_20]
    polymod = _polymod(data + [0] * 6, _HRP_STATE) ^ _BECH32M_CONST
    return _PREFIX + "".join([_CHARSET[d] for d in data]) + "".join(
        [_CHARSET[(polymod >> 5 * (5 - i)) & 31] for i in range(6)])


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
    values = _VALUES
    try:
        data = [values[c] for c in text[sep + 1 :]]
    except KeyError as exc:
        raise ValidationError(
            ErrorCode.BAD_ADDRESS, "address has a character outside bech32"
        ) from exc
    if len(data) < 6 or _polymod(data, _HRP_STATE) != _BECH32M_CONST:
        raise ValidationError(
            ErrorCode.BAD_ADDRESS, "address checksum does not match (typo?)"
        )
    # 32 five-bit groups are exactly 20 bytes; any other count cannot be 20 bytes.
    if len(data) - 6 != 32:
        raise ValidationError(ErrorCode.BAD_ADDRESS, "address has the wrong length")
    number = 0
    for value in data[:-6]:
        number = number << 5 | value
    return Address(number.to_bytes(ADDRESS_BYTES, "big"))


def from_checked_text(text: str) -> Address:
    """The address of a text `from_text` accepted before (same bytes), without checking
    its checksum again; raises ValueError on text that is not a lower-case agora1 address
    of the right length. Only for text known to be unchanged since it was checked (a
    genesis file whose digest matches the one recorded when it was validated)."""
    if (len(text) != _TEXT_CHARS or not text.isascii() or not text.islower()
            or not text.startswith(_PREFIX)):
        raise ValueError("not a checked address")
    digits = text[len(_PREFIX):-6].translate(_TO_BASE32)  # characters outside bech32 dropped
    if len(digits) != _DATA_CHARS:
        raise ValueError("not a checked address")
    # 32 five-bit groups, most significant first: the same number `from_text` builds.
    return Address(int(digits, 32).to_bytes(ADDRESS_BYTES, "big"))


_DATA_CHARS = 32  # five-bit groups of a 20-byte address
_TEXT_CHARS = len(_PREFIX) + _DATA_CHARS + 6
# bech32 character -> its value as a base-32 digit for int(); other ASCII deleted.
_TO_BASE32 = str.maketrans({chr(i): "0123456789abcdefghijklmnopqrstuv"[_CHARSET.index(chr(i))]
                            if chr(i) in _CHARSET else None for i in range(128)})


def _polymod(values: list[int], chk: int = 1) -> int:
    """BIP-350's checksum polynomial over `values`, from state `chk` (1 at the start);
    the generator XORs are looked up per top five bits (`_GEN_TABLE`), one step a value."""
    table = _GEN_TABLE
    for value in values:
        chk = ((chk & 0x1FFFFFF) << 5 ^ value) ^ table[chk >> 25]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


_HRP_STATE = _polymod(_hrp_expand(HRP))  # the checksum state after the human-readable part
