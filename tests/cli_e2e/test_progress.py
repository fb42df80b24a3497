"""cli/progress.py: a rich progress line on a terminal, nothing elsewhere.

Method: a rich Console forced to be a terminal (or not) writing into a StringIO; read what
the reporter drew."""

from __future__ import annotations

import io

from rich.console import Console

from cli.progress import terminal_progress
from node.progress import NoProgress


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=100), out


def test_progress_on_a_terminal_draws_the_phase_and_its_count() -> None:
    console, out = _console(terminal=True)
    with terminal_progress(True, console=console) as progress:
        progress.step("rebuilding the state", 3, 10)
        progress.clear()
        progress.step("catching up with peers: height 7")
    drawn = out.getvalue()
    assert "rebuilding the state" in drawn and "3/10" in drawn
    assert "catching up with peers: height 7" in drawn


def test_progress_is_silent_off_a_terminal_and_for_json() -> None:
    for terminal, enabled in ((False, True), (True, False)):
        console, out = _console(terminal)
        with terminal_progress(enabled, console=console) as progress:
            assert isinstance(progress, NoProgress)
            progress.step("starting 4 nodes")
        assert out.getvalue() == ""
