"""Goal: what a peer sends after the handshake (encrypted frames and the message envelope
inside them) raises only p2p's P2PRemotePeerError, and a refused frame leaves the cipher's
counters as they were; accepted messages are canonical and have exact field types."""

from __future__ import annotations

import os

import pytest
from hypothesis import example, given
from hypothesis import settings as Settings
from hypothesis import strategies as st

from p2p import messages as wire
from p2p.crypto import SessionCipher, session_keys
from p2p.errors import P2PRemotePeerError
from p2p.limits import (
    FRAME_COUNTER_BYTES,
    FRAME_LENGTH_BYTES,
    MAX_FRAME_BYTES,
    MAX_PEX_ADDRESSES,
)

from .mutate import TIERS, fuzz_bytes, mutated_bytes, pack

KEY = bytes(range(32))
VALID = [wire.encode(message) for message in (
    wire.Ping(7), wire.Pong(2**64 - 1), wire.Gossip("tx", b"\x01\x02"),
    wire.Direct("consensus", b"x" * 40),
    wire.Request(3, "blocks", b"\x92\x01\x02"), wire.Response(3, True, b"ok"),
    wire.Response(4, False, b"busy"),
    wire.PexRequest(),
    wire.PexResponse(((KEY, "127.0.0.1", 26656), (KEY[::-1], "node.example", 1))),
    wire.Goodbye("superseded"),
)]
HEADER_BYTES = FRAME_LENGTH_BYTES + FRAME_COUNTER_BYTES


def _exact_types(message: object) -> bool:
    """True when every field has its declared type exactly (a bool is not an int)."""
    match message:
        case wire.Ping(nonce) | wire.Pong(nonce):
            return type(nonce) is int
        case wire.Gossip(kind, payload) | wire.Direct(kind, payload):
            return type(kind) is str and type(payload) is bytes
        case wire.Request(request_id, kind, payload):
            return type(request_id) is int and type(kind) is str and type(payload) is bytes
        case wire.Response(request_id, ok, payload):
            return type(request_id) is int and type(ok) is bool and type(payload) is bytes
        case wire.PexResponse(addresses):
            return all(type(key) is bytes and type(host) is str and type(port) is int
                       for key, host, port in addresses)
        case wire.Goodbye(reason):
            return type(reason) is str
    return isinstance(message, wire.PexRequest)


@pytest.mark.parametrize("tier", TIERS)
def test_message_decode_any_bytes_gives_typed_message_or_remote_peer_error(
    tier: Settings,
) -> None:
    @tier
    @given(fuzz_bytes(VALID, max_size=1024))
    @example(pack([7, [[KEY, "h", True]]]))  # a boolean port
    @example(b"\x91" * 2_000 + b"\xc0")
    def check(data: bytes) -> None:
        try:
            message = wire.decode(data, max_pex_addresses=MAX_PEX_ADDRESSES)
        except P2PRemotePeerError:
            return
        assert wire.encode(message) == data, "an accepted message is canonical"
        assert _exact_types(message), f"a field of {message!r} has another type"

    check()


@pytest.mark.parametrize("tier", TIERS)
def test_open_frame_any_tampering_raises_remote_peer_error_counters_unchanged(
    tier: Settings,
) -> None:
    send_key, recv_key = session_keys(os.urandom(32), os.urandom(32))

    @tier
    @given(st.integers(min_value=0, max_value=3),
           st.one_of(mutated_bytes(VALID), st.binary(max_size=256)), st.data())
    def check(sent_before: int, plaintext: bytes, data: st.DataObject) -> None:
        sender, receiver = SessionCipher(send_key, recv_key), SessionCipher(recv_key, send_key)
        for _ in range(sent_before):
            receiver.open_frame(*_split(sender.seal(b"ping")))
        frame = sender.seal(plaintext)
        tampered = data.draw(mutated_bytes([frame]).filter(lambda f: f != frame))
        header, body = tampered[:HEADER_BYTES], tampered[HEADER_BYTES:]
        if len(header) < HEADER_BYTES:
            return  # the connection reads exactly 12 bytes: a short one is end of stream
        length = int.from_bytes(header[:FRAME_LENGTH_BYTES], "big")
        if length > MAX_FRAME_BYTES:
            return  # refused from the prefix alone (oversized_frame), nothing read or opened
        # The connection reads exactly the announced length (or waits for it).
        body = body[:length - FRAME_COUNTER_BYTES].ljust(length - FRAME_COUNTER_BYTES, b"\0") \
            if length >= FRAME_COUNTER_BYTES else body
        counter = receiver.recv_counter
        try:
            opened = receiver.open_frame(header, body)
        except P2PRemotePeerError:
            assert receiver.recv_counter == counter, "a refused frame moved the counter"
            return
        assert opened == plaintext, "only the sealed plaintext opens"

    check()


def _split(frame: bytes) -> tuple[bytes, bytes]:
    return frame[:HEADER_BYTES], frame[HEADER_BYTES:]
