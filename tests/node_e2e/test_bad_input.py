"""Bad input through every door of a real node is refused with the right code, and afterwards
the node is healthy, keeps making blocks, and nothing stored has changed.

Method: the session's single validator (an `agora start` process; its config.toml sets small
mempool limits: 64 transactions, 16 per account, a nonce window of 32) gets garbage HTTP
bodies, oversized requests, unknown methods, wrong and missing params, malformed,
badly signed, wrong-chain and replayed transactions, and floods from one account and from
many. After each door, `unharmed` checks /health is 200, the height grows, and the
validator's account and the supply read the same as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from client.rpc import RpcCallError, RpcClient
from commerce.address import address_of, to_text
from commerce.keys import Keypair
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from tests.node_e2e.conftest import SINGLE_MEMPOOL, UNIT, SingleNode

pytestmark = pytest.mark.e2e

MAX_BODY_BYTES = 1024 * 1024  # config.toml default [rpc] max_body_bytes
ANSWER_S = 30.0  # generous: a hang fails; how fast refusals come is for the benchmarks


async def snapshot(client: RpcClient, node: SingleNode, *extra: str) -> list[Any]:
    """What must not change: the validator's account, the supply, and `extra` accounts
    (without pending counters, which reflect the mempool, not the store)."""
    addresses = [to_text(address_of(node.validator.public_key)), *extra]
    accounts = [await client.call("state_getAccount", address=a) for a in addresses]
    for account in accounts:
        account.pop("pending_nonce")
    return [accounts, await client.call("state_getSupply")]


async def unharmed(client: RpcClient, node: SingleNode, before: list[Any], height: int,
                   *extra: str) -> None:
    """/health is 200, the height passes `height`, and `snapshot` equals `before`."""
    session = client.session
    async with session.get(node.node.url + "/health") as response:
        assert response.status == 200, await response.text()
    deadline = time.monotonic() + 10
    while (await client.call("node_status"))["height"] <= height:
        assert time.monotonic() < deadline, "the height stopped growing"
        await asyncio.sleep(0.1)
    assert await snapshot(client, node, *extra) == before
    assert node.node.running


@contextlib.asynccontextmanager
async def left_unharmed(node: SingleNode) -> AsyncIterator[tuple[RpcClient, int]]:
    """A client on the node and the height now; when the body is done, the node must be
    `unharmed` (same `snapshot`, the height passed, /health 200)."""
    async with RpcClient(node.node.url) as client:
        before, height = await snapshot(client, node), await height_of(client)
        yield client, height
        await unharmed(client, node, before, height)


async def post_raw(client: RpcClient, data: bytes,
                   content_type: str = "application/json") -> tuple[int, Any]:
    async with client.session.post(client.url, data=data,
                                   headers={"Content-Type": content_type}) as response:
        text = await response.text()
        return response.status, (await response.json(content_type=None)) if text else None


async def expect_error(client: RpcClient, code: int, reason: str, method: str,
                       **params: Any) -> RpcCallError:
    with pytest.raises(RpcCallError) as caught:
        await client.call(method, **params)
    assert (caught.value.code, caught.value.reason) == (code, reason), caught.value
    return caught.value


async def height_of(client: RpcClient) -> int:
    return int((await client.call("node_status"))["height"])


@pytest.mark.parametrize("body, code, reason", [
    (b"\xff\xfe\x00garbage", -32700, "parse_error"),
    (b"{\"jsonrpc\": \"2.0\", \"method\": ", -32700, "parse_error"),
    (b"", -32700, "parse_error"),
    (b"[]", -32600, "invalid_request"),
    (b"\"node_status\"", -32600, "invalid_request"),
    (b"{\"jsonrpc\": \"1.0\", \"method\": \"node_status\", \"id\": 1}", -32600, "invalid_request"),
    (b"{\"jsonrpc\": \"2.0\", \"method\": 5, \"id\": 1}", -32600, "invalid_request"),
    (b"{\"jsonrpc\": \"2.0\", \"method\": \"node_status\", \"params\": 3, \"id\": 1}",
     -32600, "invalid_request"),
])
async def test_bad_input_garbage_http_body_is_refused_and_node_unharmed(
    single_node: SingleNode, body: bytes, code: int, reason: str,
) -> None:
    async with left_unharmed(single_node) as (client, _):
        status, answer = await post_raw(client, body)
        assert status == 200
        assert answer["error"]["code"] == code
        assert answer["error"]["data"]["reason"] == reason
        assert answer["id"] in (None, 1)  # null when the id could not be read


async def test_bad_input_body_over_max_is_413_and_exactly_max_is_read(
    single_node: SingleNode,
) -> None:
    async with left_unharmed(single_node) as (client, height):
        call = b'{"jsonrpc":"2.0","method":"node_status","id":1}'
        padded = call + b" " * (MAX_BODY_BYTES - len(call))
        status, answer = await post_raw(client, padded)
        assert status == 200 and answer["result"]["height"] >= height
        status, answer = await post_raw(client, padded + b" ")
        assert status == 413
        assert answer["error"]["code"] == -32600
        assert answer["error"]["data"]["reason"] == "body_too_large"
        with pytest.raises(RpcCallError) as caught:  # a transaction over its hex limit
            await client.call("tx_submit", tx="00" * (16 * 1024 + 1))
        assert caught.value.code == -32602


async def test_bad_input_unknown_methods_are_32601_and_node_unharmed(
    single_node: SingleNode,
) -> None:
    async with left_unharmed(single_node) as (client, _):
        for method in ("nope", "state_getaccount", "rpc.anything", "subscribe", "x" * 5000):
            error = await expect_error(client, -32601 if method != "subscribe" else -32094,
                                       "method_not_found" if method != "subscribe"
                                       else "websocket_only", method)
            assert len(error.message) < 300  # the unknown name is not echoed in full


ZERO_HASH = "00" * 32
WRONG_PARAMS: list[tuple[str, dict[str, Any]]] = [
    ("node_status", {"verbose": True}),
    ("node_peers", {"x": 1}),
    ("chain_getBlock", {"height": "1"}),
    ("chain_getBlock", {"height": 0}),
    ("chain_getBlock", {"height": 1.5}),
    ("chain_getBlock", {"full_txs": "yes"}),
    ("chain_getBlockByHash", {}),
    ("chain_getBlockByHash", {"hash": 7}),
    ("chain_getBlockByHash", {"hash": "zz" * 32}),
    ("chain_getCertificate", {}),
    ("chain_getCertificate", {"height": -1}),
    ("chain_getTransaction", {}),
    ("chain_getTransaction", {"id": ZERO_HASH[:-1]}),
    ("chain_getValidators", {"all": True}),
    ("tx_submit", {}),
    ("tx_submit", {"tx": 1234}),
    ("tx_submit", {"tx": "00", "wait": "forever"}),
    ("tx_submit", {"tx": "00", "timeout_ms": 0}),
    ("tx_submit", {"tx": "00", "timeout_ms": 10**9}),
    ("tx_submitBatch", {}),
    ("tx_submitBatch", {"txs": "00"}),
    ("tx_submitBatch", {"txs": []}),
    ("tx_submitBatch", {"txs": [1]}),
    ("tx_simulate", {}),
    ("tx_simulate", {"tx": None}),
    ("state_getAccount", {}),
    ("state_getAccount", {"address": 12}),
    ("state_getAccount", {"addr": "x"}),
    ("state_getSupply", {"x": 1}),
]


async def test_bad_input_wrong_and_missing_params_are_32602_with_reason(
    single_node: SingleNode,
) -> None:
    async with left_unharmed(single_node) as (client, _):
        answers = await client.batch(WRONG_PARAMS[:20])
        answers += await client.batch(WRONG_PARAMS[20:])
        for (method, params), answer in zip(WRONG_PARAMS, answers, strict=True):
            assert isinstance(answer, RpcCallError), (method, params, answer)
            assert (answer.code, answer.reason) == (-32602, "invalid_params"), (
                method, params, answer)
        await expect_error(client, -32008, "bad_address", "state_getAccount",
                           address="agora1notanaddress")


async def test_bad_input_malformed_badly_signed_and_wrong_chain_txs_are_refused(
    single_node: SingleNode,
) -> None:
    stranger = address_of(Keypair.generate().public_key)
    async with RpcClient(single_node.node.url) as client:
        before = await snapshot(client, single_node, to_text(stranger))
        height = await height_of(client)
        nonce = (await client.call("state_getAccount", address=to_text(
            address_of(single_node.validator.public_key))))["pending_nonce"]
        good = single_node.transfer(stranger, UNIT, nonce)
        raw = bytearray(good.raw)
        raw[-1] ^= 0x01  # the last signature byte
        other_chain = single_node.transfer(stranger, UNIT, nonce, chain_id="other-chain")
        for method in ("tx_submit", "tx_simulate"):
            await expect_error(client, -32001, "malformed", method, tx="not hex at all")
            await expect_error(client, -32001, "malformed", method, tx="c0ffee")
            await expect_error(client, -32001, "malformed", method, tx=good.raw.hex()[:-2])
            await expect_error(client, -32010, "bad_signature", method, tx=raw.hex())
        await expect_error(client, -32011, "wrong_chain", "tx_submit", tx=other_chain.raw.hex())
        await expect_error(client, -32010, "bad_signature", "tx_submit", tx=raw.hex(),
                           wait="commit", timeout_ms=2_000)
        batch = await client.call("tx_submitBatch", txs=[raw.hex(), "zz",
                                                         other_chain.raw.hex()])
        assert [(r["ok"], r["reason"]) for r in batch] == [
            (False, "bad_signature"), (False, "malformed"), (False, "wrong_chain")]
        assert (await client.call("chain_getTransaction", id=good.tx_id.hex()) if False
                else True)
        await expect_error(client, -32058, "not_found", "chain_getTransaction",
                           id=good.tx_id.hex())
        await unharmed(client, single_node, before, height, to_text(stranger))


async def test_bad_input_replayed_nonce_is_refused_and_changes_nothing(
    single_node: SingleNode,
) -> None:
    stranger = address_of(Keypair.generate().public_key)
    async with RpcClient(single_node.node.url) as client:
        sender = to_text(address_of(single_node.validator.public_key))
        nonce = (await client.call("state_getAccount", address=sender))["pending_nonce"]
        first = single_node.transfer(stranger, 2 * UNIT, nonce)
        done = await client.call("tx_submit", tx=first.raw.hex(), wait="commit")
        before = await snapshot(client, single_node, to_text(stranger))
        height = await height_of(client)
        await expect_error(client, -32012, "bad_nonce", "tx_submit", tx=first.raw.hex())
        again = single_node.transfer(stranger, 5 * UNIT, nonce)  # same nonce, new body
        await expect_error(client, -32012, "bad_nonce", "tx_submit", tx=again.raw.hex())
        await expect_error(client, -32012, "bad_nonce", "tx_simulate", tx=again.raw.hex())
        too_far = single_node.transfer(stranger, UNIT, nonce + 1 + SINGLE_MEMPOOL["nonce_window"])
        await expect_error(client, -32056, "nonce_too_far", "tx_submit", tx=too_far.raw.hex())
        found = await client.call("chain_getTransaction", id=first.tx_id.hex())
        assert found["height"] == done["height"]
        await unharmed(client, single_node, before, height, to_text(stranger))
        assert (await client.call("state_getAccount", address=to_text(stranger)))[
            "balance"] == 2 * UNIT


async def _fund(client: RpcClient, node: SingleNode, amount: int, count: int = 1
                ) -> list[Keypair]:
    """`count` fresh keys whose accounts `amount` each was moved to (committed)."""
    keys = [Keypair.generate() for _ in range(count)]
    sender = to_text(address_of(node.validator.public_key))
    nonce = (await client.call("state_getAccount", address=sender))["pending_nonce"]
    txs = [node.transfer(address_of(k.public_key), amount, nonce + i)
           for i, k in enumerate(keys)]
    answers = await client.call("tx_submitBatch", txs=[tx.raw.hex() for tx in txs[:-1]]) \
        if count > 1 else []
    assert all(a["ok"] for a in answers), answers
    await client.call("tx_submit", tx=txs[-1].raw.hex(), wait="commit")
    return keys


async def _settle(client: RpcClient, address: str, nonce: int) -> dict[str, Any]:
    """Wait until `address` has committed nonce `nonce` and nothing of it is pending."""
    deadline = time.monotonic() + 20
    while True:
        account = await client.call("state_getAccount", address=address)
        if account["nonce"] == nonce and account["pending_nonce"] == nonce:
            return account  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, (account, nonce)
        await asyncio.sleep(0.2)


async def test_bad_input_flood_from_one_account_is_refused_with_account_quota_at_once(
    single_node: SingleNode,
) -> None:
    quota = SINGLE_MEMPOOL["max_per_account"]
    sink = address_of(Keypair.generate().public_key)
    async with RpcClient(single_node.node.url) as client:
        flooder, second = await _fund(client, single_node, 100 * UNIT, count=2)
        address = to_text(address_of(flooder.public_key))
        txs = [sign_tx(flooder, single_node.chain_id, n, Transfer(to=sink, amount=UNIT))
               for n in range(SINGLE_MEMPOOL["nonce_window"] - 2)]
        async with asyncio.timeout(ANSWER_S):
            answers = await client.call("tx_submitBatch", txs=[tx.raw.hex() for tx in txs])
        assert [a["ok"] for a in answers] == [True] * quota + [False] * (len(txs) - quota)
        assert {(a["reason"], a["code"]) for a in answers[quota:]} == {("account_quota", -32055)}
        # Only the admitted ones reach the store.
        account = await _settle(client, address, quota)
        assert account["balance"] == (100 - quota) * UNIT
        assert (await client.call("state_getAccount", address=to_text(sink)))["balance"] == \
            quota * UNIT
        # Unbatched and concurrent: every answer is an admission or a quick refusal.
        flood = [sign_tx(second, single_node.chain_id, n, Transfer(to=sink, amount=UNIT))
                 for n in range(len(txs))]
        async with asyncio.timeout(ANSWER_S):
            outcomes = await asyncio.gather(*(client.call("tx_submit", tx=tx.raw.hex())
                                              for tx in flood), return_exceptions=True)
        reasons = {o.reason if isinstance(o, RpcCallError) else o["status"] for o in outcomes}
        assert reasons <= {"pending", "account_quota", "bad_nonce"}, outcomes
        for tx in flood:  # the user retries what was refused until all are in
            try:
                await client.call("tx_submit", tx=tx.raw.hex())
            except RpcCallError as exc:
                assert exc.reason in ("duplicate_tx", "bad_nonce", "account_quota"), exc
                if exc.reason == "account_quota":
                    await asyncio.sleep(0.5)
                    await client.call("tx_submit", tx=tx.raw.hex())
        second_account = await _settle(client, to_text(address_of(second.public_key)),
                                       len(flood))
        assert second_account["balance"] == (100 - len(flood)) * UNIT
        async with client.session.get(single_node.node.url + "/health") as response:
            assert response.status == 200


async def test_bad_input_flood_from_many_accounts_is_refused_with_mempool_full_at_once(
    single_node: SingleNode,
) -> None:
    limit, quota = SINGLE_MEMPOOL["max_txs"], SINGLE_MEMPOOL["max_per_account"]
    sink = address_of(Keypair.generate().public_key)
    async with RpcClient(single_node.node.url) as client:
        keys = await _fund(client, single_node, 50 * UNIT, count=limit // quota + 1)
        assert (await client.call("node_status"))["mempool_txs"] == 0
        txs = [sign_tx(k, single_node.chain_id, n, Transfer(to=sink, amount=UNIT))
               for k in keys for n in range(quota)]
        last = keys[-1]
        before = await snapshot(client, single_node, to_text(address_of(last.public_key)))
        height = await height_of(client)
        async with asyncio.timeout(ANSWER_S):
            answers = await client.call("tx_submitBatch", txs=[tx.raw.hex() for tx in txs])
        assert [a["ok"] for a in answers] == [True] * limit + [False] * (len(txs) - limit)
        assert {(a["reason"], a["code"]) for a in answers[limit:]} == {("mempool_full", -32054)}
        for key in keys[:-1]:  # the admitted ones are committed; the refused ones are not
            account = await _settle(client, to_text(address_of(key.public_key)), quota)
            assert account["balance"] == (50 - quota) * UNIT
        assert (await client.call("state_getAccount", address=to_text(sink)))["balance"] == \
            limit * UNIT
        await unharmed(client, single_node, before, height,
                       to_text(address_of(last.public_key)))
        for tx in txs[limit:limit + 3]:
            await expect_error(client, -32058, "not_found", "chain_getTransaction",
                               id=tx.tx_id.hex())


async def test_bad_input_websocket_garbage_frames_are_answered_and_socket_survives(
    single_node: SingleNode,
) -> None:
    async with left_unharmed(single_node) as (client, _):
        async with client.session.ws_connect(single_node.node.url + "/ws") as ws:
            for frame, code in (("{", -32700), ("[]", -32600), ('{"jsonrpc":"2.0","id":1}',
                                                                 -32600)):
                await ws.send_str(frame)
                answer = await ws.receive_json(timeout=5)
                assert answer["error"]["code"] == code
            await ws.send_str('{"jsonrpc":"2.0","method":"subscribe","params":'
                              '{"topic":"tx"},"id":2}')
            answer = await ws.receive_json(timeout=5)
            assert answer["error"]["code"] == -32602
            await ws.send_str('{"jsonrpc":"2.0","method":"node_status","id":3}')
            answer = await ws.receive_json(timeout=5)
            assert answer["result"]["chain_id"] == single_node.chain_id
            assert ws.closed is False


async def test_bad_input_http_door_rejects_wrong_verbs_without_harm(
    single_node: SingleNode,
) -> None:
    async with left_unharmed(single_node) as (client, _):
        session: aiohttp.ClientSession = client.session
        # GET `/` is the web app now (issue 22); `/` takes POST (JSON-RPC) and GET only.
        async with session.put(single_node.node.url + "/", data=b"x") as response:
            assert response.status == 405
        async with session.get(single_node.node.url + "/nowhere") as response:
            assert response.status == 404
        async with session.post(single_node.node.url + "/health", data=b"x") as response:
            assert response.status == 405
