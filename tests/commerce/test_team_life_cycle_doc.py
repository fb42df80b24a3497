"""docs/COMMERCE.md shows the team life cycle the code runs, move for move.

Method: parse the Markdown table and the diagram under "### Team life cycle" and compare them
with `TEAM_LIFE_CYCLE` in commerce/team_lifecycle.py, as test_life_cycle_doc.py does for
orders.
"""

from __future__ import annotations

import re

from commerce.team_lifecycle import TEAM_LIFE_CYCLE, TeamAction
from commerce.teams_schema import TeamStatus
from tests.commerce.test_life_cycle_doc import DOC, _tables


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("### Team life cycle\n")
    end = text.index("\n## ", start + 1) if "\n## " in text[start:] else len(text)
    return text[start:end]


def _status_name(status: int) -> str:
    return TeamStatus(status).name.lower()


def test_doc_team_transition_table_is_the_code_table() -> None:
    rows = _tables(_section())["status | action | next status | note"]
    documented = [(status, action, tuple(next_statuses.split(", ")))
                  for status, action, next_statuses, _ in rows]
    in_code = [(_status_name(status), str(action), tuple(map(_status_name, next_statuses)))
               for (status, action), next_statuses in TEAM_LIFE_CYCLE.items()]
    assert documented == in_code


def test_doc_team_diagram_names_only_the_table() -> None:
    diagram = _section().split("```")[1]
    actions = set(re.findall(r"\b(team_join|timer)\b", diagram))
    assert actions == {str(action) for action in TeamAction}
    statuses = set(re.findall(r"\b[A-Z]{4,}\b", diagram))
    assert statuses == {status.name for status in TeamStatus}
