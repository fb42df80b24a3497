"""docs/COMMERCE.md shows the order life cycle the code runs, move for move.

Method: parse the Markdown tables and the diagram under "### Order life cycle" and compare
them with the tables in commerce/lifecycle.py: the transition table (status x action ->
next statuses) row for row, who may send each action, and the names the diagram uses.
"""

from __future__ import annotations

import re
from pathlib import Path

from commerce.lifecycle import ORDER_ACTIONS, ORDER_LIFE_CYCLE, OrderAction
from commerce.schema import OrderStatus

DOC = Path(__file__).resolve().parents[2] / "docs" / "COMMERCE.md"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("### Order life cycle\n")
    end = text.index("\n### ", start + 1)
    return text[start:end]


def _tables(section: str) -> dict[str, list[list[str]]]:
    """Each Markdown table of the section by its header line, as rows of stripped cells."""
    tables: dict[str, list[list[str]]] = {}
    rows: list[list[str]] | None = None
    for line in section.splitlines():
        if not line.startswith("|"):
            rows = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if rows is None:
            rows = tables.setdefault(" | ".join(cells), [])
        elif not all(set(cell) <= {"-", ":"} for cell in cells):
            rows.append(cells)
    return tables


def _status_name(status: int) -> str:
    return OrderStatus(status).name.lower()


def test_doc_transition_table_is_the_code_table() -> None:
    rows = _tables(_section())["status | action | next status | note"]
    documented = [(status, action, tuple(next_statuses.split(", ")))
                  for status, action, next_statuses, _ in rows]
    in_code = [(_status_name(status), str(action), tuple(map(_status_name, next_statuses)))
               for (status, action), next_statuses in ORDER_LIFE_CYCLE.items()]
    assert documented == in_code


def test_doc_who_may_act_is_the_code_table() -> None:
    rows = _tables(_section())["type | who | fields"]
    # "validator (not buyer, merchant or sharer)": the words in brackets are the rule's
    # conflict_of_interest, not who may send it.
    documented = {tx_type: tuple(re.sub(r"\s*\(.*\)", "", who).split(" or "))
                  for tx_type, who, _ in rows}
    in_code = {str(action): tuple(str(party) for party in rule.who)
               for action, rule in ORDER_ACTIONS.items()}
    assert documented == in_code


def test_doc_diagram_names_only_the_table() -> None:
    diagram = _section().split("```")[1]
    actions = set(re.findall(r"\b(order_[a-z]+|dispute_vote|timer)\b", diagram))
    assert actions == {str(action) for action in OrderAction}
    statuses = set(re.findall(r"\b[A-Z]{4,}\b", diagram))
    assert statuses == {status.name for status in OrderStatus}
