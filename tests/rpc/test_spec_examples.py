"""Every example of the JSON-RPC 2.0 specification's section 7 behaves as the specification
says. Method: POST the example's exact text to a served registry with `subtract`, `sum`,
`update`, `notify_hello` and `get_data`, and compare the answer member by member (our
error objects add `data.reason`, which the specification allows)."""

from __future__ import annotations

from typing import Any

from tests.rpc.conftest import Rpc


def _error_code(response: Any) -> int:
    assert response["jsonrpc"] == "2.0"
    assert "result" not in response
    return int(response["error"]["code"])


async def test_spec_positional_params_subtract(rpc: Rpc) -> None:
    status, answer = await rpc.post(
        '{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}')
    assert status == 200
    assert answer == {"jsonrpc": "2.0", "result": 19, "id": 1}
    _, answer = await rpc.post(
        '{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}')
    assert answer == {"jsonrpc": "2.0", "result": -19, "id": 2}


async def test_spec_named_params_subtract(rpc: Rpc) -> None:
    _, answer = await rpc.post('{"jsonrpc": "2.0", "method": "subtract", '
                               '"params": {"subtrahend": 23, "minuend": 42}, "id": 3}')
    assert answer == {"jsonrpc": "2.0", "result": 19, "id": 3}
    _, answer = await rpc.post('{"jsonrpc": "2.0", "method": "subtract", '
                               '"params": {"minuend": 42, "subtrahend": 23}, "id": 4}')
    assert answer == {"jsonrpc": "2.0", "result": 19, "id": 4}


async def test_spec_notifications_get_no_response(rpc: Rpc) -> None:
    status, answer = await rpc.post(
        '{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}')
    assert (status, answer) == (204, None)
    assert [u.model_dump() for u in rpc.calls.updates] == [
        {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}]
    status, answer = await rpc.post('{"jsonrpc": "2.0", "method": "foobar"}')
    assert (status, answer) == (204, None)


async def test_spec_non_existent_method(rpc: Rpc) -> None:
    _, answer = await rpc.post('{"jsonrpc": "2.0", "method": "foobar", "id": "1"}')
    assert _error_code(answer) == -32601
    assert answer["id"] == "1"
    assert answer["error"]["data"]["reason"] == "method_not_found"


async def test_spec_invalid_json(rpc: Rpc) -> None:
    _, answer = await rpc.post(
        '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]')
    assert _error_code(answer) == -32700
    assert answer["id"] is None


async def test_spec_invalid_request_object(rpc: Rpc) -> None:
    _, answer = await rpc.post('{"jsonrpc": "2.0", "method": 1, "params": "bar"}')
    assert _error_code(answer) == -32600
    assert answer["id"] is None


async def test_spec_batch_invalid_json(rpc: Rpc) -> None:
    _, answer = await rpc.post(
        '[\n  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},\n'
        '  {"jsonrpc": "2.0", "method"\n]')
    assert isinstance(answer, dict)
    assert _error_code(answer) == -32700
    assert answer["id"] is None


async def test_spec_empty_array(rpc: Rpc) -> None:
    _, answer = await rpc.post("[]")
    assert isinstance(answer, dict)
    assert _error_code(answer) == -32600
    assert answer["id"] is None


async def test_spec_invalid_batch_of_one(rpc: Rpc) -> None:
    _, answer = await rpc.post("[1]")
    assert isinstance(answer, list)
    assert len(answer) == 1
    assert _error_code(answer[0]) == -32600
    assert answer[0]["id"] is None


async def test_spec_invalid_batch_of_three(rpc: Rpc) -> None:
    _, answer = await rpc.post("[1,2,3]")
    assert isinstance(answer, list)
    assert [(_error_code(a), a["id"]) for a in answer] == [(-32600, None)] * 3


async def test_spec_mixed_batch(rpc: Rpc) -> None:
    _, answer = await rpc.post("""[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]""")
    assert isinstance(answer, list)
    assert len(answer) == 5
    results = {a["id"]: a.get("result") for a in answer if "result" in a}
    assert results == {"1": 7, "2": 19, "9": ["hello", 5]}
    errors = sorted((a["id"] or "", _error_code(a)) for a in answer if "error" in a)
    assert errors == [("", -32600), ("5", -32601)]
    assert rpc.calls.hellos == [7]


async def test_spec_all_notification_batch(rpc: Rpc) -> None:
    status, answer = await rpc.post("""[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]""")
    assert (status, answer) == (204, None)
    assert rpc.calls.hellos == [7]
