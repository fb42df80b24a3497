"""Limits of the node layer as named constants (STYLE section 5).

Per-node values that operators may tune live in `config.toml`; these are the defaults and
the hard ceilings the configuration is checked against.
"""

from __future__ import annotations

MEMPOOL_MAX_TXS = 50_000
MEMPOOL_MAX_BYTES = 64 * 1024 * 1024
MEMPOOL_MAX_PER_ACCOUNT = 256
MEMPOOL_NONCE_WINDOW = 256
MEMPOOL_TTL_BLOCKS = 1_200
MEMPOOL_RECHECK_PER_BLOCK = 4_096
VERIFIED_CACHE_MAX = 200_000
VERIFY_CHUNK_TXS = 256

SYNC_MAX_BLOCKS_PER_REQUEST = 64
SYNC_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
PROPOSAL_CACHE_MAX = 8
# Block digests the replica's digest function remembers (each keeps its block's bytes
# alive: at most this many blocks of max_block_bytes).
MAX_DIGESTS_CACHED = 8

assert MEMPOOL_MAX_PER_ACCOUNT <= MEMPOOL_MAX_TXS
assert MEMPOOL_NONCE_WINDOW >= MEMPOOL_MAX_PER_ACCOUNT
assert VERIFIED_CACHE_MAX >= MEMPOOL_MAX_TXS
