"""A closed store's LevelDB read directly, below the store's API."""

from __future__ import annotations

from pathlib import Path

import plyvel


def count_keys(path: Path, prefix: bytes) -> int:
    """How many keys of the database at `path` start with `prefix`."""
    db = plyvel.DB(str(path))
    try:
        return sum(1 for _ in db.iterator(prefix=prefix, include_value=False))
    finally:
        db.close()
