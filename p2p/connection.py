"""One authenticated, encrypted connection to a peer: reader, writer, dispatcher, keep-alive.

A `Connection` is created after a successful handshake and owned by `P2PService`. It
never blocks its owner: `send()` only enqueues (False when the send queue is full, in frames
or in bytes; the owner then closes the connection with `send_queue_full`), so what one
peer can make us buffer is bounded in bytes whether or not it reads. Received application
messages go through a bounded inbound queue to the owner's `connection_message`; when that
queue is full the reader waits, which pushes back on the peer through TCP. Protocol
violations close the connection with the `P2PRemotePeerError`'s reason; `close()` is
idempotent and reports exactly once to `connection_closed`.

A duplicate connection is *retired* rather than cut: it stops taking new messages, sends
GOODBYE after what is already queued, keeps reading and delivering until the peer's GOODBYE
arrives (or `retire_timeout_ms` passes), then closes with `superseded`. No message that
either side sent before its GOODBYE is lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from p2p.crypto import parse_frame_header
from p2p.errors import P2PRemotePeerError, Reason, RequestError
from p2p.handshake import HandshakeResult
from p2p.limits import (
    FRAME_COUNTER_BYTES,
    FRAME_LENGTH_BYTES,
    MAX_PEER_REASON_CHARS,
    MIN_FRAME_BYTES,
    P2PLimits,
)
from p2p.messages import (
    Direct,
    Goodbye,
    Gossip,
    Message,
    PexRequest,
    PexResponse,
    Ping,
    Pong,
    Request,
    Response,
    decode,
    encode,
)
from p2p.ratelimit import TokenBucket

logger = logging.getLogger("p2p")
HEADER_BYTES = FRAME_LENGTH_BYTES + FRAME_COUNTER_BYTES


class ConnectionOwner(Protocol):
    def connection_message(self, conn: Connection, message: Message) -> Awaitable[None]:
        """Handle one Gossip, Direct or Request message (awaited by the dispatcher)."""
        ...

    def connection_control(self, conn: Connection, message: Message) -> None:
        """Handle PEX and GOODBYE messages synchronously, on the reader."""
        ...

    def connection_closed(self, conn: Connection, reason: Reason, detail: str) -> None:
        """Called exactly once when the connection closes."""
        ...


@dataclass
class ConnectionStats:
    bytes_in: int = 0
    bytes_out: int = 0
    messages_in: int = 0
    messages_out: int = 0


class Connection:
    def __init__(
        self,
        owner: ConnectionOwner,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        result: HandshakeResult,
        limits: P2PLimits,
        host: str,
        port: int,
    ) -> None:
        self.owner = owner
        self.peer_key = result.peer_key
        self.listen_port = result.peer_listen_port
        self.outbound = result.outbound
        self.tiebreak = result.tiebreak
        self.host = host
        self.port = port
        self.since = time.time()
        self.stats = ConnectionStats()
        self.limits = limits
        self.pending: dict[int, asyncio.Future[bytes]] = {}
        self.request_tasks: set[asyncio.Task[None]] = set()
        self.closed = False
        self.close_reason: Reason | None = None
        self.retired = False
        self._reader = reader
        self._writer = writer
        self._cipher = result.cipher
        self._send_queue: asyncio.Queue[tuple[bytes, bool, asyncio.Future[None] | None]] = (
            asyncio.Queue(limits.max_send_queue_frames)
        )
        self.queued_bytes = 0
        """Plaintext bytes queued and not yet taken by the socket (the frame in `drain` too)."""
        self._inbound: asyncio.Queue[Message] = asyncio.Queue(limits.max_inbound_queue_messages)
        now_s = time.monotonic()
        self._last_recv_s = now_s
        self._last_send_s = now_s
        self._messages_bucket = TokenBucket(
            limits.rate_messages_per_s, limits.rate_burst_messages, now_s
        )
        self._bytes_bucket = TokenBucket(limits.rate_bytes_per_s, limits.rate_burst_bytes, now_s)
        self._goodbye_sent = False
        self._goodbye_received = False
        self._retire_timer: asyncio.TimerHandle | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def peer_hex(self) -> str:
        return self.peer_key.hex()[:16]

    def start(self) -> None:
        """Start the reader, writer, dispatcher and keep-alive tasks (once)."""
        assert not self._tasks
        name = f"p2p-{self.peer_hex}"
        self._tasks = [
            asyncio.create_task(self._read_loop(), name=f"{name}-read"),
            asyncio.create_task(self._write_loop(), name=f"{name}-write"),
            asyncio.create_task(self._dispatch_loop(), name=f"{name}-dispatch"),
            asyncio.create_task(self._keepalive_loop(), name=f"{name}-keepalive"),
        ]

    def send(self, message: Message) -> bool:
        """Queue `message`; False when closed, retired or the send queue is full."""
        return self.send_encoded(encode(message))

    def send_encoded(self, plaintext: bytes) -> bool:
        """As `send`, with the message already encoded (one encoding per broadcast)."""
        return self._put(plaintext, False, None)

    def send_tracked(self, plaintext: bytes) -> asyncio.Future[None] | None:
        """As `send_encoded`; the future is done once the frame was handed to the socket
        (a request's response holds its serving slot until then). None when not queued."""
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        return written if self._put(plaintext, False, written) else None

    def _put(self, plaintext: bytes, is_goodbye: bool,
             written: asyncio.Future[None] | None) -> bool:
        if self.closed or (self._goodbye_queued() and not is_goodbye):
            return False
        if self.queued_bytes + len(plaintext) > self.limits.max_send_queue_bytes:
            return False
        try:
            self._send_queue.put_nowait((plaintext, is_goodbye, written))
        except asyncio.QueueFull:
            return False
        self.queued_bytes += len(plaintext)
        return True

    def spawn_request(self, make: Callable[[], Coroutine[Any, Any, None]]) -> bool:
        """Run `make()`, an inbound request's handling, as its own task; False (and `make`
        not called) when `max_inbound_requests_per_peer` are being served."""
        if len(self.request_tasks) >= self.limits.max_inbound_requests_per_peer:
            return False
        task = asyncio.create_task(make())
        self.request_tasks.add(task)
        task.add_done_callback(self.request_tasks.discard)
        return True

    def retire(self) -> None:
        """Stop taking messages, say GOODBYE, close once the peer's GOODBYE arrives."""
        if self.closed or self.retired:
            return
        self.retired = True
        if not self._put(encode(Goodbye(Reason.SUPERSEDED.reason)), True, None):
            self.close(Reason.SEND_QUEUE_FULL, "while retiring")
            return
        loop = asyncio.get_running_loop()
        self._retire_timer = loop.call_later(
            self.limits.retire_timeout_ms / 1000, self.close, Reason.SUPERSEDED, "retire timeout"
        )

    def close(self, reason: Reason, detail: str = "") -> None:
        """Close now (idempotent): cancel tasks, fail pending requests, tell the owner."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        if self._retire_timer is not None:
            self._retire_timer.cancel()
        # Cancelling also the current task (when close() runs inside one of ours) ends
        # it at its next await instead of leaving it parked on a dead queue.
        # After a clean end (EOF, retirement) the messages already received are still
        # delivered; after a protocol violation they are dropped.
        drain = reason in (Reason.CONNECTION_LOST, Reason.SUPERSEDED) and not self._inbound.empty()
        for task in [*self._tasks, *self.request_tasks]:
            if not (drain and task.get_name().endswith("-dispatch")):
                task.cancel()
        if reason is Reason.SEND_QUEUE_FULL:
            # The peer does not read: what is buffered would never leave, and a graceful
            # close would wait for it. Drop it now (and its memory with it).
            self._writer.transport.abort()
        else:
            self._writer.close()
        for future in self.pending.values():
            if not future.done():
                future.set_exception(RequestError(Reason.REQUEST_FAILED, reason.reason))
        self.owner.connection_closed(self, reason, detail)

    async def wait_closed(self) -> None:
        """Wait until every task of this connection has ended; call after `close()`."""
        assert self.closed
        current = asyncio.current_task()
        tasks = [t for t in [*self._tasks, *self.request_tasks] if t is not current]
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            # A graceful close flushes what is buffered; a peer that stopped reading would
            # make that wait forever (and `P2PService.stop` with it).
            await asyncio.wait_for(self._writer.wait_closed(),
                                   self.limits.retire_timeout_ms / 1000)
        except TimeoutError:
            self._writer.transport.abort()
        except (OSError, asyncio.CancelledError):
            pass

    def _goodbye_queued(self) -> bool:
        return self.retired

    def _maybe_finish_retire(self) -> None:
        if self._goodbye_sent and self._goodbye_received:
            self.close(Reason.SUPERSEDED, "goodbye exchanged")

    async def _read_frame(self) -> bytes:
        header = await self._reader.readexactly(HEADER_BYTES)
        length, _ = parse_frame_header(header)
        if length > self.limits.max_frame_bytes:
            raise P2PRemotePeerError(Reason.OVERSIZED_FRAME, f"length {length}")
        if length < MIN_FRAME_BYTES:
            raise P2PRemotePeerError(Reason.UNDERSIZED_FRAME, f"length {length}")
        ciphertext = await self._reader.readexactly(length - FRAME_COUNTER_BYTES)
        now_s = time.monotonic()
        frame_bytes = HEADER_BYTES + len(ciphertext)
        if not self._messages_bucket.take(1, now_s) or not self._bytes_bucket.take(
            frame_bytes, now_s
        ):
            raise P2PRemotePeerError(Reason.RATE_LIMITED, "token bucket empty")
        plaintext = self._cipher.open_frame(header, ciphertext)
        self._last_recv_s = now_s
        self.stats.bytes_in += frame_bytes
        self.stats.messages_in += 1
        return plaintext

    async def _read_loop(self) -> None:
        try:
            while not self.closed:
                plaintext = await self._read_frame()
                message = decode(plaintext, max_pex_addresses=self.limits.max_pex_addresses)
                await self._on_message(message)
        except P2PRemotePeerError as error:
            self.close(error.reason, error.message)
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            self.close(Reason.CONNECTION_LOST, type(exc).__name__)

    async def _on_message(self, message: Message) -> None:
        match message:
            case Ping(nonce):
                self.send(Pong(nonce))
            case Pong():
                pass
            case Response(request_id, ok, payload):
                future = self.pending.get(request_id)
                if future is not None and not future.done():
                    if ok:
                        future.set_result(payload)
                    else:
                        text = payload.decode(errors="replace")[:MAX_PEER_REASON_CHARS]
                        future.set_exception(RequestError(Reason.REQUEST_FAILED, text))
            case Goodbye():
                self._goodbye_received = True
                self.owner.connection_control(self, message)
                self._maybe_finish_retire()
            case PexRequest() | PexResponse():
                self.owner.connection_control(self, message)
            case Gossip() | Direct() | Request():
                await self._inbound.put(message)

    async def _write_loop(self) -> None:
        try:
            while not self.closed:
                plaintext, is_goodbye, written = await self._send_queue.get()
                frame = self._cipher.seal(plaintext)
                self._writer.write(frame)
                await self._writer.drain()
                self.queued_bytes -= len(plaintext)
                if written is not None and not written.done():
                    written.set_result(None)
                self._last_send_s = time.monotonic()
                self.stats.bytes_out += len(frame)
                self.stats.messages_out += 1
                if is_goodbye:
                    self._goodbye_sent = True
                    self._maybe_finish_retire()
        except (ConnectionError, OSError) as exc:
            self.close(Reason.CONNECTION_LOST, type(exc).__name__)

    async def _dispatch_loop(self) -> None:
        # Loops test `closed` because a handler (or 3.11's wait_for) may swallow the
        # CancelledError that close() delivers.
        while not self.closed or not self._inbound.empty():
            message = await self._inbound.get()
            await self.owner.connection_message(self, message)

    async def _keepalive_loop(self) -> None:
        interval_s = self.limits.ping_interval_ms / 1000
        idle_s = self.limits.idle_timeout_ms / 1000
        while not self.closed:
            await asyncio.sleep(interval_s / 2)
            now_s = time.monotonic()
            if now_s - self._last_recv_s > idle_s:
                self.close(Reason.IDLE_TIMEOUT, f"silent {now_s - self._last_recv_s:.1f}s")
                return
            if self.queued_bytes and now_s - self._last_send_s > idle_s:
                # The peer stopped reading: our writer has been stuck in drain().
                self.close(Reason.SEND_QUEUE_FULL, "writer stalled")
                return
            if now_s - self._last_send_s >= interval_s and self._send_queue.empty():
                self.send(Ping(random.getrandbits(63)))
