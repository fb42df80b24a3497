"""The messages carried inside encrypted frames, and their one canonical encoding.

Each message is a msgpack array whose first element is its `MessageType`. `decode` checks
every field and raises `P2PRemotePeerError(bad_message)` on anything else; `encode(decode(b))
== b` for every accepted `b` (non-canonical input is rejected).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from base import codec
from base.codec import CodecError
from base.hashing import sha256
from base.limits import PUBLIC_KEY_BYTES
from p2p.errors import P2PRemotePeerError, Reason
from p2p.limits import MAX_FRAME_BYTES, MAX_HOST_BYTES, MAX_KIND_BYTES, MAX_PEER_REASON_CHARS

PeerAddress = tuple[bytes, str, int]
"""(identity key, host, port) as exchanged by PEX."""


class MessageType(IntEnum):
    PING = 0
    PONG = 1
    GOSSIP = 2
    DIRECT = 3
    REQUEST = 4
    RESPONSE = 5
    PEX_REQUEST = 6
    PEX_RESPONSE = 7
    GOODBYE = 8


@dataclass(frozen=True)
class Ping:
    nonce: int


@dataclass(frozen=True)
class Pong:
    nonce: int


@dataclass(frozen=True)
class Gossip:
    kind: str
    payload: bytes


@dataclass(frozen=True)
class Direct:
    kind: str
    payload: bytes


@dataclass(frozen=True)
class Request:
    request_id: int
    kind: str
    payload: bytes


@dataclass(frozen=True)
class Response:
    request_id: int
    ok: bool
    payload: bytes
    """The handler's bytes when ok, else the UTF-8 name of a `Reason`."""


@dataclass(frozen=True)
class PexRequest:
    pass


@dataclass(frozen=True)
class PexResponse:
    addresses: tuple[PeerAddress, ...]


@dataclass(frozen=True)
class Goodbye:
    reason: str


Message = Ping | Pong | Gossip | Direct | Request | Response | PexRequest | PexResponse | Goodbye


def gossip_id(kind: str, payload: bytes) -> bytes:
    """The hash that identifies a gossip message in every node's seen-cache."""
    return sha256(codec.pack([kind, payload]))


def validate_kind(kind: Any) -> str:
    """`kind` if it is a non-empty str of at most MAX_KIND_BYTES UTF-8 bytes; else ValueError."""
    if not isinstance(kind, str) or not 0 < len(kind.encode()) <= MAX_KIND_BYTES:
        raise ValueError(f"bad kind {kind!r}")
    return kind


def encode(message: Message) -> bytes:
    """The canonical bytes of `message`."""
    fields: list[Any]
    match message:
        case Ping(nonce):
            fields = [MessageType.PING, nonce]
        case Pong(nonce):
            fields = [MessageType.PONG, nonce]
        case Gossip(kind, payload):
            fields = [MessageType.GOSSIP, kind, payload]
        case Direct(kind, payload):
            fields = [MessageType.DIRECT, kind, payload]
        case Request(request_id, kind, payload):
            fields = [MessageType.REQUEST, request_id, kind, payload]
        case Response(request_id, ok, payload):
            fields = [MessageType.RESPONSE, request_id, ok, payload]
        case PexRequest():
            fields = [MessageType.PEX_REQUEST]
        case PexResponse(addresses):
            fields = [MessageType.PEX_RESPONSE, [list(a) for a in addresses]]
        case Goodbye(reason):
            fields = [MessageType.GOODBYE, reason]
    return codec.pack(fields)


def _u64(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**64:
        raise ValueError("not a u64")
    return value


def _bytes(value: Any) -> bytes:
    if not isinstance(value, bytes):
        raise ValueError("not bytes")
    return value


def _address(value: Any) -> PeerAddress:
    if not isinstance(value, list) or len(value) != 3:
        raise ValueError("address shape")
    key, host, port = value
    if not isinstance(key, bytes) or len(key) != PUBLIC_KEY_BYTES:
        raise ValueError("address key")
    if not isinstance(host, str) or not 0 < len(host.encode()) <= MAX_HOST_BYTES:
        raise ValueError("address host")
    if type(port) is not int or not 0 < port <= 65535:  # a bool is not a port
        raise ValueError("address port")
    return key, host, port


def _decode_fields(fields: list[Any], max_pex_addresses: int) -> Message:
    tag, rest = fields[0], fields[1:]
    if tag == MessageType.PING and len(rest) == 1:
        return Ping(_u64(rest[0]))
    if tag == MessageType.PONG and len(rest) == 1:
        return Pong(_u64(rest[0]))
    if tag == MessageType.GOSSIP and len(rest) == 2:
        return Gossip(validate_kind(rest[0]), _bytes(rest[1]))
    if tag == MessageType.DIRECT and len(rest) == 2:
        return Direct(validate_kind(rest[0]), _bytes(rest[1]))
    if tag == MessageType.REQUEST and len(rest) == 3:
        return Request(_u64(rest[0]), validate_kind(rest[1]), _bytes(rest[2]))
    if tag == MessageType.RESPONSE and len(rest) == 3 and isinstance(rest[1], bool):
        return Response(_u64(rest[0]), rest[1], _bytes(rest[2]))
    if tag == MessageType.PEX_REQUEST and not rest:
        return PexRequest()
    if tag == MessageType.PEX_RESPONSE and len(rest) == 1 and isinstance(rest[0], list):
        if len(rest[0]) > max_pex_addresses:
            raise ValueError("too many pex addresses")
        return PexResponse(tuple(_address(a) for a in rest[0]))
    if tag == MessageType.GOODBYE and len(rest) == 1 and isinstance(rest[0], str):
        return Goodbye(rest[0][:MAX_PEER_REASON_CHARS])
    raise ValueError(f"unknown message shape, tag {tag!r}")


def decode(raw: bytes, *, max_pex_addresses: int) -> Message:
    """The message in `raw`; raises P2PRemotePeerError(bad_message) on malformed input."""
    try:
        # The shared codec reads; the canonical check is on the decoded message below.
        fields = codec.decode(raw, max_bytes=MAX_FRAME_BYTES, check_leaves=False,
                              canonical=False)
        if not isinstance(fields, list) or not fields or isinstance(fields[0], bool):
            raise ValueError("not a tagged array")
        message = _decode_fields(fields, max_pex_addresses)
    except Exception as exc:  # the codec and the validators raise several types
        detail = exc.__cause__ if isinstance(exc, CodecError) and exc.__cause__ else exc
        raise P2PRemotePeerError(Reason.BAD_MESSAGE, str(detail)[:80]) from exc
    if encode(message) != raw:
        raise P2PRemotePeerError(Reason.BAD_MESSAGE, "non-canonical encoding")
    return message
