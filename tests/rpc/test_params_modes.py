"""Params are validated in pydantic's strict Python mode and, when that refuses, in strict
JSON mode: the answer must be exactly the JSON mode's alone (the only mode before).

Method: every params model of the node's methods (and the WebSocket's and the test
registry's), each field and each pair of fields set to values from a corpus of JSON values
(every kind, limits, the right and wrong types, large integers, unicode), and every field
of accepted params spoiled with each of them, passed through
`json.loads(json.dumps(...))` as a request body would be; `validate_params` must give the
same model, or the same RpcError (code, message, data), or the same exception as
`validate_params_json`.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pydantic
import pytest
from pydantic import BaseModel

import node.rpc.params
from commerce.address import to_text
from node.rpc.errors import RpcError
from node.rpc.jsonrpc import MethodSpec, NoParams, validate_params, validate_params_json
from node.rpc.subscriptions import SubscribeParams, UnsubscribeParams
from tests.rpc import conftest as rpc_fixtures

_ADDRESS = to_text(b"\x01" * 20)
_CORPUS: list[Any] = [json.loads(json.dumps(value)) for value in [
    None, True, False, 0, 1, -1, 2, 50, 1_000, 10**6, 2**63 - 1, 2**63, 2**64, 2**70, -(2**70),
    1.0, 1.5, -0.0, 1e308, "", "x", "0x12", "ab" * 32, "AB" * 32, "g" * 64, "a" * 100,
    "a" * 129, "a" * 5_000, "none", "commit", "pending", "tx", "newBlocks", "account",
    "release", _ADDRESS, _ADDRESS.upper(), "agora1xyz", "\u00e9", "\U0001f600", "1", "true",
    "null", "a\x00b", [], [1], ["a"], ["ab" * 10], ["ab"] * 1_001, [None], [1.5], [["a"]], {},
    {"a": 1}, {"txs": []}, {"x": 1, "y": 2},
]]


def _models() -> list[type[BaseModel]]:
    found: set[type[BaseModel]] = {NoParams, SubscribeParams, UnsubscribeParams}
    todo: list[type[BaseModel]] = [node.rpc.params.Params]
    while todo:
        model = todo.pop()
        found.add(model)
        todo.extend(model.__subclasses__())
    for value in vars(rpc_fixtures).values():
        if isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel:
            found.add(value)
    assert node.rpc.params.SubmitBatchParams in found
    assert node.rpc.params.ListingsParams in found
    return sorted(found, key=lambda model: model.__name__)


def _outcome(validate: Any, *args: Any) -> tuple[Any, ...]:
    try:
        model = validate(*args)
    except RpcError as exc:
        return ("rpc_error", exc.code, exc.message, exc.data)
    except Exception as exc:  # a validator's own error (e.g. a bad address)
        return ("exception", type(exc), str(exc))
    return ("ok", type(model), model.model_dump())


def _valid_base(model: type[BaseModel]) -> dict[str, Any]:
    """Params the model accepts: field by field, the first corpus value it takes."""
    named: dict[str, Any] = {}
    for name in model.model_fields:
        for value in _CORPUS:
            trial = {**named, name: value}
            try:
                model.model_validate_json(json.dumps(trial), strict=True)
            except pydantic.ValidationError as exc:
                if any(error["loc"][:1] == (name,) for error in exc.errors()):
                    continue
            except Exception:  # a validator's own error names no field: try another
                continue
            named = trial
            break
    return named


def _cases(model: type[BaseModel]) -> list[dict[str, Any]]:
    names = list(model.model_fields)
    base = _valid_base(model)
    cases: list[dict[str, Any]] = [{}, base]
    cases += [{name: value} for name in names for value in _CORPUS]
    cases += [{**base, name: value} for name in names for value in _CORPUS]
    for first, second in itertools.combinations(names, 2):
        cases += [{first: a, second: b} for a in _CORPUS[::3] for b in _CORPUS[::4]]
    return cases


@pytest.mark.parametrize("model", _models(), ids=lambda model: model.__name__)
def test_validate_params_answers_as_json_mode_alone(model: type[BaseModel]) -> None:
    spec = MethodSpec(name="m", handler=_handler, params=model)
    accepted = 0
    for named in _cases(model):
        expected = _outcome(validate_params_json, model, dict(named))
        assert _outcome(validate_params, spec, dict(named)) == expected, named
        accepted += expected[0] == "ok"
    assert accepted > 0 or model.model_fields == {}, "the corpus reaches the accepting path"


def test_validate_params_array_message_is_json_modes() -> None:
    spec = MethodSpec(name="m", handler=_handler, params=node.rpc.params.SubmitBatchParams)
    with pytest.raises(RpcError) as info:
        validate_params(spec, {"txs": 5})
    assert info.value.message == "invalid params: param 'txs': Input should be a valid array"


async def _handler(params: Any) -> None:
    return None
