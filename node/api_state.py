"""`state_*` JSON-RPC methods: reads of the shop's state on the latest finalized block."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import field_validator

from commerce import ledger
from commerce.address import from_text, to_text
from node.api import Params
from node.render import json_object
from node.rpc import Registry

if TYPE_CHECKING:
    from node.service import Node


class AddressParams(Params):
    """An account address in its text form (agora1...)."""

    address: str

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        from_text(value)
        return value


def register_state_methods(registry: Registry, node: Node) -> None:
    """Register the `state_*` methods of `node` on `registry`."""

    def state() -> Any:
        assert node.store is not None
        return node.store.state

    async def get_account(params: AddressParams) -> dict[str, Any]:
        """An account's balance and next nonce (pending transactions counted apart)."""
        address = from_text(params.address)
        account = ledger.get_account(state(), address)
        assert node.mempool is not None
        return {
            **json_object({"balance": account.balance}),
            "address": to_text(address),
            "nonce": account.nonce,
            "pending_nonce": node.mempool.pending_nonce(address),
        }

    async def get_supply(params: Params) -> dict[str, Any]:
        """Total supply and its parts: genesis, minted, in escrow."""
        supply = ledger.get_supply(state())
        return json_object({"total": supply.total, "genesis": supply.genesis,
                            "minted": supply.minted, "escrow": supply.escrow})

    registry.add("state_getAccount", get_account, params=AddressParams,
                 summary="An account's balance and nonce")
    registry.add("state_getSupply", get_supply, summary="Total supply and its parts")
