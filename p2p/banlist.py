"""Peers banned until a wall-clock time, optionally persisted through a `BanStore`.

Bans are keyed by identity key (never by IP: on a shared host or NAT an IP ban would hit
honest nodes). At most `capacity` bans are held; adding one more drops the one expiring
soonest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from base.limits import PUBLIC_KEY_BYTES


class BanStore(Protocol):
    """Where bans survive a restart. `load` may return expired entries; they are dropped."""

    def load(self) -> dict[bytes, float]: ...

    def save(self, bans: dict[bytes, float]) -> None: ...


class JsonFileBanStore:
    """A `BanStore` in one JSON file {key hex: unix expiry seconds}, written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[bytes, float]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(raw, dict):
            return {}
        bans: dict[bytes, float] = {}
        for key_hex, until in raw.items():
            try:
                key = bytes.fromhex(key_hex)
            except ValueError:
                continue
            if len(key) == PUBLIC_KEY_BYTES and isinstance(until, int | float):
                bans[key] = float(until)
        return bans

    def save(self, bans: dict[bytes, float]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k.hex(): v for k, v in bans.items()}), encoding="utf-8")
        tmp.replace(self.path)


class BanList:
    def __init__(
        self,
        capacity: int,
        store: BanStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        assert capacity > 0
        self.capacity = capacity
        self._store = store
        self._clock = clock
        self._until: dict[bytes, float] = {}
        if store is not None:
            now = clock()
            loaded = {k: v for k, v in store.load().items() if v > now}
            for key in sorted(loaded, key=loaded.__getitem__, reverse=True)[:capacity]:
                self._until[key] = loaded[key]

    def ban(self, key: bytes, duration_ms: int) -> None:
        """Ban `key` for `duration_ms` from now (extends, never shortens, a ban)."""
        assert len(key) == PUBLIC_KEY_BYTES
        assert duration_ms > 0
        until = self._clock() + duration_ms / 1000
        self._until[key] = max(until, self._until.get(key, 0.0))
        if len(self._until) > self.capacity:
            del self._until[min(self._until, key=self._until.__getitem__)]
        self._save()

    def unban(self, key: bytes) -> None:
        if self._until.pop(key, None) is not None:
            self._save()

    def is_banned(self, key: bytes) -> bool:
        until = self._until.get(key)
        if until is None:
            return False
        if until <= self._clock():
            del self._until[key]
            self._save()
            return False
        return True

    def entries(self) -> dict[bytes, float]:
        """Current bans {key: unix expiry seconds}, expired ones dropped."""
        now = self._clock()
        return {k: v for k, v in self._until.items() if v > now}

    def _save(self) -> None:
        if self._store is not None:
            self._store.save(dict(self._until))
