"""Following the devnet's node logs: every line appended to each node's log, as it comes.

`follow` is the loop behind `agora devnet logs --follow`: it polls each log's size, reads
what was appended since the last poll and yields the complete lines (a line still being
written waits for its newline). A log that shrank (truncated or replaced) is read again from
its start. The caller decides when to stop (Ctrl-C in the CLI).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from devnet.processes import log_path

FOLLOW_INTERVAL_S = 0.2


def log_size(path: Path) -> int:
    """The log's size in bytes, 0 when it does not exist (yet)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def follow(homes: Mapping[str, Path], *, interval_s: float = FOLLOW_INTERVAL_S,
           sleep: Callable[[float], None] = time.sleep) -> Iterator[tuple[str, str]]:
    """(node name, line) for each line appended to the log of a node home from now on, in
    the order of `homes` within a poll; polls every `interval_s`, forever."""
    assert interval_s > 0, "a poll interval is needed"
    offsets = {name: log_size(log_path(home)) for name, home in homes.items()}
    partial = {name: b"" for name in homes}
    while True:
        for name, home in homes.items():
            path = log_path(home)
            size = log_size(path)
            if size < offsets[name]:  # the log was truncated or replaced
                offsets[name] = 0
            if size == offsets[name]:
                continue
            with path.open("rb") as handle:
                handle.seek(offsets[name])
                data = partial[name] + handle.read(size - offsets[name])
            offsets[name] = size
            *complete, partial[name] = data.split(b"\n")
            for raw in complete:
                yield name, raw.decode("utf-8", "replace")
        sleep(interval_s)
