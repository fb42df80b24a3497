"""Limits of the node layer as named constants (STYLE section 5).

Per-node values that operators may tune live in `config.toml`; these are the defaults and
the hard ceilings the configuration is checked against.
"""

from __future__ import annotations

from base.limits import MAX_BLOCK_BYTES, MAX_CHAIN_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES
from commerce.limits import MAX_TX_BYTES
from consensus.limits import MAX_CERTIFICATE_BYTES, MAX_VIEW_CHANGE_BYTES
from p2p.limits import MAX_NETWORK_ID_BYTES, MAX_PAYLOAD_BYTES

# Mempool.
MAX_MEMPOOL_TXS = 50_000
MAX_MEMPOOL_BYTES = 64 * 1024 * 1024
MAX_MEMPOOL_TXS_PER_ACCOUNT = 256
MAX_MEMPOOL_NONCES_AHEAD = 256
"""How far past an account's next nonce a transaction is kept (beyond: nonce_too_far)."""
# Transactions of one account waiting behind a nonce gap (not executable until the gap is
# filled); when the pool is full, such transactions make room for executable ones, at most
# MAX_MEMPOOL_DISPLACED_TXS of them per admission.
MAX_MEMPOOL_GAPPED_TXS_PER_ACCOUNT = 16
MAX_MEMPOOL_DISPLACED_TXS = 192
MEMPOOL_TTL_BLOCKS = 1_200
MAX_MEMPOOL_RECHECK_TXS = 4_096
"""Pending transactions re-executed per block at most."""
MAX_VERIFIED_CACHE_ENTRIES = 200_000
VERIFY_CHUNK_TXS = 256
MIN_POOLED_VERIFY_TXS = 32
"""A batch of fewer transactions is verified inline, not split over the verify pool."""

# Gossip of transactions.
MAX_GOSSIP_BATCH_TXS = 512
GOSSIP_BATCH_DELAY_S = 0.005
MAX_GOSSIP_BATCH_BYTES = MAX_GOSSIP_BATCH_TXS * (MAX_TX_BYTES + 8)  # each tx and its bin header
REGOSSIP_INTERVAL_S = 1.0  # how often pending transactions are offered to peers again
REGOSSIP_AGE_BLOCKS = 3  # ... once they have waited this many blocks since their last gossip
MAX_REGOSSIP_TXS = 4 * MAX_GOSSIP_BATCH_TXS  # per round
MAX_GOSSIP_VERIFY_TASKS = 32  # gossiped batches being verified at once, past it inline
# Pending transactions are re-executed on the new state at most this often (each recheck
# runs up to a few hundred of them): at several small blocks a second, once per block was
# a large share of a validator's per-block cost.
RECHECK_INTERVAL_S = 0.5
THREAD_SCAN_INTERVAL_S = 2.0  # how often native threads are looked for (LevelDB's starts late)

# Consensus driver.
MAX_QUEUED_EVENTS = 10_000
FETCH_TIMEOUT_S = 5.0

# Catch-up (block sync).
MAX_SYNC_REQUEST_BLOCKS = 64
MAX_SYNC_RESPONSE_BYTES = MAX_PAYLOAD_BYTES
"""A block reply is one P2P response: it must fit the payload of one frame."""
SYNC_RESPONSE_OVERHEAD_BYTES = 8
"""msgpack around a reply's list of items: an array32 header (5 bytes)."""
SYNC_ITEM_OVERHEAD_BYTES = 16
"""msgpack around one `[block, certificate]` item: a fixarray and two bin32 headers (11)."""
CONSENSUS_BLOCK_MESSAGE_OVERHEAD_BYTES = MAX_VIEW_CHANGE_BYTES - MAX_BLOCK_BYTES
"""What a PRE-PREPARE, VIEW-CHANGE or DECIDED adds to the block it carries (the largest,
a VIEW-CHANGE: two certificates and its fields)."""
MAX_CACHED_PROPOSALS = 8
# Block digests the replica's digest function remembers (each keeps its block's bytes
# alive: at most this many blocks of max_block_bytes).
MAX_DIGESTS_CACHED = 8
# Consensus records per write batch when a log of the layout before issue 19 is moved on
# open, and how many are read before they are pruned (then twice what is left).
CONSENSUS_LOG_BATCH_RECORDS = 1_024

# JSON-RPC transaction calls.
MAX_WAIT_MS = 120_000
DEFAULT_WAIT_MS = 30_000
MAX_TX_HEX_CHARS = 2 * MAX_TX_BYTES
MAX_DECODED_BLOCKS = 8

assert MAX_MEMPOOL_TXS_PER_ACCOUNT <= MAX_MEMPOOL_TXS
assert MAX_MEMPOOL_NONCES_AHEAD >= MAX_MEMPOOL_TXS_PER_ACCOUNT
assert 0 < MAX_MEMPOOL_GAPPED_TXS_PER_ACCOUNT <= MAX_MEMPOOL_TXS_PER_ACCOUNT
# One admission may displace enough transactions to make room for the largest one, even
# when each victim is as small as any transaction can be (its key and signature).
assert MAX_MEMPOOL_DISPLACED_TXS * (PUBLIC_KEY_BYTES + SIGNATURE_BYTES) >= MAX_TX_BYTES
assert MAX_VERIFIED_CACHE_ENTRIES >= MAX_MEMPOOL_TXS
assert 1 < MIN_POOLED_VERIFY_TXS <= VERIFY_CHUNK_TXS
assert MAX_GOSSIP_BATCH_TXS <= MAX_REGOSSIP_TXS
# Not asserted, as it does not hold: MAX_GOSSIP_BATCH_BYTES (a decode bound) is over one
# P2P payload, so a batch of MAX_GOSSIP_BATCH_TXS transactions of the largest size could
# not be sent in one frame (reported with issue 20; behaviour left as it was).
# One block of the largest size, its certificate and the reply's encoding fit one frame,
# so a reply always carries at least one block (catch-up never stalls on a large block).
assert (SYNC_RESPONSE_OVERHEAD_BYTES + SYNC_ITEM_OVERHEAD_BYTES + MAX_BLOCK_BYTES
        + MAX_CERTIFICATE_BYTES <= MAX_SYNC_RESPONSE_BYTES)
# A consensus message carrying the largest block fits one frame (sent with `P2PService.send`).
assert MAX_BLOCK_BYTES + CONSENSUS_BLOCK_MESSAGE_OVERHEAD_BYTES <= MAX_PAYLOAD_BYTES
assert CONSENSUS_LOG_BATCH_RECORDS >= 1
assert DEFAULT_WAIT_MS <= MAX_WAIT_MS
# The P2P network id is `<chain id>/<first 32 hex of the genesis hash>` (node.service).
assert MAX_CHAIN_ID_BYTES + 1 + 32 <= MAX_NETWORK_ID_BYTES
