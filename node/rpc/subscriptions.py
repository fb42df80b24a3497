"""Subscriptions: the node publishes events into a `SubscriptionHub`; each WebSocket
connection drains its own bounded queue of notifications.

Topics and their keys:

- ``newBlocks``: key None; every finalized block.
- ``tx``: key is the transaction id in lowercase hex; admitted, finalized or dropped.
- ``account``: key is the address text (canonical lowercase bech32m); events touching it.

`publish` never waits and never raises for a subscriber: it encodes the payload once, puts
one frame on each matching connection's queue, and a connection whose queue is full is
dropped (its subscriptions removed, its socket closed) rather than slowing the node. Call
`publish` from the event loop's thread.

A notification is ``{"jsonrpc":"2.0","method":"subscription","params":{"subscription":
id,"result":payload}}``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from commerce.address import from_text, to_text
from commerce.errors import AgoraError
from node.metrics import NodeMetrics
from node.rpc.errors import RpcError, RpcErrorCode, StandardCode
from node.rpc.jsonrpc import encode_json
from node.rpc.limits import MAX_FILTER_CHARS, RpcLimits

logger = logging.getLogger("agora.rpc")

Topic = Literal["newBlocks", "tx", "account"]
TOPICS: tuple[str, ...] = ("newBlocks", "tx", "account")
NOTIFICATION_METHOD = "subscription"

# Why a connection was dropped; also the `reason` label of agora_rpc_ws_dropped_total.
DROP_SLOW_CLIENT = "slow_client"
DROP_SEND_TIMEOUT = "send_timeout"
DROP_SHUTDOWN = "shutdown"


class SubscribeParams(BaseModel):
    """Params of `subscribe`: a topic and, for `tx` and `account`, what to follow."""

    model_config = ConfigDict(extra="forbid")

    topic: Topic
    id: str | None = None  # topic tx: the transaction id, hex
    address: str | None = None  # topic account: the address text


class UnsubscribeParams(BaseModel):
    """Params of `unsubscribe`: an id `subscribe` returned on this connection."""

    model_config = ConfigDict(extra="forbid")

    subscription: str


def _invalid(message: str, field_name: str) -> RpcError:
    return RpcError(StandardCode.INVALID_PARAMS, f"invalid params: {message}",
                    {"field": field_name})


def normalize_tx_id(text: str) -> str:
    """A tx id as the hub keys it (lowercase hex); raises ValueError."""
    if not text or len(text) > MAX_FILTER_CHARS or len(text) % 2:
        raise ValueError("a transaction id is an even number of hex digits")
    bytes.fromhex(text)
    return text.lower()


def subscription_key(params: SubscribeParams) -> str | None:
    """The hub key a subscribe call asks for; raises RpcError -32602 naming the field."""
    if params.topic == "newBlocks":
        if params.id is not None or params.address is not None:
            raise _invalid("topic newBlocks takes no filter", "id")
        return None
    if params.topic == "tx":
        if params.id is None:
            raise _invalid("topic tx needs param 'id' (the transaction id, hex)", "id")
        if params.address is not None:
            raise _invalid("topic tx takes 'id', not 'address'", "address")
        try:
            return normalize_tx_id(params.id)
        except ValueError:
            raise _invalid("param 'id' is not a transaction id in hex", "id") from None
    assert params.topic == "account", "the model admits three topics"
    if params.address is None:
        raise _invalid("topic account needs param 'address'", "address")
    if params.id is not None:
        raise _invalid("topic account takes 'address', not 'id'", "id")
    try:
        return to_text(from_text(params.address))
    except AgoraError as exc:
        raise _invalid(f"param 'address': {exc.message}", "address") from None


@dataclass(eq=False)
class Connection:
    """One subscriber (a WebSocket): a bounded queue of frames and its subscriptions.

    `closer(reason)` is called once when the hub drops the connection; it must not block
    (schedule the socket's close). The transport drains `queue` and sends each frame.
    """

    connection_id: int
    queue: asyncio.Queue[str]
    closer: Callable[[str], None]
    subscriptions: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    dropped_reason: str | None = None


class SubscriptionHub:
    """Routes published events to the connections subscribed to them, within limits."""

    def __init__(self, limits: RpcLimits | None = None, metrics: NodeMetrics | None = None
                 ) -> None:
        self.limits = limits or RpcLimits()
        self.metrics = metrics
        self._connections: dict[int, Connection] = {}
        self._index: dict[tuple[str, str | None], dict[str, Connection]] = {}
        self._subscriptions_count = 0
        self._connection_id_next = 1

    @property
    def connections_count(self) -> int:
        return len(self._connections)

    @property
    def subscriptions_count(self) -> int:
        return self._subscriptions_count

    def _gauges(self) -> None:
        if self.metrics is not None:
            self.metrics.ws_connections.set(len(self._connections))
            self.metrics.ws_subscriptions.set(self._subscriptions_count)

    def connect(self, closer: Callable[[str], None]) -> Connection:
        """A new connection; raises RpcError(too_many_connections) at the limit."""
        if len(self._connections) >= self.limits.ws_connections_max:
            raise RpcError(
                RpcErrorCode.TOO_MANY_CONNECTIONS,
                f"the server holds its limit of {self.limits.ws_connections_max} WebSockets",
            )
        connection = Connection(
            connection_id=self._connection_id_next,
            queue=asyncio.Queue(maxsize=self.limits.ws_queue_messages_max),
            closer=closer,
        )
        self._connection_id_next += 1
        self._connections[connection.connection_id] = connection
        self._gauges()
        return connection

    def disconnect(self, connection: Connection) -> None:
        """Forget a connection and its subscriptions (idempotent)."""
        for subscription_id in list(connection.subscriptions):
            self._remove(connection, subscription_id)
        self._connections.pop(connection.connection_id, None)
        self._gauges()

    def drop(self, connection: Connection, reason: str) -> None:
        """Disconnect a connection on the server's initiative and close its socket."""
        if connection.dropped_reason is not None:
            return
        connection.dropped_reason = reason
        self.disconnect(connection)
        if self.metrics is not None:
            self.metrics.ws_dropped.inc(reason=reason)
        logger.info("rpc_ws_dropped connection=%d reason=%s", connection.connection_id, reason)
        connection.closer(reason)

    def subscribe(self, connection: Connection, topic: str, key: str | None) -> str:
        """Subscribe; returns the subscription id. Raises RpcError at either limit."""
        assert topic in TOPICS, f"unknown topic {topic}"
        assert connection.connection_id in self._connections, "subscribe on a closed connection"
        per_connection = self.limits.subscriptions_per_connection_max
        if len(connection.subscriptions) >= per_connection:
            raise RpcError(
                RpcErrorCode.TOO_MANY_SUBSCRIPTIONS,
                f"this connection holds its limit of {per_connection} subscriptions",
            )
        if self._subscriptions_count >= self.limits.subscriptions_total_max:
            raise RpcError(
                RpcErrorCode.TOO_MANY_SUBSCRIPTIONS,
                f"the server holds its limit of {self.limits.subscriptions_total_max} "
                "subscriptions",
            )
        subscription_id = "0x" + secrets.token_hex(8)
        connection.subscriptions[subscription_id] = (topic, key)
        self._index.setdefault((topic, key), {})[subscription_id] = connection
        self._subscriptions_count += 1
        self._gauges()
        return subscription_id

    def unsubscribe(self, connection: Connection, subscription_id: str) -> bool:
        """Remove one of this connection's subscriptions; False if it has no such id."""
        if subscription_id not in connection.subscriptions:
            return False
        self._remove(connection, subscription_id)
        self._gauges()
        return True

    def _remove(self, connection: Connection, subscription_id: str) -> None:
        topic_key = connection.subscriptions.pop(subscription_id)
        subscribers = self._index.get(topic_key, {})
        subscribers.pop(subscription_id, None)
        if not subscribers:
            self._index.pop(topic_key, None)
        self._subscriptions_count -= 1
        assert self._subscriptions_count >= 0, "subscription count went negative"

    def offer(self, connection: Connection, frame: str) -> bool:
        """Queue a frame for a connection; a full queue drops it. True if queued."""
        if connection.dropped_reason is not None:
            return False
        try:
            connection.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.drop(connection, DROP_SLOW_CLIENT)
            return False
        return True

    def _subscribers(self, topic: str, key: str | None) -> dict[str, Connection] | None:
        assert topic in TOPICS, f"unknown topic {topic}"
        assert (key is None) == (topic == "newBlocks"), "only newBlocks has no key"
        if topic == "tx" and key is not None:
            key = key.lower()
        return self._index.get((topic, key))

    def wants(self, topic: str, key: str | None) -> bool:
        """True when someone subscribed to (topic, key): build a costly payload only then."""
        return bool(self._subscribers(topic, key))

    def wants_topic(self, topic: str) -> bool:
        """True when anyone subscribed to any key of `topic` (skip per-key work otherwise)."""
        assert topic in TOPICS, f"unknown topic {topic}"
        return any(indexed == topic for indexed, _ in self._index)

    def publish(self, topic: str, key: str | None, payload: Any) -> int:
        """Deliver `payload` (JSON-able or a pydantic model) to the matching subscribers.

        Returns how many were queued. Never blocks; slow subscribers are dropped.
        """
        subscribers = self._subscribers(topic, key)
        if not subscribers:
            return 0
        result_text = encode_json(payload)
        delivered = 0
        for subscription_id, connection in list(subscribers.items()):
            frame = (
                '{"jsonrpc":"2.0","method":"subscription","params":{"subscription":"'
                + subscription_id + '","result":' + result_text + "}}"
            )
            delivered += self.offer(connection, frame)
        return delivered

    def close_all(self) -> None:
        """Drop every connection (server shutdown)."""
        for connection in list(self._connections.values()):
            self.drop(connection, DROP_SHUTDOWN)
        assert not self._connections, "shutdown left connections behind"
