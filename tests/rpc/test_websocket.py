"""JSON-RPC over the WebSocket at /ws: calls, subscribe / notify / unsubscribe for each topic,
the subscription and connection limits, a slow client dropped without holding up publishing,
browser origins, and sockets closed at shutdown. Method: our RpcClient against a served
test registry, publishing straight into the hub."""

from __future__ import annotations

import asyncio
import inspect
import json

import aiohttp
import pytest

from client.rpc import RpcCallError, RpcClient, RpcTransportError, RpcWebSocket
from commerce.address import to_text
from node.rpc import RpcLimits
from tests.rpc.conftest import MakeRpc, Rpc

TX_ID = "ab" * 32
ADDRESS = to_text(bytes(range(20)))


async def open_ws(rpc: Rpc) -> tuple[RpcClient, RpcWebSocket]:
    client = RpcClient(rpc.url, timeout_s=5)
    return client, await client.websocket()


async def test_ws_calls_use_the_same_dispatch(rpc: Rpc) -> None:
    client, ws = await open_ws(rpc)
    async with client, ws:
        assert await ws.call("subtract", minuend=42, subtrahend=23) == 19
        with pytest.raises(RpcCallError) as caught:
            await ws.call("subtract", minuend="x", subtrahend=1)
        assert (caught.value.code, caught.value.reason) == (-32602, "invalid_params")
        with pytest.raises(RpcCallError) as caught:
            await ws.call("nope")
        assert caught.value.code == -32601
        await ws.ws.send_str("not json")
        await ws.ws.send_str('[{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":"b"}]')
        assert await ws.call("get_data") == ["hello", 5]


async def test_ws_subscribe_new_blocks_notify_and_unsubscribe(rpc: Rpc) -> None:
    client, ws = await open_ws(rpc)
    async with client, ws:
        sub = await ws.subscribe("newBlocks")
        assert rpc.hub.subscriptions_count == 1
        assert rpc.hub.publish("newBlocks", None, {"height": 1}) == 1
        assert rpc.hub.publish("newBlocks", None, {"height": 2}) == 1
        assert await sub.next(timeout_s=2) == {"height": 1}
        assert await sub.next(timeout_s=2) == {"height": 2}
        assert await sub.unsubscribe() is True
        assert rpc.hub.subscriptions_count == 0
        assert rpc.hub.publish("newBlocks", None, {"height": 3}) == 0
        with pytest.raises(RpcCallError) as caught:
            await ws.call("unsubscribe", subscription=sub.id)
        assert caught.value.reason == "unknown_subscription"


async def test_ws_notification_frame_has_the_documented_shape(rpc: Rpc) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(
        rpc.url.rstrip("/") + "/ws"
    ) as ws:
        await ws.send_json({"jsonrpc": "2.0", "method": "subscribe",
                            "params": {"topic": "newBlocks"}, "id": 7})
        answer = await ws.receive_json(timeout=2)
        subscription_id = answer["result"]
        assert answer == {"jsonrpc": "2.0", "result": subscription_id, "id": 7}
        rpc.hub.publish("newBlocks", None, {"height": 9})
        frame = await ws.receive_json(timeout=2)
        assert frame == {"jsonrpc": "2.0", "method": "subscription",
                         "params": {"subscription": subscription_id, "result": {"height": 9}}}


async def test_ws_tx_topic_matches_by_id_case_insensitively(rpc: Rpc) -> None:
    client, ws = await open_ws(rpc)
    async with client, ws:
        sub = await ws.subscribe("tx", id=TX_ID.upper())
        assert rpc.hub.publish("tx", "cd" * 32, {"status": "admitted"}) == 0
        assert rpc.hub.publish("tx", TX_ID, {"status": "admitted"}) == 1
        assert await sub.next(timeout_s=2) == {"status": "admitted"}
        for bad in ({"id": "xyz"}, {"id": "abc"}, {}, {"id": TX_ID, "address": ADDRESS}):
            with pytest.raises(RpcCallError) as caught:
                await ws.subscribe("tx", **bad)
            assert caught.value.code == -32602, bad


async def test_ws_account_topic_matches_canonical_address(rpc: Rpc) -> None:
    client, ws = await open_ws(rpc)
    async with client, ws:
        sub = await ws.subscribe("account", address=ADDRESS.upper())
        assert rpc.hub.publish("account", ADDRESS, {"event": "transfer"}) == 1
        assert await sub.next(timeout_s=2) == {"event": "transfer"}
        with pytest.raises(RpcCallError) as caught:
            await ws.subscribe("account", address=ADDRESS[:-1] + "q")
        assert caught.value.data["field"] == "address"
        with pytest.raises(RpcCallError):
            await ws.subscribe("blocks")


async def test_ws_subscription_limits_per_connection_and_total(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(limits=RpcLimits(subscriptions_per_connection_max=2,
                                          subscriptions_total_max=3))
    client, first = await open_ws(rpc)
    second = await client.websocket()
    async with client, first, second:
        await first.subscribe("newBlocks")
        await first.subscribe("newBlocks")
        with pytest.raises(RpcCallError) as caught:
            await first.subscribe("newBlocks")
        assert caught.value.reason == "too_many_subscriptions"
        await second.subscribe("newBlocks")
        with pytest.raises(RpcCallError) as caught:
            await second.subscribe("newBlocks")
        assert "server" in caught.value.message
        assert rpc.hub.publish("newBlocks", None, 1) == 3
    async with asyncio.timeout(10):  # the server sees both sockets close
        while rpc.hub.connections_count:
            await asyncio.sleep(0.01)
    assert rpc.hub.subscriptions_count == 0


async def test_ws_connection_limit_refuses_the_next_one(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(limits=RpcLimits(ws_connections_max=1))
    client, ws = await open_ws(rpc)
    async with client, ws:
        with pytest.raises(RpcTransportError):
            await client.websocket()
        response = await rpc.client.get("/ws")
        assert response.status == 503
        assert (await response.json())["error"]["data"]["reason"] == "too_many_connections"


async def test_ws_slow_client_is_dropped_without_stalling_others(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(limits=RpcLimits(ws_queue_messages_max=16, ws_inflight_calls_max=4))
    # Publishing is a plain function: it queues or drops and cannot wait on any socket.
    assert not inspect.iscoroutinefunction(rpc.hub.publish)
    client, fast = await open_ws(rpc)
    async with client, fast, aiohttp.ClientSession() as session:
        fast_sub = await fast.subscribe("newBlocks")
        slow = await session.ws_connect(rpc.url.rstrip("/") + "/ws")
        await slow.send_json({"jsonrpc": "2.0", "method": "subscribe",
                              "params": {"topic": "newBlocks"}, "id": 1})
        assert "result" in await slow.receive_json(timeout=2)
        # From here on the slow client reads nothing, so its TCP window and queue fill up.
        payload = {"blob": "x" * 65_536}
        published = 0
        received: list[int] = []

        async def read_fast() -> None:
            async for item in fast_sub:
                received.append(item["n"])

        reader = asyncio.create_task(read_fast())
        while rpc.hub.connections_count == 2 and published < 3_000:
            rpc.hub.publish("newBlocks", None, {**payload, "n": published})
            published += 1
            await asyncio.sleep(0.001)
        assert rpc.hub.connections_count == 1, "the slow client was never dropped"
        assert rpc.metrics.ws_dropped.value(reason="slow_client") == 1
        # The slow client now reads what reached it (within the server's close grace), then
        # the close frame: 1008 with the reason (docs/RPC.md, WebSocket).
        message = await slow.receive(timeout=5)
        while message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            message = await slow.receive(timeout=5)
        assert message.type == aiohttp.WSMsgType.CLOSE, message
        assert (message.data, message.extra) == (aiohttp.WSCloseCode.POLICY_VIOLATION,
                                                 "slow_client")
        assert slow.close_code == 1008
        async with asyncio.timeout(10):  # the fast client got every notification, in order
            while len(received) < published:
                await asyncio.sleep(0.01)
        assert received == list(range(published))
        reader.cancel()
        await slow.close()


async def test_ws_browser_origin_needs_cors(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(cors_origins=("https://shop.example",))
    url = rpc.url.rstrip("/") + "/ws"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await session.ws_connect(url, origin="https://evil.example")
        assert caught.value.status == 403
        ws = await session.ws_connect(url, origin="https://shop.example")
        await ws.close()


async def test_ws_sockets_are_closed_at_shutdown(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc()
    client, ws = await open_ws(rpc)
    async with client:
        sub = await ws.subscribe("newBlocks")
        async with asyncio.timeout(30):  # generous: a hang fails, a slow machine does not
            await rpc.client.close()
        with pytest.raises(RpcTransportError):
            await sub.next(timeout_s=2)
        assert ws.close_code == 1001
        assert rpc.hub.connections_count == 0
        await ws.close()


async def test_ws_raw_frames_get_json_rpc_answers(rpc: Rpc) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(
        rpc.url.rstrip("/") + "/ws"
    ) as ws:
        await ws.send_str("{bad json")
        assert (await ws.receive_json(timeout=2))["error"]["code"] == -32700
        await ws.send_str("[]")
        assert (await ws.receive_json(timeout=2))["error"]["code"] == -32600
        await ws.send_str(json.dumps({"jsonrpc": "2.0", "method": "notify_hello",
                                      "params": {"value": 1}}))
        await ws.send_str(json.dumps({"jsonrpc": "2.0", "method": "get_data", "id": 2}))
        assert (await ws.receive_json(timeout=2))["id"] == 2


async def test_ws_frame_over_limit_closes_with_1009(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(limits=RpcLimits(body_bytes_max=2_000, ws_message_bytes_max=1_000))
    async with aiohttp.ClientSession() as session, session.ws_connect(
        rpc.url.rstrip("/") + "/ws"
    ) as ws:
        await ws.send_str(" " * 1_001)
        message = await ws.receive(timeout=2)
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert message.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
