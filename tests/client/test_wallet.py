"""The SDK's wallet signs with the account's next nonce, counts what the node admits, and
decodes receipts; the blocking client reports an unreachable node as a transport error.

Method: an in-process node (the RPC method tests' `running` fixture) driven through
`AsyncWallet` over its `RpcClient`; receipts checked against the node's own answers.
"""

from __future__ import annotations

import socket

import pytest

from client import AsyncWallet, Receipt, RpcCallError, RpcTransportError, SyncRpcClient
from commerce.address import address_of, to_text
from commerce.keys import Keypair
from commerce.transfer import Transfer
from tests.rpc_methods.conftest import UNIT, Running


def _stranger() -> bytes:
    return address_of(Keypair.generate().public_key)


async def test_wallet_submits_a_run_reading_the_nonce_once(running: Running) -> None:
    await running.wait_height(1)
    wallet = AsyncWallet(running.client, running.key)
    assert wallet.address == running.address
    to = _stranger()
    receipts = await wallet.submit_all([Transfer(to=to, amount=2 * UNIT),
                                        Transfer(to=to, amount=UNIT)], timeout_ms=10_000)
    assert [r.status for r in receipts] == ["finalized", "finalized"]
    assert all(r.finalized and r.height is not None for r in receipts)
    assert await wallet.next_nonce() == 2 == await wallet.pending_nonce()
    event = receipts[0].events[0]
    assert (event.kind, event.addresses) == ("transfer", (running.address, to_text(to)))
    assert event.data == (2 * UNIT,) and event.fields["amount_decimal"] == "2"
    found = await running.client.transaction(receipts[1].tx_id)
    assert Receipt.from_result(found).events == receipts[1].events
    assert (await running.client.account(to_text(to)))["balance"] == 3 * UNIT


async def test_wallet_refused_submit_keeps_the_nonce(running: Running) -> None:
    await running.wait_height(1)
    wallet = AsyncWallet(running.client, running.key)
    first = await wallet.submit(Transfer(to=_stranger(), amount=UNIT), timeout_ms=10_000)
    assert first.finalized and await wallet.next_nonce() == 1
    stale = await wallet.sign(Transfer(to=_stranger(), amount=UNIT), nonce=0)
    with pytest.raises(RpcCallError) as refused:
        await wallet.submit(stale)
    assert refused.value.reason == "bad_nonce"
    assert await wallet.next_nonce() == 1
    second = await wallet.submit(Transfer(to=_stranger(), amount=UNIT), timeout_ms=10_000)
    assert second.finalized and await wallet.next_nonce() == 2


async def test_wallet_simulate_submits_nothing(running: Running) -> None:
    await running.wait_height(1)
    wallet = AsyncWallet(running.client, running.key)
    to = _stranger()
    simulated = await wallet.simulate(Transfer(to=to, amount=UNIT))
    assert simulated.status == "simulated" and not simulated.finalized
    assert [e.kind for e in simulated.events] == ["transfer"]
    assert await wallet.next_nonce() == 0
    assert (await running.client.account(to_text(to)))["balance"] == 0


async def test_wallet_without_wait_then_account_subscription_sees_it(
    running: Running,
) -> None:
    await running.wait_height(1)
    wallet = AsyncWallet(running.client, running.key)
    async with running.client.subscribe("account", address=wallet.address) as updates:
        admitted = await wallet.submit(Transfer(to=_stranger(), amount=UNIT), wait=False)
        assert admitted.height is None and await wallet.next_nonce() == 1
        update = await updates.next(timeout_s=10)
    assert update["tx"] == admitted.tx_id and update["type"] == "transfer"


def test_receipt_created_id_is_the_first_events_first_datum() -> None:
    result = {"id": "ab" * 32, "status": "finalized", "height": 7, "index": 0,
              "events": [{"kind": "listing_create", "addresses": ["agora1x"], "data": [3, 1],
                          "fields": {"listing": 3, "version": 1}}]}
    receipt = Receipt.from_result(result)
    assert (receipt.created_id, receipt.height, receipt.index) == (3, 7, 0)
    assert receipt.of_kind("listing_create")[0].fields == {"listing": 3, "version": 1}
    assert receipt.result is result
    assert Receipt.from_result({"id": "cd" * 32, "status": "admitted"}).created_id is None


def test_sync_client_unreachable_node_is_a_transport_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with SyncRpcClient(f"http://127.0.0.1:{port}", timeout_s=5) as client:
            with pytest.raises(RpcTransportError, match="cannot reach"):
                client.status()
