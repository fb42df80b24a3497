"""Governance JSON-RPC methods: the validator set and the parameters at a height, and the
proposals.

`chain_getValidators` answers for any height up to the head + 2 (the sets fixed so far:
a change passed in block h takes effect at h + 2 or later, docs/GOVERNANCE.md);
`chain_getParams` for any height up to the head (the parameters blocks were made with);
`state_getProposal` and `state_listProposals` read the proposals and their tallies.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from commerce import governance_queries
from commerce.limits import MIN_ACTIVATION_BLOCKS
from node.chain import Chain
from node.errors import NodeError, NodeErrorCode
from node.rpc.jsonrpc import Registry
from node.rpc.params import IdParams, PageParams, Params
from node.rpc.render import json_object
from node.rpc.state_methods import StateRead, register_state_reads

ProposalStatusName = Literal["open", "passed", "rejected", "expired", "withdrawn", "failed"]


class ValidatorsParams(Params):
    """`height` whose set to list (1 .. head + 2), or omit for the next block's."""

    height: Annotated[int, Field(ge=1)] | None = None


class ChainParamsParams(Params):
    """`height` whose parameters to show (1 .. head), or omit for the head's."""

    height: Annotated[int, Field(ge=1)] | None = None


class ProposalsParams(PageParams):
    """Governance proposals, optionally only those of one status."""

    status: ProposalStatusName | None = None


GOVERNANCE_READS: tuple[StateRead, ...] = (
    StateRead("state_getProposal", IdParams, "A governance proposal",
              lambda state, p, page: governance_queries.proposal(state, p.id),
              lambda p: f"proposal {p.id}"),
    StateRead("state_listProposals", ProposalsParams, "Governance proposals",
              lambda state, p, page: governance_queries.proposals(state, status=p.status,
                                                                  **page),
              lambda p: "proposals"),
)


def register_governance_methods(registry: Registry, chain: Chain, page_items_max: int) -> None:
    """Register `chain_getValidators`, `chain_getParams`, `state_getProposal` and
    `state_listProposals`."""

    async def get_validators(params: ValidatorsParams) -> list[dict[str, Any]]:
        """The validator set in force at a height, in primary rotation order."""
        head = chain.height
        height = head + 1 if params.height is None else params.height
        if height > head + MIN_ACTIVATION_BLOCKS:
            raise NodeError(NodeErrorCode.NOT_FOUND,
                            f"the set of height {height} is not fixed yet (head {head})")
        return governance_queries.validators(chain.store.state, chain.genesis, height)

    registry.add("chain_getValidators", get_validators, params=ValidatorsParams,
                 summary="The validator set in force at a height")

    async def get_params(params: ChainParamsParams) -> dict[str, Any]:
        """The chain parameters in force at a height and since when."""
        head = max(chain.height, 1)  # before the first block: the genesis parameters
        height = head if params.height is None else params.height
        if height > head:
            raise NodeError(NodeErrorCode.NOT_FOUND,
                            f"height {height} is above the head ({chain.height})")
        found = governance_queries.params(chain.store.state, chain.genesis, height)
        return {**found, "params": json_object(found["params"])}

    registry.add("chain_getParams", get_params, params=ChainParamsParams,
                 summary="The chain parameters in force at a height")
    register_state_reads(registry, chain, page_items_max, GOVERNANCE_READS)
