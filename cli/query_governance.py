"""`agora query proposals` and `agora query proposal`: governance proposals and their tallies
(docs/GOVERNANCE.md). `agora query validators --height H` is in `cli.query`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from cli.context import NodeContext
from cli.query import CursorOpt, IdArg, LimitOpt, _fields, _page, query_command


class ProposalStatus(StrEnum):
    """Where a proposal is."""

    open = "open"
    passed = "passed"
    rejected = "rejected"
    expired = "expired"
    withdrawn = "withdrawn"
    failed = "failed"


@query_command("proposals")
def proposals(
    node: NodeContext, *,
    status: Annotated[ProposalStatus | None, typer.Option(
        help="Only proposals of this status.")] = None,
    cursor: CursorOpt = None, limit: LimitOpt = 50,
) -> None:
    """Governance proposals with their tallies."""
    page = node.call("state_listProposals", status=None if status is None else status.value,
                     cursor=cursor, limit=limit)
    _page(node, page, [("id", "ID"), ("kind", "KIND"), ("status", "STATUS"),
                       ("name", "NAME"), ("param", "PARAM"), ("value", "VALUE"),
                       ("yes", "YES"), ("no", "NO"), ("expires_height", "EXPIRES"),
                       ("activation_height", "ACTIVATES")])


@query_command("proposal")
def proposal(node: NodeContext, proposal_id: IdArg) -> None:
    """A governance proposal: its change, its tally and where it is."""
    _fields(node, node.call("state_getProposal", id=proposal_id))
