"""The handshake admits only allowed keys on our chain and version, and says why it refuses.

Method: real services on loopback plus hand-driven handshakes from `rawpeer.py`; each
refusal is checked on both sides (the REJECT reason the client reads, and the node's
`rejected.<reason>` counter).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from nacl.bindings import crypto_scalarmult
from nacl.public import PrivateKey

from p2p import P2PService, PersistentPeer
from p2p.crypto import INITIATOR_SIGN_LABEL, transcript_hash
from p2p.handshake import MAGIC
from p2p.limits import PROTOCOL_VERSION
from tests.p2p import rawpeer
from tests.p2p.helpers import CHAIN_ID, make_node, public_key, signing_key, started, wait_until


@pytest.fixture
async def node() -> AsyncIterator[P2PService]:
    svc, _ = make_node(0, 3)
    await svc.start()
    yield svc
    await svc.stop()


async def refused(svc: P2PService, message: list[object]) -> str:
    reader, writer = await rawpeer.connect(svc.port)
    rawpeer.write_handshake(writer, message)
    reason = await rawpeer.read_reject(reader)
    writer.close()
    return reason


async def test_handshake_with_wrong_chain_id_is_rejected(node: P2PService) -> None:
    message = rawpeer.hello(signing_key(1), chain_id="other-chain")
    assert await refused(node, message) == "wrong_chain_id"
    await wait_until(lambda: node.metrics().get("rejected.wrong_chain_id") == 1)


async def test_handshake_with_other_version_is_rejected(node: P2PService) -> None:
    message = rawpeer.hello(signing_key(1), version=PROTOCOL_VERSION + 1)
    assert await refused(node, message) == "version_mismatch"


async def test_handshake_with_unallowed_key_is_rejected(node: P2PService) -> None:
    assert await refused(node, rawpeer.hello(signing_key(42))) == "unallowed_key"


async def test_handshake_claiming_own_key_is_rejected_as_self(node: P2PService) -> None:
    assert await refused(node, rawpeer.hello(signing_key(0))) == "self_connection"


async def test_handshake_with_bad_signature_is_rejected(node: P2PService) -> None:
    claimed = signing_key(1)
    ephemeral = PrivateKey.generate()
    reader, writer = await rawpeer.connect(node.port)
    own_eph = bytes(ephemeral.public_key)
    rawpeer.write_handshake(writer, [MAGIC, PROTOCOL_VERSION, CHAIN_ID, own_eph,
                                     bytes(claimed.verify_key), 0])
    reply = await rawpeer.read_handshake_message(reader, 1024)
    transcript = transcript_hash(
        version=PROTOCOL_VERSION, chain_id=CHAIN_ID, ephemeral_initiator=own_eph,
        ephemeral_responder=reply[3], identity_initiator=bytes(claimed.verify_key),
        identity_responder=reply[4], listen_port_initiator=0, listen_port_responder=reply[5],
    )
    assert crypto_scalarmult(bytes(ephemeral), reply[3])
    forged = signing_key(2).sign(INITIATOR_SIGN_LABEL + transcript).signature
    rawpeer.write_handshake(writer, [MAGIC, "auth", forged])
    assert await rawpeer.read_reject(reader) == "bad_signature"
    writer.close()
    assert not node.is_connected(public_key(1))


async def test_handshake_silent_client_is_closed_after_the_first_byte_timeout() -> None:
    async with started(make_node(0, 2)) as [(svc, _)]:
        reader, writer = await rawpeer.connect(svc.port)
        assert await rawpeer.closed_by_peer(reader, timeout_s=30)
        writer.close()
        # Closed by the first-byte timer, not the whole handshake's: the reason says which.
        assert svc.metrics()["rejected.first_byte_timeout"] == 1
        assert svc.metrics().get("rejected.handshake_timeout", 0) == 0


async def test_handshake_stalled_after_hello_times_out() -> None:
    async with started(make_node(0, 2)) as [(svc, _)]:
        reader, writer = await rawpeer.connect(svc.port)
        rawpeer.write_handshake(writer, rawpeer.hello(signing_key(1)))
        await rawpeer.read_handshake_message(reader, 1024)  # the responder's HELLO; no AUTH
        assert await rawpeer.closed_by_peer(reader, timeout_s=3)
        writer.close()
        assert svc.metrics()["rejected.handshake_timeout"] == 1


async def test_dialing_own_address_is_detected_and_not_retried() -> None:
    async with started(make_node(0, 2)) as [(svc, _)]:
        svc.add_persistent_peer(PersistentPeer(None, "127.0.0.1", svc.port))
        await wait_until(lambda: svc.metrics().get("rejected.self_connection", 0) >= 1)
        await asyncio.sleep(0.3)
        # Outbound side and inbound side each count it once; no redial afterwards.
        assert svc.metrics()["rejected.self_connection"] <= 2


async def test_dialing_address_with_other_key_is_rejected_as_unexpected() -> None:
    async with started(make_node(0, 3), make_node(1, 3)) as [(a, _), (b, _)]:
        a.add_persistent_peer(PersistentPeer(public_key(2), "127.0.0.1", b.port))
        await wait_until(lambda: a.metrics().get("rejected.unexpected_key", 0) >= 1)
        assert not a.is_connected(public_key(1))


async def test_simultaneous_dials_leave_one_connection_per_pair() -> None:
    async with started(make_node(0, 2), make_node(1, 2)) as [(a, ia), (b, ib)]:
        a.add_persistent_peer(PersistentPeer(public_key(1), "127.0.0.1", b.port))
        b.add_persistent_peer(PersistentPeer(public_key(0), "127.0.0.1", a.port))
        await wait_until(lambda: a.is_connected(public_key(1)) and b.is_connected(public_key(0)))
        await asyncio.sleep(0.3)
        assert len(a.peers()) == 1
        assert len(b.peers()) == 1
        # Both ends kept the same TCP connection: one is outbound, the other inbound.
        assert {a.peers()[0].direction, b.peers()[0].direction} == {"inbound", "outbound"}
        for i in range(20):
            a.broadcast("msg", f"a{i}".encode())
            b.broadcast("msg", f"b{i}".encode())
        await wait_until(lambda: sum(ib.counts.values()) == 20 and sum(ia.counts.values()) == 20)
        assert set(ib.counts.values()) == {1}
