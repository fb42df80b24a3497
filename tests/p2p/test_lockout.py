"""Idle sockets, from one address or many, cannot keep a restarted validator out of P2P.

Method: a real target service on loopback with the production handshake limits; an
attacker holds 500 idle sockets from 127.0.0.1 and one from each of 127.0.0.2 .. 127.0.0.33
(every 127/8 address is loopback on Linux); while they are held, a validator that the
target knows restarts and must be connected again while every idle socket is still held.
The first-byte and handshake timeouts are a minute here, so the idle sockets hold their
slots for the whole test: a validator that had to wait them out would miss the generous
wait, and no wall-clock figure is asserted. That idle sockets are closed by the first-byte
timeout is `tests/p2p/test_handshake.py` and `tests/p2p/test_abuse.py`.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Iterator
from contextlib import contextmanager

from p2p import P2PLimits, P2PService, PersistentPeer
from p2p.limits import MAX_PENDING_HANDSHAKES, MAX_PENDING_HANDSHAKES_PER_HOST
from tests.p2p import rawpeer
from tests.p2p.helpers import FAST_LIMITS, make_node, public_key, signing_key, wait_until

ONE_ADDRESS_SOCKETS = 500
SPREAD_ADDRESSES = [f"127.0.0.{i}" for i in range(2, 34)]  # 32 addresses
RECONNECT_WAIT_S = 20.0  # generous: the idle sockets would hold their slots for 60 s
# The production handshake tables; the timeouts outlast the test (the idle sockets stay);
# the dialer's tick and backoff are the fast ones.
LIMITS = P2PLimits(**{
    **FAST_LIMITS.__dict__, "handshake_timeout_ms": 120_000,
    "first_byte_timeout_ms": 60_000,
    "max_pending_handshakes": MAX_PENDING_HANDSHAKES,
    "max_pending_handshakes_per_host": MAX_PENDING_HANDSHAKES_PER_HOST,
})


@contextmanager
def open_files_at_least(count: int) -> Iterator[None]:
    """Raise the soft RLIMIT_NOFILE to `count` (within the hard limit) for the block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count if hard == resource.RLIM_INFINITY else min(count, hard)
    assert wanted >= count, f"the hard open-file limit {hard} is below {count}"
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def idle_socket(port: int, source: str) -> rawpeer.Streams:
    """A connection to the target from `source` that never sends a byte."""
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


def validator(target: P2PService) -> P2PService:
    svc, _ = make_node(
        1, 2, peers=[PersistentPeer(public_key(0), "127.0.0.1", target.port)], limits=LIMITS
    )
    return svc


async def test_handshake_table_full_of_idle_sockets_lets_a_restarted_validator_in() -> None:
    attacker: list[rawpeer.Streams] = []
    target, _ = make_node(0, 2, limits=LIMITS)  # dials nobody: the validator must get in
    first: P2PService | None = None
    restarted: P2PService | None = None
    # Both ends of every socket live in this process, plus the services' own.
    with open_files_at_least(2 * (ONE_ADDRESS_SOCKETS + len(SPREAD_ADDRESSES)) + 512):
        try:
            await target.start()
            first = validator(target)
            await first.start()
            await wait_until(lambda: target.is_connected(public_key(1)))
            await first.stop()
            await wait_until(lambda: not target.is_connected(public_key(1)))

            for _ in range(ONE_ADDRESS_SOCKETS):
                attacker.append(await idle_socket(target.port, "127.0.0.1"))
            for source in SPREAD_ADDRESSES:
                attacker.append(await idle_socket(target.port, source))
            # The attack holds the whole unnamed table: 532 idle connections for 32 slots.
            await wait_until(lambda: target.handshakes_in_progress()["unnamed"]
                             == MAX_PENDING_HANDSHAKES, 2)
            assert target.metrics()["rejected.too_many_handshakes"] == (
                ONE_ADDRESS_SOCKETS + len(SPREAD_ADDRESSES) - MAX_PENDING_HANDSHAKES)

            restarted = validator(target)
            await restarted.start()
            await wait_until(lambda: target.is_connected(public_key(1))
                             and restarted.is_connected(public_key(0)), RECONNECT_WAIT_S)
            # In while the attack still holds the table: no idle socket has timed out.
            assert target.metrics().get("rejected.first_byte_timeout", 0) == 0
            # It took the oldest idle slot of its address; the other 31 are still held.
            assert target.handshakes_in_progress() == {
                "unnamed": MAX_PENDING_HANDSHAKES - 1, "named": 0}
        finally:
            for _, writer in attacker:
                writer.close()
            await asyncio.gather(*(
                s.stop() for s in (target, first, restarted) if s is not None))


async def test_impostors_naming_allowed_keys_do_not_keep_the_key_owner_out() -> None:
    # Identity keys are public: HELLOs naming the validator's key (and every other allowed
    # key) then stalling must not hold the named slots against the validator itself.
    others = tuple(public_key(i) for i in range(2, 40))
    target, _ = make_node(0, 2, limits=LIMITS, extra_allowed=others)
    restarted: P2PService | None = None
    impostors: list[rawpeer.Streams] = []
    try:
        await target.start()
        names = [signing_key(1)] * 8 + [signing_key(i) for i in range(2, 40)]
        for index, name in enumerate(names):
            reader, writer = await idle_socket(target.port, SPREAD_ADDRESSES[index % 32])
            rawpeer.write_handshake(writer, rawpeer.hello(name))
            await rawpeer.read_handshake_message(reader, 1024)  # its HELLO back; no AUTH
            impostors.append((reader, writer))
        assert target.handshakes_in_progress()["named"] == target.limits.max_named_handshakes

        restarted = validator(target)
        await restarted.start()
        await wait_until(lambda: target.is_connected(public_key(1)), RECONNECT_WAIT_S)
        # In while the impostors still hold their named slots: none has timed out.
        assert target.metrics().get("rejected.handshake_timeout", 0) == 0
    finally:
        for _, writer in impostors:
            writer.close()
        await asyncio.gather(*(s.stop() for s in (target, restarted) if s is not None))
