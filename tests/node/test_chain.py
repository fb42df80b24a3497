"""The chain application builds blocks from the mempool, refuses blocks that do not match
their execution, and finalizes certified blocks with the mempool updated. Method: a real
store and mempool, blocks proposed by one Chain and validated by a second node's Chain."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from commerce.address import address_of, to_text
from commerce.block import BlockHeader, decode_block, encode_block, tx_root
from commerce.encoding import decode, encode
from commerce.errors import ValidationError
from commerce.genesis import Genesis, parse_genesis
from commerce.keys import Keypair
from commerce.ledger import get_account
from commerce.limits import MIN_BLOCK_BYTES
from commerce.transfer import Transfer
from commerce.tx import decode_tx, sign_tx
from node.chain import Chain, ConsensusDigest, block_digest
from node.mempool import Mempool
from node.store import Store

from .conftest import CHAIN_ID


@contextlib.contextmanager
def _stores(tmp_path: Path, genesis: Genesis, *names: str) -> Iterator[list[Store]]:
    """A new store per name under `tmp_path`; all closed afterwards."""
    stores: list[Store] = []
    try:
        for name in names:
            stores.append(Store.open(tmp_path / name, genesis))
        yield stores
    finally:
        for opened in stores:
            opened.close()


def _chain(store: Store, genesis: Genesis, key: Keypair) -> Chain:
    return Chain(store, genesis, Mempool(store.state, CHAIN_ID), key.public_key)


def test_chain_proposed_block_validates_and_finalizes_on_another_node(
    tmp_path: Path, store: Store, genesis: Genesis, keys: list[Keypair]
) -> None:
    primary = _chain(store, genesis, keys[0])
    txs = [sign_tx(keys[1], CHAIN_ID, n, Transfer(to=address_of(keys[2].public_key), amount=5))
           for n in range(3)]
    for tx in txs:
        primary.mempool.admit(tx)
    raw = primary.propose(1, 1_000)
    other_store = Store.open(tmp_path / "other", genesis)
    try:
        backup = _chain(other_store, genesis, keys[1])
        digest = backup.validate(1, raw, keys[0].public_key)
        assert digest == block_digest(raw)
        backup.finalize(raw, b"certificate", digest)
        primary.finalize(raw, b"certificate", digest)
        assert other_store.head == store.head
        assert len(primary.mempool) == 0
        balance = get_account(other_store.state, address_of(keys[2].public_key)).balance
        assert balance == 1000 * 10**6 + 15
        assert other_store.get_certificate(1) == b"certificate"
    finally:
        other_store.close()


def test_chain_block_with_wrong_state_root_is_refused(
    store: Store, genesis: Genesis, keys: list[Keypair]
) -> None:
    primary = _chain(store, genesis, keys[0])
    primary.mempool.admit(
        sign_tx(keys[1], CHAIN_ID, 0, Transfer(to=address_of(keys[2].public_key), amount=5)))
    block = decode_block(primary.propose(1, 0))
    h = block.header
    bad = BlockHeader(h.chain_id, h.height, h.prev_hash, h.tx_root, bytes(32), h.proposer, 0,
                      h.next_validators_hash)
    raw = encode_block(bad, block.txs).raw
    fresh = _chain(store, genesis, keys[1])
    with pytest.raises(ValidationError, match="state root"):
        fresh.validate(1, raw, keys[0].public_key)
    assert store.head.height == 0


def test_chain_proposal_drops_failing_transactions(
    store: Store, genesis: Genesis, keys: list[Keypair]
) -> None:
    primary = _chain(store, genesis, keys[0])
    broke = sign_tx(keys[3], CHAIN_ID, 0,
                    Transfer(to=address_of(keys[2].public_key), amount=2_000 * 10**6))
    primary.mempool.admit(broke)
    evicted: list[str] = []
    primary.mempool.evict_listeners.append(lambda tx, reason: evicted.append(reason))
    block = decode_block(primary.propose(1, 0))
    assert block.txs == ()
    assert evicted == ["insufficient_funds"]


def _signed_block(chain: Chain, keys: list[Keypair], count: int) -> bytes:
    for n in range(count):
        chain.mempool.admit(sign_tx(keys[1], CHAIN_ID, n,
                                    Transfer(to=address_of(keys[2].public_key), amount=5)))
    return chain.propose(1, 1_000)


def test_chain_validate_refuses_a_bad_signature_finalize_of_a_certified_block_trusts_it(
    tmp_path: Path, store: Store, genesis: Genesis, keys: list[Keypair]
) -> None:
    # A block whose transaction signature was tampered with: `validate` (before this node
    # votes) refuses it; `finalize` (consensus holds a commit certificate, so f+1 honest
    # validators validated the block) re-executes it without re-verifying signatures.
    block = decode_block(_signed_block(_chain(store, genesis, keys[0]), keys, 1))
    tx = block.txs[0]
    forged_raw = tx.raw[:-1] + bytes([tx.raw[-1] ^ 1])
    forged = decode_tx(forged_raw)
    assert not forged.verify_signature() and forged.tx_id != tx.tx_id
    h = block.header
    header = BlockHeader(h.chain_id, h.height, h.prev_hash, tx_root((forged,)), h.state_root,
                         h.proposer, h.timestamp_ms, h.next_validators_hash)
    raw = encode_block(header, (forged,)).raw
    for name, check in (("validate", True), ("finalize", False)):
        other = Store.open(tmp_path / name, genesis)
        try:
            chain = _chain(other, genesis, keys[1])
            if check:
                with pytest.raises(ValidationError, match="signature"):
                    chain.validate(1, raw, keys[0].public_key)
                assert other.head.height == 0
            else:
                chain.finalize(raw, b"certificate", block_digest(raw))
                assert other.head.height == 1 and other.head.state_root == h.state_root
        finally:
            other.close()


def test_chain_unsynced_finalize_reports_only_after_flush(
    tmp_path: Path, store: Store, genesis: Genesis, keys: list[Keypair]
) -> None:
    primary = _chain(store, genesis, keys[0])
    raw1 = _signed_block(primary, keys, 2)
    primary.finalize(raw1, b"c1", block_digest(raw1))
    primary.mempool.admit(sign_tx(keys[1], CHAIN_ID, 2,
                                  Transfer(to=address_of(keys[2].public_key), amount=5)))
    raw2 = primary.propose(2, 2_000)
    other = Store.open(tmp_path / "other", genesis)
    try:
        chain = _chain(other, genesis, keys[1])
        heard: list[int] = []
        chain.finalized_listeners.append(lambda block, result: heard.append(block.height))
        chain.finalize(raw1, b"c1", block_digest(raw1), sync=False)
        assert other.head.height == 1 and heard == []  # written, not yet reported
        chain.finalize(raw2, b"c2", block_digest(raw2), sync=True)
        primary.finalize(raw2, b"c2", block_digest(raw2))
        assert heard == [1, 2] and other.head == store.head
        chain.flush()  # nothing left: no second report
        assert heard == [1, 2]
    finally:
        other.close()


def test_chain_full_proposal_fits_max_block_bytes_and_validates_elsewhere(
    tmp_path: Path, keys: list[Keypair]
) -> None:
    # The pool holds more than a block: the proposal must stop where the *encoded* block
    # (header and per-transaction framing included) reaches max_block_bytes, or every
    # validator refuses it (block_limit) and the view changes for ever under load.
    small = parse_genesis({
        "chain_id": CHAIN_ID, "token": {"symbol": "AGR"},
        "params": {"max_block_bytes": MIN_BLOCK_BYTES},
        "validators": [{"name": "v0", "public_key": keys[0].public_key.hex()}],
        "accounts": [{"address": to_text(address_of(k.public_key)), "balance": "1000"}
                     for k in keys[:4]],
    })
    with _stores(tmp_path, small, "primary", "backup") as stores:
        primary = _chain(stores[0], small, keys[0])
        memo = "m" * 200
        for n in range(200):
            primary.mempool.admit(sign_tx(keys[1], CHAIN_ID, n, Transfer(
                to=address_of(keys[2].public_key), amount=1, memo=memo)))
        raw = primary.propose(1, 1_000)
        assert len(raw) <= MIN_BLOCK_BYTES
        assert len(decode_block(raw).txs) < 200  # the limit, not the pool, ended it
        backup = _chain(stores[1], small, keys[1])
        assert backup.validate(1, raw, keys[0].public_key) == block_digest(raw)


def test_chain_reproposal_needs_a_validator_proposer_not_the_current_primary(
    tmp_path: Path, store: Store, genesis: Genesis, keys: list[Keypair]
) -> None:
    # A NEW-VIEW re-proposes a block an earlier view's primary built (proposer None: any
    # validator); a block whose proposer is no validator is refused either way.
    raw = _signed_block(_chain(store, genesis, keys[0]), keys, 1)
    with _stores(tmp_path, genesis, "other", "stranger") as stores:
        backup = _chain(stores[0], genesis, keys[1])
        with pytest.raises(ValidationError, match="not the primary"):
            backup.validate(1, raw, keys[1].public_key)
        assert backup.validate(1, raw, None) == block_digest(raw)
        stranger = _signed_block(_chain(stores[1], genesis, keys[5]), keys, 1)
        with pytest.raises(ValidationError, match="not a validator"):
            _chain(stores[0], genesis, keys[1]).validate(1, stranger, None)


def test_chain_shared_digests_name_blocks_with_one_merkle_pass_and_still_bind_bodies(
    tmp_path: Path, store: Store, genesis: Genesis, keys: list[Keypair]
) -> None:
    # A node's Chain and replica share one ConsensusDigest (node/service.py): the primary
    # notes the block it built, a backup's digest reuses its mempool's ids, and a block
    # whose body does not match its header is never taken as checked.
    mempool = Mempool(store.state, CHAIN_ID)
    primary = Chain(store, genesis, mempool, keys[0].public_key,
                    digests=ConsensusDigest(mempool.id_of_bytes))
    txs = [sign_tx(keys[1], CHAIN_ID, n, Transfer(to=address_of(keys[2].public_key), amount=5))
           for n in range(3)]
    for tx in txs:
        primary.mempool.admit(tx)
    raw = primary.propose(1, 1_000)
    assert primary.digests is not None and primary.digests.root_checked(raw)
    other_store = Store.open(tmp_path / "other", genesis)
    try:
        pool = Mempool(other_store.state, CHAIN_ID)
        for tx in txs[:2]:  # the backup knows two of the three by their bytes
            pool.admit(tx)
        digests = ConsensusDigest(pool.id_of_bytes)
        backup = Chain(other_store, genesis, pool, keys[1].public_key, digests=digests)
        header, body = decode(raw)
        tampered = encode([header, [body[1], body[0], body[2]]])  # same txs, other order
        assert digests(tampered) is None and not digests.root_checked(tampered)
        with pytest.raises(ValidationError, match="tx_root"):
            backup.validate(1, tampered, keys[0].public_key)
        assert digests(raw) == block_digest(raw) == primary.digests(raw)
        assert backup.validate(1, raw, keys[0].public_key) == block_digest(raw)
        backup.finalize(raw, b"certificate", block_digest(raw))
        primary.finalize(raw, b"certificate", block_digest(raw))
        assert other_store.head == store.head
    finally:
        other_store.close()
