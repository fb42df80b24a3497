"""Errors in words: what a user reads when a value is refused.

The node and the transaction models speak in base units and in pydantic's terms; a person
typed `--amount 12.5` and wants to read tokens with the token's symbol and the option's name.
`validation_line` turns a pydantic ValidationError raised while building a transaction into
one sentence naming the option; `node_message` rewrites the base-unit amounts in the node's
refusals whose every number is an amount (`insufficient_funds`, `below_reserve`, ...).
"""

from __future__ import annotations

import re
from typing import Any

import pydantic

from commerce.amount import format_amount

DEFAULT_SYMBOL = "AGR"

# Model fields that hold amounts in base units, and fields whose option has another name.
AMOUNT_FIELDS = frozenset({"amount", "price"})
OPTION_NAMES = {"options": "--option", "close_height": "--close-in", "to": "--to"}
# Refusals whose message numbers are all amounts in base units.
AMOUNT_REASONS = frozenset({"insufficient_funds", "below_reserve", "reserve_required",
                            "amount_out_of_range", "coupon_min_spend", "coupon_exhausted"})
_NUMBER_RE = re.compile(r"(?<![\w.])\d+(?![\w.])")


def tokens(minor: int, symbol: str = DEFAULT_SYMBOL) -> str:
    """`12500000` -> `12.5 AGR`."""
    return f"{format_amount(minor)} {symbol}"


def option_name(field: str) -> str:
    """The command-line spelling of a transaction field (`referral_bps` -> --referral-bps)."""
    return OPTION_NAMES.get(field, "--" + field.replace("_", "-"))


def _bound(field: str, value: Any, symbol: str) -> str:
    if field in AMOUNT_FIELDS and isinstance(value, int):
        return tokens(value, symbol)
    return str(value)


# pydantic error kinds with a bound: the phrase and the bound's key in the error's ctx.
_BOUND_PHRASES = {
    "greater_than_equal": ("must be at least", "ge"),
    "greater_than": ("must be more than", "gt"),
    "less_than_equal": ("must be at most", "le"),
    "less_than": ("must be less than", "lt"),
}
# pydantic error kinds about a length: the sentence, filled with the ctx's value of its key.
_LENGTH_PHRASES = {
    "string_too_short": ("must have at least {} character(s)", "min_length"),
    "string_too_long": ("must have at most {} characters", "max_length"),
    "too_short": ("must be given at least {} times", "min_length"),
    "too_long": ("may be given at most {} times", "max_length"),
}


def _phrase(error: dict[str, Any], field: str, symbol: str) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind in _BOUND_PHRASES:
        words, key = _BOUND_PHRASES[kind]
        return f"{words} {_bound(field, ctx.get(key), symbol)}"
    if kind in _LENGTH_PHRASES:
        sentence, key = _LENGTH_PHRASES[kind]
        return sentence.format(ctx.get(key))
    if kind == "string_pattern_mismatch":
        return "has characters that are not allowed (see --help)"
    if kind == "value_error":
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        return message if "http" not in message else "is not valid"
    return "is not valid"


def validation_line(exc: pydantic.ValidationError, symbol: str = DEFAULT_SYMBOL) -> str:
    """One sentence for the first problem of `exc`, naming the option (no pydantic text)."""
    errors = exc.errors(include_url=False)
    if not errors:
        return "a value is not valid"
    first = errors[0]
    location = [str(part) for part in first.get("loc", ()) if isinstance(part, str)]
    field = location[0] if location else ""
    subject = option_name(field) if field else "a value"
    return f"{subject} {_phrase(first, field, symbol)}"


def node_message(reason: str, message: str, symbol: str = DEFAULT_SYMBOL) -> str:
    """The node's refusal with base-unit amounts written as tokens (other reasons as-is)."""
    if reason not in AMOUNT_REASONS:
        return message
    return _NUMBER_RE.sub(lambda m: tokens(int(m.group()), symbol), message)
