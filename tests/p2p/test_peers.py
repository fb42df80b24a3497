"""Peer management: PEX only spreads allowed keys, bans persist and expire, the allow-list
update disconnects, reconnect backoff grows with jitter and a cap, limits hold.

Method: small in-process networks with fast limits; PEX is fed by hand-made responses
from a raw insider peer where the network alone cannot produce the case.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from p2p import JsonFileBanStore, P2PLimits, P2PService, PersistentPeer
from p2p.messages import PexResponse, encode
from tests.p2p import rawpeer
from tests.p2p.helpers import (
    CHAIN_ID,
    FAST_LIMITS,
    make_node,
    public_key,
    signing_key,
    started,
    wait_until,
)


async def test_pex_teaches_only_allowed_keys_and_never_self() -> None:
    async with started(make_node(0, 3)) as [(svc, _)]:
        (reader, writer), result = await rawpeer.handshake(svc.port, signing_key(1))
        addresses = (
            (public_key(2), "127.0.0.1", 1),  # allowed: learned
            (public_key(50), "127.0.0.1", 2),  # not allowed: ignored
            (public_key(0), "127.0.0.1", 3),  # itself: ignored
        )
        writer.write(result.cipher.seal(encode(PexResponse(addresses))))
        await wait_until(lambda: svc.metrics().get("pex.learned", 0) == 1)
        await asyncio.sleep(0.1)
        assert svc.metrics()["pex.learned"] == 1
        writer.close()


async def test_ban_store_keeps_bans_across_restart(tmp_path: Path) -> None:
    store = JsonFileBanStore(tmp_path / "bans.json")
    first = P2PService(identity=signing_key(0), chain_id=CHAIN_ID,
                       allowed_keys=[public_key(1)], ban_store=store, limits=FAST_LIMITS)
    first.ban(public_key(1), duration_ms=60_000)
    second = P2PService(identity=signing_key(0), chain_id=CHAIN_ID,
                        allowed_keys=[public_key(1)], ban_store=store, limits=FAST_LIMITS)
    await second.start()
    try:
        assert public_key(1) in second.bans()
        reader, writer = await rawpeer.connect(second.port)
        rawpeer.write_handshake(writer, rawpeer.hello(signing_key(1)))
        assert await rawpeer.read_reject(reader) == "banned"
        writer.close()
        second.unban(public_key(1))
        assert public_key(1) not in JsonFileBanStore(tmp_path / "bans.json").load()
    finally:
        await second.stop()


async def test_ban_expires_and_peer_reconnects() -> None:
    async with started(make_node(0, 2), make_node(1, 2)) as [(a, _), (b, _)]:
        b.add_persistent_peer(PersistentPeer(public_key(0), "127.0.0.1", a.port))
        await wait_until(lambda: a.is_connected(public_key(1)))
        a.ban(public_key(1), duration_ms=300)
        assert not a.is_connected(public_key(1))
        assert a.metrics()["closed.banned_locally"] == 1
        await wait_until(lambda: a.metrics().get("rejected.banned", 0) >= 1)
        await wait_until(lambda: a.is_connected(public_key(1)), 5)


async def test_removing_a_key_from_the_allow_list_disconnects_it() -> None:
    async with started(make_node(0, 2), make_node(1, 2)) as [(a, _), (b, _)]:
        b.add_persistent_peer(PersistentPeer(public_key(0), "127.0.0.1", a.port))
        await wait_until(lambda: a.is_connected(public_key(1)))
        a.set_allowed_keys([public_key(0)])
        assert not a.is_connected(public_key(1))
        assert a.metrics()["closed.removed_from_allow_list"] == 1
        await wait_until(lambda: a.metrics().get("rejected.unallowed_key", 0) >= 1)


async def test_reconnect_backoff_grows_to_the_cap_with_jitter() -> None:
    svc, _ = make_node(0, 2, limits=P2PLimits(reconnect_backoff_initial_ms=100,
                                              reconnect_backoff_max_ms=1_000,
                                              reconnect_jitter_percent=50))
    delays = [[svc.backoff_s(attempt) for _ in range(200)] for attempt in range(8)]
    for attempt, samples in enumerate(delays):
        base_s = min(1.0, 0.1 * 2**attempt)
        assert all(base_s * 0.5 <= d <= base_s for d in samples)
        assert len(set(samples)) > 1  # jittered
    assert max(delays[7]) <= 1.0


async def test_unreachable_persistent_peer_is_retried_with_backoff() -> None:
    async with started(make_node(0, 2)) as [(svc, _)]:
        svc.add_persistent_peer(PersistentPeer(public_key(1), "127.0.0.1", 1))  # refused
        await asyncio.sleep(1.0)
        failures = svc.metrics().get("dial.failed", 0)
        # 50 ms initial doubling to a 400 ms cap: a handful of attempts, not one per tick.
        assert 2 <= failures <= 10


async def test_inbound_peer_limit_refuses_extra_peers() -> None:
    limits = P2PLimits(**{**FAST_LIMITS.__dict__, "max_inbound_peers": 1})
    hub, _ = make_node(0, 3, limits=limits)
    await hub.start()
    spokes = [make_node(i, 3)[0] for i in (1, 2)]
    try:
        for spoke in spokes:
            spoke.add_persistent_peer(PersistentPeer(public_key(0), "127.0.0.1", hub.port))
            await spoke.start()
        await wait_until(lambda: hub.metrics().get("rejected.too_many_peers", 0) >= 1)
        assert len(hub.peers()) == 1
    finally:
        await asyncio.gather(hub.stop(), *(s.stop() for s in spokes))


async def test_idle_peer_is_closed_with_idle_timeout() -> None:
    limits = P2PLimits(**{**FAST_LIMITS.__dict__, "ping_interval_ms": 200,
                          "idle_timeout_ms": 400})
    async with started(make_node(0, 2, limits=limits)) as [(svc, _)]:
        (reader, writer), _ = await rawpeer.handshake(svc.port, signing_key(1))
        # The raw peer reads nothing and never answers pings.
        await wait_until(lambda: svc.metrics().get("closed.idle_timeout", 0) == 1, 3)
        writer.close()
