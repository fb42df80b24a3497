"""Goal: whatever a connecting or dialed peer writes during the handshake (any bytes, or a
valid HELLO/AUTH mutated), each side raises only p2p's P2PRemotePeerError. Method: the real
`handshake_responder`/`handshake_initiator` on a socket pair, the peer's bytes then EOF."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import settings as Settings
from hypothesis import strategies as st
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from p2p.crypto import RESPONDER_SIGN_LABEL, transcript_hash
from p2p.errors import P2PRemotePeerError, Reason
from p2p.handshake import MAGIC, HandshakeConfig, handshake_initiator, handshake_responder
from p2p.limits import MAX_HANDSHAKE_MESSAGE_BYTES, PROTOCOL_VERSION

from .mutate import TIERS, mutated_bytes, mutated_msgpack, pack

CHAIN = "fuzz-chain"
OURS = SigningKey(bytes([1]) * 32)
PEER = SigningKey(bytes([2]) * 32)
PEER_EPHEMERAL = PrivateKey(bytes([3]) * 32)
PEER_KEYS = (bytes(PEER_EPHEMERAL.public_key), bytes(PEER.verify_key))


def _frame(message: bytes) -> bytes:
    return struct.pack(">I", len(message)) + message


# What an initiator sends a responder: HELLO then AUTH (its signature cannot be right for
# an ephemeral key the responder draws fresh, so the AUTH is refused at best).
HELLO_I = pack([MAGIC, PROTOCOL_VERSION, CHAIN, *PEER_KEYS, 26656])
AUTH = pack([MAGIC, "auth", bytes(64)])
REJECT = pack([MAGIC, "reject", "banned"])


def _hello_r(our_ephemeral: bytes) -> bytes:
    """A responder's HELLO correctly signed for an initiator whose ephemeral key is given."""
    transcript = transcript_hash(
        version=PROTOCOL_VERSION, chain_id=CHAIN, ephemeral_initiator=our_ephemeral,
        ephemeral_responder=PEER_KEYS[0], identity_initiator=bytes(OURS.verify_key),
        identity_responder=PEER_KEYS[1], listen_port_initiator=0, listen_port_responder=1)
    signature = PEER.sign(RESPONDER_SIGN_LABEL + transcript).signature
    return pack([MAGIC, PROTOCOL_VERSION, CHAIN, *PEER_KEYS, 1, signature])


HELLO_R = _hello_r(bytes(32))
MESSAGES = [HELLO_I, AUTH, REJECT, HELLO_R]


def _peer_bytes() -> st.SearchStrategy[bytes]:
    """Framed mutated messages, a valid HELLO before a mutated one, or raw junk."""
    message = st.one_of(mutated_bytes(MESSAGES), mutated_msgpack(MESSAGES),
                        st.sampled_from(MESSAGES))
    return st.one_of(
        st.binary(max_size=300),
        message.map(_frame),
        st.tuples(st.sampled_from([HELLO_I, HELLO_R]), message).map(
            lambda pair: _frame(pair[0]) + _frame(pair[1])),
    )


Side = Callable[..., Coroutine[Any, Any, Any]]


def _run_against(side: Side, peer_bytes: bytes) -> None:
    """Run our `side` of the handshake while the peer writes `peer_bytes` then EOF."""

    async def main() -> None:
        ours, theirs = socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=ours)
        theirs.setblocking(False)
        theirs.sendall(peer_bytes)
        theirs.shutdown(socket.SHUT_WR)
        try:
            await asyncio.wait_for(side(reader, writer, HandshakeConfig(
                OURS, CHAIN, listen_port=0, check_identity=lambda key: None,
                max_message_bytes=MAX_HANDSHAKE_MESSAGE_BYTES)), 5)
        except P2PRemotePeerError as error:
            assert isinstance(error.reason, Reason)
        finally:
            writer.close()
            theirs.close()

    asyncio.run(main())


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("side", [handshake_responder, handshake_initiator],
                         ids=["responder", "initiator"])
def test_handshake_any_peer_bytes_raises_only_remote_peer_error(
    tier: Settings, side: Side,
) -> None:
    @tier
    @given(_peer_bytes())
    @example(_frame(pack([MAGIC, PROTOCOL_VERSION, CHAIN, bytes(32), PEER_KEYS[1], 1])))
    @example(_frame(pack([MAGIC, PROTOCOL_VERSION, CHAIN, bytes(32), PEER_KEYS[1], 1,
                          bytes(64)])))
    @example(_frame(b"\x91" * 2_000 + b"\xc0"))
    def check(peer_bytes: bytes) -> None:
        _run_against(side, peer_bytes)

    check()
