"""Blocks: a header that commits to the transactions and the state root, and its encoding.

Header (canonical array): ``[chain_id, height, prev_hash, tx_root, state_root, proposer,
timestamp_ms, next_validators_hash]``. The block hash is SHA-256 of the header's bytes; the
transaction root is a Merkle root over the transaction ids, so the hash commits to the whole
block. The timestamp is the proposer's clock, for display only: no rule reads it.
`next_validators_hash` is `commerce.governance_state.validator_set_hash` of the set in force
at height + 1 (after this block's execution; every validator checks it), so a chain of
headers and certificates is verifiable from the genesis alone (docs/GOVERNANCE.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NewType

from base.limits import DIGEST_BYTES
from commerce.encoding import decode, encode, sha256
from commerce.errors import ErrorCode, ValidationError
from commerce.limits import MAX_BLOCK_BYTES, MAX_BLOCK_TXS, MAX_CHAIN_ID_CHARS
from commerce.tx import Transaction, decode_tx

BlockHash = NewType("BlockHash", bytes)
_HEADER_FIELDS = 8


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """What validators sign: the block's place in the chain and its commitments."""

    chain_id: str
    height: int
    prev_hash: bytes
    tx_root: bytes
    state_root: bytes
    proposer: bytes
    timestamp_ms: int
    next_validators_hash: bytes

    def to_array(self) -> list[Any]:
        """The canonical array form."""
        return [self.chain_id, self.height, self.prev_hash, self.tx_root, self.state_root,
                self.proposer, self.timestamp_ms, self.next_validators_hash]

    @property
    def hash(self) -> BlockHash:
        """SHA-256 of the header's canonical bytes."""
        return BlockHash(sha256(encode(self.to_array())))

    @classmethod
    def from_array(cls, value: Any) -> BlockHeader:
        """Validate a decoded header array; raises ValidationError(bad_block)."""
        if not isinstance(value, list) or len(value) != _HEADER_FIELDS:
            raise ValidationError(ErrorCode.BAD_BLOCK, "a header is an array of 8 fields")
        chain_id, height, prev_hash, tx_root, state_root, proposer, timestamp_ms, \
            next_validators_hash = value
        if not isinstance(chain_id, str) or not 1 <= len(chain_id) <= MAX_CHAIN_ID_CHARS:
            raise ValidationError(ErrorCode.BAD_BLOCK, "header.chain_id is invalid")
        for name, number in (("height", height), ("timestamp_ms", timestamp_ms)):
            if not isinstance(number, int) or isinstance(number, bool) or number < 0:
                raise ValidationError(ErrorCode.BAD_BLOCK, f"header.{name} is invalid")
        for name, digest in (("prev_hash", prev_hash), ("tx_root", tx_root),
                             ("state_root", state_root), ("proposer", proposer),
                             ("next_validators_hash", next_validators_hash)):
            if not isinstance(digest, bytes) or len(digest) != DIGEST_BYTES:
                raise ValidationError(ErrorCode.BAD_BLOCK, f"header.{name} must be 32 bytes")
        return cls(chain_id, height, prev_hash, tx_root, state_root, proposer, timestamp_ms,
                   next_validators_hash)


@dataclass(frozen=True, slots=True)
class Block:
    """A header and its transactions. `encode_block`/`decode_block` give its wire form."""

    header: BlockHeader
    txs: tuple[Transaction, ...]
    raw: bytes = field(default=b"", compare=False)

    @property
    def hash(self) -> BlockHash:
        """The header hash."""
        return self.header.hash

    @property
    def height(self) -> int:
        """The block's height."""
        return self.header.height


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962-style Merkle root (leaf and node hashes domain-separated); empty -> sha256(b'')."""
    if not leaves:
        return sha256(b"")
    hasher = hashlib.sha256
    level = [hasher(b"\x00" + leaf).digest() for leaf in leaves]
    while len(level) > 1:
        paired = [hasher(b"\x01" + level[i] + level[i + 1]).digest()
                  for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def tx_root(txs: tuple[Transaction, ...] | list[Transaction]) -> bytes:
    """The Merkle root over the transaction ids in block order."""
    return merkle_root([tx.tx_id for tx in txs])


def encode_block(header: BlockHeader, txs: tuple[Transaction, ...]) -> Block:
    """Build the block with its canonical bytes ``[header, [tx bytes...]]``.

    The caller computed `header.tx_root` with `tx_root(txs)` (not recomputed here: it is a
    second Merkle pass over every transaction; `decode_block` checks it on every receiver).
    """
    raw = encode([header.to_array(), [tx.raw for tx in txs]])
    return Block(header, txs, raw)


def decode_block_envelope(raw: bytes, *, max_txs: int = MAX_BLOCK_TXS,
                          max_bytes: int = MAX_BLOCK_BYTES) -> tuple[BlockHeader, list[Any]]:
    """A block's header and its transactions' items, not decoded: checks the size, the
    canonical form, the shape ``[header, [items]]``, the header and the item count.
    Raises ValidationError (block_limit, bad_block, or the decoder's codes)."""
    if len(raw) > max_bytes:
        raise ValidationError(ErrorCode.BLOCK_LIMIT, f"block is {len(raw)} bytes")
    value = decode(raw, max_bytes=max_bytes)
    if not isinstance(value, list) or len(value) != 2 or not isinstance(value[1], list):
        raise ValidationError(ErrorCode.BAD_BLOCK, "a block is [header, [transactions]]")
    header = BlockHeader.from_array(value[0])
    items: list[Any] = value[1]
    if len(items) > max_txs:
        raise ValidationError(ErrorCode.BLOCK_LIMIT, f"block has {len(items)} transactions")
    return header, items


def decode_block(raw: bytes, *, max_txs: int = MAX_BLOCK_TXS,
                 max_bytes: int = MAX_BLOCK_BYTES,
                 known: Callable[[bytes], Transaction | None] | None = None,
                 root_checked: bool = False) -> Block:
    """Decode and check a block's form and tx root; raises ValidationError.

    `root_checked`: the caller has already checked these exact bytes against the
    header's tx root (the consensus digest does): the Merkle pass is not repeated.

    `known(tx_bytes)` may return a transaction decoded before from exactly these wire
    bytes (a node's mempool): it is reused instead of decoded again (and its bytes are not
    hashed for the lookup). Does not execute anything: the state machine checks the
    transactions' validity and the state root.
    """
    header, items = decode_block_envelope(raw, max_txs=max_txs, max_bytes=max_bytes)
    txs = []
    for item in items:
        if not isinstance(item, bytes):
            raise ValidationError(ErrorCode.BAD_BLOCK, "a block transaction must be bytes")
        seen = None if known is None else known(item)
        if seen is not None:
            assert seen.raw == item, "a known transaction has the block's bytes"
            txs.append(seen)
            continue
        txs.append(decode_tx(item))
    txs_tuple = tuple(txs)
    if not root_checked and tx_root(txs_tuple) != header.tx_root:
        raise ValidationError(ErrorCode.BAD_BLOCK, "tx_root does not match the transactions")
    ids = [tx.tx_id for tx in txs_tuple]
    if len(set(ids)) != len(ids):
        raise ValidationError(ErrorCode.BAD_BLOCK, "a transaction appears twice")
    return Block(header, txs_tuple, bytes(raw))
