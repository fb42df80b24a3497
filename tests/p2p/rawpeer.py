"""A hand-driven peer for abuse tests: raw sockets, a real handshake, hand-made frames."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

import msgpack  # type: ignore[import-untyped]
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from p2p.handshake import (
    MAGIC,
    HandshakeConfig,
    HandshakeResult,
    handshake_initiator,
    read_handshake_message,
)
from p2p.limits import PROTOCOL_VERSION
from tests.p2p.helpers import CHAIN_ID

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def connect(port: int, recv_buffer: int | None = None) -> Streams:
    """A TCP connection to the node; `recv_buffer` sets SO_RCVBUF before connecting (a
    peer that never reads then takes little off the node's socket)."""
    if recv_buffer is None:
        return await asyncio.open_connection("127.0.0.1", port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await asyncio.open_connection(sock=sock)


def write_handshake(writer: asyncio.StreamWriter, message: list[Any]) -> None:
    raw = msgpack.packb(message, use_bin_type=True)
    writer.write(struct.pack(">I", len(raw)) + raw)


def hello(identity: SigningKey, *, version: int = PROTOCOL_VERSION,
          chain_id: str = CHAIN_ID) -> list[Any]:
    eph = bytes(PrivateKey.generate().public_key)
    return [MAGIC, version, chain_id, eph, bytes(identity.verify_key), 0]


async def handshake(port: int, identity: SigningKey,
                    recv_buffer: int | None = None) -> tuple[Streams, HandshakeResult]:
    """Connect and complete a real handshake as `identity` (accepting any responder)."""
    reader, writer = await connect(port, recv_buffer)
    result = await handshake_initiator(reader, writer, HandshakeConfig(
        identity, CHAIN_ID, listen_port=0, check_identity=lambda key: None,
        max_message_bytes=1024))
    return (reader, writer), result


async def read_reject(reader: asyncio.StreamReader) -> str:
    """The reason of the REJECT the node sent (or 'eof' if it just closed)."""
    try:
        await read_handshake_message(reader, 1024)
    except Exception as exc:  # P2PRemotePeerError(rejected_by_peer) carries the reason
        return getattr(exc, "message", "") or "eof"
    return "no-reject"


async def closed_by_peer(reader: asyncio.StreamReader, timeout_s: float = 5.0) -> bool:
    """True once the node has closed the socket (EOF or reset) within `timeout_s`."""
    async def drain() -> None:
        while await reader.read(65536):
            pass

    try:
        await asyncio.wait_for(drain(), timeout_s)
    except (ConnectionError, OSError):
        return True
    except TimeoutError:
        return False
    return True
