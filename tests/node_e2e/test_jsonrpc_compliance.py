"""The real node speaks JSON-RPC 2.0 as the specification's examples say, publishes every
method through `rpc.discover`, and serves /health and /metrics with sane values.

Method: the specification's examples section (positional and named params, notifications,
unknown method, invalid JSON, invalid request object, batches valid, invalid and mixed),
adapted to Agora's methods, is posted as raw bodies to the session's single validator
process; answers are compared with what the specification requires.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from client.rpc import RpcClient
from tests.node_e2e.conftest import SingleNode

pytestmark = pytest.mark.e2e

OUR_METHODS = {
    "node_status", "node_peers", "chain_getBlock", "chain_getBlockByHash",
    "chain_getCertificate", "chain_getTransaction", "chain_getValidators", "tx_submit",
    "tx_submitBatch", "tx_simulate", "state_getAccount", "state_getSupply",
}


async def post(client: RpcClient, body: str) -> tuple[int, Any]:
    async with client.session.post(client.url, data=body.encode(),
                                   headers={"Content-Type": "application/json"}) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else None


async def test_jsonrpc_named_and_positional_params_answer_with_same_id(
    single_node: SingleNode,
) -> None:
    async with RpcClient(single_node.node.url) as client:
        status, named = await post(client, '{"jsonrpc": "2.0", "method": "chain_getBlock", '
                                           '"params": {"height": 1}, "id": 1}')
        assert status == 200 and named["id"] == 1 and named["jsonrpc"] == "2.0"
        _, positional = await post(client, '{"jsonrpc": "2.0", "method": "chain_getBlock", '
                                           '"params": [1], "id": "abc"}')
        assert positional["id"] == "abc"
        assert positional["result"]["header"] == named["result"]["header"]
        _, no_params = await post(client, '{"jsonrpc": "2.0", "method": "node_status", "id": 7}')
        assert no_params["result"]["height"] >= 1


async def test_jsonrpc_notifications_get_no_response(single_node: SingleNode) -> None:
    async with RpcClient(single_node.node.url) as client:
        status, body = await post(client, '{"jsonrpc": "2.0", "method": "node_status"}')
        assert (status, body) == (204, None)
        status, body = await post(client, '{"jsonrpc": "2.0", "method": "nope"}')
        assert (status, body) == (204, None)  # even an unknown method's notification
        status, body = await post(client, '[{"jsonrpc": "2.0", "method": "node_status"}, '
                                          '{"jsonrpc": "2.0", "method": "state_getSupply"}]')
        assert (status, body) == (204, None)


@pytest.mark.parametrize("body, code", [
    ('{"jsonrpc": "2.0", "method": "foobar", "id": "1"}', -32601),
    ('{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]', -32700),
    ('{"jsonrpc": "2.0", "method": 1, "params": "bar"}', -32600),
    ('[{"jsonrpc": "2.0", "method": "node_status", "id": "1"},{"jsonrpc": "2.0", "method"',
     -32700),
    ('[]', -32600),
])
async def test_jsonrpc_spec_error_examples_answer_the_spec_code(
    single_node: SingleNode, body: str, code: int,
) -> None:
    async with RpcClient(single_node.node.url) as client:
        _, answer = await post(client, body)
        assert answer["error"]["code"] == code
        assert isinstance(answer["error"]["message"], str)
        assert answer["id"] == ("1" if code == -32601 else None)


async def test_jsonrpc_invalid_batch_answers_one_error_per_element(
    single_node: SingleNode,
) -> None:
    async with RpcClient(single_node.node.url) as client:
        _, one = await post(client, "[1]")
        assert [e["error"]["code"] for e in one] == [-32600]
        _, three = await post(client, "[1,2,3]")
        assert [e["error"]["code"] for e in three] == [-32600] * 3
        assert all(e["id"] is None for e in three)


async def test_jsonrpc_mixed_batch_answers_calls_skips_notifications(
    single_node: SingleNode,
) -> None:
    body = json.dumps([
        {"jsonrpc": "2.0", "method": "node_status", "id": "1"},
        {"jsonrpc": "2.0", "method": "state_getSupply"},
        {"jsonrpc": "2.0", "method": "chain_getBlock", "params": {"height": 1}, "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "chain_getValidators", "id": "9"},
        {"jsonrpc": "2.0", "method": "state_getAccount", "params": {"address": 1}, "id": "10"},
    ])
    async with RpcClient(single_node.node.url) as client:
        _, answers = await post(client, body)
    by_id: dict[Any, list[dict[str, Any]]] = {}
    for answer in answers:
        by_id.setdefault(answer["id"], []).append(answer)
    assert len(answers) == 6  # the notification gets none
    assert by_id["1"][0]["result"]["chain_id"] == single_node.chain_id
    assert by_id["2"][0]["result"]["header"]["height"] == 1
    assert by_id[None][0]["error"]["code"] == -32600
    assert by_id["5"][0]["error"]["code"] == -32601
    assert len(by_id["9"][0]["result"]) == 1
    error = by_id["10"][0]["error"]
    assert error["code"] == -32602
    assert error["data"]["reason"] == "invalid_params"
    assert error["data"]["field"] == "address"


async def test_jsonrpc_wrong_params_carry_reason_and_field(single_node: SingleNode) -> None:
    async with RpcClient(single_node.node.url) as client:
        _, missing = await post(client, '{"jsonrpc":"2.0","method":"chain_getCertificate",'
                                        '"params":{},"id":1}')
        _, wrong = await post(client, '{"jsonrpc":"2.0","method":"chain_getCertificate",'
                                      '"params":{"height":"two"},"id":2}')
        _, extra = await post(client, '{"jsonrpc":"2.0","method":"chain_getCertificate",'
                                      '"params":[1, 2],"id":3}')
    for answer in (missing, wrong, extra):
        assert answer["error"]["code"] == -32602
        assert answer["error"]["data"]["reason"] == "invalid_params"
    assert missing["error"]["data"]["field"] == "height"
    assert wrong["error"]["data"]["field"] == "height"


async def test_jsonrpc_discover_lists_every_registered_method(single_node: SingleNode) -> None:
    async with RpcClient(single_node.node.url) as client:
        document = await client.call("rpc.discover")
    names = {m["name"] for m in document["methods"]}
    assert OUR_METHODS <= names
    assert document["openrpc"].startswith("1.")
    for method in document["methods"]:
        assert method["summary"] or method.get("description"), method["name"]


async def test_jsonrpc_health_is_200_and_metrics_have_chain_values(
    single_node: SingleNode,
) -> None:
    async with RpcClient(single_node.node.url) as client:
        await client.call("state_getSupply")
        height = (await client.call("node_status"))["height"]
        async with client.session.get(single_node.node.url + "/health") as response:
            assert response.status == 200
            health = await response.json()
        async with client.session.get(single_node.node.url + "/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
    assert health["status"] == "ok" and health["failed"] == []
    assert {c["name"] for c in health["checks"]} >= {"database_writable", "synced"}
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    assert samples["agora_chain_height"] >= height > 0
    assert samples["agora_consensus_view"] >= 0
    assert samples["agora_p2p_peers"] == 0  # alone
    assert samples["agora_mempool_txs"] >= 0
    assert samples['agora_rpc_requests_total{method="state_getSupply",code="0"}'] >= 1
    assert samples["agora_block_commit_latency_seconds_count"] >= 0
    assert "agora_txs_finalized_total" in samples
