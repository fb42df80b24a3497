"""`P2PService`: the node's whole view of the network (see `p2p/__init__.py` for the API).

This module owns the peer table, the listener, the dialer (persistent peers and PEX
addresses, with exponential backoff and jitter), gossip with duplicate suppression,
direct messages, request/response, the allow-list and the ban list. Connections and the
handshake live in their own modules; this one decides who is admitted and what happens to
each message.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import NewType, TypeVar

from nacl.signing import SigningKey

from base.limits import MAX_PORT, PUBLIC_KEY_BYTES
from p2p.banlist import BanList, BanStore
from p2p.connection import Connection
from p2p.errors import (
    BANNABLE,
    P2PError,
    P2PLocalProtocolError,
    P2PRemotePeerError,
    Reason,
    RequestError,
)
from p2p.handshake import (
    HandshakeConfig,
    HandshakeResult,
    handshake_initiator,
    handshake_responder,
)
from p2p.limits import MAX_NETWORK_ID_BYTES, P2PLimits
from p2p.messages import (
    Direct,
    Goodbye,
    Gossip,
    Message,
    PeerAddress,
    PexRequest,
    PexResponse,
    Request,
    Response,
    encode,
    gossip_id,
    validate_kind,
)
from p2p.seen import SeenCache

logger = logging.getLogger("p2p")

PeerId = NewType("PeerId", bytes)
"""A peer's 32-byte Ed25519 identity public key; `.hex()` is its display form."""

GossipHandler = Callable[[PeerId, bytes], Awaitable[bool | None]]
"""`(from_peer, payload)`; return False to stop the message being relayed further (a
handler that raises or times out stops it too). To pass on only what checked out, return
False and `broadcast` that; `penalize` the sender for what did not."""
DirectHandler = Callable[[PeerId, bytes], Awaitable[None]]
"""`(from_peer, payload)` for a message sent with `send()`."""
RequestHandler = Callable[[PeerId, bytes], Awaitable[bytes]]
"""`(from_peer, payload) -> response payload`; raising sends `request_failed` back."""
PeerCallback = Callable[[PeerId], None]
_H = TypeVar("_H")


@dataclass(frozen=True)
class PersistentPeer:
    """A peer from config that is always dialed; `key` None accepts any allowed key."""

    key: bytes | None
    host: str
    port: int


@dataclass(frozen=True)
class PeerRow:
    """One row of the peer table (`P2PService.peers()`)."""

    peer_id: PeerId
    peer_hex: str
    host: str
    port: int
    listen_port: int
    direction: str
    """"inbound" or "outbound"."""
    since: float
    """Unix time the connection was established."""
    bytes_in: int
    bytes_out: int
    messages_in: int
    messages_out: int


@dataclass
class _Target:
    host: str
    port: int
    key: bytes | None
    persistent: bool
    attempts: int = 0
    next_at_s: float = 0.0
    dialing: bool = False
    is_self: bool = False
    learned_key: bytes | None = None

    @property
    def peer_key(self) -> bytes | None:
        return self.key if self.key is not None else self.learned_key


@dataclass(eq=False)
class _PendingHandshake:
    """An inbound connection in its handshake; `key` is set once its HELLO has named an
    allowed, unbanned key (it then holds a named slot, see `_on_inbound`)."""

    host: str
    task: asyncio.Task[None]
    key: bytes | None = None
    evicted: bool = False


@dataclass
class _Registry:
    gossip: dict[str, GossipHandler] = field(default_factory=dict)
    direct: dict[str, DirectHandler] = field(default_factory=dict)
    request: dict[str, RequestHandler] = field(default_factory=dict)


class P2PService:
    """Authenticated, encrypted gossip and messaging between allowed nodes.

    Call order: construct, `register_*` handlers and `on_peer_up/down` callbacks,
    `await start()`, use `broadcast/send/request/peers`, `await stop()`. Handlers may be
    registered after start; messages of a kind with no handler are dropped (and counted).
    """

    def __init__(
        self,
        *,
        identity: SigningKey,
        chain_id: str,
        allowed_keys: Iterable[bytes],
        host: str = "127.0.0.1",
        port: int = 0,
        persistent_peers: Iterable[PersistentPeer] = (),
        limits: P2PLimits | None = None,
        ban_store: BanStore | None = None,
    ) -> None:
        self.limits = limits or P2PLimits()
        if not chain_id or len(chain_id.encode()) > MAX_NETWORK_ID_BYTES:
            raise P2PLocalProtocolError(Reason.BAD_CONFIG, "chain_id")
        if not 0 <= port <= MAX_PORT:
            raise P2PLocalProtocolError(Reason.BAD_CONFIG, "port")
        self.identity = identity
        self.peer_id = PeerId(bytes(identity.verify_key))
        self.chain_id = chain_id
        self.host = host
        self._requested_port = port
        self._allowed: frozenset[bytes] = frozenset()
        self.set_allowed_keys(allowed_keys)
        peers = list(persistent_peers)
        self._targets: dict[tuple[str, int], _Target] = {}
        for peer in peers:
            self.add_persistent_peer(peer)
        self._bans = BanList(self.limits.max_banned_peers, ban_store)
        self._seen = SeenCache(self.limits.max_seen_messages)
        self._handlers = _Registry()
        self._up_callbacks: list[PeerCallback] = []
        self._down_callbacks: list[PeerCallback] = []
        self._table: dict[bytes, Connection] = {}
        self._connections: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._reaping: set[asyncio.Future[None]] = set()
        # In accept order: the first of a kind is the oldest.
        self._pending: dict[_PendingHandshake, None] = {}
        # Misbehaviour points per allowed key: (points, monotonic seconds when set).
        self._points: dict[bytes, tuple[int, float]] = {}
        self._dialing_keys: set[bytes] = set()
        self._request_ids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._running = False
        self.port = 0
        self.counters: Counter[str] = Counter()

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen on (host, port) and start dialing; `self.port` is the bound port after."""
        assert self._server is None, "start() called twice"
        self._server = await asyncio.start_server(
            self._on_inbound, self.host, self._requested_port, limit=2**16
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._running = True
        self._spawn(self._maintain_loop(), "p2p-maintain")
        logger.info("p2p started peer=%s port=%d", self.peer_id.hex()[:16], self.port)

    async def stop(self) -> None:
        """Close the listener and every connection, cancel every task; idempotent."""
        if not self._running:
            return
        self._running = False
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        connections = list(self._connections)
        for conn in connections:
            conn.close(Reason.LOCAL_SHUTDOWN)
        await asyncio.gather(*(c.wait_closed() for c in connections), return_exceptions=True)
        await asyncio.gather(*self._reaping, return_exceptions=True)
        # Python 3.12 waits here for every accepted socket; all were closed above.
        await asyncio.wait_for(self._server.wait_closed(), 5.0)
        assert not self._table
        logger.info("p2p stopped peer=%s", self.peer_id.hex()[:16])

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ registration

    def register_gossip(self, kind: str, handler: GossipHandler) -> None:
        """Handle broadcast messages of `kind`; raises P2PLocalProtocolError(bad_kind) if taken."""
        self._register(self._handlers.gossip, kind, handler)

    def register_direct(self, kind: str, handler: DirectHandler) -> None:
        """Handle `send()` messages of `kind`; raises P2PLocalProtocolError(bad_kind) if taken."""
        self._register(self._handlers.direct, kind, handler)

    def register_request(self, kind: str, handler: RequestHandler) -> None:
        """Answer `request()`s of `kind`; raises P2PLocalProtocolError(bad_kind) if taken."""
        self._register(self._handlers.request, kind, handler)

    def _register(self, table: dict[str, _H], kind: str, handler: _H) -> None:
        self._check_kind(kind)
        if kind in table:
            raise P2PLocalProtocolError(Reason.BAD_KIND, f"{kind!r} already registered")
        table[kind] = handler

    def on_peer_up(self, callback: PeerCallback) -> None:
        """Call `callback(peer)` when a peer gets its first connection (sync, no await)."""
        self._up_callbacks.append(callback)

    def on_peer_down(self, callback: PeerCallback) -> None:
        """Call `callback(peer)` when a peer's last connection closes (sync, no await)."""
        self._down_callbacks.append(callback)

    def add_persistent_peer(self, peer: PersistentPeer) -> None:
        """Dial `peer` from now on (and redial it whenever it drops), before or after start."""
        persistent = sum(1 for t in self._targets.values() if t.persistent)
        if persistent >= self.limits.max_persistent_peers:
            raise P2PLocalProtocolError(Reason.BAD_CONFIG, "too many persistent peers")
        if peer.key is not None and len(peer.key) != PUBLIC_KEY_BYTES:
            raise P2PLocalProtocolError(Reason.BAD_CONFIG, "persistent peer key must be 32 bytes")
        self._targets[(peer.host, peer.port)] = _Target(
            peer.host, peer.port, peer.key, persistent=True
        )

    # ------------------------------------------------------------- allow / ban

    def set_allowed_keys(self, keys: Iterable[bytes]) -> None:
        """Replace the allow-list; connected peers no longer on it are disconnected."""
        allowed = frozenset(bytes(k) for k in keys)
        if len(allowed) > self.limits.max_allowed_keys:
            raise P2PLocalProtocolError(Reason.BAD_CONFIG, "too many allowed keys")
        if any(len(k) != PUBLIC_KEY_BYTES for k in allowed):
            raise P2PLocalProtocolError(Reason.BAD_CONFIG, "allowed keys must be 32 bytes")
        self._allowed = allowed
        points = getattr(self, "_points", {})
        for key in [k for k in points if k not in allowed]:
            del points[key]
        for conn in list(getattr(self, "_connections", ())):
            if conn.peer_key not in allowed:
                conn.close(Reason.REMOVED_FROM_ALLOW_LIST)

    def ban(self, peer: bytes, duration_ms: int | None = None) -> None:
        """Ban `peer` (default `ban_duration_ms`) and disconnect it."""
        self._bans.ban(bytes(peer), duration_ms or self.limits.ban_duration_ms)
        for conn in list(self._connections):
            if conn.peer_key == peer:
                conn.close(Reason.BANNED_LOCALLY)

    def unban(self, peer: bytes) -> None:
        self._bans.unban(bytes(peer))

    def penalize(self, peer: bytes, points: int, detail: str) -> bool:
        """Charge `peer` misbehaviour points (a handler found its message invalid, e.g.
        `INVALID_GOSSIP_POINTS`); True when that reached `misbehaviour_ban_points`, in which
        case the peer is banned for `ban_duration_ms` and disconnected (`misbehaving`).

        Points decay by `misbehaviour_decay_points_per_min`; only allowed keys are scored.
        """
        assert points > 0, points
        key = bytes(peer)
        if key not in self._allowed or key == self.peer_id:
            return False
        now_s = time.monotonic()
        total = self._points_at(key, now_s) + points
        self.counters["misbehaviour.points"] += points
        logger.info("p2p misbehaviour peer=%s points=%d total=%d detail=%s",
                    key.hex()[:16], points, total, detail)
        if total < self.limits.misbehaviour_ban_points:
            self._points[key] = (total, now_s)
            return False
        self._points.pop(key, None)
        self._bans.ban(key, self.limits.ban_duration_ms)
        self.counters["bans"] += 1
        for conn in list(self._connections):
            if conn.peer_key == key:
                conn.close(Reason.MISBEHAVING, detail)
        return True

    def misbehaviour_points(self, peer: bytes) -> int:
        """`peer`'s current misbehaviour points (0 when none, or once banned)."""
        return self._points_at(bytes(peer), time.monotonic())

    def _points_at(self, key: bytes, now_s: float) -> int:
        entry = self._points.get(key)
        if entry is None:
            return 0
        points, at_s = entry
        forgotten = int((now_s - at_s) * self.limits.misbehaviour_decay_points_per_min / 60)
        return max(0, points - forgotten)

    def bans(self) -> dict[bytes, float]:
        """Current bans {peer key: unix expiry seconds}."""
        return self._bans.entries()

    # ------------------------------------------------------------------- sending

    def broadcast(self, kind: str, payload: bytes) -> int:
        """Gossip `payload` to every node; returns how many neighbours it was queued to.

        Not delivered to this node's own handler. A (kind, payload) this node already sent
        (broadcast or relayed) is not sent again and returns 0; one it received and did not
        relay (its handler returned False) is sent to every neighbour but the one it came
        from. Raises P2PLocalProtocolError(bad_kind / payload_too_large).
        """
        self._check_kind(kind)
        self._check_payload(payload)
        first, origin = self._seen.mark_relayed(gossip_id(kind, payload))
        if not first:
            self.counters["gossip.duplicate_broadcast"] += 1
            return 0
        return self._relay(encode(Gossip(kind, payload)), exclude=origin)

    def send(self, peer: bytes, kind: str, payload: bytes) -> None:
        """Queue a direct message to `peer` (not relayed); its `register_direct` handler runs.

        Raises P2PLocalProtocolError(peer_not_connected / bad_kind / payload_too_large). A full
        send queue drops the peer (`send_queue_full`) instead of blocking.
        """
        self._check_kind(kind)
        self._check_payload(payload)
        conn = self._table.get(bytes(peer))
        if conn is None:
            raise P2PLocalProtocolError(Reason.PEER_NOT_CONNECTED, bytes(peer).hex()[:16])
        self._enqueue(conn, encode(Direct(kind, payload)))

    async def request(
        self, peer: bytes, kind: str, payload: bytes, timeout_s: float | None = None
    ) -> bytes:
        """Ask `peer`'s `register_request` handler for `kind`; returns its response bytes.

        Raises RequestError(request_timeout / request_failed / peer_not_connected /
        too_many_requests) and P2PLocalProtocolError(bad_kind / payload_too_large). Default
        timeout is `request_timeout_ms`.
        """
        self._check_kind(kind)
        self._check_payload(payload)
        conn = self._table.get(bytes(peer))
        if conn is None:
            raise RequestError(Reason.PEER_NOT_CONNECTED, bytes(peer).hex()[:16])
        if len(conn.pending) >= self.limits.max_pending_requests_per_peer:
            raise RequestError(Reason.TOO_MANY_REQUESTS, conn.peer_hex)
        request_id = next(self._request_ids)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        conn.pending[request_id] = future
        try:
            self._enqueue(conn, encode(Request(request_id, kind, payload)))
            timeout = timeout_s if timeout_s is not None else self.limits.request_timeout_ms / 1000
            try:
                return await asyncio.wait_for(future, timeout)
            except TimeoutError as exc:
                raise RequestError(Reason.REQUEST_TIMEOUT, f"{kind} after {timeout}s") from exc
        finally:
            conn.pending.pop(request_id, None)

    def _check_kind(self, kind: str) -> None:
        try:
            validate_kind(kind)
        except ValueError as exc:
            raise P2PLocalProtocolError(Reason.BAD_KIND, repr(kind)) from exc

    def _check_payload(self, payload: bytes) -> None:
        if not isinstance(payload, bytes | bytearray):
            raise P2PLocalProtocolError(Reason.BAD_CONFIG, "payload must be bytes")
        if len(payload) > self.limits.max_payload_bytes:
            raise P2PLocalProtocolError(Reason.PAYLOAD_TOO_LARGE, f"{len(payload)} bytes")

    def _enqueue(self, conn: Connection, plaintext: bytes) -> bool:
        if conn.send_encoded(plaintext):
            return True
        if not conn.closed and not conn.retired:
            conn.close(Reason.SEND_QUEUE_FULL, f"{conn.queued_bytes} bytes queued")
        return False

    def _relay(self, plaintext: bytes, exclude: bytes | None) -> int:
        sent = 0
        for key, conn in list(self._table.items()):
            if key != exclude and self._enqueue(conn, plaintext):
                sent += 1
        return sent

    # -------------------------------------------------------------------- table

    def peers(self) -> list[PeerRow]:
        """The peer table: one row per connected peer, sorted by peer id."""
        rows = []
        for key in sorted(self._table):
            conn = self._table[key]
            rows.append(
                PeerRow(
                    peer_id=PeerId(key), peer_hex=key.hex(), host=conn.host, port=conn.port,
                    listen_port=conn.listen_port,
                    direction="outbound" if conn.outbound else "inbound", since=conn.since,
                    bytes_in=conn.stats.bytes_in, bytes_out=conn.stats.bytes_out,
                    messages_in=conn.stats.messages_in, messages_out=conn.stats.messages_out,
                )
            )
        return rows

    def connected_peers(self) -> list[PeerId]:
        return [PeerId(k) for k in sorted(self._table)]

    def is_connected(self, peer: bytes) -> bool:
        return bytes(peer) in self._table

    def handshakes_in_progress(self) -> dict[str, int]:
        """Inbound handshakes holding a slot: {"unnamed": n, "named": n} (see `_on_inbound`)."""
        named = sum(1 for p in self._pending if p.key is not None)
        return {"unnamed": len(self._pending) - named, "named": named}

    def metrics(self) -> dict[str, int]:
        """Counters: `closed.<reason>`, `rejected.<reason>`, `gossip.*`, `handler.*`, ..."""
        return dict(self.counters)

    # ------------------------------------------------------------- admission

    def _check_identity(self, key: bytes) -> Reason | None:
        if key == self.peer_id:
            return Reason.SELF_CONNECTION
        if key not in self._allowed:
            return Reason.UNALLOWED_KEY
        if self._bans.is_banned(key):
            return Reason.BANNED
        return None

    def _reject(self, direction: str, host: str, error: P2PError) -> None:
        self.counters[f"rejected.{error.reason.reason}"] += 1
        logger.info(
            "p2p handshake %s %s rejected reason=%s detail=%s",
            direction, host, error.reason.reason, error.message,
        )

    async def _on_inbound(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peername = writer.get_extra_info("peername") or ("?", 0)
        host, port = str(peername[0]), int(peername[1])
        if not self._running:
            writer.close()
            return
        inbound_count = sum(1 for c in self._table.values() if not c.outbound)
        if inbound_count >= self.limits.max_inbound_peers:
            self._reject("inbound", host, P2PRemotePeerError(Reason.TOO_MANY_PEERS))
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        pending = self._enter_pending(host, task)
        self._tasks.add(task)  # so stop() cancels handshakes in progress
        try:
            result = await self._handshake(False, reader, writer, host, expected=None,
                                           pending=pending)
        except asyncio.CancelledError:
            if not pending.evicted:
                raise
            return  # a newer connection took the slot; _handshake closed the socket
        finally:
            self._pending.pop(pending, None)
            self._tasks.discard(task)
        if result is not None:
            self._admit(result, reader, writer, host, port)

    # Inbound handshakes hold slots in two tables. Until its HELLO names an allowed,
    # unbanned key a connection is *unnamed*: at most `max_pending_handshakes` of them, and
    # `max_pending_handshakes_per_host` from one source address; a new connection is never
    # refused for room but closes the oldest unnamed one (of its address when that is
    # full), and a silent one is closed after `first_byte_timeout_ms`. Idle sockets, from
    # one address or many, therefore cannot keep a validator out: its connection gets a
    # slot at once and names its key within one round trip. A *named* connection moves to
    # a table that unnamed ones cannot touch (`max_named_handshakes`, at most
    # `max_named_handshakes_per_key` per key, newest wins) until its AUTH proves the key.

    def _enter_pending(self, host: str, task: asyncio.Task[None]) -> _PendingHandshake:
        unnamed = [p for p in self._pending if p.key is None]
        same_host = [p for p in unnamed if p.host == host]
        if len(same_host) >= self.limits.max_pending_handshakes_per_host:
            self._evict_pending(same_host[0], "oldest of its address")
        elif len(unnamed) >= self.limits.max_pending_handshakes:
            self._evict_pending(unnamed[0], "oldest unnamed")
        pending = _PendingHandshake(host, task)
        self._pending[pending] = None
        assert sum(1 for p in self._pending if p.key is None) <= (
            self.limits.max_pending_handshakes), "unnamed handshake table over its limit"
        return pending

    def _name_pending(self, pending: _PendingHandshake, key: bytes) -> None:
        assert pending.key is None and pending in self._pending
        named = [p for p in self._pending if p.key is not None]
        same_key = [p for p in named if p.key == key]
        if len(same_key) >= self.limits.max_named_handshakes_per_key:
            self._evict_pending(same_key[0], "oldest naming its key")
        elif len(named) >= self.limits.max_named_handshakes:
            self._evict_pending(named[0], "oldest named")
        pending.key = key
        assert sum(1 for p in self._pending if p.key is not None) <= (
            self.limits.max_named_handshakes), "named handshake table over its limit"

    def _evict_pending(self, pending: _PendingHandshake, detail: str) -> None:
        del self._pending[pending]
        pending.evicted = True
        pending.task.cancel()
        error = P2PRemotePeerError(Reason.TOO_MANY_HANDSHAKES, detail)
        self._reject("inbound", pending.host, error)

    async def _handshake(
        self,
        outbound: bool,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        host: str,
        expected: bytes | None,
        pending: _PendingHandshake | None = None,
    ) -> HandshakeResult | None:
        def check(key: bytes) -> Reason | None:
            if expected is not None and key != expected:
                return Reason.UNEXPECTED_KEY
            rejection = self._check_identity(key)
            if rejection is None and pending is not None:
                self._name_pending(pending, key)
            return rejection

        direction = "outbound" if outbound else "inbound"
        config = HandshakeConfig(self.identity, self.chain_id, self.port, check,
                                 self.limits.max_handshake_message_bytes)
        run = handshake_initiator(reader, writer, config) if outbound else handshake_responder(
            reader, writer, config, first_byte_timeout_s=self.limits.first_byte_timeout_ms / 1000)
        try:
            return await asyncio.wait_for(run, self.limits.handshake_timeout_ms / 1000)
        except P2PRemotePeerError as error:
            self._reject(direction, host, error)
            is_self = error.reason is Reason.SELF_CONNECTION or (
                error.reason is Reason.REJECTED_BY_PEER
                and error.message == Reason.SELF_CONNECTION.reason
            )
            if is_self and outbound:
                writer.close()
                raise
        except TimeoutError:
            self._reject(direction, host, P2PRemotePeerError(Reason.HANDSHAKE_TIMEOUT))
        except (ConnectionError, OSError) as exc:
            self._reject(direction, host, P2PRemotePeerError(Reason.CONNECTION_LOST, str(exc)))
        except asyncio.CancelledError:
            writer.close()
            raise
        writer.close()
        return None

    def _admit(
        self,
        result: HandshakeResult,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        host: str,
        port: int,
    ) -> None:
        """Register an authenticated connection; resolve a duplicate deterministically."""
        if not self._running or result.peer_key not in self._allowed:
            writer.close()
            return
        existing = self._table.get(result.peer_key)
        inbound_count = sum(1 for c in self._table.values() if not c.outbound)
        if (
            not result.outbound
            and existing is None
            and inbound_count >= self.limits.max_inbound_peers
        ):
            # Checked again here: handshakes accepted together may exceed the limit.
            self._reject("inbound", host, P2PRemotePeerError(Reason.TOO_MANY_PEERS))
            writer.close()
            return
        conn = Connection(self, reader, writer, result, self.limits, host, port)
        self._connections.add(conn)
        conn.start()
        self.counters["connections.established"] += 1
        if existing is None:
            self._table[result.peer_key] = conn
            self._fire(self._up_callbacks, PeerId(result.peer_key))
            conn.send(PexRequest())
        elif result.tiebreak < existing.tiebreak:
            # Both ends keep the connection whose (initiator key, initiator ephemeral) is
            # lower, whichever order they saw the two in.
            self._table[result.peer_key] = conn
            self.counters["connections.duplicate"] += 1
            existing.retire()
        else:
            self.counters["connections.duplicate"] += 1
            conn.retire()
        logger.info(
            "p2p connected peer=%s %s %s:%d", conn.peer_hex,
            "outbound" if conn.outbound else "inbound", host, port,
        )

    def _fire(self, callbacks: list[PeerCallback], peer: PeerId) -> None:
        for callback in callbacks:
            try:
                callback(peer)
            except Exception:
                logger.exception("p2p peer callback failed")

    # ------------------------------------------------- ConnectionOwner interface

    def connection_closed(self, conn: Connection, reason: Reason, detail: str) -> None:
        self._connections.discard(conn)
        self.counters[f"closed.{reason.reason}"] += 1
        log = logger.warning if reason in BANNABLE else logger.info
        log("p2p closed peer=%s reason=%s detail=%s", conn.peer_hex, reason.reason, detail)
        if reason in BANNABLE:
            self._bans.ban(conn.peer_key, self.limits.ban_duration_ms)
            self.counters["bans"] += 1
        if self._table.get(conn.peer_key) is conn:
            del self._table[conn.peer_key]
            self._fire(self._down_callbacks, PeerId(conn.peer_key))
        if self._running:
            reap = asyncio.ensure_future(conn.wait_closed())
            self._reaping.add(reap)
            reap.add_done_callback(self._reaping.discard)

    def connection_control(self, conn: Connection, message: Message) -> None:
        match message:
            case Goodbye():
                if self._table.get(conn.peer_key) is conn:
                    del self._table[conn.peer_key]
                    self._fire(self._down_callbacks, PeerId(conn.peer_key))
                conn.retire()
            case PexRequest():
                conn.send(PexResponse(self._pex_addresses(exclude=conn.peer_key)))
            case PexResponse(addresses):
                self._learn_addresses(addresses)

    async def connection_message(self, conn: Connection, message: Message) -> None:
        peer = PeerId(conn.peer_key)
        match message:
            case Gossip(kind, payload):
                message_id = gossip_id(kind, payload)
                if not self._seen.add(message_id, origin=conn.peer_key):
                    self.counters["gossip.duplicate"] += 1
                    return
                gossip_handler = self._handlers.gossip.get(kind)
                if gossip_handler is None:
                    self.counters["gossip.unknown_kind"] += 1
                    return
                self.counters["gossip.delivered"] += 1
                verdict = await self._run_handler(gossip_handler(peer, payload), kind)
                if verdict is False:
                    self.counters["gossip.not_relayed"] += 1
                elif self._seen.mark_relayed(message_id)[0]:
                    self._relay(encode(message), exclude=conn.peer_key)
            case Direct(kind, payload):
                direct_handler = self._handlers.direct.get(kind)
                if direct_handler is None:
                    self.counters["direct.unknown_kind"] += 1
                    return
                await self._run_handler(direct_handler(peer, payload), kind)
            case Request(request_id, kind, payload):
                request_handler = self._handlers.request.get(kind)
                if request_handler is None:
                    conn.send(Response(request_id, False, Reason.UNKNOWN_KIND.reason.encode()))
                    return
                answer = functools.partial(self._answer, conn, request_id,
                                           request_handler, peer, payload)
                if not conn.spawn_request(answer):
                    conn.send(Response(request_id, False, Reason.BUSY.reason.encode()))

    async def _run_handler(self, call: Awaitable[bool | None], kind: str) -> bool | None:
        """The handler's verdict; False when it timed out or raised: a message its handler
        did not finish checking is not relayed."""
        try:
            return await asyncio.wait_for(call, self.limits.handler_timeout_ms / 1000)
        except TimeoutError:
            self.counters["handler.timeout"] += 1
            logger.warning("p2p handler for %r timed out", kind)
        except Exception:
            self.counters["handler.error"] += 1
            logger.exception("p2p handler for %r failed", kind)
        return False

    async def _answer(self, conn: Connection, request_id: int, handler: RequestHandler,
                      peer: PeerId, payload: bytes) -> None:
        try:
            response = await asyncio.wait_for(handler(peer, payload),
                                              self.limits.handler_timeout_ms / 1000)
            if not isinstance(response, bytes) or len(response) > self.limits.max_payload_bytes:
                raise ValueError("request handler must return bytes within the payload limit")
            reply = Response(request_id, True, response)
        except Exception:
            self.counters["handler.error"] += 1
            logger.exception("p2p request handler failed")
            reply = Response(request_id, False, Reason.REQUEST_FAILED.reason.encode())
        # The request keeps its serving slot (`spawn_request`) until the response left for
        # the socket: a peer that asks and never reads holds at most
        # `max_inbound_requests_per_peer` responses here, and is answered `busy` after.
        written = conn.send_tracked(encode(reply))
        if written is None:
            if not conn.closed and not conn.retired:
                conn.close(Reason.SEND_QUEUE_FULL, f"{conn.queued_bytes} bytes queued")
            return
        await written

    # ----------------------------------------------------------------- PEX

    def _pex_addresses(self, exclude: bytes) -> tuple[PeerAddress, ...]:
        addresses: list[PeerAddress] = []
        for key, conn in self._table.items():
            if key != exclude and conn.listen_port > 0:
                addresses.append((key, conn.host, conn.listen_port))
        random.shuffle(addresses)
        return tuple(addresses[: self.limits.max_pex_addresses])

    def _learn_addresses(self, addresses: Iterable[PeerAddress]) -> None:
        known_keys = {t.peer_key for t in self._targets.values()}
        for key, host, port in addresses:
            if len(self._targets) >= self.limits.max_address_book_entries:
                self.counters["pex.address_book_full"] += 1
                return
            if key == self.peer_id or key not in self._allowed or key in known_keys:
                continue
            if (host, port) in self._targets:
                continue
            self._targets[(host, port)] = _Target(host, port, key, persistent=False)
            known_keys.add(key)
            self.counters["pex.learned"] += 1

    # -------------------------------------------------------------- dialing

    def backoff_s(self, attempts: int) -> float:
        """Delay before dial attempt `attempts + 1`: exponential, capped, with jitter."""
        limits = self.limits
        base_ms = min(
            limits.reconnect_backoff_max_ms,
            limits.reconnect_backoff_initial_ms * 2 ** min(attempts, 30),
        )
        jitter = 1 - random.random() * limits.reconnect_jitter_percent / 100
        return float(base_ms) * jitter / 1000

    async def _maintain_loop(self) -> None:
        next_pex_s = time.monotonic() + self.limits.pex_interval_ms / 1000
        while True:
            now_s = time.monotonic()
            self._dial_due(now_s)
            if now_s >= next_pex_s:
                next_pex_s = now_s + self.limits.pex_interval_ms / 1000
                for conn in list(self._table.values()):
                    conn.send(PexRequest())
            await asyncio.sleep(self.limits.dial_tick_ms / 1000)

    def _dial_due(self, now_s: float) -> None:
        outbound_count = sum(1 for c in self._table.values() if c.outbound)
        for target in list(self._targets.values()):
            key = target.peer_key
            if target.is_self or target.dialing or now_s < target.next_at_s:
                continue
            if key is not None and (
                key in self._table
                or key in self._dialing_keys
                or key not in self._allowed
                or self._bans.is_banned(key)
            ):
                continue
            if not target.persistent:
                if outbound_count >= self.limits.max_outbound_peers:
                    continue
                outbound_count += 1
            target.dialing = True
            if key is not None:
                self._dialing_keys.add(key)
            self._spawn(self._dial(target), f"p2p-dial-{target.host}:{target.port}")

    async def _dial(self, target: _Target) -> None:
        key = target.peer_key
        result: HandshakeResult | None = None
        try:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(target.host, target.port, limit=2**16),
                    self.limits.connect_timeout_ms / 1000,
                )
            except (TimeoutError, OSError) as exc:
                self.counters["dial.failed"] += 1
                logger.debug("p2p dial %s:%d failed: %s", target.host, target.port, exc)
            else:
                try:
                    result = await self._handshake(True, reader, writer, target.host, key)
                except P2PRemotePeerError:  # only a self-connection is re-raised
                    target.is_self = True
                if result is not None:
                    target.learned_key = result.peer_key
                    self._admit(result, reader, writer, target.host, target.port)
        finally:
            target.dialing = False
            if key is not None:
                self._dialing_keys.discard(key)
            if result is not None:
                target.attempts = 0
                target.next_at_s = time.monotonic() + self.backoff_s(0)
            else:
                target.next_at_s = time.monotonic() + self.backoff_s(target.attempts)
                target.attempts += 1


__all__ = [
    "DirectHandler",
    "GossipHandler",
    "P2PService",
    "PeerCallback",
    "PeerId",
    "PeerRow",
    "PersistentPeer",
    "RequestHandler",
]
