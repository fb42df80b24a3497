"""The JSON-RPC 2.0 server (HTTP and WebSocket), its subscriptions and OpenRPC (the client
is the SDK's `client.rpc`).

Register methods on a `Registry`, publish events into a `SubscriptionHub`, and build the
aiohttp application with `create_app`; `serve` starts it.
"""

from node.rpc.errors import RpcError, RpcErrorCode, StandardCode
from node.rpc.jsonrpc import Example, MethodSpec, NoParams, Registry
from node.rpc.limits import RpcLimits
from node.rpc.server import bound_port, create_app, serve
from node.rpc.subscriptions import SubscriptionHub

__all__ = [
    "Example",
    "MethodSpec",
    "NoParams",
    "Registry",
    "RpcError",
    "RpcErrorCode",
    "RpcLimits",
    "StandardCode",
    "SubscriptionHub",
    "bound_port",
    "create_app",
    "serve",
]
