"""The mempool admits valid transactions once, refuses the rest with a reason (a sender
without the account reserve at once), and stays within its limits, gapped transactions
capped per account and displaced first. Method: admit signed transfers against a real
store and check what is pending, what is reaped and what is evicted."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commerce.address import address_of, to_text
from commerce.block import decode_block
from commerce.errors import AgoraError
from commerce.genesis import Genesis, parse_genesis
from commerce.keys import Keypair
from commerce.ledger import get_account
from commerce.machine import ChainContext
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from node.chain import Chain, block_digest
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


def _pool_with_rules(store: Store, genesis: Genesis, **pool_limits: int) -> Mempool:
    """A mempool that knows the chain's rules (a context), as a node's does."""
    return Mempool(store.state, CHAIN_ID, MempoolLimits(**pool_limits),
                   context=lambda: ChainContext.of(genesis, 1))


def test_mempool_sender_without_the_reserve_is_refused_at_once(
    store: Store, genesis: Genesis, keys: list[Keypair]
) -> None:
    """A key that holds nothing is refused `reserve_required` whatever its nonce, before its
    signature is verified; a funded key is admitted."""
    pool = _pool_with_rules(store, genesis)
    for nonce in (0, 7, 255):
        junk = _transfer(keys[5], nonce, keys[1])
        with pytest.raises(AgoraError) as info:
            pool.admit(junk)
        assert (info.value.reason, info.value.message) == (
            "reserve_required", "balance 0 is below the account reserve 1000000")
        assert junk.tx_id not in pool.verified
    pool.admit(_transfer(keys[1], 0, keys[5], amount=10**6))
    assert len(pool) == 1


def test_mempool_gapped_nonces_are_capped_per_account(
    store: Store, genesis: Genesis, keys: list[Keypair]
) -> None:
    """An account may queue at most `max_gapped_per_account` transactions behind a nonce gap;
    its executable ones do not count, and filling the gap makes room."""
    pool = _pool_with_rules(store, genesis, max_gapped_per_account=3)
    for nonce in (2, 3, 4):
        pool.admit(_transfer(keys[1], nonce, keys[2]))
    assert _reason(pool, _transfer(keys[1], 5, keys[2])) == "account_quota"
    with pytest.raises(AgoraError) as info:
        pool.check(_transfer(keys[1], 9, keys[2]))
    assert info.value.message == "account has 3 transactions waiting on a nonce gap (limit 3)"
    pool.admit(_transfer(keys[1], 0, keys[2]))  # executable: not capped
    pool.admit(_transfer(keys[1], 1, keys[2]))  # fills the gap: 2, 3, 4 are executable now
    for nonce in (6, 7, 8):
        pool.admit(_transfer(keys[1], nonce, keys[2]))
    assert len(pool) == 8


def test_mempool_full_pool_displaces_gapped_transactions_for_executable_ones(
    store: Store, genesis: Genesis, keys: list[Keypair]
) -> None:
    """In a full pool an executable transaction evicts a gapped one (`displaced`: the
    highest nonce of the account that gapped first); a gapped newcomer, or an executable
    one when nothing is gapped, is refused `mempool_full`."""
    pool = _pool_with_rules(store, genesis, max_txs=4)
    evicted: list[tuple[bytes, int, str]] = []
    pool.evict_listeners.append(lambda tx, reason: evicted.append((tx.sender, tx.nonce,
                                                                   reason)))
    for nonce in (3, 4):
        pool.admit(_transfer(keys[1], nonce, keys[2]))
    pool.admit(_transfer(keys[2], 0, keys[1]))
    pool.admit(_transfer(keys[2], 2, keys[1]))
    assert _reason(pool, _transfer(keys[2], 5, keys[1])) == "mempool_full"  # gapped
    honest = [_transfer(keys[3], n, keys[1]) for n in range(3)]
    pool.admit(honest[0])
    pool.admit(honest[1])
    pool.admit(honest[2])
    assert evicted == [(keys[1].public_key, 4, "displaced"), (keys[1].public_key, 3, "displaced"),
                       (keys[2].public_key, 2, "displaced")]
    assert _reason(pool, _transfer(keys[1], 0, keys[2])) == "mempool_full"  # none gapped
    assert pool.reap(10, 10**6) == [_transfer(keys[2], 0, keys[1]), *honest]


def test_mempool_junk_flood_from_2000_keys_leaves_a_funded_transaction_finalized(
    tmp_path: Path, keys: list[Keypair]
) -> None:
    """10,000 junk transactions from 2,000 keys (1,900 that hold nothing, 100 funded with
    exactly the reserve, all with gapped nonces) hit a pool of 500 in one process with a
    real store and chain: the unfunded ones are refused `reserve_required`, the gapped ones
    fill the pool, and an honest account's transfer is still admitted, proposed and
    finalized."""
    junk_keys = [Keypair.from_seed(b"junk" + i.to_bytes(28, "big")) for i in range(2_000)]
    funded_junk = junk_keys[:100]
    genesis = parse_genesis({
        "chain_id": CHAIN_ID, "token": {"symbol": "AGR"},
        "validators": [{"name": "v0", "public_key": keys[0].public_key.hex()}],
        "accounts": [{"address": to_text(address_of(k.public_key)), "balance": balance}
                     for k, balance in [(keys[1], "1000"),
                                        *[(k, "1") for k in funded_junk]]],
    })
    store = Store.open(tmp_path / "flood", genesis)
    try:
        chain: Chain
        pool = Mempool(store.state, CHAIN_ID, MempoolLimits(max_txs=500),
                       context=lambda: chain.context(chain.height + 1))
        chain = Chain(store, genesis, pool, keys[0].public_key)
        reasons: Counter[str] = Counter()
        for key in junk_keys:
            for nonce in range(1, 6):  # nonce 0 never sent: every one waits on a gap
                try:
                    pool.admit(_transfer(key, nonce, keys[1]))
                    reasons["admitted"] += 1
                except AgoraError as exc:
                    reasons[exc.reason] += 1
        recipient = address_of(keys[2].public_key)
        honest = sign_tx(keys[1], CHAIN_ID, 0, Transfer(to=recipient, amount=5 * 10**6))
        pool.admit(honest)  # before the fix: mempool_full
        assert reasons == {"reserve_required": 9_500, "admitted": 500}
        assert pool.evicted_count == {"displaced": 1} and len(pool) == 500
        raw = chain.propose(1, 1_000)
        assert decode_block(raw).txs == (honest,)
        chain.finalize(raw, b"certificate", block_digest(raw))
        assert store.head.height == 1
        assert get_account(store.state, recipient).balance == 5 * 10**6
        assert honest.tx_id not in pool and len(pool) == 499
    finally:
        store.close()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(1, 3), st.integers(0, 5), st.booleans()),
                      min_size=1, max_size=60))
def test_mempool_any_arrival_order_keeps_the_gapped_rules(
    store: Store, genesis: Genesis, keys: list[Keypair],
    steps: list[tuple[int, int, bool]],
) -> None:
    """Whatever order nonces arrive in, with blocks taking what is executable: no account
    has more than `max_gapped_per_account` gapped transactions pending, a block never takes
    a gapped one, and an executable newcomer to a full pool is refused `mempool_full` only
    when no other account has a gapped transaction to displace."""
    cap = 2
    pool = _pool_with_rules(store, genesis, max_txs=5, max_gapped_per_account=cap)
    senders = {i: address_of(keys[i].public_key) for i in (1, 2, 3)}
    sent: set[tuple[int, int]] = set()
    height = 0

    def gapped_count(index: int) -> int:
        run_end = pool.pending_nonce(senders[index])
        return sum(1 for (i, n) in sent if i == index and n > run_end
                   and _transfer(keys[i], n, keys[0]).tx_id in pool)

    for index, ahead, block in steps:
        if block:
            height += 1
            taken = pool.reap(2, 10**6)
            for tx in taken:
                run_end = pool.pending_nonce(tx.sender_address)
                assert tx.nonce < run_end, "a block takes only executable transactions"
            pool.on_finalized(height, taken)
            continue
        nonce = pool.committed_nonce(senders[index]) + ahead
        if (index, nonce) in sent:
            continue
        tx = _transfer(keys[index], nonce, keys[0])
        executable = nonce == pool.pending_nonce(senders[index])
        others_gapped = any(gapped_count(i) for i in senders if i != index)
        full = len(pool) >= pool.limits.max_txs
        try:
            pool.admit(tx)
            sent.add((index, nonce))
        except AgoraError as exc:
            assert exc.reason in ("mempool_full", "account_quota"), exc
            if exc.reason == "mempool_full":
                assert full and not (executable and others_gapped), "room was displaceable"
        assert len(pool) <= pool.limits.max_txs
        assert all(gapped_count(i) <= cap for i in senders)
