"""The RpcClient (call, notify, batch, errors, transport failures) and `serve` on real
loopback ports (a free port, a port in use). Method: a served test registry, and `serve`
started twice on the same port."""

from __future__ import annotations

import pytest

from client.rpc import RpcCallError, RpcClient, RpcTransportError, websocket_url
from node.errors import NodeError
from node.rpc import Registry, bound_port, create_app, serve
from tests.rpc.conftest import Rpc


async def test_client_call_returns_result(rpc: Rpc) -> None:
    async with RpcClient(rpc.url) as client:
        assert await client.call("subtract", minuend=42, subtrahend=23) == 19
        assert await client.call("get_data") == ["hello", 5]


async def test_client_call_raises_with_code_reason_message(rpc: Rpc) -> None:
    async with RpcClient(rpc.url) as client:
        with pytest.raises(RpcCallError) as caught:
            await client.call("fail_commerce")
    error = caught.value
    assert (error.code, error.reason) == (-32012, "bad_nonce")
    assert error.message == "nonce 3 is not the next one (5)"
    assert str(error) == "bad_nonce: nonce 3 is not the next one (5)"


async def test_client_notify_sends_without_answer(rpc: Rpc) -> None:
    async with RpcClient(rpc.url) as client:
        await client.notify("notify_hello", value=3)
    assert rpc.calls.hellos == [3]


async def test_client_batch_keeps_order_and_errors_in_place(rpc: Rpc) -> None:
    async with RpcClient(rpc.url) as client:
        results = await client.batch([
            ("sum", {"a": 1, "b": 2}),
            ("fail_node", {}),
            ("subtract", {"minuend": 5, "subtrahend": 1}),
        ])
        assert await client.batch([]) == []
    assert results[0] == 3
    assert isinstance(results[1], RpcCallError)
    assert results[1].reason == "mempool_full"
    assert results[2] == 4


async def test_client_unreachable_is_transport_error() -> None:
    async with RpcClient("http://127.0.0.1:9/", timeout_s=2) as client:
        with pytest.raises(RpcTransportError):
            await client.call("node_status")


def test_client_websocket_url_sits_beside_http() -> None:
    assert websocket_url("http://127.0.0.1:26657") == "ws://127.0.0.1:26657/ws"
    assert websocket_url("https://node.example/rpc/") == "wss://node.example/rpc/ws"


async def test_serve_on_free_port_then_port_in_use_is_one_line_error() -> None:
    runner = await serve(create_app(Registry()), "127.0.0.1", 0)
    try:
        port = bound_port(runner)
        async with RpcClient(f"http://127.0.0.1:{port}/") as client:
            document = await client.call("rpc.discover")
            assert [m["name"] for m in document["methods"]] == ["subscribe", "unsubscribe"]
        with pytest.raises(NodeError) as caught:
            await serve(create_app(Registry()), "127.0.0.1", port)
        assert caught.value.reason == "port_in_use"
        assert str(port) in caught.value.message
    finally:
        await runner.cleanup()
