"""docs/COMMERCE.md shows the team life cycle the code runs, move for move.

Method: parse the Markdown table and the diagram under "### Team life cycle" and compare them
with `TEAM_LIFE_CYCLE` in commerce/team_lifecycle.py, as test_life_cycle_doc.py does for
orders.
"""

from __future__ import annotations

import re

from commerce.team_lifecycle import TEAM_LIFE_CYCLE, TeamAction
from commerce.teams_schema import TeamStatus
from tests.commerce.doc_tables import code_transitions, documented_transitions, section


def _section() -> str:
    return section("### Team life cycle")


def _status_name(status: int) -> str:
    return TeamStatus(status).name.lower()


def test_doc_team_transition_table_is_the_code_table() -> None:
    documented = documented_transitions(_section())
    in_code = code_transitions(TEAM_LIFE_CYCLE, _status_name)
    assert documented == in_code


def test_doc_team_diagram_names_only_the_table() -> None:
    diagram = _section().split("```")[1]
    actions = set(re.findall(r"\b(team_join|timer)\b", diagram))
    assert actions == {str(action) for action in TeamAction}
    statuses = set(re.findall(r"\b[A-Z]{4,}\b", diagram))
    assert statuses == {status.name for status in TeamStatus}
