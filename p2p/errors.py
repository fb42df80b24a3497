"""Every reason the P2P layer closes a connection, rejects a peer or fails a call.

Each reason has a stable snake_case name (logged, counted in `P2PService.metrics()`, shown
by the RPC) and a one-line meaning. `P2PRemotePeerError` means the peer broke the protocol
(the connection is closed with that reason); `P2PLocalProtocolError` means our caller misused
the API (nothing is sent). `docs/P2P.md` lists the same table.
"""

from __future__ import annotations

from enum import Enum


class Reason(Enum):
    """A stable reason name with its one-line meaning."""

    def __init__(self, reason: str, meaning: str) -> None:
        self.reason = reason
        self.meaning = meaning

    # Handshake (before any application message).
    BAD_HANDSHAKE = ("bad_handshake", "a handshake message is malformed or not ours")
    HANDSHAKE_TIMEOUT = ("handshake_timeout", "the handshake did not finish in time")
    FIRST_BYTE_TIMEOUT = ("first_byte_timeout", "an inbound connection sent nothing in time")
    VERSION_MISMATCH = ("version_mismatch", "the peer speaks another protocol version")
    WRONG_CHAIN_ID = ("wrong_chain_id", "the peer is on another chain")
    UNALLOWED_KEY = ("unallowed_key", "the peer's identity key is not on the allow-list")
    UNEXPECTED_KEY = ("unexpected_key", "the dialed address answered with another key")
    BAD_SIGNATURE = ("bad_signature", "the transcript signature does not verify")
    BAD_KEY_EXCHANGE = ("bad_key_exchange", "the ephemeral key gives a degenerate secret")
    SELF_CONNECTION = ("self_connection", "the peer is this node")
    BANNED = ("banned", "the peer is on the ban list")
    TOO_MANY_PEERS = ("too_many_peers", "the inbound peer limit is reached")
    TOO_MANY_HANDSHAKES = ("too_many_handshakes",
                           "a newer inbound connection took this one's handshake slot")
    REJECTED_BY_PEER = ("rejected_by_peer", "the peer refused the handshake")
    # Frames and messages.
    OVERSIZED_FRAME = ("oversized_frame", "a length prefix is over the frame limit")
    UNDERSIZED_FRAME = ("undersized_frame", "a length prefix is below the smallest frame")
    BAD_FRAME_TAG = ("bad_frame_tag", "a frame fails authentication (tampered)")
    REPLAYED_FRAME = ("replayed_frame", "a frame's counter was already used")
    REORDERED_FRAME = ("reordered_frame", "a frame's counter skips ahead")
    BAD_MESSAGE = ("bad_message", "a decrypted message is malformed")
    RATE_LIMITED = ("rate_limited", "the peer sent faster than its rate limit")
    SEND_QUEUE_FULL = ("send_queue_full", "the peer reads too slowly; its send queue filled")
    IDLE_TIMEOUT = ("idle_timeout", "nothing arrived from the peer for too long")
    CONNECTION_LOST = ("connection_lost", "the TCP connection ended")
    SUPERSEDED = ("superseded", "a duplicate connection was retired in favour of another")
    LOCAL_SHUTDOWN = ("local_shutdown", "this node is stopping")
    REMOVED_FROM_ALLOW_LIST = ("removed_from_allow_list", "the peer's key was disallowed")
    BANNED_LOCALLY = ("banned_locally", "the peer was banned by the caller")
    MISBEHAVING = ("misbehaving", "the peer's misbehaviour points reached the ban threshold")
    # Calls.
    PEER_NOT_CONNECTED = ("peer_not_connected", "no connection to that peer")
    REQUEST_TIMEOUT = ("request_timeout", "no response arrived in time")
    REQUEST_FAILED = ("request_failed", "the peer's handler failed or the peer went away")
    UNKNOWN_KIND = ("unknown_kind", "no handler is registered for the kind")
    BAD_KIND = ("bad_kind", "a kind is empty, too long or already registered")
    PAYLOAD_TOO_LARGE = ("payload_too_large", "a payload does not fit one frame")
    TOO_MANY_REQUESTS = ("too_many_requests", "too many requests in flight to one peer")
    BUSY = ("busy", "the peer has too many of our requests in flight")
    BAD_LIMITS = ("bad_limits", "a limit override breaks a relation between limits")
    BAD_CONFIG = ("bad_config", "a constructor argument is invalid")

    @classmethod
    def by_name(cls, reason: str) -> Reason:
        """The reason named `reason`; raises KeyError for an unknown name."""
        return _BY_NAME[reason]


_BY_NAME: dict[str, Reason] = {r.reason: r for r in Reason}

# Reasons for which an authenticated peer is banned for `ban_duration_ms`: it broke the
# protocol in a way an honest implementation never does.
BANNABLE: frozenset[Reason] = frozenset(
    {
        Reason.OVERSIZED_FRAME,
        Reason.UNDERSIZED_FRAME,
        Reason.BAD_FRAME_TAG,
        Reason.REPLAYED_FRAME,
        Reason.REORDERED_FRAME,
        Reason.BAD_MESSAGE,
        Reason.RATE_LIMITED,
    }
)


class P2PError(Exception):
    """Base of every P2P error: a `Reason` plus a human message."""

    def __init__(self, reason: Reason, message: str = "") -> None:
        super().__init__(f"{reason.reason}: {message}" if message else reason.reason)
        self.reason = reason
        self.message = message


class P2PRemotePeerError(P2PError):
    """The peer broke the protocol; the connection it came on is closed with `reason`."""


class P2PLocalProtocolError(P2PError):
    """Our caller misused the API (bad argument, unknown peer); nothing was sent."""


class RequestError(P2PError):
    """A `request()` failed: timeout, peer gone, or the peer's handler failed."""
