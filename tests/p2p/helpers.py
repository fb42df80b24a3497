"""Shared helpers for the P2P tests: deterministic keys, small limits, networks, waiting."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from nacl.signing import SigningKey

from p2p import P2PLimits, P2PService, PeerId, PersistentPeer

CHAIN_ID = "agora-test"

FAST_LIMITS = P2PLimits(
    handshake_timeout_ms=1_000,
    first_byte_timeout_ms=500,
    connect_timeout_ms=1_000,
    ping_interval_ms=500,
    idle_timeout_ms=3_000,
    reconnect_backoff_initial_ms=50,
    reconnect_backoff_max_ms=400,
    dial_tick_ms=20,
    pex_interval_ms=500,
    retire_timeout_ms=2_000,
    request_timeout_ms=2_000,
    ban_duration_ms=60_000,
)


def signing_key(index: int, seed: str = "test") -> SigningKey:
    return SigningKey(hashlib.sha256(f"{seed}-{index}".encode()).digest())


def public_key(index: int, seed: str = "test") -> bytes:
    return bytes(signing_key(index, seed).verify_key)


@dataclass
class Inbox:
    """Records every gossip delivery of one node: (kind, payload) -> count."""

    counts: Counter[tuple[str, bytes]] = field(default_factory=Counter)

    def handler(self, kind: str) -> Callable[[PeerId, bytes], asyncio.Future[None]]:
        async def on_message(peer: PeerId, payload: bytes) -> None:
            self.counts[(kind, payload)] += 1

        return on_message  # type: ignore[return-value]


def make_node(
    index: int,
    count: int,
    peers: list[PersistentPeer] | None = None,
    limits: P2PLimits = FAST_LIMITS,
    extra_allowed: tuple[bytes, ...] = (),
    port: int = 0,
) -> tuple[P2PService, Inbox]:
    allowed = [public_key(i) for i in range(count)] + list(extra_allowed)
    svc = P2PService(
        identity=signing_key(index),
        chain_id=CHAIN_ID,
        allowed_keys=allowed,
        port=port,
        persistent_peers=peers or [],
        limits=limits,
    )
    inbox = Inbox()
    svc.register_gossip("msg", inbox.handler("msg"))
    return svc, inbox


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def started(*made: tuple[P2PService, Inbox]) -> AsyncIterator[list[tuple[P2PService, Inbox]]]:
    """Start each service of `make_node` results in order; stop them all afterwards."""
    running: list[P2PService] = []
    try:
        for svc, _ in made:
            await svc.start()
            running.append(svc)
        yield list(made)
    finally:
        for svc in running:
            await svc.stop()


def fully_connected(nodes: list[P2PService]) -> bool:
    return all(len(n.connected_peers()) == len(nodes) - 1 for n in nodes)
