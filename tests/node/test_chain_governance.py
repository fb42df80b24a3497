"""The chain follows governance from its store: the set and parameters of each height, the
header's next-set commitment, and a second node that replays the same certified blocks.

Method: a one-validator genesis on a real LevelDB store (conftest.py); its validator's
proposals pass on its own vote. Blocks are proposed by one Chain and finalized there and on
a second store without validating them first (the catch-up path).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from commerce.address import address_of
from commerce.block import BlockHeader, decode_block, encode_block
from commerce.errors import ValidationError
from commerce.genesis import Genesis
from commerce.governance import ValidatorPropose
from commerce.governance_state import validator_set_hash
from commerce.keys import Keypair
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from node.chain import Chain, block_digest
from node.mempool import Mempool
from node.store import Store

from .conftest import CHAIN_ID


def _chain(store: Store, genesis: Genesis, key: Keypair) -> Chain:
    return Chain(store, genesis, Mempool(store.state, CHAIN_ID), key.public_key)


def _next_block(chain: Chain, *others: Chain) -> bytes:
    raw = chain.propose(chain.height + 1, 0)
    digest = block_digest(raw)
    chain.finalize(raw, b"certificate", digest)
    for other in others:
        other.finalize(raw, b"certificate", digest)
    return raw


def test_chain_refuses_a_header_with_another_next_set(
        store: Store, genesis: Genesis, keys: list[Keypair]) -> None:
    block = decode_block(_chain(store, genesis, keys[0]).propose(1, 0))
    h = block.header
    assert h.next_validators_hash == validator_set_hash([keys[0].public_key])
    bad = BlockHeader(h.chain_id, h.height, h.prev_hash, h.tx_root, h.state_root, h.proposer,
                      h.timestamp_ms, validator_set_hash([keys[1].public_key]))
    with pytest.raises(ValidationError, match="next_validators_hash"):
        _chain(store, genesis, keys[1]).validate(1, encode_block(bad, block.txs).raw,
                                                 keys[0].public_key)


def test_chain_switches_set_and_params_at_the_boundary_on_every_node(
        tmp_path: Path, store: Store, genesis: Genesis, keys: list[Keypair]) -> None:
    primary = _chain(store, genesis, keys[0])
    other_store = Store.open(tmp_path / "other", genesis)
    try:
        follower = _chain(other_store, genesis, keys[1])
        new = keys[5]
        for nonce, body in enumerate((
                ValidatorPropose(kind="add", key=new.public_key, name="v1",
                                 p2p_address="127.0.0.1:26700"),
                ValidatorPropose(kind="set_param", param="max_block_txs", value=3))):
            primary.mempool.admit(sign_tx(keys[0], CHAIN_ID, nonce, body))
        passed = _next_block(primary, follower)
        height = decode_block(passed).height
        boundary = height + genesis.params.governance_activation_blocks
        old, grown = (keys[0].public_key,), (keys[0].public_key, new.public_key)
        for chain in (primary, follower):
            assert chain.validators_at(boundary - 1) == old
            assert chain.validators_at(boundary) == grown
        before = decode_block(_next_block(primary, follower))
        assert before.height == boundary - 1
        assert before.header.next_validators_hash == validator_set_hash(grown)
        assert primary.context(boundary).params.max_block_txs == 3
        # The proposal at the boundary keeps to the new limit.
        for nonce in range(2, 7):
            primary.mempool.admit(sign_tx(keys[0], CHAIN_ID, nonce, Transfer(
                to=address_of(keys[2].public_key), amount=1)))
        at = decode_block(_next_block(primary, follower))
        assert at.height == boundary and len(at.txs) == 3
        assert other_store.head == store.head
    finally:
        other_store.close()
