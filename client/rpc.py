"""The JSON-RPC client of an Agora node: asynchronous (`RpcClient`) and blocking
(`SyncRpcClient`), with the WebSocket subscriptions.

    async with RpcClient("http://127.0.0.1:26657") as client:
        status = await client.status()
        results = await client.batch([("state_getAccount", {"address": a}) for a in addrs])
        async with client.subscribe("tx", id=tx_id) as updates:
            event = await updates.next(timeout_s=10)

    with SyncRpcClient("http://127.0.0.1:26657") as client:
        balance = client.account(address)["balance"]

`call` reaches any method by name; the typed methods (`status`, `account`, `listing`, ...)
name the common reads and say what they return. An error response raises `RpcCallError`
(code, reason, message, data); a transport failure (refused connection, non-JSON answer,
timeout) raises `RpcTransportError`. Both derive from `RpcClientError`, the one type a
program has to catch. A `SyncRpcClient` runs its own event loop: use it where no loop runs
(scripts, the CLI), and `RpcClient` inside asyncio code.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypedDict, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp

DEFAULT_TIMEOUT_S = 30.0
MAX_PENDING_NOTIFICATIONS = 10_000  # per subscription, and for ids not yet known
MAX_EARLY_SUBSCRIPTIONS = 64  # subscription ids whose notifications came before their id


class RpcClientError(Exception):
    """Any failure of a call made through this client."""


class RpcTransportError(RpcClientError):
    """The server could not be reached or did not answer with JSON-RPC."""


class RpcCallError(RpcClientError):
    """The server answered with an error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        self.code = code
        self.message = message
        self.data = data
        self.reason: str = data.get("reason", "") if isinstance(data, dict) else ""
        super().__init__(f"{self.reason or code}: {message}")

    @classmethod
    def from_error(cls, error: Any) -> RpcCallError:
        if not isinstance(error, dict):
            return cls(-32603, f"malformed error object {error!r:.100}")
        return cls(int(error.get("code", -32603)), str(error.get("message", "")),
                   error.get("data"))


def _result_of(response: Any) -> Any:
    if not isinstance(response, dict) or response.get("jsonrpc") != "2.0":
        raise RpcTransportError(f"not a JSON-RPC response: {response!r:.200}")
    if "error" in response:
        raise RpcCallError.from_error(response["error"])
    if "result" not in response:
        raise RpcTransportError("a JSON-RPC response without result or error")
    return response["result"]


def websocket_url(url: str) -> str:
    """The `/ws` address beside an HTTP RPC address."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", "", ""))


class NodeStatus(TypedDict):
    """The result of `node_status` (docs/RPC.md): identity, head, view, peers, mempool."""

    chain_id: str
    genesis_hash: str
    moniker: str
    node_id: str
    validator: bool
    version: str
    height: int
    latest_block_hash: str
    state_root: str
    view: int
    primary: str
    view_changes: int
    catching_up: bool
    peers: int
    mempool_txs: int
    mempool_bytes: int
    rpc_port: int
    p2p_port: int


class Account(TypedDict):
    """The result of `state_getAccount`: sign the next transaction with `pending_nonce`."""

    address: str
    balance: int
    balance_decimal: str
    nonce: int
    pending_nonce: int


Record = dict[str, Any]  # a JSON object as the node renders it (docs/RPC.md names its fields)
Awaited = TypeVar("Awaited")
Params = ParamSpec("Params")
Owner = TypeVar("Owner")


def blocking(
    method: Callable[Concatenate[Owner, Params], Coroutine[Any, Any, Awaited]],
) -> Callable[Concatenate[Any, Params], Awaited]:
    """The blocking twin of an async method: called on an object with `aio` (the async
    object) and `run` (its event loop's `run_until_complete`), so each logic is written once,
    asynchronously."""

    @functools.wraps(method)
    def run_blocking(self: Any, /, *args: Params.args, **kwargs: Params.kwargs) -> Awaited:
        result: Awaited = self.run(method(self.aio, *args, **kwargs))
        return result

    return run_blocking


class _AsyncClosing(ABC):
    """`async with` closes the object."""

    async def __aenter__(self: Owner) -> Owner:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    @abstractmethod
    async def close(self) -> None:
        """Release what the object holds."""


class RpcClient(_AsyncClosing):
    """JSON-RPC over HTTP POST to `url`; `websocket()` opens the `/ws` beside it."""

    def __init__(self, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 session: aiohttp.ClientSession | None = None) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._session = session
        self._owns_session = session is None
        self._ids = itertools.count(1)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    async def post(self, message: Any) -> Any:
        """POST one message (object or list); the decoded answer, or None for HTTP 204."""
        try:
            async with self.session.post(
                self.url, data=json.dumps(message), headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            ) as response:
                if response.status == 204:
                    return None
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RpcTransportError(f"cannot reach {self.url}: {exc or type(exc).__name__}"
                                    ) from None
        try:
            return json.loads(text)
        except ValueError:
            raise RpcTransportError(
                f"HTTP {response.status} from {self.url} is not JSON: {text[:100]!r}"
            ) from None

    async def call(self, method: str, /, **params: Any) -> Any:
        """Call `method` with named params; its result, or RpcCallError."""
        request = {"jsonrpc": "2.0", "method": method, "params": params, "id": next(self._ids)}
        return _result_of(await self.post(request))

    async def notify(self, method: str, /, **params: Any) -> None:
        """Send a notification (no answer is expected or read)."""
        await self.post({"jsonrpc": "2.0", "method": method, "params": params})

    async def batch(
        self, calls: Iterable[tuple[str, Mapping[str, Any]]]
    ) -> list[Any | RpcCallError]:
        """One batch; each entry is the call's result or its RpcCallError, in call order."""
        requests = [
            {"jsonrpc": "2.0", "method": method, "params": dict(params), "id": next(self._ids)}
            for method, params in calls
        ]
        if not requests:
            return []
        answer = await self.post(requests)
        if isinstance(answer, dict):  # the whole batch was refused
            _result_of(answer)
            raise RpcTransportError("a batch answered with a result object")
        if not isinstance(answer, list):
            raise RpcTransportError(f"a batch answered with {type(answer).__name__}")
        by_id = {item.get("id"): item for item in answer if isinstance(item, dict)}
        results: list[Any | RpcCallError] = []
        for request in requests:
            response = by_id.get(request["id"])
            if response is None:
                raise RpcTransportError(f"the batch answer lacks call {request['id']}")
            try:
                results.append(_result_of(response))
            except RpcCallError as exc:
                results.append(exc)
        return results

    async def websocket(self) -> RpcWebSocket:
        """Open the WebSocket beside this address."""
        url = websocket_url(self.url)
        try:
            ws = await self.session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(
                ws_receive=None, ws_close=self.timeout_s))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RpcTransportError(f"cannot open {url}: {exc or type(exc).__name__}") from None
        return RpcWebSocket(ws, timeout_s=self.timeout_s)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str, **filters: Any) -> AsyncIterator[Subscription]:
        """A subscription on a WebSocket of its own, closed on leaving the `async with`:
        `newBlocks`; `tx` with id=...; `account` with address=... (docs/RPC.md)."""
        async with await self.websocket() as socket:
            yield await socket.subscribe(topic, **filters)

    async def status(self) -> NodeStatus:
        """`node_status`: the node's identity, head, view, peers and mempool."""
        result: NodeStatus = await self.call("node_status")
        return result

    async def account(self, address: str) -> Account:
        """`state_getAccount`: balance and nonces of an agora1... address."""
        result: Account = await self.call("state_getAccount", address=address)
        return result

    async def supply(self) -> Record:
        """`state_getSupply`: genesis supply, minted, escrow."""
        return await self._record("state_getSupply")

    async def merchant(self, address: str) -> Record:
        """`state_getMerchant`: status, profile and public key; RpcCallError(not_found)."""
        return await self._record("state_getMerchant", address=address)

    async def listing(self, listing: int, version: int | None = None) -> Record:
        """`state_getListing`: the current (or the given) version of a listing."""
        params = {"id": listing} if version is None else {"id": listing, "version": version}
        return await self._record("state_getListing", **params)

    async def listings(self, *, merchant: str | None = None, category: str | None = None,
                       text: str | None = None, active_only: bool = False,
                       limit: int | None = None, cursor: str | None = None) -> Record:
        """`state_listListings`: one page, `{"items": [...], "next": cursor or None}`;
        the filters combine (`text` matches part of the title)."""
        filters = {"merchant": merchant, "category": category, "text": text,
                   "limit": limit, "cursor": cursor}
        params: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
        if active_only:
            params["active_only"] = True
        return await self._record("state_listListings", **params)

    async def order(self, order: int) -> Record:
        """`state_getOrder`: an order with its status, amounts and sealed notes (hex)."""
        return await self._record("state_getOrder", id=order)

    async def review(self, order: int) -> Record:
        """`state_getReview`: the review of an order."""
        return await self._record("state_getReview", order=order)

    async def rewards(self, address: str) -> Record:
        """`state_getRewards`: what an account accrued and claimed."""
        return await self._record("state_getRewards", address=address)

    async def transaction(self, tx_id: str) -> Record:
        """`chain_getTransaction`: a finalized transaction with its receipt."""
        return await self._record("chain_getTransaction", id=tx_id)

    async def _record(self, method: str, /, **params: Any) -> Record:
        result = await self.call(method, **params)
        if not isinstance(result, dict):
            raise RpcTransportError(f"{method} answered {type(result).__name__}, not an object")
        return result


class Subscription:
    """Notifications of one subscription, in order: `await next()` or `async for`."""

    def __init__(self, socket: RpcWebSocket, subscription_id: str) -> None:
        self.socket = socket
        self.id = subscription_id
        self.queue: asyncio.Queue[Any] = asyncio.Queue(MAX_PENDING_NOTIFICATIONS)
        self.lost_count = 0  # notifications discarded because nobody read the queue

    async def next(self, timeout_s: float | None = None) -> Any:
        """The next notification's result; TimeoutError after `timeout_s`;
        RpcTransportError once the socket is closed and nothing is left."""
        async with asyncio.timeout(timeout_s):
            item = await self.queue.get()
        if isinstance(item, RpcTransportError):
            self.queue.put_nowait(item)  # stays closed for the next reader
            raise item
        return item

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        while True:
            try:
                yield await self.next()
            except RpcTransportError:
                return

    async def unsubscribe(self) -> bool:
        result = await self.socket.call("unsubscribe", subscription=self.id)
        self.socket.subscriptions.pop(self.id, None)
        return bool(result)


class RpcWebSocket(_AsyncClosing):
    """JSON-RPC over one WebSocket: calls matched by id, notifications routed by
    subscription."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *, timeout_s: float) -> None:
        self.ws = ws
        self.timeout_s = timeout_s
        self.subscriptions: dict[str, Subscription] = {}
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._early: dict[str, list[Any]] = {}  # notifications that beat their subscribe answer
        self._ids = itertools.count(1)
        self.close_code: int | None = None
        self._reader = asyncio.create_task(self._read())

    @property
    def closed(self) -> bool:
        return self._reader.done()

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        try:
            await self._reader
        except asyncio.CancelledError:
            pass

    async def call(self, method: str, /, **params: Any) -> Any:
        """Call over the socket; its result, or RpcCallError."""
        if self.closed:
            raise RpcTransportError("the WebSocket is closed")
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self.ws.send_str(json.dumps(
                {"jsonrpc": "2.0", "method": method, "params": params, "id": request_id}))
            async with asyncio.timeout(self.timeout_s):
                response = await future
        except (ConnectionError, RuntimeError) as exc:
            raise RpcTransportError(f"the WebSocket failed: {exc}") from None
        finally:
            self._pending.pop(request_id, None)
        return _result_of(response)

    async def subscribe(self, topic: str, **filters: Any) -> Subscription:
        """Subscribe to `topic` (newBlocks; tx with id=...; account with address=...)."""
        subscription_id = await self.call("subscribe", topic=topic, **filters)
        subscription = Subscription(self, str(subscription_id))
        self.subscriptions[subscription.id] = subscription
        for item in self._early.pop(subscription.id, []):
            subscription.queue.put_nowait(item)
        return subscription

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    self._route(json.loads(message.data))
                except ValueError:
                    continue
        finally:
            self.close_code = self.ws.close_code
            closed = RpcTransportError(f"the WebSocket closed (code {self.ws.close_code})")
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(closed)
            for subscription in self.subscriptions.values():
                if not subscription.queue.full():
                    subscription.queue.put_nowait(closed)

    def _route(self, message: Any) -> None:
        items = message if isinstance(message, list) else [message]
        for item in items:
            if not isinstance(item, dict):
                continue
            if item.get("method") == "subscription":
                params = item.get("params") or {}
                subscription_id = str(params.get("subscription"))
                subscription = self.subscriptions.get(subscription_id)
                if subscription is not None:
                    if subscription.queue.full():
                        subscription.lost_count += 1
                    else:
                        subscription.queue.put_nowait(params.get("result"))
                else:
                    early = self._early.setdefault(subscription_id, [])
                    if (len(early) < MAX_PENDING_NOTIFICATIONS
                            and len(self._early) < MAX_EARLY_SUBSCRIPTIONS):
                        early.append(params.get("result"))
                continue
            future = self._pending.get(item.get("id"))  # type: ignore[arg-type]
            if future is not None and not future.done():
                future.set_result(item)


class SyncRpcClient:
    """The blocking client: the methods of `RpcClient` (but the WebSocket ones), run on an
    event loop of its own. Not for use inside a running event loop; one thread at a time.

        with SyncRpcClient("http://127.0.0.1:26657") as client:
            height = client.status()["height"]
    """

    def __init__(self, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._loop = asyncio.new_event_loop()
        self.aio = RpcClient(url, timeout_s=timeout_s)

    @property
    def url(self) -> str:
        """The node's HTTP JSON-RPC address."""
        return self.aio.url

    def run(self, awaitable: Coroutine[Any, Any, Awaited]) -> Awaited:
        """Run a coroutine on this client's loop (for the blocking twins of async code)."""
        return self._loop.run_until_complete(awaitable)

    def close(self) -> None:
        """Close the HTTP session and the loop; the client cannot be used afterwards."""
        if not self._loop.is_closed():
            self.run(self.aio.close())
            self._loop.close()

    def __enter__(self) -> SyncRpcClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    call = blocking(RpcClient.call)
    notify = blocking(RpcClient.notify)
    batch = blocking(RpcClient.batch)
    status = blocking(RpcClient.status)
    account = blocking(RpcClient.account)
    supply = blocking(RpcClient.supply)
    merchant = blocking(RpcClient.merchant)
    listing = blocking(RpcClient.listing)
    listings = blocking(RpcClient.listings)
    order = blocking(RpcClient.order)
    review = blocking(RpcClient.review)
    rewards = blocking(RpcClient.rewards)
    transaction = blocking(RpcClient.transaction)
