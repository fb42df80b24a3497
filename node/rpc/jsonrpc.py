"""JSON-RPC 2.0 without a transport: a registry of methods and a dispatcher that turns one
request body into one response body.

The registry knows each method's name, pydantic params model, result schema, description
and examples (which `rpc.discover` publishes). The dispatcher decodes, checks the envelope,
validates params, calls the handler under a timeout, and encodes; it never lets an
exception through. Errors follow STYLE section 6: an `AgoraError` from a handler becomes its
own code with ``error.data.reason``; anything else is -32603 "internal error", logged here
with its traceback and never shown to the client.

Params are an object (our API); an array is accepted too and mapped onto the model's fields
in order, as the specification allows. Validation is pydantic's strict JSON mode: ``"5"`` is
not an integer, an unknown param is refused, and the message names the field.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pydantic
import pydantic_core
from pydantic import BaseModel, ConfigDict

from commerce.errors import AgoraError, CodeTable
from node.metrics import NodeMetrics
from node.rpc.errors import RpcError, RpcErrorCode, StandardCode, error_object
from node.rpc.limits import RpcLimits

logger = logging.getLogger("agora.rpc")

Handler = Callable[[Any], Awaitable[Any]]
H = TypeVar("H", bound=Handler)

JSONRPC_VERSION = "2.0"
RESERVED_PREFIX = "rpc."
WEBSOCKET_METHODS = frozenset({"subscribe", "unsubscribe"})
# Metric labels for calls that name no registered method; they keep label sets bounded.
LABEL_UNKNOWN_METHOD = "<unknown>"
LABEL_INVALID_REQUEST = "<invalid>"
MAX_ERRORS_IN_DATA = 8


class NoParams(BaseModel):
    """The params model of a method that takes none."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class Example:
    """One request/response pair for the documentation: named params and the result."""

    name: str
    params: Mapping[str, Any]
    result: Any
    description: str = ""


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """A registered method. `result` is a pydantic model, a JSON schema, or None (any)."""

    name: str
    handler: Handler
    params: type[BaseModel]
    result: type[BaseModel] | Mapping[str, Any] | None = None
    summary: str = ""
    description: str = ""
    examples: tuple[Example, ...] = ()
    timeout_s: float | None = None
    websocket_only: bool = False  # documented as such by `rpc.discover`

    def param_names(self) -> tuple[str, ...]:
        """The params' wire names in declaration order (aliases where set)."""
        return tuple(f.alias or n for n, f in self.params.model_fields.items())


class Registry:
    """Methods by name. Register with `add(...)` or the `@registry.method(...)` decorator.

    Names starting with ``rpc.`` are reserved by the specification, and `subscribe` and
    `unsubscribe` belong to the WebSocket transport; both are refused here.
    """

    def __init__(self) -> None:
        self._methods: dict[str, MethodSpec] = {}
        self.version = 0  # bumps on every change; `rpc.discover` caches by it

    def add(
        self,
        name: str,
        handler: Handler,
        *,
        params: type[BaseModel] = NoParams,
        result: type[BaseModel] | Mapping[str, Any] | None = None,
        summary: str = "",
        description: str = "",
        examples: Sequence[Example] = (),
        timeout_s: float | None = None,
    ) -> MethodSpec:
        """Register `handler` (``async def handler(params: Model) -> JSON-able``) as `name`."""
        assert name and isinstance(name, str), "a method needs a name"
        assert not name.startswith(RESERVED_PREFIX), f"{name}: rpc.* names are reserved"
        assert name not in WEBSOCKET_METHODS, f"{name} is a WebSocket built-in"
        assert name not in self._methods, f"method {name} registered twice"
        assert inspect.iscoroutinefunction(handler), f"{name}: the handler must be async"
        assert issubclass(params, BaseModel), f"{name}: params must be a pydantic model"
        assert timeout_s is None or timeout_s > 0, f"{name}: timeout must be positive"
        spec = MethodSpec(
            name=name,
            handler=handler,
            params=params,
            result=result,
            summary=summary,
            description=description,
            examples=tuple(examples),
            timeout_s=timeout_s,
        )
        self._methods[name] = spec
        self.version += 1
        return spec

    def method(
        self,
        name: str,
        params: type[BaseModel] = NoParams,
        **options: Any,
    ) -> Callable[[H], H]:
        """Decorator form of `add`: ``@registry.method("chain_getBlock", GetBlockParams)``."""

        def register(handler: H) -> H:
            description = options.pop("description", None) or (handler.__doc__ or "").strip()
            self.add(name, handler, params=params, description=description, **options)
            return handler

        return register

    def get(self, name: str) -> MethodSpec | None:
        return self._methods.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._methods

    def __iter__(self) -> Iterator[MethodSpec]:
        return iter(sorted(self._methods.values(), key=lambda spec: spec.name))

    def __len__(self) -> int:
        return len(self._methods)


def _reject_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def parse_json(body: bytes | str) -> Any:
    """Decode a body as strict JSON (no NaN or Infinity); raises ValueError.

    pydantic-core's parser first: ~5x faster than `json.loads` on a batch of hex
    transactions and, for every text it accepts, the same value (types and float bits;
    tests/rpc/test_json_parse.py compares them). A text it refuses goes to `json.loads`,
    which decides as it always did (it accepts lone surrogate escapes, for one).
    """
    try:
        return pydantic_core.from_json(body, allow_inf_nan=False, cache_strings="keys")
    except ValueError:
        pass
    return parse_json_stdlib(body)


def parse_json_stdlib(body: bytes | str) -> Any:
    """`parse_json` with the standard library's parser alone; raises ValueError."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")  # UnicodeDecodeError is a ValueError
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except RecursionError as exc:  # nesting past the parser's recursion limit: not JSON to us
        raise ValueError("JSON nested too deeply") from exc


@dataclass(frozen=True, slots=True)
class JsonText:
    """A result a handler rendered as JSON text itself (compact, as `encode_json` renders):
    the dispatcher inserts it as it is."""

    text: str


def encode_json(value: Any) -> str:
    """Compact JSON text; pydantic models are dumped in JSON mode first, `JsonText` is
    taken as it is."""
    if isinstance(value, JsonText):
        return value.text
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def describe_validation_error(exc: pydantic.ValidationError) -> tuple[str, dict[str, Any]]:
    """A one-line message naming the first bad field, and the data listing them all."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    assert errors, "a validation error lists at least one error"
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "params"
    if first["type"] == "missing":
        message = f"invalid params: missing param '{where}'"
    else:
        message = f"invalid params: param '{where}': {first['msg']}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    detail = [
        {"field": ".".join(str(p) for p in e["loc"]), "type": e["type"], "message": e["msg"]}
        for e in errors[:MAX_ERRORS_IN_DATA]
    ]
    return message.replace("\n", " "), {"field": where, "errors": detail}


def validate_params(spec: MethodSpec, raw: Any) -> BaseModel:
    """The params model instance for `raw` (object, array or absent); raises RpcError -32602."""
    model = spec.params
    if raw is None:
        named: dict[str, Any] = {}
    elif isinstance(raw, list):
        names = spec.param_names()
        if len(raw) > len(names):
            raise RpcError(
                StandardCode.INVALID_PARAMS,
                f"invalid params: {spec.name} takes at most {len(names)} params, got {len(raw)}",
            )
        named = dict(zip(names, raw, strict=False))
    else:
        assert isinstance(raw, dict), "the envelope check lets only objects and arrays through"
        named = raw
    if model.model_config.get("extra") != "allow":
        known = {n for n in model.model_fields} | {
            f.alias for f in model.model_fields.values() if f.alias
        }
        unknown = sorted(set(named) - known)
        if unknown:
            raise RpcError(
                StandardCode.INVALID_PARAMS,
                f"invalid params: unexpected param '{_one_line(unknown[0])}'",
                {"field": unknown[0]},
            )
    try:
        # The params came from `json.loads`. For such values, what pydantic's strict Python
        # mode accepts its strict JSON mode accepts too, with the same result, and Python
        # mode skips dumping the params to text and parsing them again (a 500-transaction
        # batch is ~165 kB of hex). Anything else (a refusal, a validator's own exception)
        # takes the JSON mode below, which gives exactly the answer it always gave: its
        # wording differs at times ("a valid array" where Python mode says "a valid list").
        # tests/rpc/test_params_modes.py compares both on every params model.
        validated: BaseModel = model.__pydantic_validator__.validate_python(named, strict=True)
        return validated
    except Exception:  # the JSON mode below decides, as it always did
        return validate_params_json(model, named)


def validate_params_json(model: type[BaseModel], named: dict[str, Any]) -> BaseModel:
    """`named` validated by the model in strict JSON mode; raises RpcError -32602."""
    try:
        return model.model_validate_json(json.dumps(named), strict=True)
    except pydantic.ValidationError as exc:
        message, data = describe_validation_error(exc)
        raise RpcError(StandardCode.INVALID_PARAMS, message, data) from None


def _response_text(request_id: Any, *, result_text: str | None = None,
                   error: dict[str, Any] | None = None) -> str:
    id_text = encode_json(request_id)
    if error is not None:
        return f'{{"jsonrpc":"2.0","error":{encode_json(error)},"id":{id_text}}}'
    assert result_text is not None, "a response has a result or an error"
    return f'{{"jsonrpc":"2.0","result":{result_text},"id":{id_text}}}'


def error_response(request_id: Any, code: CodeTable, message: str,
                   data: dict[str, Any] | None = None) -> str:
    """The text of a response carrying an error."""
    return _response_text(request_id, error=error_object(code, message, data))


def _one_line(text: str) -> str:
    """A client's text (a method or param name) fit for a one-line error message."""
    return text.replace("\n", "\\n")


def _valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))


class Dispatcher:
    """Answers JSON-RPC messages from a registry; one per server.

    `dispatch(message)` takes a decoded message (object or batch) and returns the response
    text, or None when nothing is to be sent (notifications). `extra` methods (the
    WebSocket's `subscribe`, `unsubscribe`) are looked up before the registry.

    Calls in flight are counted in total (`inflight_calls_max`, beyond: server_busy) and
    per `client` (a key the transport gives, its address; `client_inflight_calls_max`,
    beyond: client_busy). A call made with no client (in-process callers) counts only in
    the total.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        limits: RpcLimits,
        metrics: NodeMetrics | None = None,
        builtins: Mapping[str, MethodSpec] | None = None,
    ) -> None:
        self.registry = registry
        self.limits = limits
        self.metrics = metrics
        self.builtins = dict(builtins or {})
        self.inflight_calls = 0
        self.client_calls: dict[str, int] = {}  # only clients with calls in flight

    def count(self, method_label: str, code: int, seconds: float | None = None) -> None:
        """Count one answered call in the metrics (`code` 0 is success)."""
        if self.metrics is None:
            return
        self.metrics.rpc_requests.inc(method=method_label, code=str(code))
        if seconds is not None:
            self.metrics.rpc_latency.observe(seconds, method=method_label)

    def refuse(self, request_id: Any, code: CodeTable, message: str,
               data: dict[str, Any] | None = None) -> str:
        """An error response to a message that named no method, counted as invalid."""
        self.count(LABEL_INVALID_REQUEST, code.rpc_code)
        return error_response(request_id, code, message, data)

    async def dispatch(
        self, message: Any, extra: Mapping[str, MethodSpec] | None = None,
        client: str | None = None,
    ) -> str | None:
        """The response text for one decoded message, or None when there is nothing to send."""
        if isinstance(message, list):
            return await self._dispatch_batch(message, extra or {}, client)
        return await self.call(message, extra or {}, client)

    async def dispatch_body(
        self, body: bytes | str, extra: Mapping[str, MethodSpec] | None = None,
        client: str | None = None,
    ) -> str | None:
        """Decode then dispatch; an undecodable body is answered with -32700."""
        try:
            message = parse_json(body)
        except ValueError:
            return self.refuse(None, StandardCode.PARSE_ERROR, "Parse error: the body is not JSON")
        return await self.dispatch(message, extra, client)

    async def _dispatch_batch(
        self, batch: list[Any], extra: Mapping[str, MethodSpec], client: str | None
    ) -> str | None:
        if not batch:
            return self.refuse(None, StandardCode.INVALID_REQUEST, "Invalid Request: empty batch")
        if len(batch) > self.limits.batch_calls_max:
            return self.refuse(
                None,
                StandardCode.BATCH_TOO_LARGE,
                f"Invalid Request: batch of {len(batch)} calls is over the limit of "
                f"{self.limits.batch_calls_max}",
                {"limit": self.limits.batch_calls_max},
            )
        # The calls run concurrently; tasks start in batch order, so a handler that does its
        # work before its first await sees the calls in order.
        texts = await asyncio.gather(*(self.call(item, extra, client) for item in batch))
        answered = [text for text in texts if text is not None]
        if not answered:
            return None
        return "[" + ",".join(answered) + "]"

    async def call(self, request: Any, extra: Mapping[str, MethodSpec],
                   client: str | None = None) -> str | None:
        """Answer one request object; None for a notification (whatever its outcome)."""
        if not isinstance(request, dict):
            return self.refuse(
                None, StandardCode.INVALID_REQUEST, "Invalid Request: a call is a JSON object"
            )
        request_id = request.get("id")
        if not _valid_id(request_id):
            return self.refuse(
                None, StandardCode.INVALID_REQUEST,
                "Invalid Request: id must be a string, a number or null",
            )
        problem = _envelope_problem(request)
        if problem is not None:
            return self.refuse(request_id, StandardCode.INVALID_REQUEST, problem)
        is_notification = "id" not in request
        name: str = request["method"]
        spec = extra.get(name) or self.builtins.get(name) or self.registry.get(name)
        if spec is None:
            self.count(LABEL_UNKNOWN_METHOD, StandardCode.METHOD_NOT_FOUND.rpc_code)
            if is_notification:
                return None
            if name in WEBSOCKET_METHODS:
                return error_response(
                    request_id, RpcErrorCode.WEBSOCKET_ONLY,
                    f"{name} is only available over WebSocket at /ws",
                )
            return error_response(
                request_id, StandardCode.METHOD_NOT_FOUND,
                f"Method not found: {_one_line(name[:64])}"
            )
        text = await self._call_method(spec, request.get("params"), request_id, client)
        return None if is_notification else text

    async def _call_method(self, spec: MethodSpec, raw_params: Any, request_id: Any,
                           client: str | None) -> str:
        client_calls = self.client_calls.get(client, 0) if client is not None else 0
        if client_calls >= self.limits.client_inflight_calls_max:
            self.count(spec.name, RpcErrorCode.CLIENT_BUSY.rpc_code)
            limit = self.limits.client_inflight_calls_max
            return error_response(
                request_id, RpcErrorCode.CLIENT_BUSY,
                f"client busy: this client already has {client_calls} calls in flight "
                f"(the limit); wait for one to answer",
                {"limit": limit},
            )
        if self.inflight_calls >= self.limits.inflight_calls_max:
            self.count(spec.name, RpcErrorCode.SERVER_BUSY.rpc_code)
            return error_response(
                request_id, RpcErrorCode.SERVER_BUSY,
                f"server busy: {self.inflight_calls} calls in flight; retry later",
            )
        started = time.perf_counter()
        self.inflight_calls += 1
        if client is not None:
            self.client_calls[client] = client_calls + 1
        try:
            text, code = await self._run(spec, raw_params, request_id)
        finally:
            self.inflight_calls -= 1
            if client is not None:
                self._release_client(client)
        self.count(spec.name, code, time.perf_counter() - started)
        return text

    def _release_client(self, client: str) -> None:
        left = self.client_calls[client] - 1
        assert left >= 0, f"client {client} released more calls than it took"
        if left:
            self.client_calls[client] = left
        else:
            del self.client_calls[client]  # the map holds only clients with calls in flight

    async def _run(self, spec: MethodSpec, raw_params: Any, request_id: Any) -> tuple[str, int]:
        """The response text and the code to count (0 for a result)."""
        timeout_s = spec.timeout_s or self.limits.request_timeout_s
        try:
            params = validate_params(spec, raw_params)
            async with asyncio.timeout(timeout_s):
                result = await spec.handler(params)
            return _response_text(request_id, result_text=encode_json(result)), 0
        except RpcError as exc:
            return error_response(request_id, exc.code, exc.message, exc.data), exc.code.rpc_code
        except AgoraError as exc:
            return error_response(request_id, exc.code, exc.message), exc.code.rpc_code
        except TimeoutError:
            message = f"{spec.name} did not finish within {timeout_s:g} s"
            timeout = RpcErrorCode.REQUEST_TIMEOUT
            return error_response(request_id, timeout, message), timeout.rpc_code
        except Exception as exc:  # the boundary: log it with its traceback, answer -32603
            logger.error(
                "rpc_internal_error method=%s error=%r traceback=%s",
                spec.name, exc, json.dumps(traceback.format_exc()),
            )
            internal = StandardCode.INTERNAL_ERROR
            return error_response(request_id, internal, "internal error"), internal.rpc_code


def _envelope_problem(request: dict[str, Any]) -> str | None:
    """What is wrong with a request object's envelope, or None."""
    if request.get("jsonrpc") != JSONRPC_VERSION:
        return 'Invalid Request: "jsonrpc" must be "2.0"'
    method = request.get("method")
    if not isinstance(method, str):
        return 'Invalid Request: "method" must be a string'
    if "params" in request and not isinstance(request["params"], dict | list):
        return 'Invalid Request: "params" must be an object or an array'
    return None
