"""docs/COMMERCE.md shows the order life cycle the code runs, move for move.

Method: parse the Markdown tables and the diagram under "### Order life cycle" and compare
them with the tables in commerce/lifecycle.py: the transition table (status x action ->
next statuses) row for row, who may send each action, and the names the diagram uses.
"""

from __future__ import annotations

import re

from commerce.lifecycle import ORDER_ACTIONS, ORDER_LIFE_CYCLE, OrderAction
from commerce.schema import OrderStatus
from tests.commerce.doc_tables import code_transitions, documented_transitions, section, tables


def _section() -> str:
    return section("### Order life cycle")


def _status_name(status: int) -> str:
    return OrderStatus(status).name.lower()


def test_doc_transition_table_is_the_code_table() -> None:
    documented = documented_transitions(_section())
    in_code = code_transitions(ORDER_LIFE_CYCLE, _status_name)
    assert documented == in_code


def test_doc_who_may_act_is_the_code_table() -> None:
    rows = tables(_section())["type | who | fields"]
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
