"""Token amounts: integers in base units (6 decimals); exact text parsing and printing."""

from __future__ import annotations

import re

from commerce.errors import ErrorCode, ValidationError
from commerce.limits import MAX_AMOUNT_MINOR

DECIMALS = 6
UNIT: int = 10**DECIMALS
_AMOUNT_RE = re.compile(r"^(\d{1,13})(?:\.(\d{1,6}))?$")


def parse_amount(text: str) -> int:
    """Parse `12.5`-style text into base units exactly; raises ValidationError(bad_amount)."""
    if not isinstance(text, str):
        raise ValidationError(ErrorCode.BAD_AMOUNT, "an amount is decimal text like 12.5")
    match = _AMOUNT_RE.match(text.strip())
    if match is None:
        raise ValidationError(
            ErrorCode.BAD_AMOUNT, f"{text!r} is not a decimal with at most {DECIMALS} places"
        )
    whole: str = match.group(1)
    frac: str = match.group(2) or ""
    minor = int(whole) * UNIT + int(frac.ljust(DECIMALS, "0"))
    if minor > MAX_AMOUNT_MINOR:
        raise ValidationError(ErrorCode.AMOUNT_OUT_OF_RANGE, f"{text} is over the maximum amount")
    return minor


def format_amount(minor: int) -> str:
    """Print base units as the shortest exact decimal (`12500000` -> `12.5`)."""
    assert isinstance(minor, int), "amounts are integers"
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), UNIT)
    if frac == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{str(frac).rjust(DECIMALS, '0').rstrip('0')}"
