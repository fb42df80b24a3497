"""Every limit and default of the P2P layer, in one place.

Constants follow `MAX_<THING>_<UNIT>` (or `<THING>_<UNIT>` for durations and rates). A
`P2PLimits` instance carries them per service so tests can shrink them; its defaults are
these constants. The relations between them are asserted at import time and re-checked
by `P2PLimits.__post_init__` for overridden values.
"""

from __future__ import annotations

from dataclasses import dataclass

PROTOCOL_VERSION = 1
"""Wire protocol version; a peer with another version is rejected with `version_mismatch`."""

# Framing. A frame is `length:u32be | counter:u64be | ciphertext` where ciphertext is the
# AEAD output (plaintext + 16-byte tag); `length` counts counter + ciphertext.
FRAME_LENGTH_BYTES = 4
FRAME_COUNTER_BYTES = 8
MAX_FRAME_COUNTER = 2**64 - 1
"""The last counter a direction may use (64 bits); the connection would have to close."""
AEAD_TAG_BYTES = 16
KEY_BYTES = 32
"""X25519 keys and secrets, and the ChaCha20-Poly1305 key of each direction."""
MAX_HKDF_OUTPUT_BYTES = 255 * 32
"""RFC 5869: HKDF-SHA256 gives at most 255 blocks of 32 bytes."""
MAX_FRAME_BYTES = 4 * 1024 * 1024
"""Largest value of a frame's length prefix; one byte more closes with `oversized_frame`."""
MIN_FRAME_BYTES = FRAME_COUNTER_BYTES + AEAD_TAG_BYTES
ENVELOPE_OVERHEAD_BYTES = 256
"""Room reserved in a frame for the msgpack envelope around an application payload."""
MAX_PAYLOAD_BYTES = MAX_FRAME_BYTES - MIN_FRAME_BYTES - ENVELOPE_OVERHEAD_BYTES
MAX_KIND_BYTES = 32
"""Longest message kind (UTF-8 bytes)."""
MAX_HOST_BYTES = 255
"""Longest host name in a PEX address (UTF-8 bytes), as DNS allows."""
MAX_PEER_REASON_CHARS = 64
"""Characters kept of the reason a peer gives: a GOODBYE, a REJECT, a failed response."""

# Handshake.
MAX_HANDSHAKE_MESSAGE_BYTES = 1024
MAX_NETWORK_ID_BYTES = 128
"""Longest network id (the service's `chain_id`; the node gives `<chain id>/<32 hex>`)."""
HANDSHAKE_TIMEOUT_MS = 5_000
"""The whole handshake, from accept (or connect) to the last message."""
FIRST_BYTE_TIMEOUT_MS = 1_000
"""An inbound connection that sends no byte in this time is closed (`first_byte_timeout`);
an honest initiator writes its HELLO as soon as it has connected."""
CONNECT_TIMEOUT_MS = 3_000
MAX_PENDING_HANDSHAKES = 32
"""Inbound connections whose HELLO has not yet named an allowed key. When full, a new
connection closes the oldest of them (`too_many_handshakes`) instead of being refused."""
MAX_PENDING_HANDSHAKES_PER_HOST = 4
"""Of those, from one source address; one more closes that address's oldest."""
MAX_NAMED_HANDSHAKES = 32
"""Inbound handshakes whose HELLO named an allowed, unbanned key, awaiting its AUTH: a
table of their own that unnamed connections cannot take. When full, the oldest closes."""
MAX_NAMED_HANDSHAKES_PER_KEY = 2
"""Of those, naming one key; one more closes the oldest for that key (the newest wins, so
an impostor holding a key's slots cannot keep the key's owner out)."""

# Peers.
MAX_INBOUND_PEERS = 40
MAX_OUTBOUND_PEERS = 16
"""Outbound connections to addresses learned by PEX; persistent peers are dialed anyway."""
MAX_PERSISTENT_PEERS = 64
MAX_ALLOWED_KEYS = 4096
MAX_ADDRESS_BOOK_ENTRIES = 512
MAX_PEX_ADDRESSES = 64
PEX_INTERVAL_MS = 30_000

# Queues and rates, per peer.
MAX_SEND_QUEUE_FRAMES = 1024
"""Frames waiting to be written to one peer; when full the peer is dropped (`send_queue_full`)."""
MAX_SEND_QUEUE_BYTES = 32 * 1024 * 1024
"""Bytes of frames waiting to be written to one peer (the one being written included); one
more frame that does not fit drops the peer (`send_queue_full`). Without it a peer that
never reads could make us hold `MAX_SEND_QUEUE_FRAMES` frames of up to 4 MiB each."""
MAX_INBOUND_QUEUE_MESSAGES = 256
"""Received messages waiting for their handler; when full the reader waits (TCP backpressure)."""
HANDLER_TIMEOUT_MS = 10_000
"""A gossip or direct handler running longer is cancelled and counted (`handler_timeout`)."""
MAX_PENDING_REQUESTS_PER_PEER = 64
MAX_INBOUND_REQUESTS_PER_PEER = 4
"""Requests of one peer served at once: from the handler's start until its response is
written to the socket; more are answered `busy`. The node's block sync asks for 2 at most."""
REQUEST_TIMEOUT_MS = 10_000
RATE_MESSAGES_PER_S = 5_000
RATE_BURST_MESSAGES = 10_000
RATE_BYTES_PER_S = 32 * 1024 * 1024
RATE_BURST_BYTES = 64 * 1024 * 1024

# Liveness.
PING_INTERVAL_MS = 10_000
IDLE_TIMEOUT_MS = 30_000
"""A connection on which nothing arrived for this long is closed (`idle_timeout`)."""
RETIRE_TIMEOUT_MS = 5_000
"""A superseded duplicate connection is closed after this long even without a GOODBYE."""

# Reconnection.
RECONNECT_BACKOFF_INITIAL_MS = 500
RECONNECT_BACKOFF_MAX_MS = 30_000
RECONNECT_JITTER_PERCENT = 50
DIAL_TICK_MS = 200

# Gossip and bans.
MAX_SEEN_MESSAGES = 65_536
"""Message hashes remembered for duplicate suppression (oldest evicted first)."""
BAN_DURATION_MS = 60_000
MAX_BANNED_PEERS = 4_096
MISBEHAVIOUR_BAN_POINTS = 100
"""A peer whose misbehaviour points reach this is banned for `BAN_DURATION_MS` and
disconnected (`misbehaving`); see `P2PService.penalize`."""
INVALID_GOSSIP_POINTS = 25
"""What a handler charges a peer for a gossip message that failed its checks (junk,
undecodable or unverifiable items): an honest node relays only what passed them."""
MISBEHAVIOUR_DECAY_POINTS_PER_MIN = 10
"""Points forgotten per minute, so a rare fault (a version skew) never adds up to a ban."""

assert MIN_FRAME_BYTES < MAX_FRAME_BYTES
assert MAX_FRAME_COUNTER == 2 ** (8 * FRAME_COUNTER_BYTES) - 1
assert 2 * KEY_BYTES <= MAX_HKDF_OUTPUT_BYTES
assert MAX_PAYLOAD_BYTES + ENVELOPE_OVERHEAD_BYTES + MIN_FRAME_BYTES <= MAX_FRAME_BYTES
assert MAX_KIND_BYTES < ENVELOPE_OVERHEAD_BYTES // 2
assert MAX_NETWORK_ID_BYTES < MAX_HANDSHAKE_MESSAGE_BYTES // 2
assert MAX_FRAME_BYTES < 2**32
assert MAX_PEX_ADDRESSES * 64 + ENVELOPE_OVERHEAD_BYTES < MAX_FRAME_BYTES
assert PING_INTERVAL_MS < IDLE_TIMEOUT_MS
assert RECONNECT_BACKOFF_INITIAL_MS <= RECONNECT_BACKOFF_MAX_MS
assert 0 <= RECONNECT_JITTER_PERCENT < 100
assert RATE_MESSAGES_PER_S <= RATE_BURST_MESSAGES
assert MAX_FRAME_BYTES <= RATE_BURST_BYTES
assert MAX_INBOUND_REQUESTS_PER_PEER <= MAX_INBOUND_QUEUE_MESSAGES
assert 0 < FIRST_BYTE_TIMEOUT_MS < HANDSHAKE_TIMEOUT_MS
assert 0 < MAX_PENDING_HANDSHAKES_PER_HOST < MAX_PENDING_HANDSHAKES
assert 0 < MAX_NAMED_HANDSHAKES_PER_KEY <= MAX_NAMED_HANDSHAKES
assert 0 < INVALID_GOSSIP_POINTS < MISBEHAVIOUR_BAN_POINTS
assert 0 < MISBEHAVIOUR_DECAY_POINTS_PER_MIN < INVALID_GOSSIP_POINTS
# The responses being served never fill the byte budget alone: a peer that asks and reads
# slowly is answered `busy`, not dropped, and other messages still have room.
assert MAX_INBOUND_REQUESTS_PER_PEER * MAX_FRAME_BYTES <= MAX_SEND_QUEUE_BYTES // 2


@dataclass(frozen=True)
class P2PLimits:
    """The limits one `P2PService` runs with; every field defaults to its constant above.

    Construct with keyword overrides (`P2PLimits(max_frame_bytes=4096)`); raises
    `P2PLocalProtocolError("bad_limits")` when the relations above do not hold.
    """

    max_frame_bytes: int = MAX_FRAME_BYTES
    max_handshake_message_bytes: int = MAX_HANDSHAKE_MESSAGE_BYTES
    handshake_timeout_ms: int = HANDSHAKE_TIMEOUT_MS
    first_byte_timeout_ms: int = FIRST_BYTE_TIMEOUT_MS
    connect_timeout_ms: int = CONNECT_TIMEOUT_MS
    max_pending_handshakes: int = MAX_PENDING_HANDSHAKES
    max_pending_handshakes_per_host: int = MAX_PENDING_HANDSHAKES_PER_HOST
    max_named_handshakes: int = MAX_NAMED_HANDSHAKES
    max_named_handshakes_per_key: int = MAX_NAMED_HANDSHAKES_PER_KEY
    max_inbound_peers: int = MAX_INBOUND_PEERS
    max_outbound_peers: int = MAX_OUTBOUND_PEERS
    max_persistent_peers: int = MAX_PERSISTENT_PEERS
    max_allowed_keys: int = MAX_ALLOWED_KEYS
    max_address_book_entries: int = MAX_ADDRESS_BOOK_ENTRIES
    max_pex_addresses: int = MAX_PEX_ADDRESSES
    pex_interval_ms: int = PEX_INTERVAL_MS
    max_send_queue_frames: int = MAX_SEND_QUEUE_FRAMES
    max_send_queue_bytes: int = MAX_SEND_QUEUE_BYTES
    max_inbound_queue_messages: int = MAX_INBOUND_QUEUE_MESSAGES
    handler_timeout_ms: int = HANDLER_TIMEOUT_MS
    max_pending_requests_per_peer: int = MAX_PENDING_REQUESTS_PER_PEER
    max_inbound_requests_per_peer: int = MAX_INBOUND_REQUESTS_PER_PEER
    request_timeout_ms: int = REQUEST_TIMEOUT_MS
    rate_messages_per_s: int = RATE_MESSAGES_PER_S
    rate_burst_messages: int = RATE_BURST_MESSAGES
    rate_bytes_per_s: int = RATE_BYTES_PER_S
    rate_burst_bytes: int = RATE_BURST_BYTES
    ping_interval_ms: int = PING_INTERVAL_MS
    idle_timeout_ms: int = IDLE_TIMEOUT_MS
    retire_timeout_ms: int = RETIRE_TIMEOUT_MS
    reconnect_backoff_initial_ms: int = RECONNECT_BACKOFF_INITIAL_MS
    reconnect_backoff_max_ms: int = RECONNECT_BACKOFF_MAX_MS
    reconnect_jitter_percent: int = RECONNECT_JITTER_PERCENT
    dial_tick_ms: int = DIAL_TICK_MS
    max_seen_messages: int = MAX_SEEN_MESSAGES
    ban_duration_ms: int = BAN_DURATION_MS
    max_banned_peers: int = MAX_BANNED_PEERS
    misbehaviour_ban_points: int = MISBEHAVIOUR_BAN_POINTS
    misbehaviour_decay_points_per_min: int = MISBEHAVIOUR_DECAY_POINTS_PER_MIN

    def __post_init__(self) -> None:
        from p2p.errors import P2PLocalProtocolError, Reason

        checks = {
            "max_frame_bytes": MIN_FRAME_BYTES + ENVELOPE_OVERHEAD_BYTES < self.max_frame_bytes
            <= MAX_FRAME_BYTES,
            "ping_interval_ms": 0 < self.ping_interval_ms < self.idle_timeout_ms,
            "reconnect_backoff": 0 < self.reconnect_backoff_initial_ms
            <= self.reconnect_backoff_max_ms,
            "reconnect_jitter_percent": 0 <= self.reconnect_jitter_percent < 100,
            "rate_messages": 0 < self.rate_messages_per_s <= self.rate_burst_messages,
            "rate_bytes": 0 < self.rate_bytes_per_s
            and self.max_frame_bytes <= self.rate_burst_bytes,
            "queues": min(self.max_send_queue_frames, self.max_inbound_queue_messages) > 0,
            "max_send_queue_bytes": self.max_frame_bytes <= self.max_send_queue_bytes,
            "max_inbound_requests_per_peer": self.max_inbound_requests_per_peer > 0,
            "seen": self.max_seen_messages > 0,
            "first_byte_timeout_ms": 0 < self.first_byte_timeout_ms
            < self.handshake_timeout_ms,
            "pending_handshakes": 0 < self.max_pending_handshakes_per_host
            < self.max_pending_handshakes,
            "named_handshakes": 0 < self.max_named_handshakes_per_key
            <= self.max_named_handshakes,
            "misbehaviour": self.misbehaviour_ban_points > 0
            and self.misbehaviour_decay_points_per_min >= 0,
            "timeouts": min(self.handshake_timeout_ms, self.connect_timeout_ms,
                            self.handler_timeout_ms, self.request_timeout_ms,
                            self.retire_timeout_ms, self.dial_tick_ms) > 0,
        }
        for field_name, ok in checks.items():
            if not ok:
                raise P2PLocalProtocolError(Reason.BAD_LIMITS, f"limit out of range: {field_name}")

    @property
    def max_payload_bytes(self) -> int:
        """Largest application payload that fits one frame under these limits."""
        return self.max_frame_bytes - MIN_FRAME_BYTES - ENVELOPE_OVERHEAD_BYTES
