"""Limits of the commerce state machine, as named constants (STYLE section 5)."""

from __future__ import annotations

# Encoding.
MAX_DECODE_BYTES = 4 * 1024 * 1024
MAX_DECODE_DEPTH = 8

# Transactions.
MAX_TX_BYTES = 16 * 1024
MAX_CHAIN_ID_CHARS = 64
MAX_MEMO_CHARS = 256
MAX_AMOUNT_MINOR = 10**18  # a billion billion base units: far above any real supply
MAX_NONCE = 2**63 - 1

# Blocks (genesis may lower these, never raise them).
MAX_BLOCK_TXS = 10_000
MAX_BLOCK_BYTES = 4 * 1024 * 1024 - 64 * 1024
MAX_VALIDATORS = 100
MAX_GENESIS_ACCOUNTS = 1_000_000

assert MAX_TX_BYTES < MAX_BLOCK_BYTES
assert MAX_BLOCK_BYTES + 64 * 1024 <= MAX_DECODE_BYTES
assert MAX_AMOUNT_MINOR < 2**63
