"""Gossip, direct messages and requests across in-process loopback networks of 2, 4 and 8.

Method: start real `P2PService`s on 127.0.0.1 in one event loop, wire them with persistent
peers (full mesh, so duplicate connections are resolved, or a line, so messages must be
relayed), broadcast from several nodes and count each handler call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from p2p import (
    P2PLimits,
    P2PLocalProtocolError,
    P2PService,
    PeerId,
    PersistentPeer,
    Reason,
    RequestError,
)
from tests.p2p.helpers import FAST_LIMITS, Inbox, fully_connected, make_node, public_key, wait_until


async def start_network(
    count: int, topology: str = "mesh", limits: P2PLimits = FAST_LIMITS
) -> tuple[list[P2PService], list[Inbox]]:
    nodes: list[P2PService] = []
    inboxes: list[Inbox] = []
    for i in range(count):
        svc, inbox = make_node(i, count, limits=limits)
        await svc.start()
        nodes.append(svc)
        inboxes.append(inbox)
    for i, svc in enumerate(nodes):
        if topology == "mesh":
            targets = [j for j in range(count) if j != i]
        else:  # line: i dials i+1 only
            targets = [i + 1] if i + 1 < count else []
        for j in targets:
            svc.add_persistent_peer(PersistentPeer(public_key(j), "127.0.0.1", nodes[j].port))
    return nodes, inboxes


async def stop_all(nodes: list[P2PService]) -> None:
    await asyncio.gather(*(n.stop() for n in nodes))


@contextlib.asynccontextmanager
async def network(
    count: int, topology: str = "mesh", limits: P2PLimits = FAST_LIMITS
) -> AsyncIterator[tuple[list[P2PService], list[Inbox]]]:
    """`start_network`, every node stopped afterwards."""
    nodes, inboxes = await start_network(count, topology, limits)
    try:
        yield nodes, inboxes
    finally:
        await stop_all(nodes)


def delivered_exactly_once(inboxes: list[Inbox], senders: dict[bytes, int]) -> bool:
    for index, inbox in enumerate(inboxes):
        for payload, sender in senders.items():
            expected = 0 if sender == index else 1
            if inbox.counts[("msg", payload)] != expected:
                return False
    return True


@pytest.mark.parametrize("count", [2, 4, 8])
async def test_gossip_mesh_of_n_delivers_each_message_exactly_once(count: int) -> None:
    async with network(count, "mesh") as (nodes, inboxes):
        await wait_until(lambda: fully_connected(nodes), 15)
        senders: dict[bytes, int] = {}
        for round_index in range(5):
            for i, svc in enumerate(nodes):
                payload = f"m-{round_index}-{i}".encode()
                senders[payload] = i
                svc.broadcast("msg", payload)
        await wait_until(lambda: delivered_exactly_once(inboxes, senders), 10)
        await asyncio.sleep(0.2)  # late duplicates would show up here
        assert delivered_exactly_once(inboxes, senders)
        for svc in nodes:
            assert svc.metrics().get("closed.bad_frame_tag", 0) == 0


async def test_gossip_line_of_8_relays_to_the_far_end() -> None:
    # No outbound slots for PEX-learned addresses: the line stays a line.
    no_pex_dials = P2PLimits(**{**FAST_LIMITS.__dict__, "max_outbound_peers": 0})
    async with network(8, "line", no_pex_dials) as (nodes, inboxes):
        await wait_until(
            lambda: [len(n.connected_peers()) for n in nodes] == [1, 2, 2, 2, 2, 2, 2, 1], 10
        )
        nodes[0].broadcast("msg", b"far")
        nodes[7].broadcast("msg", b"back")
        senders = {b"far": 0, b"back": 7}
        await wait_until(lambda: delivered_exactly_once(inboxes, senders), 10)


async def test_gossip_late_joiner_receives_later_messages_exactly_once() -> None:
    nodes, inboxes = await start_network(4, "mesh")
    late, late_inbox = make_node(4, 5)
    try:
        for svc in nodes:
            svc.set_allowed_keys([public_key(i) for i in range(5)])
        await wait_until(lambda: fully_connected(nodes), 10)
        nodes[0].broadcast("msg", b"before")
        await wait_until(lambda: all(ib.counts[("msg", b"before")] == 1 for ib in inboxes[1:]))
        late.add_persistent_peer(PersistentPeer(public_key(0), "127.0.0.1", nodes[0].port))
        await late.start()
        # PEX from node 0 teaches the late node the other three.
        await wait_until(lambda: len(late.connected_peers()) == 4, 10)
        nodes[2].broadcast("msg", b"after")
        late.broadcast("msg", b"from-late")
        senders = {b"after": 2, b"from-late": 4}
        await wait_until(lambda: delivered_exactly_once([*inboxes, late_inbox], senders), 10)
        assert late_inbox.counts[("msg", b"before")] == 0
    finally:
        await stop_all([*nodes, late])


async def test_gossip_node_restarted_after_kill_reconnects_and_receives() -> None:
    async with network(4, "mesh") as (nodes, inboxes):
        await wait_until(lambda: fully_connected(nodes), 10)
        port = nodes[3].port
        await nodes[3].stop()
        await wait_until(lambda: all(len(n.connected_peers()) == 2 for n in nodes[:3]))
        nodes[0].broadcast("msg", b"while-down")
        restarted, restarted_inbox = make_node(3, 4, port=port)
        restarted.add_persistent_peer(PersistentPeer(public_key(0), "127.0.0.1", nodes[0].port))
        await restarted.start()
        nodes[3], inboxes[3] = restarted, restarted_inbox
        await wait_until(lambda: fully_connected(nodes), 10)
        nodes[1].broadcast("msg", b"after-restart")
        await wait_until(lambda: delivered_exactly_once(inboxes, {b"after-restart": 1}), 10)
        assert all(ib.counts[("msg", b"while-down")] == 1 for ib in inboxes[1:3])


async def test_broadcast_same_payload_twice_is_sent_once() -> None:
    async with network(2) as (nodes, inboxes):
        await wait_until(lambda: fully_connected(nodes))
        assert nodes[0].broadcast("msg", b"x") == 1
        assert nodes[0].broadcast("msg", b"x") == 0
        await wait_until(lambda: inboxes[1].counts[("msg", b"x")] == 1)


async def test_gossip_handler_returning_false_stops_relay() -> None:
    nodes, inboxes = await start_network(3, "line")
    relayed: list[bytes] = []

    async def reject(peer: PeerId, payload: bytes) -> bool:
        relayed.append(payload)
        return False

    try:
        nodes[1].register_gossip("bad", reject)
        await wait_until(lambda: len(nodes[1].connected_peers()) == 2)
        got: list[bytes] = []

        async def record(peer: PeerId, payload: bytes) -> None:
            got.append(payload)

        nodes[2].register_gossip("bad", record)
        nodes[0].broadcast("bad", b"invalid")
        await wait_until(lambda: relayed == [b"invalid"])
        await asyncio.sleep(0.2)
        assert got == []
    finally:
        await stop_all(nodes)


async def test_send_and_request_reach_one_peer() -> None:
    nodes, _ = await start_network(3)
    direct: list[tuple[PeerId, bytes]] = []

    async def on_direct(peer: PeerId, payload: bytes) -> None:
        direct.append((peer, payload))

    async def on_echo(peer: PeerId, payload: bytes) -> bytes:
        return payload[::-1]

    async def on_slow(peer: PeerId, payload: bytes) -> bytes:
        await asyncio.sleep(5)
        return b""

    async def on_fail(peer: PeerId, payload: bytes) -> bytes:
        raise RuntimeError("boom")

    try:
        for svc in nodes:
            svc.register_direct("consensus", on_direct)
            svc.register_request("echo", on_echo)
            svc.register_request("slow", on_slow)
            svc.register_request("fail", on_fail)
        await wait_until(lambda: fully_connected(nodes))
        nodes[0].send(public_key(2), "consensus", b"vote")
        await wait_until(lambda: direct == [(PeerId(public_key(0)), b"vote")])
        assert await nodes[0].request(public_key(1), "echo", b"abc") == b"cba"
        with pytest.raises(RequestError) as timeout:
            await nodes[0].request(public_key(1), "slow", b"", timeout_s=0.2)
        assert timeout.value.reason is Reason.REQUEST_TIMEOUT
        with pytest.raises(RequestError) as failed:
            await nodes[0].request(public_key(1), "fail", b"")
        assert failed.value.reason is Reason.REQUEST_FAILED
        with pytest.raises(RequestError) as unknown:
            await nodes[0].request(public_key(1), "nope", b"")
        assert "unknown_kind" in str(unknown.value)
        with pytest.raises(P2PLocalProtocolError) as missing:
            nodes[0].send(public_key(9), "consensus", b"")
        assert missing.value.reason is Reason.PEER_NOT_CONNECTED
        with pytest.raises(P2PLocalProtocolError) as too_big:
            nodes[0].broadcast("msg", bytes(nodes[0].limits.max_payload_bytes + 1))
        assert too_big.value.reason is Reason.PAYLOAD_TOO_LARGE
        with pytest.raises(P2PLocalProtocolError):
            nodes[0].register_gossip("msg", on_direct)
    finally:
        await stop_all(nodes)


async def test_payload_at_max_payload_bytes_is_delivered() -> None:
    async with network(2) as (nodes, inboxes):
        await wait_until(lambda: fully_connected(nodes))
        payload = bytes(nodes[0].limits.max_payload_bytes)
        nodes[0].broadcast("msg", payload)
        await wait_until(lambda: inboxes[1].counts[("msg", payload)] == 1)


async def test_peer_events_and_table_report_up_and_down() -> None:
    nodes, _ = await start_network(2)
    ups: list[PeerId] = []
    downs: list[PeerId] = []
    nodes[0].on_peer_up(ups.append)
    nodes[0].on_peer_down(downs.append)
    try:
        await wait_until(lambda: fully_connected(nodes))
        assert ups == [PeerId(public_key(1))]
        rows = nodes[0].peers()
        assert len(rows) == 1
        assert rows[0].peer_hex == public_key(1).hex()
        assert rows[0].direction in ("inbound", "outbound")
        await nodes[1].stop()
        await wait_until(lambda: downs == [PeerId(public_key(1))])
        assert nodes[0].peers() == []
    finally:
        await stop_all(nodes)


async def start_line_of_3() -> list[P2PService]:
    """A - B - C where A and C do not allow each other (so PEX cannot link them)."""
    nodes = []
    for index, allowed in ((0, (0, 1)), (1, (0, 1, 2)), (2, (1, 2))):
        svc, _ = make_node(index, 3)
        svc.set_allowed_keys([public_key(i) for i in allowed])
        await svc.start()
        nodes.append(svc)
    for index in (0, 2):
        nodes[index].add_persistent_peer(PersistentPeer(public_key(1), "127.0.0.1", nodes[1].port))
    await wait_until(lambda: len(nodes[1].connected_peers()) == 2)
    return nodes


async def test_gossip_declined_then_broadcast_reaches_others_but_not_its_origin() -> None:
    # A node that checks a message, declines the relay and broadcasts what it accepted
    # (here the same bytes) still gets it to its other peers, and never back to the sender.
    nodes = await start_line_of_3()
    at_c: list[tuple[PeerId, bytes]] = []
    rebroadcast: list[int] = []

    async def check_then_broadcast(peer: PeerId, payload: bytes) -> bool:
        rebroadcast.append(nodes[1].broadcast("tx", payload))
        return False

    async def record(peer: PeerId, payload: bytes) -> bool:
        at_c.append((peer, payload))
        return False

    try:
        nodes[1].register_gossip("tx", check_then_broadcast)
        nodes[2].register_gossip("tx", record)
        nodes[0].register_gossip("tx", record)
        assert nodes[0].broadcast("tx", b"checked") == 1
        await wait_until(lambda: at_c == [(PeerId(public_key(1)), b"checked")])
        await asyncio.sleep(0.2)
        assert rebroadcast == [1]  # to C only
        assert nodes[0].metrics().get("gossip.duplicate", 0) == 0
        assert nodes[1].broadcast("tx", b"checked") == 0  # sent on once
    finally:
        await stop_all(nodes)


async def test_gossip_handler_that_raises_does_not_relay() -> None:
    nodes = await start_line_of_3()
    at_c: list[bytes] = []

    async def crash(peer: PeerId, payload: bytes) -> bool:
        raise ValueError("cannot check this")

    async def record(peer: PeerId, payload: bytes) -> None:
        at_c.append(payload)

    try:
        nodes[1].register_gossip("tx", crash)
        nodes[2].register_gossip("tx", record)
        nodes[0].broadcast("tx", b"unchecked")
        await wait_until(lambda: nodes[1].metrics().get("handler.error", 0) == 1)
        await asyncio.sleep(0.2)
        assert at_c == []
    finally:
        await stop_all(nodes)


async def test_penalize_adds_up_to_a_ban_and_decays() -> None:
    limits = P2PLimits(**{**FAST_LIMITS.__dict__, "misbehaviour_decay_points_per_min": 600})
    async with network(2, limits=limits) as (nodes, _):
        await wait_until(lambda: fully_connected(nodes))
        peer = public_key(1)
        assert not nodes[0].penalize(peer, 40, "junk")
        await asyncio.sleep(0.3)  # 600 points a minute: 3 forgotten
        assert 35 <= nodes[0].misbehaviour_points(peer) <= 37
        assert not nodes[0].penalize(peer, 40, "junk")
        assert not nodes[0].penalize(public_key(99), 100, "not allowed: not scored")
        assert nodes[0].misbehaviour_points(public_key(99)) == 0
        assert nodes[0].penalize(peer, 40, "junk")
        assert peer in nodes[0].bans()
        assert nodes[0].misbehaviour_points(peer) == 0
        await wait_until(lambda: not nodes[0].is_connected(peer))
        assert nodes[0].metrics()["closed.misbehaving"] == 1
