"""The mempool admits valid transactions once, refuses the rest with a reason, and stays
within its limits. Method: admit signed transfers against a real store and check what is
pending, what is reaped and what is evicted."""

from __future__ import annotations

import pytest

from commerce.address import address_of
from commerce.errors import AgoraError
from commerce.keys import Keypair
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from node.mempool import Mempool, MempoolLimits
from node.store import Store

from .conftest import CHAIN_ID


def _transfer(key: Keypair, nonce: int, to: Keypair, amount: int = 1, chain: str = CHAIN_ID):
    return sign_tx(key, chain, nonce, Transfer(to=address_of(to.public_key), amount=amount))


def _reason(pool: Mempool, tx) -> str:
    with pytest.raises(AgoraError) as info:
        pool.admit(tx)
    return info.value.reason


def test_mempool_valid_transaction_is_admitted_once(store: Store, keys: list[Keypair]) -> None:
    pool = Mempool(store.state, CHAIN_ID)
    tx = _transfer(keys[1], 0, keys[2])
    pool.admit(tx)
    assert tx.tx_id in pool
    assert len(pool) == 1
    assert _reason(pool, tx) == "duplicate_tx"
    assert len(pool) == 1


def test_mempool_refusals_name_their_reason_and_change_nothing(
    store: Store, keys: list[Keypair]
) -> None:
    pool = Mempool(store.state, CHAIN_ID, MempoolLimits(nonce_window=4, max_per_account=2))
    assert _reason(pool, _transfer(keys[1], 0, keys[2], chain="other")) == "wrong_chain"
    assert _reason(pool, _transfer(keys[1], 9, keys[2])) == "nonce_too_far"
    good = _transfer(keys[1], 0, keys[2])
    forged = type(good)(good.chain_id, keys[3].public_key, 0, good.body, good.signature,
                        good.raw, good.tx_id)
    assert _reason(pool, forged) == "bad_signature"
    pool.admit(good)
    pool.admit(_transfer(keys[1], 1, keys[2]))
    assert _reason(pool, _transfer(keys[1], 2, keys[2])) == "account_quota"
    assert _reason(pool, _transfer(keys[1], 1, keys[2], amount=2)) == "duplicate_tx"
    assert len(pool) == 2


def test_mempool_full_answers_mempool_full(store: Store, keys: list[Keypair]) -> None:
    pool = Mempool(store.state, CHAIN_ID, MempoolLimits(max_txs=2))
    pool.admit(_transfer(keys[1], 0, keys[2]))
    pool.admit(_transfer(keys[2], 0, keys[1]))
    assert _reason(pool, _transfer(keys[3], 0, keys[1])) == "mempool_full"
    assert len(pool) == 2


def test_mempool_reap_follows_nonces_and_limits(store: Store, keys: list[Keypair]) -> None:
    pool = Mempool(store.state, CHAIN_ID)
    later = _transfer(keys[1], 1, keys[2])
    first = _transfer(keys[1], 0, keys[2])
    gap = _transfer(keys[2], 5, keys[1])
    other = _transfer(keys[3], 0, keys[1])
    for tx in (later, first, gap, other):
        pool.admit(tx)
    # `later` arrived before `first`, so it waits for the next reap.
    assert pool.reap(10, 10**6) == [first, other]
    assert pool.reap(1, 10**6) == [first]
    assert pool.pending_nonce(address_of(keys[1].public_key)) == 2


def test_mempool_verifies_each_signature_once(store: Store, keys: list[Keypair]) -> None:
    pool = Mempool(store.state, CHAIN_ID)
    tx = _transfer(keys[1], 0, keys[2])
    pool.admit(tx)
    assert tx.tx_id in pool.verified


def test_mempool_forgets_verified_ids_of_finalized_transactions(
    store: Store, keys: list[Keypair]
) -> None:
    """The verified cache holds what may still be validated: a finalized transaction's id
    leaves it (its nonce is used), a pending one's stays."""
    pool = Mempool(store.state, CHAIN_ID)
    included = _transfer(keys[1], 0, keys[2])
    waiting = _transfer(keys[2], 0, keys[1])
    pool.admit(included)
    pool.admit(waiting)
    assert pool.on_finalized(1, [included]) == [included]
    assert included.tx_id not in pool.verified
    assert waiting.tx_id in pool.verified and waiting.tx_id in pool


def test_mempool_regossip_offers_each_waiting_transaction_once_per_age(
    store: Store, keys: list[Keypair]
) -> None:
    pool = Mempool(store.state, CHAIN_ID)
    first = _transfer(keys[1], 0, keys[2])
    second = _transfer(keys[2], 0, keys[1])
    pool.admit(first)
    pool.admit(second)
    assert pool.regossip_due(2, 3, 10) == []  # admitted at height 0: not old enough yet
    assert pool.regossip_due(3, 3, 1) == [first]  # oldest first, bounded per round
    assert pool.regossip_due(3, 3, 10) == [second]
    assert pool.regossip_due(5, 3, 10) == []  # just offered again
    assert pool.regossip_due(6, 3, 10) == [first, second]


def test_mempool_expires_transactions_older_than_the_ttl_only(
    store: Store, keys: list[Keypair]
) -> None:
    """A transaction pending for more than `ttl_blocks` blocks is evicted as `expired` when a
    block is finalized; one admitted later stays."""
    pool = Mempool(store.state, CHAIN_ID, MempoolLimits(ttl_blocks=10))
    reasons: list[str] = []
    pool.evict_listeners.append(lambda tx, reason: reasons.append(reason))
    old = _transfer(keys[1], 5, keys[2])  # a future nonce: never included, only expires
    pool.admit(old)
    pool.on_finalized(8, [])
    young = _transfer(keys[2], 5, keys[1])
    pool.admit(young)  # admitted at height 8
    pool.on_finalized(10, [])
    assert old.tx_id in pool  # admitted at 0: exactly 10 blocks is not over the TTL
    pool.on_finalized(11, [])  # old: admitted at 0, now more than 10 blocks ago
    assert old.tx_id not in pool and reasons == ["expired"]
    assert young.tx_id in pool
    pool.on_finalized(19, [])
    assert young.tx_id not in pool and reasons == ["expired", "expired"]


def test_mempool_refusal_messages_are_exact(store: Store, keys: list[Keypair]) -> None:
    """What a client reads for each refusal of `check`, word for word, in the order the
    checks run (a transaction failing two checks is refused by the first)."""
    pool = Mempool(store.state, CHAIN_ID, MempoolLimits(nonce_window=4, max_per_account=2,
                                                        max_txs=3))

    def refusal(tx) -> tuple[str, str]:
        with pytest.raises(AgoraError) as info:
            pool.check(tx)
        return info.value.reason, info.value.message

    first = _transfer(keys[1], 0, keys[2])
    pool.admit(first)
    pool.admit(_transfer(keys[1], 1, keys[2]))
    pool.admit(_transfer(keys[2], 0, keys[1]))
    assert refusal(_transfer(keys[1], 5, keys[2], chain="other")) == (
        "wrong_chain", "transaction is for chain other")
    assert refusal(first) == ("duplicate_tx", "transaction is already pending")
    assert refusal(_transfer(keys[1], 4, keys[2])) == (
        "nonce_too_far", "nonce 4 is more than 4 ahead of 0")
    assert refusal(_transfer(keys[1], 1, keys[2], amount=2)) == (
        "duplicate_tx", "nonce 1 is already pending")
    assert refusal(_transfer(keys[1], 2, keys[2])) == (
        "account_quota", "account has 2 pending transactions (limit 2)")
    assert refusal(_transfer(keys[3], 0, keys[1])) == ("mempool_full",
                                                       "mempool is full; retry later")
    pool.on_finalized(1, [first])
    assert refusal(_transfer(keys[1], 0, keys[2], amount=3)) == (
        "bad_nonce", "nonce 0 is used; next is 1")
    none_allowed = Mempool(store.state, CHAIN_ID, MempoolLimits(max_per_account=0))
    with pytest.raises(AgoraError) as info:
        none_allowed.check(_transfer(keys[3], 0, keys[1]))
    assert (info.value.reason, info.value.message) == (
        "account_quota", "account has 0 pending transactions (limit 0)")
    tiny = Mempool(store.state, CHAIN_ID, MempoolLimits(max_bytes=len(first.raw) - 1))
    with pytest.raises(AgoraError) as info:
        tiny.check(first)
    assert info.value.reason == "mempool_full"


def test_mempool_finalized_block_evicts_what_its_nonces_made_stale_in_order(
    store: Store, keys: list[Keypair]
) -> None:
    """A block carrying other transactions of a sender (submitted elsewhere) makes that
    sender's pending ones with used nonces stale: evicted as `nonce_used`, senders in
    address order, nonces ascending; a higher nonce stays. What the block included leaves
    the pool and both of its indexes (by id and by wire bytes)."""
    pool = Mempool(store.state, CHAIN_ID)
    evicted: list[tuple[bytes, int, str]] = []
    pool.evict_listeners.append(lambda tx, reason: evicted.append((tx.sender, tx.nonce,
                                                                   reason)))
    mine = [_transfer(keys[1], n, keys[2]) for n in range(3)]
    theirs = [_transfer(keys[2], n, keys[1]) for n in range(3)]
    for tx in [*mine, *theirs]:
        pool.admit(tx)
    block = [_transfer(keys[1], n, keys[3], amount=7) for n in range(2)]
    block += [theirs[0], _transfer(keys[2], 1, keys[3], amount=7)]
    assert pool.on_finalized(1, block) == [theirs[0]]
    stale = [(keys[1].public_key, 0), (keys[1].public_key, 1), (keys[2].public_key, 1)]
    stale.sort(key=lambda item: (address_of(item[0]), item[1]))
    assert evicted == [(key, nonce, "nonce_used") for key, nonce in stale]
    assert pool.evicted_count == {"nonce_used": 3}
    assert [tx.tx_id in pool for tx in [*mine, *theirs]] == [False, False, True,
                                                             False, False, True]
    assert pool.get_by_bytes(mine[2].raw) is mine[2]
    assert pool.get_by_bytes(mine[0].raw) is None and pool.get_by_bytes(theirs[0].raw) is None
