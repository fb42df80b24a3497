"""The check every genesis refusal test makes: `bad_genesis`, in one line."""

from __future__ import annotations

from typing import Any

import pytest

from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import parse_genesis


def refused(doc: Any) -> ValidationError:
    """Parse `doc`, which must be refused as bad_genesis with a one-line message."""
    with pytest.raises(ValidationError) as info:
        parse_genesis(doc)
    assert info.value.code is ErrorCode.BAD_GENESIS
    assert "\n" not in str(info.value)
    return info.value
