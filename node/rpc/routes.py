"""The HTTP routes of the RPC server: POST `/`, GET `/ws`, GET `/health`, GET `/metrics`.

Each route reads its shared objects from the application (`RpcState`, built by
`node.rpc.server.create_app`) and does only transport work; all JSON-RPC decisions are the
dispatcher's, which counts calls in flight per client: a client is its IP address (an
IPv6 client's /64, which one host usually holds whole), over HTTP and WebSocket alike.
Body limit: a body over `body_bytes_max` is answered with HTTP 413 and a JSON-RPC error
-32600 (reason ``body_too_large``, id null); a body of exactly the limit is read.
All-notification messages are answered with HTTP 204 and no body.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from aiohttp import WSCloseCode, WSMsgType, web

from node.metrics import CONTENT_TYPE, NodeMetrics
from node.rpc.errors import RpcError, RpcErrorCode, StandardCode, error_object
from node.rpc.jsonrpc import Dispatcher, MethodSpec, error_response
from node.rpc.limits import RpcLimits
from node.rpc.subscriptions import (
    DROP_SEND_TIMEOUT,
    DROP_SHUTDOWN,
    Connection,
    SubscribeParams,
    SubscriptionHub,
    UnsubscribeParams,
    subscription_key,
)

logger = logging.getLogger("agora.rpc")

HealthCheck = tuple[str, bool, str]
HealthChecks = Callable[[], Iterable[HealthCheck] | Awaitable[Iterable[HealthCheck]]]

READ_CHUNK_BYTES = 64 * 1024
IPV6_CLIENT_PREFIX_BITS = 64  # one IPv6 client: a host is usually given a whole /64
UNKNOWN_CLIENT = "unknown"  # no peer address (a Unix socket): all such calls share one cap
CLOSE_GRACE_S = 1.0  # a dropped client gets this long to take the close frame, then reset


@dataclass(frozen=True, slots=True)
class CorsPolicy:
    """Origins allowed to call from a browser; ``*`` allows any. Empty allows none."""

    origins: frozenset[str] = frozenset()

    def allows(self, origin: str) -> bool:
        return "*" in self.origins or origin in self.origins


@dataclass(eq=False)
class RpcState:
    """What the routes share; one per application."""

    dispatcher: Dispatcher
    hub: SubscriptionHub
    limits: RpcLimits
    metrics: NodeMetrics | None
    health_checks: HealthChecks | None
    cors: CorsPolicy
    websockets: set[web.WebSocketResponse] = field(default_factory=set)
    background: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, coroutine: Awaitable[None]) -> None:
        """Run a fire-and-forget task that the application keeps a reference to."""
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)


STATE = web.AppKey("agora_rpc_state", RpcState)


def client_key(remote: str | None) -> str:
    """The key a caller's calls are counted under: its IPv4 address, or its IPv6 /64."""
    if not remote:
        return UNKNOWN_CLIENT
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return remote[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX_BITS), strict=False)
        return str(network)
    return str(address)


def same_origin(request: web.Request, origin: str) -> bool:
    """Whether `origin` is the address the request was sent to (http or https, as a reverse
    proxy may end TLS): the web app this node serves calling home."""
    host = request.host
    return origin in (f"http://{host}", f"https://{host}")


def _json_response(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="application/json")


async def post_rpc(request: web.Request) -> web.StreamResponse:
    """JSON-RPC over HTTP: read the body within the limit, dispatch, answer."""
    state = request.app[STATE]
    limit = state.limits.body_bytes_max
    if request.content_length is not None and request.content_length > limit:
        return _body_too_large(state, limit)
    body = bytearray()
    async for chunk in request.content.iter_chunked(READ_CHUNK_BYTES):
        body += chunk
        if len(body) > limit:
            return _body_too_large(state, limit)
    text = await state.dispatcher.dispatch_body(bytes(body), client=client_key(request.remote))
    if text is None:
        return web.Response(status=204)
    return _json_response(200, text)


def _body_too_large(state: RpcState, limit: int) -> web.Response:
    text = state.dispatcher.refuse(
        None, StandardCode.BODY_TOO_LARGE,
        f"Invalid Request: the body is over the limit of {limit} bytes", {"limit": limit},
    )
    response = _json_response(413, text)
    # The rest of the body is not read: close the connection rather than drain it.
    response.force_close()
    return response


async def get_health(request: web.Request) -> web.Response:
    """200 with every check when all pass; 503 naming the failed ones otherwise."""
    state = request.app[STATE]
    checks: list[HealthCheck] = [("rpc", True, "serving")]
    if state.health_checks is not None:
        try:
            outcome = state.health_checks()
            if inspect.isawaitable(outcome):
                outcome = await outcome
            checks.extend(outcome)
        except Exception as exc:  # a failing check is a failed check, not a 500
            logger.error("rpc_health_check_error error=%r", exc)
            checks.append(("health_checks", False, f"checks raised {type(exc).__name__}"))
    results = [{"name": name, "ok": bool(ok), "detail": str(detail)} for name, ok, detail in checks]
    failed = [result["name"] for result in results if not result["ok"]]
    body = {"status": "failing" if failed else "ok", "checks": results, "failed": failed}
    return _json_response(503 if failed else 200, json.dumps(body))


async def get_metrics(request: web.Request) -> web.Response:
    """The Prometheus text exposition of every metric."""
    state = request.app[STATE]
    text = state.metrics.render() if state.metrics is not None else ""
    return web.Response(body=text.encode("utf-8"), headers={"Content-Type": CONTENT_TYPE})


def _subscription_methods(hub: SubscriptionHub, connection: Connection) -> dict[str, MethodSpec]:
    """`subscribe` and `unsubscribe` bound to one connection."""

    async def subscribe(params: SubscribeParams) -> str:
        return hub.subscribe(connection, params.topic, subscription_key(params))

    async def unsubscribe(params: UnsubscribeParams) -> bool:
        if not hub.unsubscribe(connection, params.subscription):
            raise RpcError(
                RpcErrorCode.UNKNOWN_SUBSCRIPTION,
                f"no subscription {params.subscription[:32]} on this connection",
            )
        return True

    return {
        "subscribe": MethodSpec("subscribe", subscribe, SubscribeParams),
        "unsubscribe": MethodSpec("unsubscribe", unsubscribe, UnsubscribeParams),
    }


async def ws_rpc(request: web.Request) -> web.StreamResponse:
    """JSON-RPC over a WebSocket, with subscriptions; one reader and one writer task.

    A browser's upgrade (it sends Origin) is refused unless the origin is allowed by CORS or
    is the node's own (the web app it serves at GET `/`).
    """
    state = request.app[STATE]
    origin = request.headers.get("Origin")
    if origin is not None and not state.cors.allows(origin) and not same_origin(request, origin):
        text = error_response(None, StandardCode.INVALID_REQUEST,
                              f"origin {origin[:100]} is not allowed (see --rpc-cors)")
        return _json_response(403, text)
    ws = web.WebSocketResponse(
        heartbeat=state.limits.ws_heartbeat_s, max_msg_size=state.limits.ws_message_bytes_max
    )

    def closer(reason: str) -> None:
        state.spawn(_close_dropped(request, ws, reason))

    try:
        connection = state.hub.connect(closer)
    except RpcError as exc:
        body = json.dumps({"jsonrpc": "2.0", "error": error_object(exc.code, exc.message),
                           "id": None})
        return _json_response(503, body)
    try:
        await ws.prepare(request)
    except BaseException:
        state.hub.disconnect(connection)
        raise
    state.websockets.add(ws)
    writer = asyncio.create_task(_ws_write_loop(state, connection, ws))
    calls: set[asyncio.Task[None]] = set()
    try:
        await _ws_read_loop(state, connection, ws, calls, request.remote)
    finally:
        state.hub.disconnect(connection)
        state.websockets.discard(ws)
        writer.cancel()
        for call in calls:
            call.cancel()
    return ws


async def _ws_read_loop(
    state: RpcState, connection: Connection, ws: web.WebSocketResponse,
    calls: set[asyncio.Task[None]], ws_remote: str | None,
) -> None:
    """Dispatch each inbound frame as a JSON-RPC message, at most N calls at a time."""
    methods = _subscription_methods(state.hub, connection)
    slots = asyncio.Semaphore(state.limits.ws_inflight_calls_max)
    client = client_key(ws_remote)

    async def answer(data: str | bytes) -> None:
        try:
            text = await state.dispatcher.dispatch_body(data, methods, client)
            if text is not None:
                state.hub.offer(connection, text)
        finally:
            slots.release()

    async for message in ws:
        if connection.dropped_reason is not None:
            break
        if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            continue  # ping, pong and close are handled by aiohttp
        await slots.acquire()
        task = asyncio.create_task(answer(message.data))
        calls.add(task)
        task.add_done_callback(calls.discard)


async def _ws_write_loop(state: RpcState, connection: Connection,
                         ws: web.WebSocketResponse) -> None:
    """Send queued frames in order; a frame that takes too long drops the client."""
    timeout_s = state.limits.ws_send_timeout_s
    while True:
        frame = await connection.queue.get()
        try:
            async with asyncio.timeout(timeout_s):
                await ws.send_str(frame)
        except TimeoutError:
            state.hub.drop(connection, DROP_SEND_TIMEOUT)
            return
        except (ConnectionError, RuntimeError):
            return  # the socket is closing; the read loop ends too


async def _close_dropped(request: web.Request, ws: web.WebSocketResponse, reason: str) -> None:
    """Close a socket the hub dropped; a client that does not take the close frame is reset."""
    code = WSCloseCode.GOING_AWAY if reason == DROP_SHUTDOWN else WSCloseCode.POLICY_VIOLATION
    try:
        async with asyncio.timeout(CLOSE_GRACE_S):
            await ws.close(code=code, message=reason.encode())
    except (TimeoutError, ConnectionError, RuntimeError):
        pass
    # Whether or not the close handshake finished, the connection goes now: a slow client
    # must not hold a socket, and a closed one is not reused for HTTP.
    transport = request.transport
    if transport is not None:
        transport.abort()


def add_routes(app: web.Application) -> None:
    """Register the RPC server's routes on `app`."""
    app.router.add_post("/", post_rpc)
    app.router.add_get("/ws", ws_rpc)
    app.router.add_get("/health", get_health)
    app.router.add_get("/metrics", get_metrics)
