"""The table-driven bech32m in `commerce.address` against the straightforward BIP-350 code
it replaced (kept here as the reference): the same text for every address, and the same
address or the same error for valid, upper-case, mistyped, truncated and other-length text.
"""

from __future__ import annotations

import random

from commerce.address import from_text, to_text
from commerce.errors import ValidationError

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CONST = 0x2BC830A3
HRP = "agora"


def ref_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if ((top >> i) & 1) else 0
    return chk


def ref_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def ref_convert(data: bytes | list[int], from_bits: int, to_bits: int,
                pad: bool) -> list[int] | None:
    acc = bits = 0
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
        return None
    return out


def ref_checksum(data: list[int]) -> list[int]:
    polymod = ref_polymod(ref_expand(HRP) + data + [0] * 6) ^ _CONST
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]


def ref_to_text(address: bytes) -> str:
    data = ref_convert(address, 8, 5, True)
    assert data is not None
    return HRP + "1" + "".join(_CHARSET[d] for d in data + ref_checksum(data))


def ref_from_text(text: str) -> bytes:
    if text.lower() != text and text.upper() != text:
        raise ValueError("address mixes upper and lower case")
    text = text.lower()
    sep = text.rfind("1")
    if text[:sep] != HRP:
        raise ValueError(f"address must start with {HRP}1")
    try:
        data = [_CHARSET.index(c) for c in text[sep + 1:]]
    except ValueError:
        raise ValueError("address has a character outside bech32") from None
    if len(data) < 6 or ref_polymod(ref_expand(HRP) + data) != _CONST:
        raise ValueError("address checksum does not match (typo?)")
    decoded = ref_convert(data[:-6], 5, 8, False)
    if decoded is None or len(decoded) != 20:
        raise ValueError("address has the wrong length")
    return bytes(decoded)


def _outcome(function: object, text: str) -> tuple[str, object]:
    try:
        return "ok", function(text)  # type: ignore[operator]
    except (ValidationError, ValueError) as exc:
        return "error", getattr(exc, "message", None) or str(exc)


def test_address_text_and_parse_match_the_reference() -> None:
    rng = random.Random(5)
    for _ in range(1_500):
        raw = bytes(rng.randrange(256) for _ in range(20))
        text = ref_to_text(raw)
        assert to_text(raw) == text
        mutated = list(text)
        mutated[rng.randrange(len(text))] = rng.choice(_CHARSET + "AB1bio")
        for candidate in (text, text.upper(), "".join(mutated), text[:-2], text + "q",
                          text[:-1] + rng.choice(_CHARSET), "agora1" + text[7:]):
            assert _outcome(from_text, candidate) == _outcome(ref_from_text, candidate), candidate


def test_address_other_lengths_with_valid_checksums_match_the_reference() -> None:
    rng = random.Random(6)
    for groups in range(0, 40):
        data = [rng.randrange(32) for _ in range(groups)]
        text = HRP + "1" + "".join(_CHARSET[d] for d in data + ref_checksum(data))
        assert _outcome(from_text, text) == _outcome(ref_from_text, text), text
