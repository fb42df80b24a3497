"""Limits of the node's blob store (listing pictures), as named constants (STYLE section 5).

A blob is at most `MAX_BLOB_BYTES`, so one fits a P2P frame with its reply envelope; each
merchant holds at most `MAX_MERCHANT_BLOB_BYTES` on a node (what it uploaded and what
listing versions of its own made the node fetch); an upload's signature is accepted for
`UPLOAD_CLOCK_SKEW_MS` either side of the node's clock.
"""

from __future__ import annotations

from p2p.limits import ENVELOPE_OVERHEAD_BYTES, MAX_PAYLOAD_BYTES

# Blobs and uploads.
MAX_BLOB_BYTES = 2 * 1024 * 1024
"""Largest blob (a product picture); one byte more is refused (`blob_too_large`)."""
MIN_BLOB_BYTES = 16
"""Smallest blob: no image format this store takes has a header shorter than this."""
MAX_MERCHANT_BLOB_BYTES = 64 * 1024 * 1024
"""Bytes of blobs one merchant holds on a node; an upload beyond is `blob_quota`."""
MAX_IMAGE_SIDE_PIXELS = 16_384
"""Widest and tallest image accepted (PNG, JPEG, WebP, GIF headers are parsed)."""
MAX_JPEG_SEGMENTS_COUNT = 256
"""JPEG segments walked before the frame header must have been found."""
UPLOAD_CLOCK_SKEW_MS = 5 * 60 * 1000
"""An upload's signed timestamp may be this far from the node's clock, either way."""
MAX_UPLOADS_IN_FLIGHT_COUNT = 4
"""Uploads received at once by one node (each holds up to MAX_BLOB_BYTES in memory)."""
MAX_MERCHANT_UPLOADS_IN_FLIGHT_COUNT = 2
"""Of those, from one merchant, so one slow merchant cannot hold every slot."""
UPLOAD_BODY_TIMEOUT_MS = 60_000
"""The whole body of an upload must arrive within this (a slow sender loses its slot)."""
MAX_UPLOAD_HEADER_CHARS = 256
"""Longest value of an upload's authentication header."""

# Replication over P2P (kind `blobs`).
MAX_BLOB_REPLY_BYTES = MAX_BLOB_BYTES + 64
"""A reply: the canonical array `[found, bytes]` around one blob."""
MAX_BLOB_SERVES_PER_PEER = 2
"""Blob requests of one peer served at once; more are refused (the peer asks another)."""
BLOB_SERVE_BYTES_PER_S = 8 * 1024 * 1024
"""Blob bytes served to one peer per second on average (a token bucket)."""
MAX_BLOB_SERVE_BURST_BYTES = 4 * MAX_BLOB_BYTES
MAX_FETCH_QUEUE_ENTRIES = 4_096
"""Blobs waiting to be fetched; when full, newly wanted ones are dropped (and counted)."""
MAX_FETCHES_IN_FLIGHT_COUNT = 2
"""Blobs fetched from peers at once."""
MAX_FETCH_PEERS = 4
"""Peers asked for one blob before it is given up (it is wanted again on the next ask)."""
FETCH_REQUEST_TIMEOUT_MS = 10_000
MAX_FETCH_ATTEMPTS_COUNT = 6
"""Rounds of asking peers for one wanted blob before it is left to the next GET of it."""
FETCH_RETRY_BASE_S = 30
"""Wait before the second round; each later round waits 4 times longer (30 s ... 8.5 h)."""
FETCH_RETRY_TICK_S = 5
"""How often due retries are queued again."""
MAX_FETCH_RETRY_ENTRIES = 4_096
"""Blobs waiting for a retry; when full, a failed one is not retried (a GET wants it again)."""
GET_FETCH_WAIT_MS = 5_000
"""How long a GET of a referenced blob not held here waits for the fetch from peers."""
MAX_FETCH_WAITERS_COUNT = 256
"""GET requests waiting on fetches at once; more are answered 404 without waiting."""

# Collection.
BLOB_GRACE_MS = 24 * 60 * 60 * 1000
"""An upload that no listing version names is kept this long, then collected."""
GC_INTERVAL_S = 600
"""Time between two collection passes."""
MAX_GC_SCAN_ENTRIES = 1_000
"""Blobs one collection pass looks at (it goes on from there the next time)."""

assert MIN_BLOB_BYTES < MAX_BLOB_BYTES <= MAX_MERCHANT_BLOB_BYTES
assert 0 < MAX_MERCHANT_UPLOADS_IN_FLIGHT_COUNT < MAX_UPLOADS_IN_FLIGHT_COUNT
assert MAX_BLOB_REPLY_BYTES + ENVELOPE_OVERHEAD_BYTES <= MAX_PAYLOAD_BYTES, "a blob fits a frame"
assert MAX_BLOB_BYTES <= MAX_BLOB_SERVE_BURST_BYTES, "one blob can always be served"
assert GET_FETCH_WAIT_MS <= FETCH_REQUEST_TIMEOUT_MS * MAX_FETCH_PEERS
assert UPLOAD_CLOCK_SKEW_MS < BLOB_GRACE_MS, "a replayed upload cannot outlive its collection"
