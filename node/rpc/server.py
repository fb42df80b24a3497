"""The RPC server's application factory and its runner.

`create_app(registry, hub, health_checks, metrics, cors_origins=..., limits=...)` builds the
aiohttp application: routes from `node.rpc.routes`, a CORS middleware, `rpc.discover` from
the registry, and the shutdown of every WebSocket. `serve(app, host, port)` starts it and
raises `NodeError(port_in_use)` with a one-line reason when the port is taken.

Sockets are closed in `on_shutdown`, not in `cleanup_ctx`: aiohttp runs cleanup only after it
has waited for open handlers, so a WebSocket closed there would hold shutdown for the whole
grace period. The cleanup context owns the shared state and checks that nothing is left.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from aiohttp import web

from node.errors import NodeError, NodeErrorCode
from node.metrics import NodeMetrics
from node.rpc.jsonrpc import Dispatcher, MethodSpec, NoParams, Registry
from node.rpc.limits import CORS_MAX_AGE_S, RpcLimits
from node.rpc.openrpc import build_document
from node.rpc.routes import STATE, CorsPolicy, HealthChecks, RpcState, add_routes
from node.rpc.subscriptions import SubscribeParams, SubscriptionHub, UnsubscribeParams
from node.rpc.webapp import add_web_routes

SHUTDOWN_TIMEOUT_S = 5.0
CORS_ALLOW_METHODS = "GET, POST, OPTIONS"
CORS_ALLOW_HEADERS = "Content-Type"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _websocket_only(params: Any) -> Any:
    raise AssertionError("documentation stub; the WebSocket route binds the real handler")


SUBSCRIBE_DOC = MethodSpec(
    "subscribe", _websocket_only, SubscribeParams, result={"type": "string"},
    summary="Follow a topic: newBlocks, tx (by id) or account (by address)",
    description=(
        "Returns a subscription id; the server then sends notifications "
        '{"jsonrpc":"2.0","method":"subscription","params":{"subscription":id,"result":...}}.'
    ),
    websocket_only=True,
)
UNSUBSCRIBE_DOC = MethodSpec(
    "unsubscribe", _websocket_only, UnsubscribeParams, result={"type": "boolean"},
    summary="Stop a subscription made on this connection", websocket_only=True,
)


def discover_method(registry: Registry, *, title: str, version: str) -> MethodSpec:
    """The built-in `rpc.discover`, answering the registry's OpenRPC document (cached)."""
    cache: dict[int, dict[str, Any]] = {}

    async def discover(params: NoParams) -> dict[str, Any]:
        document = cache.get(registry.version)
        if document is None:
            cache.clear()
            methods = [*registry, SUBSCRIBE_DOC, UNSUBSCRIBE_DOC]
            document = cache[registry.version] = build_document(
                methods, title=title, version=version
            )
        return document

    return MethodSpec("rpc.discover", discover, NoParams,
                      summary="This document: every method, in OpenRPC 1.2")


def cors_middleware(policy: CorsPolicy) -> Any:
    """Answer preflights for allowed origins and mark their responses; others get nothing."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        is_preflight = (
            request.method == "OPTIONS"
            and origin is not None
            and "Access-Control-Request-Method" in request.headers
        )
        if is_preflight:
            assert origin is not None
            if not policy.allows(origin):
                return web.Response(status=403, text="origin not allowed\n")
            return web.Response(status=204, headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
                "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                "Access-Control-Max-Age": str(CORS_MAX_AGE_S),
                "Vary": "Origin",
            })
        response = await handler(request)
        if origin is not None and policy.allows(origin) and not response.prepared:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    return middleware


def create_app(
    registry: Registry,
    hub: SubscriptionHub | None = None,
    health_checks: HealthChecks | None = None,
    metrics: NodeMetrics | None = None,
    *,
    cors_origins: Iterable[str] = (),
    limits: RpcLimits | None = None,
    title: str = "Agora JSON-RPC",
    version: str = "0.1.0",
    web_root: Path | None = None,
    extra_routes: Callable[[web.Application], None] | None = None,
) -> web.Application:
    """The RPC application: POST `/`, `/ws`, `/health`, `/metrics`, and GET `/` the web app.

    `hub` defaults to a new one with `limits` (pass the node's, which it publishes into);
    `health_checks()` returns (name, ok, detail) triples, sync or async; `metrics` gets the
    RPC counters and is what `/metrics` renders; `web_root` is the built web app's directory
    (`node.rpc.webapp`), None turns it off; `extra_routes` adds the routes of other rooms
    (the blob store's `/blobs/...`) before the web app's catch-all file route.
    """
    limits = limits or (hub.limits if hub is not None else RpcLimits())
    hub = hub or SubscriptionHub(limits, metrics)
    if hub.metrics is None:
        hub.metrics = metrics
    policy = CorsPolicy(frozenset(cors_origins))
    dispatcher = Dispatcher(
        registry, limits=limits, metrics=metrics,
        builtins={"rpc.discover": discover_method(registry, title=title, version=version)},
    )
    state = RpcState(dispatcher=dispatcher, hub=hub, limits=limits, metrics=metrics,
                     health_checks=health_checks, cors=policy)
    app = web.Application(middlewares=[cors_middleware(policy)],
                          client_max_size=limits.body_bytes_max)
    app[STATE] = state
    add_routes(app)
    if extra_routes is not None:
        extra_routes(app)  # before the web app: its file route matches every GET path
    add_web_routes(app, web_root)
    app.on_shutdown.append(_close_websockets)
    app.cleanup_ctx.append(_state_context)
    return app


async def _close_websockets(app: web.Application) -> None:
    state = app[STATE]
    state.hub.close_all()
    if state.background:
        await asyncio.wait(set(state.background), timeout=SHUTDOWN_TIMEOUT_S)


async def _state_context(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    yield
    state.hub.close_all()
    for task in list(state.background):
        task.cancel()
    assert state.hub.connections_count == 0, "connections outlived the application"


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start `app` on host:port; returns the runner (`await runner.cleanup()` to stop).

    Raises NodeError(port_in_use) when the port is taken, NodeError(bad_config) when the
    address cannot be bound otherwise. Port 0 picks a free port (see `bound_port`).
    """
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise NodeError(NodeErrorCode.PORT_IN_USE,
                            f"RPC port {host}:{port} is already in use") from None
        raise NodeError(NodeErrorCode.BAD_CONFIG,
                        f"cannot listen for RPC on {host}:{port}: {exc.strerror}") from None
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The TCP port the runner listens on (useful after `serve(app, host, 0)`)."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise AssertionError("the runner listens on no TCP address")
