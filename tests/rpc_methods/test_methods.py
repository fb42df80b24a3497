"""Every node JSON-RPC method answers with its documented shape, and with `not_found` or the
right refusal for what does not exist.

Method: a real `node.service.Node` in the test's event loop (home from `init_home`, ports
0, real LevelDB, 100 ms idle blocks), called over HTTP with `RpcClient`; no process, no mock.
"""

from __future__ import annotations

import json

import pytest

from client.rpc import RpcCallError
from commerce.address import address_of, to_text
from commerce.encoding import decode, encode
from commerce.keys import Keypair
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from node.rpc.jsonrpc import encode_json
from node.rpc.routes import STATE
from tests.rpc_methods.conftest import CHAIN_ID, UNIT, Running

HEX64 = 64
MISSING = "ab" * 32


async def expect(running: Running, reason: str, method: str, **params: object) -> RpcCallError:
    with pytest.raises(RpcCallError) as caught:
        await running.client.call(method, **params)
    assert caught.value.reason == reason, caught.value
    return caught.value


async def test_node_status_reports_identity_head_and_ports(running: Running) -> None:
    await running.wait_height(1)
    status = await running.client.call("node_status")
    assert status["chain_id"] == CHAIN_ID
    assert status["validator"] is True
    assert status["node_id"] == running.key.public_key.hex()
    assert status["height"] >= 1 and len(status["latest_block_hash"]) == HEX64
    assert status["rpc_port"] == running.node.rpc_port and status["p2p_port"] > 0
    assert status["primary"] == running.key.public_key.hex()
    assert status["catching_up"] is False
    assert (status["peers"], status["mempool_txs"]) == (0, 0)
    assert await running.client.call("node_peers") == []


async def test_chain_get_block_latest_by_height_and_hash_agree(running: Running) -> None:
    await running.wait_height(2)
    latest = await running.client.call("chain_getBlock")
    height = latest["header"]["height"]
    by_height = await running.client.call("chain_getBlock", height=height)
    by_hash = await running.client.call("chain_getBlockByHash", hash=latest["header"]["hash"])
    assert latest == by_height == by_hash
    assert set(latest) == {"header", "tx_count", "txs", "certificate", "end_events"}
    assert latest["header"]["chain_id"] == CHAIN_ID
    first = await running.client.call("chain_getBlock", height=1)
    second = await running.client.call("chain_getBlock", height=2, full_txs=False)
    assert second["header"]["prev_hash"] == first["header"]["hash"]
    cert = await running.client.call("chain_getCertificate", height=1)
    assert cert == {"height": 1, "block_hash": first["header"]["hash"],
                    "certificate": first["certificate"]}
    assert len(cert["certificate"]) > 0


async def test_chain_reads_of_unknown_height_hash_or_tx_are_not_found(running: Running) -> None:
    await running.wait_height(1)
    far = 10**9
    error = await expect(running, "not_found", "chain_getBlock", height=far)
    assert error.code == -32058
    await expect(running, "not_found", "chain_getBlockByHash", hash=MISSING)
    await expect(running, "not_found", "chain_getCertificate", height=far)
    await expect(running, "not_found", "chain_getTransaction", id=MISSING)


async def test_chain_get_validators_lists_the_genesis_validator(running: Running) -> None:
    validators = await running.client.call("chain_getValidators")
    assert validators == [{"index": 0, "name": "agora-node",
                           "public_key": running.key.public_key.hex(),
                           "address": running.address, "p2p_address": "",
                           "merchant": None}]


async def test_state_get_account_has_amounts_with_decimal_siblings(running: Running) -> None:
    account = await running.client.call("state_getAccount", address=running.address)
    assert set(account) == {"address", "balance", "balance_decimal", "nonce", "pending_nonce"}
    assert account["balance"] > 0
    whole, _, fraction = account["balance_decimal"].partition(".")
    assert int(whole) * UNIT + int((fraction or "0").ljust(6, "0")) == account["balance"]
    empty = await running.client.call("state_getAccount",
                                      address=to_text(address_of(Keypair.generate().public_key)))
    assert (empty["balance"], empty["balance_decimal"], empty["nonce"]) == (0, "0", 0)
    await expect(running, "bad_address", "state_getAccount", address="agora1xyz")


async def test_state_get_supply_parts_sum_and_have_decimals(running: Running) -> None:
    supply = await running.client.call("state_getSupply")
    for name in ("total", "genesis", "minted", "escrow"):
        assert isinstance(supply[name], int)
        assert isinstance(supply[f"{name}_decimal"], str)
    account = await running.client.call("state_getAccount", address=running.address)
    assert supply["genesis"] == account["balance"]
    assert supply["total"] == supply["genesis"] + supply["minted"]


async def test_tx_submit_simulate_and_get_transaction_follow_a_transfer(
    running: Running,
) -> None:
    await running.wait_height(1)
    to = address_of(Keypair.generate().public_key)
    tx = running.transfer(to, 2 * UNIT, 0)
    simulated = await running.client.call("tx_simulate", tx=tx.raw.hex())
    assert simulated["ok"] is True and simulated["id"] == tx.tx_id.hex()
    assert simulated["events"][0]["kind"] == "transfer"
    assert (await running.client.call("state_getAccount", address=to_text(to)))["balance"] == 0
    done = await running.client.call("tx_submit", tx=tx.raw.hex(), wait="commit",
                                     timeout_ms=10_000)
    assert set(done) == {"id", "status", "height", "index", "events"}
    assert (done["status"], done["index"]) == ("finalized", 0)
    event = done["events"][0]
    assert event["kind"] == "transfer"
    assert event["addresses"] == [running.address, to_text(to)]
    found = await running.client.call("chain_getTransaction", id=tx.tx_id.hex())
    assert found["status"] == "finalized" and found["height"] == done["height"]
    assert found["tx"]["body"]["amount"] == 2 * UNIT
    assert found["tx"]["body"]["amount_decimal"] == "2"
    assert found["tx"]["sender"] == running.address and found["tx"]["nonce"] == 0
    assert found["events"] == done["events"]
    await expect(running, "bad_nonce", "tx_submit", tx=tx.raw.hex())


async def test_tx_submit_wait_finalized_answers_as_its_alias_commit(running: Running) -> None:
    await running.wait_height(1)
    to = address_of(Keypair.generate().public_key)
    answers = []
    for nonce, wait in enumerate(("finalized", "commit")):
        tx = running.transfer(to, UNIT, nonce)
        answers.append(await running.client.call("tx_submit", tx=tx.raw.hex(), wait=wait,
                                                  timeout_ms=10_000))
    assert [answer["status"] for answer in answers] == ["finalized", "finalized"]
    assert set(answers[0]) == set(answers[1]) == {"id", "status", "height", "index", "events"}


async def test_tx_submit_pending_then_get_transaction_shows_pending(running: Running) -> None:
    await running.wait_height(1)
    to = address_of(Keypair.generate().public_key)
    later = running.transfer(to, UNIT, 1)  # nonce 1 waits for nonce 0
    answer = await running.client.call("tx_submit", tx=later.raw.hex())
    assert answer == {"id": later.tx_id.hex(), "status": "pending"}
    pending = await running.client.call("chain_getTransaction", id=later.tx_id.hex())
    assert pending["status"] == "pending" and pending["tx"]["nonce"] == 1
    account = await running.client.call("state_getAccount", address=running.address)
    assert (account["nonce"], account["pending_nonce"]) == (0, 0)
    await expect(running, "duplicate_tx", "tx_submit", tx=later.raw.hex())
    timed_out = await expect(running, "timeout", "tx_submit",
                             tx=running.transfer(to, UNIT, 2).raw.hex(), wait="commit",
                             timeout_ms=300)
    assert timed_out.code == -32060


async def test_tx_submit_batch_answers_each_entry(running: Running) -> None:
    to = address_of(Keypair.generate().public_key)
    txs = [running.transfer(to, UNIT, n) for n in range(3)]
    answers = await running.client.call("tx_submitBatch", txs=[
        txs[0].raw.hex(), txs[1].raw.hex(), txs[0].raw.hex(), "zz", txs[2].raw.hex()])
    assert answers[0] == {"ok": True, "id": txs[0].tx_id.hex()}
    assert answers[1] == {"ok": True, "id": txs[1].tx_id.hex()}
    assert (answers[2]["ok"], answers[2]["reason"], answers[2]["code"]) == (
        False, "duplicate_tx", -32057)
    assert (answers[3]["ok"], answers[3]["reason"]) == (False, "malformed")
    assert answers[4]["ok"] is True
    await running.wait_height(running.node.store.head.height + 2)
    account = await running.client.call("state_getAccount", address=to_text(to))
    assert account["balance"] == 3 * UNIT


async def test_tx_submit_batch_notifies_admitted_to_tx_subscribers(running: Running) -> None:
    """A batch looks up "tx" subscriptions once, not per transaction: a followed
    transaction of the batch is still announced, the others are not."""
    to = address_of(Keypair.generate().public_key)
    txs = [running.transfer(to, UNIT, n) for n in range(3)]
    async with await running.client.websocket() as ws:
        followed = await ws.subscribe("tx", id=txs[1].tx_id.hex())
        answers = await running.client.call("tx_submitBatch", txs=[t.raw.hex() for t in txs])
        assert [answer["ok"] for answer in answers] == [True, True, True]
        assert await followed.next(timeout_s=5) == {"id": txs[1].tx_id.hex(),
                                                    "status": "admitted"}


async def test_tx_submit_batch_refuses_a_bad_signature_and_admits_the_rest(
        running: Running) -> None:
    to = address_of(Keypair.generate().public_key)
    txs = [running.transfer(to, UNIT, n) for n in range(3)]
    fields = decode(txs[1].raw)
    fields[5] = bytes(64)  # another signature
    forged = encode(fields)
    answers = await running.client.call("tx_submitBatch", txs=[
        txs[0].raw.hex(), forged.hex(), txs[1].raw.hex(), txs[2].raw.hex()])
    assert [(a["ok"], a.get("reason")) for a in answers] == [
        (True, None), (False, "bad_signature"), (True, None), (True, None)]
    assert answers[1]["message"] == "signature does not verify"


async def test_tx_submit_batch_text_is_the_generic_encoding(running: Running) -> None:
    """The handler renders its answer itself: byte for byte what the dispatcher's generic
    encoder made of the list of answers (with a refusal whose message needs escaping)."""
    assert running.node._runner is not None
    dispatcher = running.node._runner.app[STATE].dispatcher
    to = address_of(Keypair.generate().public_key)
    txs = [running.transfer(to, UNIT, n) for n in range(2)]
    hexes = [txs[0].raw.hex(), "zz", txs[1].raw.hex(), txs[0].raw.hex(), "00" + "\u00e9"]
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tx_submitBatch",
                       "params": {"txs": hexes}})
    text = await dispatcher.dispatch_body(body)
    assert text is not None
    answers = json.loads(text)["result"]
    assert [answer["ok"] for answer in answers] == [True, False, True, False, False]
    assert text == '{"jsonrpc":"2.0","result":' + encode_json(answers) + ',"id":7}'


async def test_tx_simulate_refuses_what_would_fail(running: Running) -> None:
    poor = Keypair.generate()
    tx = sign_tx(poor, CHAIN_ID, 0, Transfer(to=address_of(running.key.public_key), amount=1))
    await expect(running, "reserve_required", "tx_simulate", tx=tx.raw.hex())
    too_much = running.transfer(address_of(poor.public_key), 10**18, 0)
    await expect(running, "insufficient_funds", "tx_simulate", tx=too_much.raw.hex())
    self_transfer = running.transfer(address_of(running.key.public_key), 1, 0)
    await expect(running, "self_transfer", "tx_simulate", tx=self_transfer.raw.hex())
