"""Limits at their edge: a body of exactly the byte limit is served and one byte more is 413
(with and without Content-Length); a batch of exactly the call limit is served and one call
more is refused whole. Method: small limits on a served test registry."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from node.rpc import RpcLimits
from tests.rpc.conftest import MakeRpc

BODY_LIMIT = 1_000


def padded_call(total_bytes: int) -> bytes:
    """A valid call of exactly `total_bytes` bytes (padded with trailing spaces)."""
    text = json.dumps({"jsonrpc": "2.0", "method": "get_data", "id": 1}).encode()
    assert len(text) <= total_bytes
    return text + b" " * (total_bytes - len(text))


async def test_body_at_limit_is_served(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(limits=RpcLimits(body_bytes_max=BODY_LIMIT,
                                          ws_message_bytes_max=BODY_LIMIT))
    status, answer = await rpc.post(padded_call(BODY_LIMIT))
    assert (status, answer["result"]) == (200, ["hello", 5])


async def test_body_one_over_limit_is_413_invalid_request(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(limits=RpcLimits(body_bytes_max=BODY_LIMIT,
                                          ws_message_bytes_max=BODY_LIMIT))
    status, answer = await rpc.post(padded_call(BODY_LIMIT + 1))
    assert status == 413
    assert answer["error"]["code"] == -32600
    assert answer["error"]["data"] == {"reason": "body_too_large", "limit": BODY_LIMIT}
    assert answer["id"] is None
    text = rpc.metrics.render()
    assert 'agora_rpc_requests_total{method="<invalid>",code="-32600"} 1' in text


async def test_chunked_body_over_limit_is_413(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(limits=RpcLimits(body_bytes_max=BODY_LIMIT,
                                          ws_message_bytes_max=BODY_LIMIT))

    async def chunks(body: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start:start + 100]

    response = await rpc.client.post("/", data=chunks(padded_call(BODY_LIMIT + 1)))
    assert response.status == 413
    response = await rpc.client.post("/", data=chunks(padded_call(BODY_LIMIT)))
    assert response.status == 200


async def test_batch_at_limit_is_served(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(limits=RpcLimits(batch_calls_max=5))
    batch = [{"jsonrpc": "2.0", "method": "sum", "params": [i, 1], "id": i} for i in range(5)]
    status, answer = await rpc.post(json.dumps(batch))
    assert status == 200
    assert sorted(a["result"] for a in answer) == [1, 2, 3, 4, 5]


async def test_batch_one_over_limit_is_refused_whole(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(limits=RpcLimits(batch_calls_max=5))
    batch = [{"jsonrpc": "2.0", "method": "sum", "params": [i, 1], "id": i} for i in range(6)]
    status, answer = await rpc.post(json.dumps(batch))
    assert status == 200
    assert isinstance(answer, dict)
    assert answer["error"]["code"] == -32600
    assert answer["error"]["data"] == {"reason": "batch_too_large", "limit": 5}


async def test_batch_answers_keep_call_order(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc()
    batch = [{"jsonrpc": "2.0", "method": "sum", "params": [i, 0], "id": i} for i in range(50)]
    _, answer = await rpc.post(json.dumps(batch))
    assert [a["id"] for a in answer] == list(range(50))


async def test_huge_body_is_refused_without_reading_it(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(limits=RpcLimits(body_bytes_max=BODY_LIMIT,
                                          ws_message_bytes_max=BODY_LIMIT))
    status, answer = await rpc.post(b"[" + b" " * 5_000_000 + b"]")
    assert status == 413
    assert answer["error"]["data"]["reason"] == "body_too_large"
    status, answer = await rpc.post(padded_call(100))
    assert (status, answer["result"]) == (200, ["hello", 5])
