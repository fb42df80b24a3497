"""Limits of the JSON-RPC server as named constants (STYLE section 5).

`create_app(..., limits=RpcLimits(...))` takes per-node values; these are the defaults and
the hard ceilings. Sizes are in bytes, times in seconds (`_S`), counts are plain numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

# HTTP POST at `/`.
MAX_BODY_BYTES = 1024 * 1024  # a body of exactly this size is read; one byte more is 413
MAX_BATCH_CALLS = 100  # a batch with more calls is refused whole with -32600
REQUEST_TIMEOUT_S = 30.0  # per call; a method may ask for its own
MAX_INFLIGHT_CALLS = 1_024  # over HTTP and WebSocket together; beyond, answer server_busy
# Per client (its IP address; an IPv6 client's /64), over HTTP and WebSocket together; a
# batch counts each call. Beyond, answer client_busy: one client that holds calls open
# (`tx_submit` with `wait: commit` that never finalizes, slow reads) cannot take every slot.
MAX_CLIENT_INFLIGHT_CALLS = 128

# WebSocket at `/ws`.
MAX_WS_CONNECTIONS = 256
MAX_WS_MESSAGE_BYTES = MAX_BODY_BYTES  # an inbound frame over this closes the socket (1009)
MAX_WS_INFLIGHT_CALLS = 16  # per connection; the reader waits for a free slot
MAX_WS_QUEUE_MESSAGES = 1_024  # outbound per connection; a client that lets it fill is dropped
WS_SEND_TIMEOUT_S = 10.0  # one frame that takes longer to send drops the client
WS_HEARTBEAT_S = 30.0
MAX_SUBSCRIPTIONS_PER_CONNECTION = 64
MAX_SUBSCRIPTIONS_TOTAL = 10_000
MAX_FILTER_CHARS = 128  # a subscription key (tx id hex, address text)

# CORS.
CORS_MAX_AGE_S = 600

# The [rpc] section of config.toml: the ceilings its values are checked against, and the
# defaults it gives a node where they are not the server's own above.
MAX_BODY_BYTES_CEILING = 64 * MAX_BODY_BYTES
MAX_SUBSCRIPTIONS_CEILING = 100_000
DEFAULT_SUBSCRIPTIONS_COUNT = 1_000  # open subscriptions of a node, all connections together
MAX_PAGE_ITEMS_CEILING = 10_000
DEFAULT_PAGE_ITEMS = 100  # items in one page of a list method, at most

assert MAX_BATCH_CALLS <= MAX_INFLIGHT_CALLS
# One full batch from an idle client is never refused by its own cap, and at least eight
# clients are needed to fill the server.
assert MAX_BATCH_CALLS <= MAX_CLIENT_INFLIGHT_CALLS <= MAX_INFLIGHT_CALLS // 8
assert MAX_WS_INFLIGHT_CALLS <= MAX_WS_QUEUE_MESSAGES
assert MAX_SUBSCRIPTIONS_PER_CONNECTION <= MAX_SUBSCRIPTIONS_TOTAL
assert MAX_WS_MESSAGE_BYTES <= MAX_BODY_BYTES
assert MAX_BODY_BYTES <= MAX_BODY_BYTES_CEILING
assert 0 < DEFAULT_SUBSCRIPTIONS_COUNT <= MAX_SUBSCRIPTIONS_TOTAL <= MAX_SUBSCRIPTIONS_CEILING
assert 0 < DEFAULT_PAGE_ITEMS <= MAX_PAGE_ITEMS_CEILING


@dataclass(frozen=True, slots=True)
class RpcLimits:
    """The limits one server runs with; each field defaults to the constant of its name."""

    body_bytes_max: int = MAX_BODY_BYTES
    batch_calls_max: int = MAX_BATCH_CALLS
    request_timeout_s: float = REQUEST_TIMEOUT_S
    inflight_calls_max: int = MAX_INFLIGHT_CALLS
    client_inflight_calls_max: int = MAX_CLIENT_INFLIGHT_CALLS
    ws_connections_max: int = MAX_WS_CONNECTIONS
    ws_message_bytes_max: int = MAX_WS_MESSAGE_BYTES
    ws_inflight_calls_max: int = MAX_WS_INFLIGHT_CALLS
    ws_queue_messages_max: int = MAX_WS_QUEUE_MESSAGES
    ws_send_timeout_s: float = WS_SEND_TIMEOUT_S
    ws_heartbeat_s: float = WS_HEARTBEAT_S
    subscriptions_per_connection_max: int = MAX_SUBSCRIPTIONS_PER_CONNECTION
    subscriptions_total_max: int = MAX_SUBSCRIPTIONS_TOTAL

    def __post_init__(self) -> None:
        assert 0 < self.body_bytes_max <= MAX_BODY_BYTES_CEILING, "body limit out of range"
        assert 0 < self.batch_calls_max <= self.inflight_calls_max, "batch over inflight"
        assert self.request_timeout_s > 0, "request timeout must be positive"
        # A client cap at or over the total never bites; the server's cap answers first.
        assert self.client_inflight_calls_max > 0, "a client may have a call in flight"
        assert 0 < self.ws_message_bytes_max <= self.body_bytes_max, "ws frame over body"
        assert 0 < self.ws_inflight_calls_max <= self.ws_queue_messages_max, "ws queue"
        assert 0 < self.subscriptions_per_connection_max <= self.subscriptions_total_max
        assert self.ws_connections_max > 0, "at least one websocket connection"


# The web app served at GET `/` (node/rpc/webapp.py): a file over this size is not served,
# a path longer than this is refused, a hashed asset is cached this long by browsers.
MAX_WEB_FILE_BYTES = 8 * 1024 * 1024
MAX_WEB_PATH_CHARS = 256
WEB_ASSET_MAX_AGE_S = 365 * 24 * 3600
MAX_REFERRAL_ID_DIGITS = 19  # a listing or share id in /listing/<id>?share=<id> (2^63-1)
assert MAX_WEB_FILE_BYTES <= MAX_BODY_BYTES_CEILING
