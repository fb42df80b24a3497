"""How long-running work reports how far it is: a store rebuilding its state on open, a node
catching up, a devnet starting. The work calls a `Progress`; the CLI passes one that draws
on a terminal (cli/progress.py), everything else `NoProgress`.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """A report of the phase running now."""

    def step(self, text: str, done: int = 0, total: int | None = None) -> None:
        """The phase `text` runs and has done `done` of `total` units (None: size unknown)."""

    def clear(self) -> None:
        """No long-running phase now: hide the report until the next step."""


class NoProgress:
    """A `Progress` that reports nothing."""

    def step(self, text: str, done: int = 0, total: int | None = None) -> None:
        """Nothing."""

    def clear(self) -> None:
        """Nothing."""
