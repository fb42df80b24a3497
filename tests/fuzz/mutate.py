"""Shared fuzzing tools: the two tiers' settings and strategies that mutate valid encodings.

Each door's test draws from three sources: arbitrary bytes, byte-level mutations of a valid
encoding (flip, set, insert, delete, truncate, append, duplicate) and structure-aware
mutations of its decoded value (a node replaced by a value of another type, a huge integer,
a deep nesting; an element deleted or added), re-encoded as msgpack, JSON or TOML.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FAST_EXAMPLES = 200
DEEP_EXAMPLES = 5_000

_COMMON: dict[str, Any] = {
    "deadline": None,
    "derandomize": True,  # the same examples on every run: `make test` is reproducible
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                              HealthCheck.filter_too_much],
}
FAST = settings(max_examples=FAST_EXAMPLES, **_COMMON)
DEEP = settings(max_examples=DEEP_EXAMPLES, **_COMMON)
TIERS = [pytest.param(FAST, id="fast"), pytest.param(DEEP, id="deep", marks=pytest.mark.soak)]
"""Parametrize a test with `tier` over these: `make test` runs the fast tier, `make soak`
the deep one (the examples of the fast tier are a prefix of no other: each tier draws its
own)."""

MSGPACK_DEPTH_MAX = 1_024
"""Arrays msgpack nests at most when it packs or unpacks (its fixed stack)."""

INT_EDGES = (0, 1, -1, 255, 256, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, -2**63)
"""Integers at the edges of msgpack's formats and of the decoders' ranges."""

# --- leaves and values -------------------------------------------------------------------

msgpack_ints = st.one_of(st.sampled_from(INT_EDGES),
                         st.integers(min_value=-2**63, max_value=2**64 - 1))
msgpack_leaves = st.one_of(
    st.none(), st.booleans(), msgpack_ints, st.floats(allow_nan=True),
    st.binary(max_size=80), st.text(max_size=40),
)


def nested(leaf: Any, depth: int) -> Any:
    """`leaf` inside `depth` one-element arrays."""
    for _ in range(depth):
        leaf = [leaf]
    return leaf


msgpack_values = st.recursive(
    msgpack_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(st.text(max_size=8), inner, max_size=3),
    ),
    max_leaves=12,
) | st.builds(nested, msgpack_leaves, st.integers(min_value=1, max_value=1_000))

json_leaves = st.one_of(
    st.none(), st.booleans(), st.sampled_from(INT_EDGES), st.integers(),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=5),
                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
) | st.builds(nested, json_leaves, st.integers(min_value=1, max_value=40))

# --- byte-level mutations ------------------------------------------------------------------


@st.composite
def mutated_bytes(draw: st.DrawFn, valid: Sequence[bytes]) -> bytes:
    """One of `valid`, changed by 1-4 byte-level edits."""
    data = bytearray(draw(st.sampled_from(list(valid))))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        edit = draw(st.sampled_from(
            ["flip", "set", "insert", "delete", "truncate", "append", "duplicate"]))
        at = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        if edit == "flip" and data:
            data[at] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif edit == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xC0, 0xC1, 0xCA, 0xCF, 0xD3,
                                             0xDC, 0xDD, 0xDE, 0xDF, 0xFF,
                                             draw(st.integers(0, 255))]))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif edit == "delete" and data:
            del data[at:at + draw(st.integers(min_value=1, max_value=8))]
        elif edit == "truncate":
            del data[at:]
        elif edit == "append":
            data += draw(st.binary(min_size=1, max_size=16))
        elif edit == "duplicate" and data:
            data[at:at] = data[at:at + draw(st.integers(min_value=1, max_value=16))]
    return bytes(data)


# --- structure-aware mutations ----------------------------------------------------------


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node of a nested list/dict value, the root first."""
    out = [prefix]
    if isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_paths(item, (*prefix, index)))
    elif isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*prefix, key)))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    parent = _get(value, path[:-1])
    parent[path[-1]] = new
    return value


@st.composite
def mutated_value(draw: st.DrawFn, value: Any, values: st.SearchStrategy[Any]) -> Any:
    """A deep copy of `value` (nested lists/dicts) with 1-3 structural edits: a node
    replaced by a drawn value, a huge integer or a deeper nesting of itself; an element
    deleted from or added to an array or a map."""
    value = json.loads(json.dumps(value)) if not _has_bytes(value) else _copy(value)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        edit = draw(st.sampled_from(["retype", "retype", "replace", "huge", "nest", "delete",
                                     "add"]))
        paths = _paths(value)
        if edit in ("retype", "huge"):  # a leaf, where the types are
            paths = [p for p in paths if not isinstance(_get(value, p), list | dict)] or paths
        path = draw(st.sampled_from(paths))
        node = _get(value, path)
        if edit == "retype":
            value = _replace(value, path, draw(st.sampled_from(_neighbours(node))))
        elif edit == "replace":
            value = _replace(value, path, draw(values))
        elif edit == "huge":
            value = _replace(value, path, draw(st.sampled_from(INT_EDGES)))
        elif edit == "nest":
            value = _replace(value, path, nested(node, draw(st.integers(1, 40))))
        elif edit == "delete" and isinstance(node, list) and node:
            del node[draw(st.integers(min_value=0, max_value=len(node) - 1))]
        elif edit == "delete" and isinstance(node, dict) and node:
            del node[draw(st.sampled_from(sorted(node)))]
        elif edit == "add" and isinstance(node, list):
            node.insert(draw(st.integers(min_value=0, max_value=len(node))), draw(values))
        elif edit == "add" and isinstance(node, dict):
            node[draw(st.text(max_size=12))] = draw(values)
    return value


def _neighbours(node: Any) -> list[Any]:
    """Values close to `node` but of another type or just out of its shape: what a careless
    or hostile encoder writes instead (a bool for an int, text for bytes, one byte short)."""
    if isinstance(node, bool):
        return [int(node), None, str(node).lower(), not node]
    if isinstance(node, int):
        near = [n for n in (-node - 1, node + 1) if -2**63 <= n < 2**64]
        return [True, False, float(node), str(node), str(node).encode(), None, *near]
    if isinstance(node, bytes):
        return [node.decode("latin-1"), node[:-1], node + b"\0", b"", None, len(node),
                list(node[:4]), bytes(len(node))]
    if isinstance(node, str):
        return [node.encode(), "", node * 50, None, 0, node + "\n", node.upper()]
    if node is None:
        return [0, False, b"", "", []]
    if isinstance(node, float):
        return [int(node) if node == node and abs(node) < 2**63 else 0, str(node)]
    if isinstance(node, list):
        return [tuple(node)[:0], None, {str(i): v for i, v in enumerate(node)}, node[:1]]
    if isinstance(node, dict):
        return [list(node.values()), list(node), None, {}]
    return [None]


def _has_bytes(value: Any) -> bool:
    if isinstance(value, bytes):
        return True
    if isinstance(value, list):
        return any(_has_bytes(item) for item in value)
    if isinstance(value, dict):
        return any(_has_bytes(item) for item in value.values())
    return False


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_copy(item) for item in value]
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value


def pack(value: Any) -> bytes:
    """msgpack bytes of `value` as the decoders' encoders write them (bin type for bytes)."""
    return bytes(msgpack.packb(value, use_bin_type=True))


@st.composite
def mutated_msgpack(draw: st.DrawFn, valid: Sequence[bytes]) -> bytes:
    """One of `valid` decoded, structurally mutated and packed again."""
    raw = draw(st.sampled_from(list(valid)))
    value = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    mutated = draw(mutated_value(value, msgpack_values))
    try:
        return pack(mutated)
    except ValueError:  # deeper than msgpack packs: the same depth, written by hand
        return b"\x91" * MSGPACK_DEPTH_MAX + raw


def fuzz_bytes(valid: Sequence[bytes], max_size: int = 512) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, byte-level mutations and structure-aware mutations of `valid`."""
    return st.one_of(st.binary(max_size=max_size), mutated_bytes(valid), mutated_msgpack(valid),
                     mutated_msgpack(valid))


def expect_only(errors: type[BaseException] | tuple[type[BaseException], ...],
                call: Callable[[], Any]) -> BaseException | None:
    """Run `call`; None when it returned, the error when it raised one of `errors`; any other
    exception fails the test (it propagates with its traceback)."""
    try:
        call()
    except errors as exc:
        return exc
    return None
