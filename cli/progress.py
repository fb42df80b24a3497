"""Progress of long-running commands, drawn with rich on a terminal and silent elsewhere.

`terminal_progress(enabled)` yields a reporter for `node.progress.Progress`: while a phase
runs (`step`), a transient line on stderr shows a spinner, what is happening, a bar when
the size is known, and the time spent; `clear` hides it until the next step, and nothing
of it is left behind. With `enabled` False (`--output json`) or when stderr is not a
terminal, the reporter does nothing, so what a command prints stays as parseable as before.
While the line is shown, rich moves what the program writes to stdout and stderr above
it; a log handler writing to `CurrentStderr` goes there too.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from node.progress import NoProgress
from node.progress import Progress as ProgressReport


class CurrentStderr:
    """A stream writing to whatever `sys.stderr` is at the time: rich swaps it while it
    draws, so log lines land above the progress line rather than through it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _WhenSized(ProgressColumn):
    """A column shown only for a phase of known size (a bar, a count)."""

    def __init__(self, column: ProgressColumn) -> None:
        super().__init__()
        self._column = column

    def render(self, task: Task) -> RenderableType:
        return self._column.render(task) if task.total is not None else ""


class _RichProgress:
    """One transient progress line, started on a step and stopped on `clear`."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), _WhenSized(BarColumn()),
            _WhenSized(MofNCompleteColumn()), TimeElapsedColumn(), console=console,
            transient=True)
        self._task: TaskID | None = None
        self._text = ""

    def step(self, text: str, done: int = 0, total: int | None = None) -> None:
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task(text, total=total, completed=done)
        elif text != self._text:  # a new phase: its own clock
            self._progress.reset(self._task, description=text, total=total, completed=done)
        else:
            self._progress.update(self._task, total=total, completed=done)
        self._text = text

    def clear(self) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
            self._progress.stop()
            self._task = None


@contextlib.contextmanager
def terminal_progress(enabled: bool = True, *,
                      console: Console | None = None) -> Iterator[ProgressReport]:
    """A progress reporter drawing on stderr (or `console`) if `enabled` and that is a
    terminal, else a silent one; the line is cleared on exit."""
    console = console or Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield NoProgress()
        return
    report = _RichProgress(console)
    try:
        yield report
    finally:
        report.clear()
