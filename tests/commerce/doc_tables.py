"""docs/COMMERCE.md read as data: a section, its Markdown tables, and a life-cycle transition
table in the doc's words and in the code's."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import IntEnum
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "COMMERCE.md"
TRANSITION_HEADER = "status | action | next status | note"


def section(heading: str) -> str:
    """The text from the line `heading` to the next heading of level 2 or 3 (or the end)."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(heading + "\n")
    found = re.compile(r"^#{2,3} ", re.MULTILINE).search(text, start + len(heading))
    return text[start:found.start() - 1] if found else text[start:]


def tables(text: str) -> dict[str, list[list[str]]]:
    """Each Markdown table of `text` by its header line, as rows of stripped cells."""
    found: dict[str, list[list[str]]] = {}
    rows: list[list[str]] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            rows = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if rows is None:
            rows = found.setdefault(" | ".join(cells), [])
        elif not all(set(cell) <= {"-", ":"} for cell in cells):
            rows.append(cells)
    return found


def documented_transitions(text: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """The transition table of `text`: (status, action, next statuses) row by row."""
    return [(status, action, tuple(next_statuses.split(", ")))
            for status, action, next_statuses, _ in tables(text)[TRANSITION_HEADER]]


def code_transitions(table: Mapping[tuple[int, Any], tuple[int, ...]],
                     statuses: type[IntEnum]) -> list[tuple[str, str, tuple[str, ...]]]:
    """A code transition table (status, action) -> next statuses in the doc's words: each
    status by its name in lower case."""
    def name(status: int) -> str:
        return statuses(status).name.lower()

    return [(name(status), str(action), tuple(map(name, next_statuses)))
            for (status, action), next_statuses in table.items()]


def diagram_names(text: str, actions: str) -> tuple[set[str], set[str]]:
    """The names the first diagram (fenced block) of `text` uses: the actions matching the
    regular expression `actions`, and the statuses (words of four or more capitals)."""
    diagram = text.split("```")[1]
    return (set(re.findall(rf"\b({actions})\b", diagram)),
            set(re.findall(r"\b[A-Z]{4,}\b", diagram)))
