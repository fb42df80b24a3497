"""Chain-wide limits: the values two or more packages must agree on (STYLE section 5).

Each package's own limits live in its `limits.py` and import from here what they share;
`tests/test_limits_named.py` checks that no two `limits.py` give one name two values.
"""

from __future__ import annotations

# Cryptography: Ed25519 keys and signatures, SHA-256 digests.
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
SEED_BYTES = 32
DIGEST_BYTES = 32

# The canonical codec (base.codec): the largest value any decoder reads, and how deep
# its arrays may nest.
MAX_DECODE_BYTES = 4 * 1024 * 1024
MAX_DECODE_DEPTH = 8
# Integers the codec carries: msgpack's range (int64 and uint64).
MIN_CODEC_INT = -(2**63)
MAX_CODEC_INT = 2**64 - 1

# Blocks. The room a block leaves in the largest decoded value (and in one P2P frame):
# a consensus message's fields and certificates around the block, or a catch-up reply's.
BLOCK_ENVELOPE_BYTES = 64 * 1024
MAX_BLOCK_BYTES = MAX_DECODE_BYTES - BLOCK_ENVELOPE_BYTES
"""The largest block: the ceiling of the genesis `max_block_bytes`, and the largest block
a consensus message may carry."""

# The chain id a genesis names (ASCII, so as many bytes as characters), which consensus
# signs under.
MAX_CHAIN_ID_BYTES = 64

# Validators: the most a genesis may name, and so the most a replica serves.
MAX_VALIDATORS = 100

# Network: the largest TCP port number.
MAX_PORT = 65535

assert MAX_BLOCK_BYTES == 4 * 1024 * 1024 - 64 * 1024
assert 0 < BLOCK_ENVELOPE_BYTES < MAX_DECODE_BYTES
# Every validator's signature fits the envelope twice (a VIEW-CHANGE's two certificates).
assert 2 * MAX_VALIDATORS * (SIGNATURE_BYTES + 8) < BLOCK_ENVELOPE_BYTES
assert MIN_CODEC_INT < 0 < MAX_CODEC_INT
