"""How a long benchmark tells how far it is, on stderr (stdout keeps the result).

A benchmark calls `progress(line)` for a status line ("starting 4 validators in ...") and
`progress.advance(phase, done, total, line)` for a measure of one phase (setup, measuring,
draining, catch-up, blocks; `total` None when unknown). Both are called between timed
sections, never inside one.

- `Progress` prints every line as it comes, the status lines and the phases' lines alike:
  what the benchmarks have always printed. The CLI uses it with `--output json` and when
  stderr is not a terminal, so stdout stays one JSON document and stderr stays greppable.
- `QuietProgress` prints nothing: for a command that was silent while it ran
  (`agora bench state`) when `rich` is not in use.
- `RichProgress`, when stderr is a terminal and the output is text: a `rich` bar per phase
  with its latest line beside it, the status lines printed above the bars. Phases run one
  after the other: a status line or a new phase stops the clock of the phase before (one
  of unknown total then shows full), and a phase named again later gets a new bar. It
  redraws from the caller's thread, at most every `REFRESH_S` (no refresh thread competes
  with the measured code for the interpreter).
"""

from __future__ import annotations

import sys
import time
from types import TracebackType

REFRESH_S = 0.1


class Progress:
    """Plain lines on stderr; use as a context manager (`close` on every path out)."""

    def __call__(self, line: str) -> None:
        """A status line."""
        print(line, file=sys.stderr, flush=True)

    def advance(self, phase: str, done: float, total: float | None, line: str) -> None:
        """`phase` is at `done` of `total` (None: unknown); `line` says it in words."""
        self(line)

    def close(self) -> None:
        """Stop drawing; nothing to do for plain lines."""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


class QuietProgress(Progress):
    """Prints nothing."""

    def __call__(self, line: str) -> None:
        """Ignored."""


class RichProgress(Progress):
    """A `rich` bar per phase on stderr; status lines above the bars."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            TaskID,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bars

        self._bars = Bars(
            TextColumn("{task.description:<10}", markup=False), BarColumn(),
            TaskProgressColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[line]}", markup=False),
            console=Console(stderr=True), auto_refresh=False)
        self._phase: str | None = None
        self._task: TaskID | None = None
        self._drawn_at = 0.0
        self._bars.start()

    def __call__(self, line: str) -> None:
        """A status line, printed above the bars; the phase that ran last is over."""
        self._stop_phase()
        self._bars.console.print(line, markup=False, highlight=False)
        self._draw()

    def advance(self, phase: str, done: float, total: float | None, line: str) -> None:
        """Move `phase`'s bar (a new bar when another phase ran last) and show `line`."""
        if phase != self._phase or self._task is None:
            self._stop_phase()
            self._phase = phase
            self._task = self._bars.add_task(phase, total=total, line=line)
        self._bars.update(self._task, completed=done, total=total, line=line)
        if time.monotonic() - self._drawn_at >= REFRESH_S:
            self._draw()

    def _stop_phase(self) -> None:
        """Stop the clock of the phase that ran last; one of unknown total ends full."""
        if self._task is None:
            return
        task = next(t for t in self._bars.tasks if t.id == self._task)
        if task.total is None:
            self._bars.update(self._task, total=task.completed)
        self._bars.stop_task(self._task)
        self._task = None

    def _draw(self) -> None:
        self._bars.refresh()
        self._drawn_at = time.monotonic()

    def close(self) -> None:
        """Draw the bars one last time and give the terminal back."""
        if self._bars.live.is_started:
            self._stop_phase()
            self._draw()
            self._bars.stop()


def open_progress(*, text_output: bool, lines: bool = True) -> Progress:
    """`RichProgress` when the output is text and stderr a terminal; otherwise plain lines
    (`Progress`), or nothing (`QuietProgress`) when `lines` is False."""
    if text_output and sys.stderr.isatty():
        return RichProgress()
    return Progress() if lines else QuietProgress()
