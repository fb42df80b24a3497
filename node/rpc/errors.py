"""Error codes of the JSON-RPC layer: the five of the JSON-RPC 2.0 specification and the
transport's own, numbered -32090..-32099 (the top of the node's -32050..-32099 range).

Every error object this server sends carries the stable snake_case name in
``error.data.reason``, the standard ones included (``parse_error``, ``invalid_request``...).
"""

from __future__ import annotations

from typing import Any

from base.errors import AgoraError, CodeTable, check_table


class StandardCode(CodeTable):
    """The codes the JSON-RPC 2.0 specification defines, with its messages as meanings."""

    PARSE_ERROR = ("parse_error", -32700, "Parse error")
    INVALID_REQUEST = ("invalid_request", -32600, "Invalid Request")
    METHOD_NOT_FOUND = ("method_not_found", -32601, "Method not found")
    INVALID_PARAMS = ("invalid_params", -32602, "Invalid params")
    INTERNAL_ERROR = ("internal_error", -32603, "Internal error")
    # Kinds of invalid request this server names apart; the number stays the standard one,
    # so this table repeats numbers and is not checked for unique ones.
    BODY_TOO_LARGE = ("body_too_large", -32600, "the request body is over its byte limit")
    BATCH_TOO_LARGE = ("batch_too_large", -32600, "the batch has more calls than allowed")


class RpcErrorCode(CodeTable):
    """Refusals by the RPC transport itself, independent of any method."""

    REQUEST_TIMEOUT = ("request_timeout", -32090, "the call did not finish in time")
    SERVER_BUSY = ("server_busy", -32091, "too many calls in flight; retry later")
    TOO_MANY_SUBSCRIPTIONS = (
        "too_many_subscriptions", -32092, "the subscription limit is reached",
    )
    UNKNOWN_SUBSCRIPTION = ("unknown_subscription", -32093, "no such subscription here")
    WEBSOCKET_ONLY = ("websocket_only", -32094, "the method needs a WebSocket connection")
    TOO_MANY_CONNECTIONS = ("too_many_connections", -32095, "the WebSocket limit is reached")
    CLIENT_BUSY = (
        "client_busy", -32096, "this client has too many calls in flight; wait for one",
    )


check_table(RpcErrorCode, (-32099, -32090))


class RpcError(AgoraError):
    """A refusal by the RPC layer; the server sends it as an error object.

    `code` may be a standard code or an `RpcErrorCode`; `data` is merged into
    ``error.data`` beside ``reason``.
    """

    def __init__(self, code: CodeTable, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(code, message)
        self.data = data or {}


def error_object(
    code: CodeTable, message: str, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``error`` member of a response: code, one-line message, data with the reason."""
    assert "\n" not in message, "error messages are one line"
    return {
        "code": code.rpc_code,
        "message": message,
        "data": {"reason": code.reason, **(data or {})},
    }
