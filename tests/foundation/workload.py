"""Deterministic chains for the foundation tests: keys, a genesis, blocks built from a seed.

Method: everything is derived from fixed seeds (`random.Random(height)`, key seeds
1..n), so a test, a child process and a fresh interpreter all build the same blocks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import commerce  # noqa: F401  (registers the transaction types)
from commerce.address import address_of, to_text
from commerce.block import Block, BlockHeader, encode_block, tx_root
from commerce.genesis import Genesis, genesis_state_root, genesis_writes, parse_genesis
from commerce.keys import Keypair
from commerce.ledger import get_account
from commerce.machine import BlockResult, ChainContext, execute_block
from commerce.state import MemoryState, StateReader
from commerce.transfer import Transfer
from commerce.tx import Transaction, sign_tx

CHAIN_ID = "foundation-test"
ACCOUNTS = 12
BALANCE_TOKENS = "1000"


def make_keys(count: int = ACCOUNTS) -> list[Keypair]:
    """Deterministic keypairs with seeds 1..count."""
    return [Keypair.from_seed(bytes([i + 1]) * 32) for i in range(count)]


def genesis_document(keys: list[Keypair], chain_id: str = CHAIN_ID) -> dict[str, object]:
    """A valid genesis document (JSON-ready) funding every key."""
    return {
        "chain_id": chain_id,
        "token": {"symbol": "AGR"},
        "validators": [{"name": "v0", "public_key": keys[0].public_key.hex()}],
        "accounts": [
            {"address": to_text(address_of(k.public_key)), "balance": BALANCE_TOKENS}
            for k in keys
        ],
    }


def make_genesis(keys: list[Keypair], chain_id: str = CHAIN_ID) -> Genesis:
    """The parsed genesis of `genesis_document`."""
    return parse_genesis(genesis_document(keys, chain_id))


def genesis_memory(genesis: Genesis) -> MemoryState:
    """The state at height 0 as a MemoryState."""
    state = MemoryState()
    state.apply(genesis_writes(genesis))
    return state


def transfer(key: Keypair, to: Keypair, amount: int, nonce: int,
             chain_id: str = CHAIN_ID, memo: str = "") -> Transaction:
    """A signed transfer of `amount` base units from `key` to `to`."""
    body = Transfer(to=address_of(to.public_key), amount=amount, memo=memo)
    return sign_tx(key, chain_id, nonce, body)


def block_txs(view: StateReader, keys: list[Keypair], height: int,
              count: int) -> list[Transaction]:
    """`count` valid transfers for block `height`, chosen by `random.Random(height)`."""
    rng = random.Random(height)
    nonces = {i: get_account(view, address_of(k.public_key)).nonce for i, k in enumerate(keys)}
    txs = []
    for _ in range(count):
        sender = rng.randrange(len(keys))
        target = (sender + 1 + rng.randrange(len(keys) - 1)) % len(keys)
        txs.append(transfer(keys[sender], keys[target], rng.randint(1, 1_000_000),
                            nonces[sender], memo=f"h{height}"))
        nonces[sender] += 1
    return txs


@dataclass(frozen=True, slots=True)
class Head:
    """Where the chain is: height, last block hash and state root."""

    height: int
    block_hash: bytes
    state_root: bytes


def genesis_head(genesis: Genesis) -> Head:
    """The head at height 0."""
    return Head(0, genesis.hash, genesis_state_root(genesis))


def make_block(view: StateReader, genesis: Genesis, head: Head,
               txs: list[Transaction]) -> tuple[Block, BlockResult]:
    """Execute `txs` as block head.height+1 on `view` and build its block."""
    height = head.height + 1
    result = execute_block(view, ChainContext.of(genesis, height), head.state_root, txs,
                           drop_invalid=False)
    header = BlockHeader(genesis.chain_id, height, head.block_hash, tx_root(txs),
                         result.state_root, genesis.validator_keys[0], 1_000 * height,
                         result.next_validators_hash)
    return encode_block(header, tuple(txs)), result


def certificate_for(height: int) -> bytes:
    """The stand-in commit certificate of a height (opaque to the store)."""
    return b"cert-%d" % height
