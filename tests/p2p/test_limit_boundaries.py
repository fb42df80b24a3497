"""Each named P2P limit a peer can reach, tested on both sides of its edge: the frame size,
the handler timeout, inbound-queue back-pressure, the per-peer request limit (`busy`), the
address book and the outbound-peer cap.

Method: real `P2PService` nodes on loopback with small limits; the peer at the edge is a raw
socket from `rawpeer.py` that completes a real handshake and writes hand-made frames, or
real nodes. Waits are event waits (`wait_until`) with generous timeouts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from p2p import P2PLimits, P2PService, PeerId
from p2p.limits import FRAME_COUNTER_BYTES, MAX_FRAME_BYTES
from p2p.messages import Direct, Message, PexResponse, Request, Response, decode, encode
from tests.p2p import rawpeer
from tests.p2p.helpers import FAST_LIMITS, make_node, public_key, signing_key, wait_until

INSIDER = 7  # an allowed key the raw peer holds
AEAD_TAG = 16


def limits(**overrides: int) -> P2PLimits:
    return P2PLimits(**{**FAST_LIMITS.__dict__, **overrides})


class Raw:
    """A raw peer after its handshake: writes sealed frames, reads and opens the node's."""

    def __init__(self, streams: rawpeer.Streams, result: object) -> None:
        self.reader, self.writer = streams
        self.cipher = result.cipher  # type: ignore[attr-defined]

    def send(self, message: Message) -> None:
        self.writer.write(self.cipher.seal(encode(message)))

    def send_plaintext(self, plaintext: bytes) -> None:
        self.writer.write(self.cipher.seal(plaintext))

    async def read(self, timeout_s: float = 10.0) -> Message:
        async with asyncio.timeout(timeout_s):
            header = await self.reader.readexactly(12)
            length = int.from_bytes(header[:4], "big")
            ciphertext = await self.reader.readexactly(length - FRAME_COUNTER_BYTES)
        return decode(self.cipher.open_frame(header, ciphertext), max_pex_addresses=64)

    async def responses(self, count: int) -> list[Response]:
        """The next `count` responses (pings and other traffic skipped)."""
        found: list[Response] = []
        while len(found) < count:
            message = await self.read()
            if isinstance(message, Response):
                found.append(message)
        return found


async def start(stack: list[P2PService], node_limits: P2PLimits, count: int = 1,
                extra: tuple[bytes, ...] = ()) -> P2PService:
    """Start node 0 with these limits, on `stack` (stopped when the test ends)."""
    svc, _ = make_node(0, count, limits=node_limits,
                       extra_allowed=(public_key(INSIDER), *extra))
    await svc.start()
    stack.append(svc)
    return svc


async def attach(svc: P2PService) -> Raw:
    streams, result = await rawpeer.handshake(svc.port, signing_key(INSIDER))
    await wait_until(lambda: svc.is_connected(public_key(INSIDER)), 10)
    return Raw(streams, result)


@pytest.fixture
async def stack() -> AsyncIterator[list[P2PService]]:
    """Services a test started; each is stopped at the end."""
    started: list[P2PService] = []
    yield started
    await asyncio.gather(*(svc.stop() for svc in started))


def direct_of_frame_bytes(length: int, kind: str = "big") -> bytes:
    """The plaintext of a Direct message whose frame length prefix is exactly `length`."""
    payload_bytes = length - FRAME_COUNTER_BYTES - AEAD_TAG - len(encode(Direct(kind, b"")))
    plaintext = b""
    for _ in range(4):  # the msgpack bin header grows with the payload; settle its size
        plaintext = encode(Direct(kind, bytes(payload_bytes)))
        payload_bytes -= FRAME_COUNTER_BYTES + len(plaintext) + AEAD_TAG - length
    assert FRAME_COUNTER_BYTES + len(plaintext) + AEAD_TAG == length
    return plaintext


# Frames: a length prefix of exactly MAX_FRAME_BYTES is read; one more closes the peer.


async def test_frame_of_exactly_max_frame_bytes_is_delivered(stack: list[P2PService]) -> None:
    svc = await start(stack, limits())
    assert svc.limits.max_frame_bytes == MAX_FRAME_BYTES
    got: list[int] = []

    async def on_big(peer: PeerId, payload: bytes) -> None:
        got.append(len(payload))

    svc.register_direct("big", on_big)
    raw = await attach(svc)
    raw.send_plaintext(direct_of_frame_bytes(MAX_FRAME_BYTES))
    await wait_until(lambda: len(got) == 1, 10)
    assert svc.is_connected(public_key(INSIDER))
    assert svc.metrics().get("closed.oversized_frame", 0) == 0
    raw.writer.close()


async def test_frame_one_byte_over_max_frame_bytes_closes_oversized(
    stack: list[P2PService],
) -> None:
    svc = await start(stack, limits())
    got: list[int] = []

    async def on_big(peer: PeerId, payload: bytes) -> None:
        got.append(len(payload))

    svc.register_direct("big", on_big)
    raw = await attach(svc)
    raw.send_plaintext(direct_of_frame_bytes(MAX_FRAME_BYTES + 1))
    assert await rawpeer.closed_by_peer(raw.reader, 10)
    await wait_until(lambda: svc.metrics().get("closed.oversized_frame", 0) == 1, 10)
    assert got == []
    raw.writer.close()


# The handler timeout: a handler within it finishes; one past it is cancelled and counted,
# and the peer's next message is still handled.


async def test_handler_within_timeout_finishes_and_past_it_is_cancelled(
    stack: list[P2PService],
) -> None:
    timeout_ms = 400
    svc = await start(stack, limits(handler_timeout_ms=timeout_ms))
    finished: list[bytes] = []
    never = asyncio.Event()

    async def on_slow(peer: PeerId, payload: bytes) -> None:
        if payload == b"stuck":
            await never.wait()
        else:
            await asyncio.sleep(timeout_ms / 1000 / 4)  # well within the limit
        finished.append(payload)

    svc.register_direct("slow", on_slow)
    raw = await attach(svc)
    raw.send(Direct("slow", b"quick"))
    await wait_until(lambda: finished == [b"quick"], 10)
    assert svc.metrics().get("handler.timeout", 0) == 0
    raw.send(Direct("slow", b"stuck"))
    raw.send(Direct("slow", b"after"))
    await wait_until(lambda: svc.metrics().get("handler.timeout", 0) == 1, 10)
    await wait_until(lambda: finished == [b"quick", b"after"], 10)
    raw.writer.close()


# Inbound back-pressure: with the handler busy, the queue holds exactly
# max_inbound_queue_messages and the reader stops; nothing is lost when it drains.


async def test_inbound_queue_holds_its_limit_then_the_reader_waits(
    stack: list[P2PService],
) -> None:
    queue = 8
    svc = await start(stack, limits(max_inbound_queue_messages=queue))
    release = asyncio.Event()
    handled: list[int] = []

    async def on_item(peer: PeerId, payload: bytes) -> None:
        await release.wait()
        handled.append(int.from_bytes(payload, "big"))

    svc.register_direct("item", on_item)
    raw = await attach(svc)
    conn = svc._table[public_key(INSIDER)]
    total = queue + 10
    for i in range(total):
        raw.send(Direct("item", i.to_bytes(4, "big")))
    # One message in the handler, `queue` in the queue, one read and waiting to be queued.
    await wait_until(lambda: conn._inbound.full(), 10)
    # The reader takes nothing more while the handler is busy (0.3 s of event-loop turns).
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(
            wait_until(lambda: conn.stats.messages_in > queue + 2, 10), 0.3)
    assert conn._inbound.qsize() == queue
    assert conn.stats.messages_in == queue + 2
    release.set()
    await wait_until(lambda: len(handled) == total, 10)
    assert handled == list(range(total))
    assert svc.is_connected(public_key(INSIDER))
    raw.writer.close()


# Requests served at once per peer: max_inbound_requests_per_peer are served, one more is
# answered `busy`.


async def test_requests_up_to_the_per_peer_limit_are_served_one_more_is_busy(
    stack: list[P2PService],
) -> None:
    svc = await start(stack, limits())
    limit = svc.limits.max_inbound_requests_per_peer
    release = asyncio.Event()
    started: list[int] = []

    async def on_ask(peer: PeerId, payload: bytes) -> bytes:
        started.append(int.from_bytes(payload, "big"))
        await release.wait()
        return b"ok" + payload

    svc.register_request("ask", on_ask)
    raw = await attach(svc)
    for i in range(1, limit + 1):
        raw.send(Request(i, "ask", i.to_bytes(4, "big")))
    await wait_until(lambda: len(started) == limit, 10)
    raw.send(Request(limit + 1, "ask", (limit + 1).to_bytes(4, "big")))
    [busy] = await raw.responses(1)
    assert (busy.request_id, busy.ok, busy.payload) == (limit + 1, False, b"busy")
    release.set()
    served = await raw.responses(limit)
    assert sorted(r.request_id for r in served) == list(range(1, limit + 1))
    assert all(r.ok for r in served)
    raw.writer.close()


# The address book: PEX fills it to max_address_book_entries and no further.


def pex_addresses(first: int, count: int) -> tuple[tuple[bytes, str, int], ...]:
    return tuple((public_key(100 + i), "127.0.0.1", 9 + i) for i in range(first, count))


@pytest.mark.parametrize("offered,full", [(0, 0), (1, 1)], ids=["at-limit", "one-over"])
async def test_address_book_takes_entries_up_to_its_limit(
    stack: list[P2PService], offered: int, full: int,
) -> None:
    book = 6
    allowed = tuple(public_key(100 + i) for i in range(book + 1))
    # Never dial what it learns (no outbound slot), so the book only grows by PEX.
    svc = await start(stack, limits(max_address_book_entries=book, max_outbound_peers=0,
                                    pex_interval_ms=60_000), extra=allowed)
    raw = await attach(svc)
    raw.send(PexResponse(pex_addresses(0, book + offered)))
    await wait_until(lambda: svc.metrics().get("pex.learned", 0) == book, 10)
    await wait_until(lambda: svc.metrics().get("pex.address_book_full", 0) == full, 10)
    assert len(svc._targets) == book
    raw.writer.close()


# Outbound peers learned by PEX: max_outbound_peers are dialled, the next one is not.


async def test_outbound_peers_learned_by_pex_stop_at_the_limit(
    stack: list[P2PService],
) -> None:
    cap = 2
    quiet = limits(pex_interval_ms=60_000)
    peers: list[P2PService] = []
    for index in range(1, cap + 2):  # one more reachable peer than the cap
        svc, _ = make_node(index, cap + 2, limits=quiet)
        await svc.start()
        stack.append(svc)
        peers.append(svc)
    target = await start(stack, limits(max_outbound_peers=cap, pex_interval_ms=60_000),
                         count=cap + 2)
    raw = await attach(target)
    raw.send(PexResponse(tuple((public_key(i + 1), "127.0.0.1", p.port)
                               for i, p in enumerate(peers))))

    def outbound() -> int:
        return sum(1 for conn in target._table.values() if conn.outbound)

    await wait_until(lambda: outbound() == cap, 10)
    # Dial ticks come every 20 ms: 25 of them pass without the third dial.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(wait_until(lambda: outbound() > cap, 10), 0.5)
    assert outbound() == cap
    assert sum(1 for p in peers if target.is_connected(public_key(peers.index(p) + 1))) == cap
    raw.writer.close()
