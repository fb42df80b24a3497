"""A 4-validator chain of real node processes agrees: every node's users' transactions commit
everywhere, a transaction can be followed over WebSocket, and a restarted node catches up.

Method: one module-scoped devnet layout (4 `agora start` processes on free loopback ports,
real LevelDB) shared by the tests in file order; the restart test runs last because it
stops a node. Every check is one a user could make over JSON-RPC: heights, block hashes,
balances and nonces read from each node.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from client.rpc import RpcClient
from commerce.address import address_of, to_text
from commerce.keys import Keypair
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from tests.node_e2e.conftest import UNIT, Chain4

pytestmark = pytest.mark.e2e

USERS = ("alice", "bob", "carol", "acme")  # user i sends its transactions to node i
TXS_PER_USER = 3


async def eventually(check: Callable[[], Awaitable[Any]], timeout_s: float = 30.0,
                     what: str = "condition") -> Any:
    """Poll `check` until it returns a truthy value; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} not reached in {timeout_s}s (last: {last!r})")


async def heights(clients: list[RpcClient]) -> list[int]:
    return [(await c.call("node_status"))["height"] for c in clients]


async def block_hash(client: RpcClient, height: int) -> str:
    block = await client.call("chain_getBlock", height=height, full_txs=False)
    return str(block["header"]["hash"])


async def test_four_validators_each_node_gets_one_users_txs_and_all_agree(chain4: Chain4) -> None:
    clients = [RpcClient(node.url) for node in chain4.nodes]
    receiver = chain4.address_text("bazaar")
    try:
        before = {name: await clients[0].call("state_getAccount",
                                               address=chain4.address_text(name))
                  for name in (*USERS, "bazaar")}
        sent: dict[str, list[str]] = {}
        for index, name in enumerate(USERS):
            key = chain4.keypair(name)
            first = before[name]["pending_nonce"]
            txs = [sign_tx(key, chain4.chain_id, first + k,
                           Transfer(to=chain4.address("bazaar"), amount=(index + 1) * UNIT))
                   for k in range(TXS_PER_USER)]
            results = await asyncio.gather(*(clients[index].call("tx_submit", tx=tx.raw.hex())
                                             for tx in txs))
            assert [r["id"] for r in results] == [tx.tx_id.hex() for tx in txs]
            sent[name] = [tx.tx_id.hex() for tx in txs]

        async def all_committed() -> bool:
            for client in clients:
                for name in USERS:
                    account = await client.call("state_getAccount",
                                                address=chain4.address_text(name))
                    if account["nonce"] != before[name]["nonce"] + TXS_PER_USER:
                        return False
            return True

        await eventually(all_committed, 30, "every user's transactions on every node")
        target = max(await heights(clients))
        await eventually(lambda: _all_at(clients, target), 20, f"height {target} everywhere")
        hashes = [await block_hash(c, target) for c in clients]
        assert len(set(hashes)) == 1, hashes
        for name in USERS:  # each transaction sits in the same block on every node
            for tx_id in sent[name]:
                places = [await c.call("chain_getTransaction", id=tx_id) for c in clients]
                assert {(p["status"], p["height"], p["block_hash"]) for p in places} == {
                    ("finalized", places[0]["height"], places[0]["block_hash"])}
        views = [[await c.call("state_getAccount", address=chain4.address_text(n))
                  for n in (*USERS, "bazaar")] for c in clients]
        assert all(view == views[0] for view in views)
        by_name = dict(zip((*USERS, "bazaar"), views[0], strict=True))
        total = 0
        for index, name in enumerate(USERS):
            paid = TXS_PER_USER * (index + 1) * UNIT
            total += paid
            assert by_name[name]["balance"] == before[name]["balance"] - paid
        assert by_name["bazaar"]["balance"] == before["bazaar"]["balance"] + total
        assert by_name["bazaar"]["address"] == receiver
    finally:
        for client in clients:
            await client.close()


async def _all_at(clients: list[RpcClient], height: int) -> bool:
    return min(await heights(clients)) >= height


async def test_four_validators_tx_followed_over_websocket_from_submit_to_commit(
    chain4: Chain4,
) -> None:
    node = chain4.nodes[1]
    recipient = address_of(Keypair.generate().public_key)
    async with RpcClient(node.url, timeout_s=10) as client:
        carol = await client.call("state_getAccount", address=chain4.address_text("carol"))
        tx = sign_tx(chain4.keypair("carol"), chain4.chain_id, carol["pending_nonce"],
                     Transfer(to=recipient, amount=3 * UNIT, memo="followed"))
        async with await client.websocket() as ws:
            blocks = await ws.subscribe("newBlocks")
            account = await ws.subscribe("account", address=to_text(recipient))
            followed = await ws.subscribe("tx", id=tx.tx_id.hex())
            submitted = await client.call("tx_submit", tx=tx.raw.hex())
            assert submitted == {"id": tx.tx_id.hex(), "status": "pending"}
            admitted = await followed.next(timeout_s=10)
            finalized = await followed.next(timeout_s=20)
            assert admitted == {"id": tx.tx_id.hex(), "status": "admitted"}
            assert finalized["status"] == "finalized"
            assert finalized["id"] == tx.tx_id.hex()
            assert finalized["events"][0]["kind"] == "transfer"
            touched = await account.next(timeout_s=5)
            assert touched["tx"] == tx.tx_id.hex()
            assert touched["height"] == finalized["height"]
            header = await blocks.next(timeout_s=5)
            while header["height"] < finalized["height"]:
                header = await blocks.next(timeout_s=5)
            assert header["height"] == finalized["height"]
            assert header["tx_count"] >= 1
            assert header["hash"] == await block_hash(client, finalized["height"])
        received = await client.call("state_getAccount", address=to_text(recipient))
        assert received["balance"] == 3 * UNIT


async def test_four_validators_restarted_node_resumes_and_catches_up(chain4: Chain4) -> None:
    down = chain4.nodes[3]
    others = [RpcClient(n.url, timeout_s=30) for n in chain4.nodes[:3]]
    try:
        async with RpcClient(down.url) as client:
            stopped_at = (await client.call("node_status"))["height"]
        assert down.stop(signal.SIGTERM) == 0, down.log_tail()
        assert "node_stopped" in down.log_text()
        # While it is down, the other three keep making blocks and take transactions.
        alice = await others[0].call("state_getAccount", address=chain4.address_text("alice"))
        missed = []
        for k in range(3):
            tx = sign_tx(chain4.keypair("alice"), chain4.chain_id, alice["pending_nonce"] + k,
                         Transfer(to=chain4.address("carol"), amount=UNIT))
            result = await others[k % 3].call("tx_submit", tx=tx.raw.hex(), wait="commit",
                                              timeout_ms=30_000)
            missed.append(result)
        ahead = max(stopped_at, max(r["height"] for r in missed)) + 3
        await eventually(lambda: _all_at(others, ahead), 30, f"height {ahead} on the others")
        down.start()
        resumed = down.wait_ready(min_height=0, timeout_s=30)
        assert resumed["height"] >= stopped_at  # its own blocks were kept
        target = max(await heights(others))
        async with RpcClient(down.url) as client:
            await eventually(lambda: _all_at([client], target), 40,
                             f"restarted node at height {target}")
            assert await block_hash(client, target) == await block_hash(others[0], target)
            for result in missed:
                found = await client.call("chain_getTransaction", id=result["id"])
                assert found["status"] == "finalized"
                assert found["height"] == result["height"]
            balance = (await client.call("state_getAccount",
                                         address=chain4.address_text("alice")))["balance"]
            assert balance == alice["balance"] - 3 * UNIT
            # And it keeps up with the chain afterwards.
            later = target + 2
            await eventually(lambda: _all_at([client, *others], later), 20,
                             f"height {later} everywhere")
    finally:
        for client in others:
            await client.close()
