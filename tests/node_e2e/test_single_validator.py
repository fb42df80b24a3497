"""A one-validator chain made with `agora init` and `agora start` makes blocks and finalizes a
transfer a user submits.

Method: the session's single node (real CLI processes, free ports written to config.toml)
is driven over JSON-RPC with the real client; the test checks what a user would: the height
grows, `tx_submit` with `wait: commit` answers finalized, and both balances moved.
"""

from __future__ import annotations

import asyncio

import pytest

from client.rpc import RpcClient
from commerce.address import address_of, to_text
from commerce.keys import Keypair
from tests.node_e2e.conftest import UNIT, SingleNode

pytestmark = pytest.mark.e2e


async def test_single_validator_idle_chain_makes_blocks(single_node: SingleNode) -> None:
    async with RpcClient(single_node.node.url) as client:
        first = await client.call("node_status")
        assert first["validator"] is True
        assert first["chain_id"] == single_node.chain_id
        for _ in range(50):
            await asyncio.sleep(0.1)
            later = await client.call("node_status")
            if later["height"] >= first["height"] + 2:
                break
        assert later["height"] >= first["height"] + 2
        block = await client.call("chain_getBlock", height=later["height"])
        assert block["header"]["height"] == later["height"]


async def test_single_validator_transfer_with_wait_commit_is_finalized_and_balances_move(
    single_node: SingleNode,
) -> None:
    sender = to_text(address_of(single_node.validator.public_key))
    recipient_bytes = address_of(Keypair.generate().public_key)
    recipient = to_text(recipient_bytes)
    async with RpcClient(single_node.node.url) as client:
        before = await client.call("state_getAccount", address=sender)
        supply = await client.call("state_getSupply")
        tx = single_node.transfer(recipient_bytes, 7 * UNIT, before["pending_nonce"])
        result = await client.call("tx_submit", tx=tx.raw.hex(), wait="commit",
                                   timeout_ms=20_000)
        assert result["status"] == "finalized"
        assert result["id"] == tx.tx_id.hex()
        assert result["height"] >= 1
        after = await client.call("state_getAccount", address=sender)
        received = await client.call("state_getAccount", address=recipient)
        stored = await client.call("chain_getTransaction", id=tx.tx_id.hex())
        block = await client.call("chain_getBlock", height=result["height"])
        assert await client.call("state_getSupply") == supply
    assert after["balance"] == before["balance"] - 7 * UNIT
    assert after["nonce"] == before["nonce"] + 1
    assert received["balance"] == 7 * UNIT
    assert received["balance_decimal"] == "7"
    assert stored["status"] == "finalized" and stored["height"] == result["height"]
    assert tx.tx_id.hex() in [t["id"] for t in block["txs"]]
