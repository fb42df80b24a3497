"""State views: a read-only base and overlays that collect writes until they are merged.

Everything that changes state goes through an `Overlay`. A transaction runs in a child
overlay of the block's overlay and is merged only when it succeeds, so a rejected
transaction changes nothing. The block's overlay holds the block's whole write set, which
the store writes in one batch and the state root commits to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import repeat
from typing import Any, Protocol

from base.limits import DIGEST_BYTES
from commerce.encoding import encode, pack_plain, sha256

_DELETED = None
_MISS = object()
_NO_CACHE: Mapping[bytes, bytes | None] = {}


class StateReader(Protocol):
    """Read access to committed state: the node's store, or a dict in tests."""

    def get(self, key: bytes) -> bytes | None:
        """The value stored at `key`, or None."""
        ...

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """All (key, value) pairs whose key starts with `prefix`, in key order."""
        ...


class MemoryState:
    """A StateReader over a dict, for tests, simulation and the benchmark."""

    def __init__(self, items: Mapping[bytes, bytes] | None = None) -> None:
        self.items: dict[bytes, bytes] = dict(items or {})
        self.read_cache: Mapping[bytes, bytes | None] = self.items

    def get(self, key: bytes) -> bytes | None:
        return self.items.get(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for key in sorted(k for k in self.items if k.startswith(prefix)):
            yield key, self.items[key]

    def apply(self, writes: Mapping[bytes, bytes | None]) -> None:
        """Apply a write set (None deletes)."""
        for key, value in writes.items():
            if value is None:
                self.items.pop(key, None)
            else:
                self.items[key] = value


class Overlay:
    """A writable view over a parent reader. Writes stay here until `merge_into_parent`."""

    __slots__ = ("parent", "writes", "_levels", "_base_get", "_base_cache")

    def __init__(self, parent: StateReader | Overlay) -> None:
        self.parent = parent
        self.writes: dict[bytes, bytes | None] = {}
        # The write dicts from this overlay down to the first one, and the base reader's
        # `get`: a read walks them in a loop rather than one call per level. The dicts are
        # the overlays' own (`merge_into_parent` updates and clears them in place).
        if isinstance(parent, Overlay):
            self._levels: tuple[dict[bytes, bytes | None], ...] = (
                (self.writes, *parent._levels))
            self._base_get: Callable[[bytes], bytes | None] = parent._base_get
            self._base_cache: Mapping[bytes, bytes | None] = parent._base_cache
        else:
            self._levels = (self.writes,)
            self._base_get = parent.get
            # A reader may expose `read_cache`: entries that are exactly what `get` returns
            # (the store's read cache). Looking there first saves a call per read.
            self._base_cache = getattr(parent, "read_cache", _NO_CACHE)

    def get(self, key: bytes) -> bytes | None:
        """The value at `key` as seen through this overlay."""
        for writes in self._levels:
            value = writes.get(key, _MISS)
            if value is not _MISS:
                return value  # type: ignore[return-value]
        value = self._base_cache.get(key, _MISS)
        if value is not _MISS:
            return value  # type: ignore[return-value]
        return self._base_get(key)

    def put(self, key: bytes, value: bytes) -> None:
        """Set `key` to `value` (bytes: `write_set_digest` refuses anything else)."""
        self.writes[key] = value

    def delete(self, key: bytes) -> None:
        """Remove `key`."""
        self.writes[key] = _DELETED

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs under `prefix` as seen through this overlay, in key order."""
        merged: dict[bytes, bytes | None] = dict(self.parent.iterate(prefix))
        for key, value in self.writes.items():
            if key.startswith(prefix):
                merged[key] = value
        for key in sorted(merged):
            value = merged[key]
            if value is not None:
                yield key, value

    def child(self) -> Overlay:
        """A new overlay on top of this one."""
        return Overlay(self)

    def merge_into_parent(self) -> None:
        """Move this overlay's writes into its parent overlay."""
        assert isinstance(self.parent, Overlay), "only a child overlay merges"
        self.parent.writes.update(self.writes)
        self.writes.clear()


def write_set_digest(writes: Mapping[bytes, bytes | None]) -> bytes:
    """SHA-256 over the write set sorted by key (a delete is an empty marker).

    Raises TypeError if a key is not bytes or a value is neither bytes nor None (a rule
    that wrote something else is a bug; no state root is made of it).
    """
    keys = sorted(writes)
    values = list(map(writes.__getitem__, keys))
    if not (_BYTES_TYPE.issuperset(map(type, keys))
            and _VALUE_TYPES.issuperset(map(type, values))):
        raise TypeError("state keys are bytes and values bytes or None (deleted)")
    # Every leaf is bytes or bool, so the canonical form is msgpack's own: pack directly
    # (msgpack packs a tuple as the same array as a list).
    if None in values:
        flags = [value is None for value in values]
        values = [b"" if value is None else value for value in values]
        items: list[Any] = list(zip(keys, values, flags, strict=True))
    else:
        items = list(zip(keys, values, repeat(False, len(keys)), strict=True))
    return sha256(pack_plain(items))


_BYTES_TYPE = frozenset({bytes})
_VALUE_TYPES = frozenset({bytes, type(None)})


def next_state_root(prev_root: bytes, height: int, writes: Mapping[bytes, bytes | None]) -> bytes:
    """The state root after a block: a hash chain over each block's sorted write set.

    Every replica that applies the same blocks computes the same root; any difference in
    any write at any height changes every later root.
    """
    assert len(prev_root) == DIGEST_BYTES, "roots are SHA-256 digests"
    assert height >= 0
    return sha256(encode(["agora/state/v1", prev_root, height, write_set_digest(writes)]))
