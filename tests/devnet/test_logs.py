"""`devnet.logs.follow`: the lines appended to each node's log after it starts, whole lines
only, and from the start again when a log shrinks.

Method: two fake node homes with a `node.log`; the poll's `sleep` is the test's hook that
appends to the logs between polls, so no time passes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devnet.logs import follow
from devnet.processes import log_path


def _homes(tmp_path: Path) -> dict[str, Path]:
    homes = {name: tmp_path / name for name in ("v0", "v1")}
    for home in homes.values():
        home.mkdir()
        log_path(home).write_text("old line\n")
    return homes


def _append(home: Path, text: str) -> None:
    with log_path(home).open("a", encoding="utf-8") as handle:
        handle.write(text)


class _Done(Exception):
    """Every step ran: stop following."""


def _run(homes: dict[str, Path], steps: list[Callable[[], None]]) -> list[tuple[str, str]]:
    """Everything `follow` yields while `steps` run one per poll."""
    pending = list(steps)

    def sleep(interval_s: float) -> None:
        if not pending:
            raise _Done
        pending.pop(0)()

    out: list[tuple[str, str]] = []
    try:
        for item in follow(homes, interval_s=0.01, sleep=sleep):
            out.append(item)
    except _Done:
        pass
    return out


def test_follow_yields_only_new_whole_lines_per_node(tmp_path: Path) -> None:
    homes = _homes(tmp_path)
    seen = _run(homes, [
        lambda: _append(homes["v1"], "one\ntw"),
        lambda: _append(homes["v1"], "o\n"),
        lambda: _append(homes["v0"], "zero\n"),
    ])
    assert seen == [("v1", "one"), ("v1", "two"), ("v0", "zero")]


def test_follow_rereads_a_truncated_log_from_its_start(tmp_path: Path) -> None:
    homes = _homes(tmp_path)
    seen = _run(homes, [lambda: log_path(homes["v0"]).write_text("new\n")])
    assert seen == [("v0", "new")]
