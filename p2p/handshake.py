"""The authenticated key exchange that starts every connection.

Three plaintext messages, each `length:u32be | msgpack array`:

1. initiator -> responder  HELLO  [magic, version, chain_id, eph_i, id_i, port_i]
2. responder -> initiator  HELLO  [magic, version, chain_id, eph_r, id_r, port_r, sig_r]
3. initiator -> responder  AUTH   [magic, "auth", sig_i]

Either side may instead send REJECT [magic, "reject", reason] and close. `eph_*` are fresh
X25519 public keys, `id_*` Ed25519 identity keys, `port_*` the advertised listen ports (0:
not listening). Both sign the SHA-256 transcript of all of these (`crypto.transcript_hash`)
under role-specific labels; session keys come from HKDF over the X25519 secret salted with
the transcript. The caller applies the handshake timeout and closes the stream on error.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
from nacl.bindings import crypto_scalarmult
from nacl.exceptions import BadSignatureError
from nacl.public import PrivateKey
from nacl.signing import SigningKey, VerifyKey

from base import codec
from base.codec import CodecError
from base.limits import MAX_PORT, SIGNATURE_BYTES
from p2p.crypto import (
    INITIATOR_SIGN_LABEL,
    KEY_BYTES,
    RESPONDER_SIGN_LABEL,
    SessionCipher,
    session_keys,
    transcript_hash,
)
from p2p.errors import P2PRemotePeerError, Reason
from p2p.limits import MAX_NETWORK_ID_BYTES, MAX_PEER_REASON_CHARS, PROTOCOL_VERSION

MAGIC = "agora-p2p"
_LENGTH = struct.Struct(">I")

IdentityCheck = Callable[[bytes], Reason | None]
"""Called with the peer's claimed identity key; returns a rejection reason or None."""
_Hello = tuple[bytes, bytes, int]
"""(ephemeral key, identity key, listen port) of one side's HELLO."""


@dataclass(frozen=True)
class HandshakeConfig:
    """What this side brings to every handshake it runs, as initiator or responder."""

    identity: SigningKey
    """This node's Ed25519 identity key."""
    chain_id: str
    """The chain both sides must name."""
    listen_port: int
    """The port advertised in this side's HELLO (0: not listening)."""
    check_identity: IdentityCheck
    """Called with the peer's claimed identity key; a reason refuses it."""
    max_message_bytes: int
    """The largest handshake message read from the peer."""


@dataclass(frozen=True)
class HandshakeResult:
    """What a finished handshake established."""

    peer_key: bytes
    """The peer's authenticated Ed25519 identity key (32 bytes)."""
    peer_listen_port: int
    """The port the peer says it listens on (0: none)."""
    cipher: SessionCipher
    outbound: bool
    """True when this side initiated the connection."""
    tiebreak: tuple[bytes, bytes]
    """(initiator identity, initiator ephemeral): the lower one wins a duplicate contest."""


async def read_handshake_message(
    reader: asyncio.StreamReader, max_message_bytes: int,
    first_byte_timeout_s: float | None = None,
) -> list[Any]:
    """One handshake message; raises P2PRemotePeerError(bad_handshake / rejected_by_peer, and
    first_byte_timeout when `first_byte_timeout_s` is given and nothing arrives in it)."""
    try:
        if first_byte_timeout_s is None:
            prefix = await reader.readexactly(_LENGTH.size)
        else:
            try:
                first = await asyncio.wait_for(reader.readexactly(1), first_byte_timeout_s)
            except TimeoutError as exc:
                raise P2PRemotePeerError(Reason.FIRST_BYTE_TIMEOUT,
                                      f"nothing in {first_byte_timeout_s}s") from exc
            prefix = first + await reader.readexactly(_LENGTH.size - 1)
        (length,) = _LENGTH.unpack(prefix)
        if not 0 < length <= max_message_bytes:
            raise P2PRemotePeerError(Reason.BAD_HANDSHAKE, f"message length {length}")
        raw = await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise P2PRemotePeerError(Reason.CONNECTION_LOST, "eof during handshake") from exc
    try:
        # Read with the shared codec; handshake messages are checked field by field, not
        # for their canonical form (nothing of them is hashed as received).
        message = codec.decode(raw, max_bytes=max_message_bytes, check_leaves=False,
                               canonical=False)
    except CodecError as exc:
        raise P2PRemotePeerError(Reason.BAD_HANDSHAKE, "not msgpack") from exc
    if not isinstance(message, list) or len(message) < 3 or message[0] != MAGIC:
        raise P2PRemotePeerError(Reason.BAD_HANDSHAKE, "not an agora handshake")
    if message[1] == "reject":
        reason = str(message[2])[:MAX_PEER_REASON_CHARS]
        raise P2PRemotePeerError(Reason.REJECTED_BY_PEER, reason)
    return message


def _write(writer: asyncio.StreamWriter, message: list[Any]) -> None:
    raw = codec.pack(message)
    writer.write(_LENGTH.pack(len(raw)) + raw)


async def _reject(writer: asyncio.StreamWriter, error: P2PRemotePeerError) -> None:
    """Tell the peer why (best effort) before the caller closes."""
    if error.reason in (Reason.CONNECTION_LOST, Reason.REJECTED_BY_PEER):
        return
    try:
        _write(writer, [MAGIC, "reject", error.reason.reason])
        await asyncio.wait_for(writer.drain(), 1.0)
    except (TimeoutError, OSError):
        pass


def _validate_hello(message: list[Any], *, chain_id: str, with_signature: bool) -> _Hello:
    """(ephemeral key, identity key, listen port) of a HELLO, checked field by field."""
    if message[1] != PROTOCOL_VERSION:
        raise P2PRemotePeerError(Reason.VERSION_MISMATCH, f"peer version {message[1]!r}")
    if len(message) != (7 if with_signature else 6):
        raise P2PRemotePeerError(Reason.BAD_HANDSHAKE, "hello has the wrong field count")
    peer_chain = message[2]
    if not isinstance(peer_chain, str) or len(peer_chain.encode()) > MAX_NETWORK_ID_BYTES:
        raise P2PRemotePeerError(Reason.BAD_HANDSHAKE, "chain id field")
    if peer_chain != chain_id:
        raise P2PRemotePeerError(Reason.WRONG_CHAIN_ID, f"peer chain {peer_chain!r}")
    ephemeral, identity, port = message[3], message[4], message[5]
    for name, key in (("ephemeral", ephemeral), ("identity", identity)):
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise P2PRemotePeerError(Reason.BAD_HANDSHAKE, f"{name} key field")
    if not isinstance(port, int) or not 0 <= port <= MAX_PORT:
        raise P2PRemotePeerError(Reason.BAD_HANDSHAKE, "listen port field")
    return ephemeral, identity, port


def _shared_secret(private: PrivateKey, peer_ephemeral: bytes) -> bytes:
    # libsodium refuses a low-order point (an all-zero secret) itself, and PyNaCl raises
    # its RuntimeError for that: the peer's fault, so our typed error.
    try:
        shared = crypto_scalarmult(bytes(private), peer_ephemeral)
    except nacl.exceptions.RuntimeError as exc:
        raise P2PRemotePeerError(Reason.BAD_KEY_EXCHANGE, "low-order ephemeral key") from exc
    if shared == bytes(KEY_BYTES):
        raise P2PRemotePeerError(Reason.BAD_KEY_EXCHANGE, "low-order ephemeral key")
    return bytes(shared)


def _agree(config: HandshakeConfig, ephemeral: PrivateKey, peer: _Hello, *,
           outbound: bool) -> tuple[bytes, bytes]:
    """(shared secret, transcript hash) once the peer's HELLO named a key we accept;
    raises P2PRemotePeerError with the reason `check_identity` gives, or bad_key_exchange."""
    peer_eph, peer_key, _ = peer
    rejection = config.check_identity(peer_key)
    if rejection is not None:
        raise P2PRemotePeerError(rejection, peer_key.hex()[:16])
    shared = _shared_secret(ephemeral, peer_eph)
    own = (bytes(ephemeral.public_key), bytes(config.identity.verify_key), config.listen_port)
    initiator, responder = (own, peer) if outbound else (peer, own)
    transcript = transcript_hash(
        version=PROTOCOL_VERSION, chain_id=config.chain_id,
        ephemeral_initiator=initiator[0], ephemeral_responder=responder[0],
        identity_initiator=initiator[1], identity_responder=responder[1],
        listen_port_initiator=initiator[2], listen_port_responder=responder[2],
    )
    return shared, transcript


def _verify(identity: bytes, label: bytes, transcript: bytes, signature: Any) -> None:
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES:
        raise P2PRemotePeerError(Reason.BAD_HANDSHAKE, "signature field")
    try:
        VerifyKey(identity).verify(label + transcript, signature)
    except (BadSignatureError, ValueError) as exc:
        raise P2PRemotePeerError(Reason.BAD_SIGNATURE, "transcript signature") from exc


async def handshake_initiator(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, config: HandshakeConfig,
) -> HandshakeResult:
    """Run the initiator side; raises P2PRemotePeerError with the rejection reason."""
    ephemeral = PrivateKey.generate()
    own_key, own_eph = bytes(config.identity.verify_key), bytes(ephemeral.public_key)
    _write(writer, [MAGIC, PROTOCOL_VERSION, config.chain_id, own_eph, own_key,
                    config.listen_port])
    try:
        await writer.drain()
        message = await read_handshake_message(reader, config.max_message_bytes)
        peer = _validate_hello(message, chain_id=config.chain_id, with_signature=True)
        _, peer_key, peer_port = peer
        shared, transcript = _agree(config, ephemeral, peer, outbound=True)
        _verify(peer_key, RESPONDER_SIGN_LABEL, transcript, message[6])
    except P2PRemotePeerError as error:
        await _reject(writer, error)
        raise
    signature = config.identity.sign(INITIATOR_SIGN_LABEL + transcript).signature
    _write(writer, [MAGIC, "auth", signature])
    await writer.drain()
    send_key, recv_key = session_keys(shared, transcript)
    return HandshakeResult(
        peer_key=peer_key, peer_listen_port=peer_port,
        cipher=SessionCipher(send_key, recv_key), outbound=True, tiebreak=(own_key, own_eph),
    )


async def handshake_responder(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, config: HandshakeConfig, *,
    first_byte_timeout_s: float | None = None,
) -> HandshakeResult:
    """Run the responder side; raises P2PRemotePeerError with the rejection reason.

    `config.check_identity` runs as soon as the HELLO has named a key (the caller may give
    the connection a slot reserved for that key there); `first_byte_timeout_s` bounds the
    wait for the HELLO's first byte."""
    ephemeral = PrivateKey.generate()
    own_key, own_eph = bytes(config.identity.verify_key), bytes(ephemeral.public_key)
    try:
        hello = await read_handshake_message(reader, config.max_message_bytes,
                                             first_byte_timeout_s)
        peer = _validate_hello(hello, chain_id=config.chain_id, with_signature=False)
        peer_eph, peer_key, peer_port = peer
        shared, transcript = _agree(config, ephemeral, peer, outbound=False)
        signature = config.identity.sign(RESPONDER_SIGN_LABEL + transcript).signature
        _write(writer, [MAGIC, PROTOCOL_VERSION, config.chain_id, own_eph, own_key,
                        config.listen_port, signature])
        await writer.drain()
        auth = await read_handshake_message(reader, config.max_message_bytes)
        if len(auth) != 3 or auth[1] != "auth":
            raise P2PRemotePeerError(Reason.BAD_HANDSHAKE, "expected auth")
        _verify(peer_key, INITIATOR_SIGN_LABEL, transcript, auth[2])
    except P2PRemotePeerError as error:
        await _reject(writer, error)
        raise
    recv_key, send_key = session_keys(shared, transcript)
    return HandshakeResult(
        peer_key=peer_key, peer_listen_port=peer_port,
        cipher=SessionCipher(send_key, recv_key), outbound=False, tiebreak=(peer_key, peer_eph),
    )
