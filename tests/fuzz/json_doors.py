"""Strategies for the JSON and TOML doors: mutated texts of a valid document."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from .mutate import json_values, mutated_bytes, mutated_value


def json_texts(document: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, the document's JSON text with byte edits, and the document with
    structural edits (wrong types, missing and unknown keys, deep nesting) as JSON text."""
    text = json.dumps(document, indent=1).encode()
    return st.one_of(
        st.binary(max_size=300),
        mutated_bytes([text]),
        mutated_value(document, json_values).map(dump),
        mutated_value(document, json_values).map(dump),
    )


def dump(value: Any) -> bytes:
    """JSON text of a mutated document (bytes a mutation put in become latin-1 text)."""
    return json.dumps(value, default=lambda item: bytes(item).decode("latin-1")).encode()


DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
"""Nesting far past Python's recursion limit, well inside every size limit."""
NEWLINE_KEY = {"unknown\nkey": 1}
"""An unknown key whose name holds a newline (error messages are one line)."""
