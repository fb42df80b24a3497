"""Our error mapping: wrong-type, missing and unknown params are -32602 naming the field; an
AgoraError keeps its code and reason; anything else is -32603 without details; timeouts and
busy servers have their own codes. Method: single calls against the test registry."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from node.rpc import RpcLimits
from tests.rpc.conftest import MakeRpc, Rpc


def call(method: str, params: Any = None, request_id: int = 1) -> str:
    request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
    if params is not None:
        request["params"] = params
    return json.dumps(request)


async def error_of(rpc: Rpc, method: str, params: Any = None) -> dict[str, Any]:
    status, answer = await rpc.post(call(method, params))
    assert status == 200
    assert "result" not in answer, answer
    error: dict[str, Any] = answer["error"]
    assert "\n" not in error["message"]
    return error


async def test_params_wrong_type_is_invalid_params_naming_field(rpc: Rpc) -> None:
    error = await error_of(rpc, "subtract", {"minuend": "42", "subtrahend": 23})
    assert error["code"] == -32602
    assert error["data"]["reason"] == "invalid_params"
    assert error["data"]["field"] == "minuend"
    assert "'minuend'" in error["message"]


async def test_params_bool_for_int_is_refused(rpc: Rpc) -> None:
    error = await error_of(rpc, "subtract", {"minuend": True, "subtrahend": 23})
    assert error["code"] == -32602


async def test_params_missing_is_invalid_params_naming_field(rpc: Rpc) -> None:
    error = await error_of(rpc, "subtract", {"minuend": 42})
    assert error["code"] == -32602
    assert "missing param 'subtrahend'" in error["message"]


async def test_params_absent_when_required_is_invalid_params(rpc: Rpc) -> None:
    error = await error_of(rpc, "subtract")
    assert error["code"] == -32602
    assert "(and 1 more)" in error["message"]


async def test_params_unknown_is_invalid_params(rpc: Rpc) -> None:
    error = await error_of(rpc, "subtract", {"minuend": 1, "subtrahend": 2, "minus": 3})
    assert error["code"] == -32602
    assert error["data"]["field"] == "minus"


async def test_params_too_many_positional_is_invalid_params(rpc: Rpc) -> None:
    error = await error_of(rpc, "subtract", [1, 2, 3])
    assert error["code"] == -32602


async def test_params_nested_field_is_named_with_its_path(rpc: Rpc) -> None:
    error = await error_of(rpc, "shape", {"name": "a", "corner": {"x": 1, "y": "2"}})
    assert error["data"]["field"] == "corner.y"
    error = await error_of(rpc, "shape", {"name": "x" * 17, "corner": {"x": 1, "y": 2}})
    assert error["data"]["field"] == "name"


async def test_params_scalar_is_invalid_request(rpc: Rpc) -> None:
    error = await error_of(rpc, "subtract", 5)
    assert error["code"] == -32600


async def test_params_model_result_is_encoded_as_json(rpc: Rpc) -> None:
    _, answer = await rpc.post(call("shape", {"name": "a", "corner": {"x": 1, "y": 2}}))
    assert answer["result"] == {"x": 1, "y": 2}


async def test_commerce_error_keeps_code_and_reason(rpc: Rpc) -> None:
    error = await error_of(rpc, "fail_commerce")
    assert error == {"code": -32012, "message": "nonce 3 is not the next one (5)",
                     "data": {"reason": "bad_nonce"}}


async def test_node_error_keeps_code_and_reason(rpc: Rpc) -> None:
    error = await error_of(rpc, "fail_node")
    assert (error["code"], error["data"]["reason"]) == (-32054, "mempool_full")


async def test_unexpected_exception_is_internal_error_without_detail(
    rpc: Rpc, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="agora.rpc"):
        error = await error_of(rpc, "crash")
    assert error == {"code": -32603, "message": "internal error",
                     "data": {"reason": "internal_error"}}
    assert "secret internal detail" in caplog.text
    assert "Traceback" in caplog.text


async def test_unencodable_result_is_internal_error(rpc: Rpc) -> None:
    error = await error_of(rpc, "unencodable")
    assert error["code"] == -32603


async def test_slow_method_times_out_with_request_timeout(rpc: Rpc) -> None:
    error = await error_of(rpc, "sleep", {"seconds": 5})
    assert (error["code"], error["data"]["reason"]) == (-32090, "request_timeout")


async def test_subscribe_over_http_is_websocket_only(rpc: Rpc) -> None:
    error = await error_of(rpc, "subscribe", {"topic": "newBlocks"})
    assert error["data"]["reason"] == "websocket_only"


async def test_invalid_envelopes_are_invalid_request(rpc: Rpc) -> None:
    for text in ('{"method": "get_data", "id": 1}',
                 '{"jsonrpc": "1.0", "method": "get_data", "id": 1}',
                 '{"jsonrpc": "2.0", "method": "get_data", "id": {"a": 1}}',
                 '{"jsonrpc": "2.0", "method": "get_data", "id": true}',
                 '"just a string"', "null"):
        _, answer = await rpc.post(text)
        assert answer["error"]["code"] == -32600, text


async def test_non_json_bodies_are_parse_errors(rpc: Rpc) -> None:
    for body in (b"", b"\xff\xfe garbage", b"NaN", b'{"jsonrpc": "2.0", "id": Infinity}',
                 b"GET / HTTP/1.1"):
        status, answer = await rpc.post(body)
        assert status == 200
        assert answer["error"]["code"] == -32700, body


async def test_null_id_is_a_call_not_a_notification(rpc: Rpc) -> None:
    _, answer = await rpc.post('{"jsonrpc": "2.0", "method": "get_data", "id": null}')
    assert answer == {"jsonrpc": "2.0", "result": ["hello", 5], "id": None}


async def test_content_type_is_not_checked(rpc: Rpc) -> None:
    status, answer = await rpc.post(call("get_data"), **{"Content-Type": "text/plain"})
    assert (status, answer["result"]) == (200, ["hello", 5])


async def test_server_busy_when_inflight_limit_is_reached(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(limits=RpcLimits(inflight_calls_max=2, batch_calls_max=2))
    batch = json.dumps([json.loads(call("sleep", {"seconds": 0.1}, i)) for i in range(2)])
    slow = asyncio.create_task(rpc.post(batch))
    await asyncio.sleep(0.05)
    error = await error_of(rpc, "get_data")
    assert error["data"]["reason"] == "server_busy"
    _, answers = await slow
    assert [a["result"] for a in answers] == [True, True]
