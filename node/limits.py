"""Limits of the node layer as named constants (STYLE section 5).

Per-node values that operators may tune live in `config.toml`; these are the defaults and
the hard ceilings the configuration is checked against.
"""

from __future__ import annotations

from commerce.limits import MAX_BLOCK_BYTES as COMMERCE_MAX_BLOCK_BYTES
from commerce.limits import MAX_TX_BYTES
from consensus.limits import MAX_BLOCK_BYTES as CONSENSUS_MAX_BLOCK_BYTES
from consensus.limits import MAX_CERTIFICATE_BYTES, MAX_VIEW_CHANGE_BYTES
from p2p.limits import MAX_PAYLOAD_BYTES

MEMPOOL_MAX_TXS = 50_000
MEMPOOL_MAX_BYTES = 64 * 1024 * 1024
MEMPOOL_MAX_PER_ACCOUNT = 256
MEMPOOL_NONCE_WINDOW = 256
# Transactions of one account waiting behind a nonce gap (not executable until the gap is
# filled); when the pool is full, such transactions make room for executable ones, at most
# MEMPOOL_DISPLACE_MAX of them per admission.
MEMPOOL_MAX_GAPPED_PER_ACCOUNT = 16
MEMPOOL_DISPLACE_MAX = 192
MEMPOOL_TTL_BLOCKS = 1_200
MEMPOOL_RECHECK_PER_BLOCK = 4_096
VERIFIED_CACHE_MAX = 200_000
VERIFY_CHUNK_TXS = 256

SYNC_MAX_BLOCKS_PER_REQUEST = 64
SYNC_MAX_RESPONSE_BYTES = MAX_PAYLOAD_BYTES
"""A block reply is one P2P response: it must fit the payload of one frame."""
SYNC_RESPONSE_OVERHEAD_BYTES = 8
"""msgpack around a reply's list of items: an array32 header (5 bytes)."""
SYNC_ITEM_OVERHEAD_BYTES = 16
"""msgpack around one `[block, certificate]` item: a fixarray and two bin32 headers (11)."""
CONSENSUS_BLOCK_MESSAGE_OVERHEAD_BYTES = MAX_VIEW_CHANGE_BYTES - CONSENSUS_MAX_BLOCK_BYTES
"""What a PRE-PREPARE, VIEW-CHANGE or DECIDED adds to the block it carries (the largest,
a VIEW-CHANGE: two certificates and its fields)."""
PROPOSAL_CACHE_MAX = 8
# Block digests the replica's digest function remembers (each keeps its block's bytes
# alive: at most this many blocks of max_block_bytes).
MAX_DIGESTS_CACHED = 8

assert MEMPOOL_MAX_PER_ACCOUNT <= MEMPOOL_MAX_TXS
assert MEMPOOL_NONCE_WINDOW >= MEMPOOL_MAX_PER_ACCOUNT
assert 0 < MEMPOOL_MAX_GAPPED_PER_ACCOUNT <= MEMPOOL_MAX_PER_ACCOUNT
# One admission may displace enough transactions to make room for the largest one, even
# when each victim is as small as any transaction can be (its 32-byte key and 64-byte
# signature).
assert MEMPOOL_DISPLACE_MAX * (32 + 64) >= MAX_TX_BYTES
assert VERIFIED_CACHE_MAX >= MEMPOOL_MAX_TXS
# Every block the commerce rules accept is one the consensus decoder accepts.
assert COMMERCE_MAX_BLOCK_BYTES <= CONSENSUS_MAX_BLOCK_BYTES
# One block of the largest size, its certificate and the reply's encoding fit one frame,
# so a reply always carries at least one block (catch-up never stalls on a large block).
assert (SYNC_RESPONSE_OVERHEAD_BYTES + SYNC_ITEM_OVERHEAD_BYTES + COMMERCE_MAX_BLOCK_BYTES
        + MAX_CERTIFICATE_BYTES <= SYNC_MAX_RESPONSE_BYTES)
# A consensus message carrying the largest block fits one frame (sent with `P2PService.send`).
assert COMMERCE_MAX_BLOCK_BYTES + CONSENSUS_BLOCK_MESSAGE_OVERHEAD_BYTES <= MAX_PAYLOAD_BYTES
