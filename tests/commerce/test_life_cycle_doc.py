"""docs/COMMERCE.md shows the order and team life cycles the code runs, move for move.

Method: parse the Markdown tables and the diagram under "### Order life cycle" and "### Team
life cycle" and compare them with the tables in commerce/lifecycle.py and
commerce/team_lifecycle.py: each transition table (status x action -> next statuses) row for
row, the names each diagram uses, and who may send each order action.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

import pytest

from commerce.lifecycle import ORDER_ACTIONS, ORDER_LIFE_CYCLE, OrderAction
from commerce.schema import OrderStatus
from commerce.team_lifecycle import TEAM_LIFE_CYCLE, TeamAction
from commerce.teams_schema import TeamStatus
from tests.commerce.doc_tables import (
    code_transitions,
    diagram_names,
    documented_transitions,
    section,
    tables,
)


@dataclass(frozen=True)
class LifeCycle:
    """One life cycle as the doc and the code hold it."""

    heading: str
    table: Mapping[tuple[int, Any], tuple[int, ...]]
    statuses: type[IntEnum]
    actions: type[StrEnum]
    action_names: str  # the regular expression of the actions the diagram names


LIFE_CYCLES = {
    "order": LifeCycle("### Order life cycle", ORDER_LIFE_CYCLE, OrderStatus, OrderAction,
                       r"order_[a-z]+|dispute_vote|timer"),
    "team": LifeCycle("### Team life cycle", TEAM_LIFE_CYCLE, TeamStatus, TeamAction,
                      r"team_join|timer"),
}


@pytest.mark.parametrize("name", LIFE_CYCLES)
def test_doc_transition_table_is_the_code_table(name: str) -> None:
    cycle = LIFE_CYCLES[name]
    documented = documented_transitions(section(cycle.heading))
    in_code = code_transitions(cycle.table, cycle.statuses)
    assert documented == in_code


def test_doc_who_may_act_is_the_code_table() -> None:
    rows = tables(section("### Order life cycle"))["type | who | fields"]
    # "validator (not buyer, merchant or sharer)": the words in brackets are the rule's
    # conflict_of_interest, not who may send it.
    documented = {tx_type: tuple(re.sub(r"\s*\(.*\)", "", who).split(" or "))
                  for tx_type, who, _ in rows}
    in_code = {str(action): tuple(str(party) for party in rule.who)
               for action, rule in ORDER_ACTIONS.items()}
    assert documented == in_code


@pytest.mark.parametrize("name", LIFE_CYCLES)
def test_doc_diagram_names_only_the_table(name: str) -> None:
    cycle = LIFE_CYCLES[name]
    actions, statuses = diagram_names(section(cycle.heading), cycle.action_names)
    assert actions == {str(action) for action in cycle.actions}
    assert statuses == {status.name for status in cycle.statuses}
