"""Abusive peers are cut off with the right reason while honest nodes keep delivering.

Method: a 3-node honest mesh (node 0 is the target); a raw socket peer from `rawpeer.py`
misbehaves against node 0 before, during or after a real handshake; then we check node 0's
`closed.<reason>` / `rejected.<reason>` counter and that a fresh broadcast still reaches
every honest node exactly once.
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import AsyncIterator

import pytest

from p2p import P2PLimits, P2PService, PeerId, PersistentPeer
from p2p.messages import Gossip, Ping, Request, encode
from tests.p2p import rawpeer
from tests.p2p.helpers import (
    FAST_LIMITS,
    Inbox,
    fully_connected,
    make_node,
    public_key,
    signing_key,
    wait_until,
)

INSIDER = 7  # an allowed key the attacker holds (a compromised or buggy node)
OUTSIDER = 99  # a key no allow-list has


class Net:
    def __init__(self, nodes: list[P2PService], inboxes: list[Inbox]) -> None:
        self.nodes = nodes
        self.inboxes = inboxes
        self.round = 0

    @property
    def target(self) -> P2PService:
        return self.nodes[0]

    async def still_delivers(self) -> None:
        """A broadcast from node 1 reaches nodes 0 and 2 exactly once."""
        await wait_until(lambda: fully_connected(self.nodes), 10)
        self.round += 1
        payload = f"honest-{self.round}".encode()
        self.nodes[1].broadcast("msg", payload)
        await wait_until(
            lambda: all(self.inboxes[i].counts[("msg", payload)] == 1 for i in (0, 2)), 10
        )

    async def reason_counted(self, key: str) -> None:
        await wait_until(lambda: self.target.metrics().get(key, 0) >= 1, 5)

    async def closed_for(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         key: str) -> None:
        """The target closed the raw peer's connection, counted as `key`, and the honest
        nodes still gossip."""
        assert await rawpeer.closed_by_peer(reader)
        writer.close()
        await self.reason_counted(key)
        await self.still_delivers()


async def build(limits: P2PLimits = FAST_LIMITS) -> Net:
    nodes: list[P2PService] = []
    inboxes: list[Inbox] = []
    for i in range(3):
        svc, inbox = make_node(i, 3, limits=limits, extra_allowed=(public_key(INSIDER),))
        await svc.start()
        nodes.append(svc)
        inboxes.append(inbox)
    for i in range(3):
        for j in range(i + 1, 3):
            nodes[i].add_persistent_peer(
                PersistentPeer(public_key(j), "127.0.0.1", nodes[j].port)
            )
    net = Net(nodes, inboxes)
    await wait_until(lambda: fully_connected(nodes), 10)
    return net


@pytest.fixture
async def net() -> AsyncIterator[Net]:
    network = await build()
    yield network
    await asyncio.gather(*(n.stop() for n in network.nodes))


async def test_garbage_before_handshake_is_rejected_as_bad_handshake(net: Net) -> None:
    reader, writer = await rawpeer.connect(net.target.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await net.closed_for(reader, writer, "rejected.bad_handshake")


async def test_garbage_during_handshake_is_rejected_as_bad_handshake(net: Net) -> None:
    reader, writer = await rawpeer.connect(net.target.port)
    rawpeer.write_handshake(writer, rawpeer.hello(signing_key(INSIDER)))
    await rawpeer.read_handshake_message(reader, 1024)  # the responder's HELLO
    writer.write(struct.pack(">I", 40) + os.urandom(40))
    await net.closed_for(reader, writer, "rejected.bad_handshake")


async def test_garbage_after_handshake_closes_with_bad_frame_tag_and_bans(net: Net) -> None:
    (reader, writer), _ = await rawpeer.handshake(net.target.port, signing_key(INSIDER))
    writer.write(struct.pack(">IQ", 100, 0) + os.urandom(92))
    assert await rawpeer.closed_by_peer(reader)
    writer.close()
    await net.reason_counted("closed.bad_frame_tag")
    assert public_key(INSIDER) in net.target.bans()
    # The banned key cannot come back.
    reader, writer = await rawpeer.connect(net.target.port)
    rawpeer.write_handshake(writer, rawpeer.hello(signing_key(INSIDER)))
    assert await rawpeer.read_reject(reader) == "banned"
    writer.close()
    await net.still_delivers()


async def test_oversized_length_prefix_closes_with_oversized_frame(net: Net) -> None:
    (reader, writer), _ = await rawpeer.handshake(net.target.port, signing_key(INSIDER))
    writer.write(struct.pack(">IQ", net.target.limits.max_frame_bytes + 1, 0))
    await net.closed_for(reader, writer, "closed.oversized_frame")


async def test_flipped_ciphertext_bit_closes_with_bad_frame_tag(net: Net) -> None:
    (reader, writer), result = await rawpeer.handshake(net.target.port, signing_key(INSIDER))
    frame = bytearray(result.cipher.seal(encode(Gossip("msg", b"tampered"))))
    frame[20] ^= 0x01
    writer.write(bytes(frame))
    assert await rawpeer.closed_by_peer(reader)
    writer.close()
    await net.reason_counted("closed.bad_frame_tag")
    assert net.inboxes[0].counts[("msg", b"tampered")] == 0
    await net.still_delivers()


async def test_replayed_frame_closes_with_replayed_frame(net: Net) -> None:
    (reader, writer), result = await rawpeer.handshake(net.target.port, signing_key(INSIDER))
    frame = result.cipher.seal(encode(Gossip("msg", b"once")))
    writer.write(frame + frame)
    assert await rawpeer.closed_by_peer(reader)
    writer.close()
    await net.reason_counted("closed.replayed_frame")
    # The authentic first copy may or may not be handled before the close; never twice.
    assert net.inboxes[0].counts[("msg", b"once")] <= 1
    await net.still_delivers()


async def test_reordered_frames_close_with_reordered_frame(net: Net) -> None:
    (reader, writer), result = await rawpeer.handshake(net.target.port, signing_key(INSIDER))
    first = result.cipher.seal(encode(Ping(1)))
    second = result.cipher.seal(encode(Ping(2)))
    writer.write(second + first)
    await net.closed_for(reader, writer, "closed.reordered_frame")


async def test_unallowed_key_is_rejected_before_any_message(net: Net) -> None:
    reader, writer = await rawpeer.connect(net.target.port)
    rawpeer.write_handshake(writer, rawpeer.hello(signing_key(OUTSIDER)))
    assert await rawpeer.read_reject(reader) == "unallowed_key"
    writer.close()
    await net.reason_counted("rejected.unallowed_key")
    assert PeerId(public_key(OUTSIDER)) not in net.target.connected_peers()
    await net.still_delivers()


async def test_rate_limited_peer_is_closed_with_rate_limited() -> None:
    net = await build(P2PLimits(**{**FAST_LIMITS.__dict__, "rate_messages_per_s": 20,
                                   "rate_burst_messages": 40}))
    try:
        (reader, writer), result = await rawpeer.handshake(
            net.target.port, signing_key(INSIDER)
        )
        writer.write(b"".join(result.cipher.seal(encode(Ping(i))) for i in range(200)))
        await net.closed_for(reader, writer, "closed.rate_limited")
    finally:
        await asyncio.gather(*(n.stop() for n in net.nodes))


async def test_never_reading_peer_is_dropped_when_its_queue_fills() -> None:
    net = await build(P2PLimits(**{**FAST_LIMITS.__dict__, "max_send_queue_frames": 16}))
    try:
        (reader, writer), result = await rawpeer.handshake(
            net.target.port, signing_key(INSIDER)
        )
        await wait_until(lambda: net.target.is_connected(public_key(INSIDER)))
        # Keep sending pings so idle_timeout does not fire first; never read.
        for i in range(200):
            net.target.broadcast("msg", i.to_bytes(4, "big") + bytes(200_000))
            writer.write(result.cipher.seal(encode(Ping(i))))
            if net.target.metrics().get("closed.send_queue_full"):
                break
            await asyncio.sleep(0.005)
        await net.reason_counted("closed.send_queue_full")
        writer.close()
        await net.still_delivers()
    finally:
        await asyncio.gather(*(n.stop() for n in net.nodes))


async def test_never_reading_peer_is_dropped_before_its_queue_holds_more_bytes_than_the_limit(
) -> None:
    net = await build()
    limit = net.target.limits.max_send_queue_bytes
    chunk = 1024 * 1024
    (reader, writer), result = await rawpeer.handshake(
        net.target.port, signing_key(INSIDER), recv_buffer=4096
    )
    try:
        await wait_until(lambda: net.target.is_connected(public_key(INSIDER)))
        conn = net.target._table[public_key(INSIDER)]
        sent = 0
        peak = 0
        # Far fewer frames than MAX_SEND_QUEUE_FRAMES, but 1 MiB each; never read.
        while net.target.is_connected(public_key(INSIDER)) and sent < 4 * limit:
            net.target.send(public_key(INSIDER), "big", sent.to_bytes(8, "big") + bytes(chunk))
            sent += chunk
            peak = max(peak, conn.queued_bytes)
            writer.write(result.cipher.seal(encode(Ping(sent))))
            await asyncio.sleep(0.002)
        assert not net.target.is_connected(public_key(INSIDER))
        assert peak <= limit
        # What the socket took before the queue filled is bounded by the kernel's buffers.
        assert sent <= limit + 16 * chunk
        assert net.target.metrics().get("closed.send_queue_full") == 1
        await net.still_delivers()
    finally:
        writer.close()
        await asyncio.gather(*(n.stop() for n in net.nodes))


async def test_peer_requesting_large_responses_and_never_reading_gets_few_served() -> None:
    net = await build()
    served = 0
    response_bytes = net.target.limits.max_payload_bytes

    async def on_big(peer: PeerId, payload: bytes) -> bytes:
        nonlocal served
        served += 1
        return bytes(response_bytes)

    net.target.register_request("big", on_big)
    (reader, writer), result = await rawpeer.handshake(
        net.target.port, signing_key(INSIDER), recv_buffer=4096
    )
    try:
        await wait_until(lambda: net.target.is_connected(public_key(INSIDER)))
        for i in range(1, 65):
            writer.write(result.cipher.seal(encode(Request(i, "big", b""))))
            await asyncio.sleep(0.02)
        # 64 requests of 4 MiB answers, one at a time: the first few are served; the rest
        # get `busy` until earlier answers leave for the socket (the kernel takes one or two).
        assert served <= net.target.limits.max_inbound_requests_per_peer + 2
        conn = net.target._table[public_key(INSIDER)]
        assert conn.queued_bytes <= net.target.limits.max_send_queue_bytes
        await net.still_delivers()
    finally:
        writer.close()
        await asyncio.gather(*(n.stop() for n in net.nodes))


async def test_hundreds_of_connections_are_shed_while_honest_nodes_deliver() -> None:
    limits = P2PLimits(**{**FAST_LIMITS.__dict__, "max_pending_handshakes": 16,
                          "handshake_timeout_ms": 500, "first_byte_timeout_ms": 250})
    net = await build(limits)
    sockets: list[rawpeer.Streams] = []
    try:
        for _ in range(300):
            sockets.append(await rawpeer.connect(net.target.port))
        await net.reason_counted("rejected.too_many_handshakes")
        await net.still_delivers()
        await net.reason_counted("rejected.first_byte_timeout")
        metrics = net.target.metrics()
        assert metrics["rejected.too_many_handshakes"] + metrics[
            "rejected.first_byte_timeout"] >= 250
        await net.still_delivers()
    finally:
        for _, writer in sockets:
            writer.close()
        await asyncio.gather(*(n.stop() for n in net.nodes))
