"""The execution frame: overlays, all-or-nothing transactions, blocks and their roots.

Method: run transfers on a MemoryState built from a small genesis; for each refusal
(wrong chain, bad signature, replayed or skipped nonce, funds, unknown type, limits) check
its code and that the overlay's writes and the state root are exactly as before.
"""

from __future__ import annotations

from typing import ClassVar

import pytest

from commerce.address import address_of
from commerce.block import BlockHeader, decode_block, encode_block, merkle_root, tx_root
from commerce.encoding import encode, sha256
from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import genesis_state_root
from commerce.ledger import Account, get_account, get_supply, put_account
from commerce.limits import MAX_AMOUNT_MINOR
from commerce.machine import ChainContext, _execute, apply_tx, execute_block
from commerce.state import MemoryState, Overlay, next_state_root, write_set_digest
from commerce.tx import Transaction, TxBody, sign_tx
from tests.foundation.workload import (
    CHAIN_ID,
    block_txs,
    genesis_head,
    genesis_memory,
    make_block,
    make_genesis,
    make_keys,
    transfer,
)

KEYS = make_keys(4)
GENESIS = make_genesis(KEYS)
CTX = ChainContext.of(GENESIS, 1)


class _Orphan(TxBody):
    """A body type with no rule registered (and not in the decoding registry)."""

    TYPE: ClassVar[str] = "orphan"
    note: str = ""


def _state() -> MemoryState:
    return genesis_memory(GENESIS)


def _refuse(view: Overlay, tx: Transaction, *, check_signature: bool = True) -> ErrorCode:
    before = dict(view.writes)
    with pytest.raises(ValidationError) as info:
        apply_tx(CTX, view, tx, check_signature=check_signature)
    assert view.writes == before, "a refused transaction changes nothing"
    assert isinstance(info.value.code, ErrorCode)
    return info.value.code


# Overlays.

def test_overlay_child_writes_invisible_until_merge() -> None:
    base = Overlay(MemoryState({b"k": b"1"}))
    child = base.child()
    child.put(b"k", b"2")
    child.put(b"n", b"3")
    assert base.get(b"k") == b"1"
    assert child.get(b"k") == b"2"
    child.merge_into_parent()
    assert base.writes == {b"k": b"2", b"n": b"3"}


def test_overlay_delete_hides_parent_value() -> None:
    base = Overlay(MemoryState({b"a1": b"x", b"a2": b"y", b"b": b"z"}))
    base.delete(b"a1")
    base.put(b"a0", b"w")
    assert base.get(b"a1") is None
    assert list(base.iterate(b"a")) == [(b"a0", b"w"), (b"a2", b"y")]


def test_write_set_digest_ignores_insertion_order() -> None:
    first = {b"b": b"2", b"a": b"1", b"c": None}
    second = {b"c": None, b"a": b"1", b"b": b"2"}
    assert write_set_digest(first) == write_set_digest(second)


def test_write_set_digest_delete_differs_from_empty_value() -> None:
    assert write_set_digest({b"a": None}) != write_set_digest({b"a": b""})


def test_next_state_root_depends_on_height_and_previous_root() -> None:
    root = next_state_root(bytes(32), 1, {})
    assert root != next_state_root(bytes(32), 2, {})
    assert root != next_state_root(b"\x01" * 32, 1, {})


# Transactions, one at a time.

def test_apply_tx_transfer_moves_funds_and_bumps_nonce() -> None:
    view = Overlay(_state())
    receipt = apply_tx(CTX, view, transfer(KEYS[0], KEYS[1], 7, 0))
    a, b = (get_account(view, address_of(k.public_key)) for k in KEYS[:2])
    assert (a.balance, a.nonce) == (1000 * 10**6 - 7, 1)
    assert (b.balance, b.nonce) == (1000 * 10**6 + 7, 0)
    assert receipt.events[0].kind == "transfer"
    assert get_supply(view).genesis == 4 * 1000 * 10**6


def test_apply_tx_wrong_chain_is_refused() -> None:
    tx = transfer(KEYS[0], KEYS[1], 7, 0, chain_id="other-chain")
    assert _refuse(Overlay(_state()), tx) is ErrorCode.WRONG_CHAIN


def test_apply_tx_bad_signature_is_refused() -> None:
    good = transfer(KEYS[0], KEYS[1], 7, 0)
    forged = Transaction(good.chain_id, good.sender, good.nonce, good.body,
                         KEYS[1].sign(good.signing_bytes()), good.raw, good.tx_id)
    assert _refuse(Overlay(_state()), forged) is ErrorCode.BAD_SIGNATURE


def test_apply_tx_replayed_nonce_is_refused() -> None:
    view = Overlay(_state())
    tx = transfer(KEYS[0], KEYS[1], 7, 0)
    apply_tx(CTX, view, tx)
    assert _refuse(view, tx) is ErrorCode.BAD_NONCE


def test_apply_tx_skipped_nonce_is_refused() -> None:
    assert _refuse(Overlay(_state()), transfer(KEYS[0], KEYS[1], 7, 1)) is ErrorCode.BAD_NONCE


def test_apply_tx_insufficient_funds_changes_nothing() -> None:
    view = Overlay(_state())
    tx = transfer(KEYS[0], KEYS[1], 1000 * 10**6 + 1, 0)
    assert _refuse(view, tx) is ErrorCode.INSUFFICIENT_FUNDS
    assert get_account(view, address_of(KEYS[0].public_key)).nonce == 0


def test_apply_tx_whole_balance_above_the_reserve_is_accepted_the_reserve_is_locked() -> None:
    reserve = CTX.params.account_reserve_minor
    code = _refuse(Overlay(_state()), transfer(KEYS[0], KEYS[1], 1000 * 10**6, 0))
    assert code is ErrorCode.BELOW_RESERVE
    view = Overlay(_state())
    apply_tx(CTX, view, transfer(KEYS[0], KEYS[1], 1000 * 10**6 - reserve, 0))
    assert get_account(view, address_of(KEYS[0].public_key)).balance == reserve


def test_apply_tx_self_transfer_is_refused() -> None:
    assert _refuse(Overlay(_state()), transfer(KEYS[0], KEYS[0], 7, 0)) is ErrorCode.SELF_TRANSFER


def test_apply_tx_credit_over_maximum_is_out_of_range() -> None:
    state = _state()
    rich = Overlay(state)
    put_account(rich, address_of(KEYS[1].public_key), Account(MAX_AMOUNT_MINOR, 0))
    state.apply(rich.writes)
    code = _refuse(Overlay(state), transfer(KEYS[0], KEYS[1], 1, 0))
    assert code is ErrorCode.AMOUNT_OUT_OF_RANGE


def test_apply_tx_unknown_type_is_refused() -> None:
    tx = sign_tx(KEYS[0], CHAIN_ID, 0, _Orphan(note="x"))
    assert _refuse(Overlay(_state()), tx) is ErrorCode.UNKNOWN_TYPE


# Blocks.

def test_execute_block_rejected_tx_leaves_root_as_empty_block() -> None:
    state = _state()
    root0 = genesis_state_root(GENESIS)
    bad = [transfer(KEYS[0], KEYS[1], 7, 5), transfer(KEYS[2], KEYS[1], 7, 0, chain_id="x-y")]
    result = execute_block(state, CTX, root0, bad, drop_invalid=True)
    assert result.txs == []
    assert result.writes == {}
    assert result.state_root == next_state_root(root0, 1, {})
    codes = [rejection.code for _, rejection in result.rejected]
    assert codes == [ErrorCode.BAD_NONCE, ErrorCode.WRONG_CHAIN]


def test_execute_block_validator_mode_failure_is_bad_block() -> None:
    txs = [transfer(KEYS[0], KEYS[1], 7, 0), transfer(KEYS[0], KEYS[1], 7, 0)]
    with pytest.raises(ValidationError) as info:
        execute_block(_state(), CTX, bytes(32), txs, drop_invalid=False)
    assert info.value.code is ErrorCode.BAD_BLOCK
    assert "bad_nonce" in info.value.message


def test_execute_block_over_tx_limit_is_block_limit() -> None:
    txs = [transfer(KEYS[0], KEYS[1], 7, n) for n in range(3)]
    with pytest.raises(ValidationError) as info:
        execute_block(_state(), CTX, bytes(32), txs, drop_invalid=False, max_txs=2)
    assert info.value.code is ErrorCode.BLOCK_LIMIT
    kept = execute_block(_state(), CTX, bytes(32), txs, drop_invalid=True, max_txs=2)
    assert len(kept.txs) == 2


def test_execute_block_at_tx_limit_is_accepted() -> None:
    txs = [transfer(KEYS[0], KEYS[1], 7, n) for n in range(3)]
    assert len(execute_block(_state(), CTX, bytes(32), txs, drop_invalid=False,
                             max_txs=3).txs) == 3


def test_execute_block_over_byte_limit_is_block_limit() -> None:
    txs = [transfer(KEYS[0], KEYS[1], 7, n) for n in range(2)]
    size = sum(len(tx.raw) for tx in txs)
    execute_block(_state(), CTX, bytes(32), txs, drop_invalid=False, max_bytes=size)
    with pytest.raises(ValidationError) as info:
        execute_block(_state(), CTX, bytes(32), txs, drop_invalid=False, max_bytes=size - 1)
    assert info.value.code is ErrorCode.BLOCK_LIMIT


def test_execute_block_same_txs_same_root() -> None:
    txs = block_txs(_state(), KEYS, 1, 20)
    first = execute_block(_state(), CTX, bytes(32), txs, drop_invalid=False)
    again = execute_block(_state(), CTX, bytes(32), txs, drop_invalid=False)
    assert first.state_root == again.state_root
    assert first.writes == again.writes


def test_merkle_root_known_shapes() -> None:
    a, b, c = b"a" * 32, b"b" * 32, b"c" * 32
    leaf = [sha256(b"\x00" + x) for x in (a, b, c)]
    assert merkle_root([]) == sha256(b"")
    assert merkle_root([a]) == leaf[0]
    ab = sha256(b"\x01" + leaf[0] + leaf[1])
    assert merkle_root([a, b]) == ab
    assert merkle_root([a, b, c]) == sha256(b"\x01" + ab + leaf[2])
    assert merkle_root([b, a]) != ab


def test_block_encode_decode_round_trips() -> None:
    state = _state()
    txs = block_txs(state, KEYS, 1, 5)
    block, _ = make_block(state, GENESIS, genesis_head(GENESIS), txs)
    decoded = decode_block(block.raw)
    assert decoded == block
    assert decoded.hash == block.hash
    assert decoded.header.tx_root == tx_root(txs)


def test_block_decode_reuses_known_transactions_by_their_bytes() -> None:
    """`known` maps wire bytes to a transaction decoded before: those are reused (the same
    objects), the others decoded; the block is the same either way."""
    state = _state()
    txs = block_txs(state, KEYS, 1, 5)
    block, _ = make_block(state, GENESIS, genesis_head(GENESIS), txs)
    known = {tx.raw: tx for tx in txs[1:4]}
    asked: list[bytes] = []

    def lookup(raw: bytes) -> Transaction | None:
        asked.append(raw)
        return known.get(raw)

    decoded = decode_block(block.raw, known=lookup)
    assert decoded == block
    assert asked == [tx.raw for tx in txs]
    assert [decoded.txs[i] is txs[i] for i in range(5)] == [False, True, True, True, False]


def _raw_block(header: list[object], txs: list[Transaction]) -> bytes:
    return encode([header, [tx.raw for tx in txs]])


def test_decode_block_wrong_tx_root_is_bad_block() -> None:
    state = _state()
    txs = block_txs(state, KEYS, 1, 3)
    block, _ = make_block(state, GENESIS, genesis_head(GENESIS), txs)
    with pytest.raises(ValidationError) as info:
        decode_block(_raw_block(block.header.to_array(), txs[:2]))
    assert info.value.code is ErrorCode.BAD_BLOCK


def test_decode_block_duplicate_tx_is_bad_block() -> None:
    tx = transfer(KEYS[0], KEYS[1], 7, 0)
    header = BlockHeader(CHAIN_ID, 1, bytes(32), tx_root([tx, tx]), bytes(32), bytes(32), 0,
                         bytes(32))
    with pytest.raises(ValidationError) as info:
        decode_block(_raw_block(header.to_array(), [tx, tx]))
    assert info.value.code is ErrorCode.BAD_BLOCK


@pytest.mark.parametrize(("index", "value"), [
    (0, ""), (1, -1), (1, True), (2, b"\x00" * 31), (3, "root"), (5, None), (6, -5),
])
def test_decode_block_bad_header_field_is_bad_block(index: int, value: object) -> None:
    header = BlockHeader(CHAIN_ID, 1, bytes(32), tx_root([]), bytes(32), bytes(32), 0, bytes(32))
    fields = header.to_array()
    fields[index] = value
    with pytest.raises(ValidationError) as info:
        decode_block(_raw_block(fields, []))
    assert info.value.code is ErrorCode.BAD_BLOCK


def test_decode_block_over_limits_is_block_limit() -> None:
    txs = [transfer(KEYS[0], KEYS[1], 7, n) for n in range(3)]
    header = BlockHeader(CHAIN_ID, 1, bytes(32), tx_root(txs), bytes(32), bytes(32), 0, bytes(32))
    block = encode_block(header, tuple(txs))
    assert decode_block(block.raw, max_txs=3) == block
    for kwargs in ({"max_txs": 2}, {"max_bytes": len(block.raw) - 1}):
        with pytest.raises(ValidationError) as info:
            decode_block(block.raw, **kwargs)
        assert info.value.code is ErrorCode.BLOCK_LIMIT


def test_block_header_hash_covers_every_field() -> None:
    header = BlockHeader(CHAIN_ID, 1, bytes(32), bytes(32), bytes(32), bytes(32), 0, bytes(32))
    fields = header.to_array()
    hashes = {header.hash}
    for index, value in enumerate(["x", 2, b"\x01" * 32, b"\x01" * 32, b"\x01" * 32,
                                   b"\x01" * 32, 1]):
        changed = list(fields)
        changed[index] = value
        hashes.add(BlockHeader.from_array(changed).hash)
    assert len(hashes) == 8


# A proposer's block runs first without a child overlay per transaction and, on the first
# refusal, again with one per transaction (`_execute(..., isolated=True)`, the only run
# before): the result must be that run's, field for field, wherever the refusals are.
def _proposal_cases() -> list[tuple[str, list[Transaction], int | None]]:
    state = _state()
    good = block_txs(state, KEYS, 1, 12)
    nonces: dict[bytes, int] = {}
    for tx in good:
        nonces[tx.sender] = max(nonces.get(tx.sender, 0), tx.nonce + 1)

    def poison(index: int) -> Transaction:
        key = KEYS[index % len(KEYS)]
        kind = index % 3
        if kind == 0:  # more than the account holds
            return transfer(key, KEYS[(index + 1) % len(KEYS)], MAX_AMOUNT_MINOR,
                            nonces.get(key.public_key, 0))
        if kind == 1:  # a nonce already used
            return transfer(key, KEYS[(index + 1) % len(KEYS)], 1, 0)
        return transfer(key, key, 1, nonces.get(key.public_key, 0))  # to itself

    cases: list[tuple[str, list[Transaction], int | None]] = [("none refused", good, None)]
    for at in (0, 1, 6, 11, 12):
        cases.append((f"refused at {at}", [*good[:at], poison(at), *good[at:]], None))
    cases.append(("refused at 2 and 9", [*good[:2], poison(2), *good[2:9], poison(9),
                                         *good[9:]], None))
    cases.append(("all refused", [poison(i) for i in range(5)], None))
    cases.append(("refused past the limit", [*good, poison(12)], 12))
    cases.append(("refused before the limit", [poison(0), *good], 5))
    return cases


@pytest.mark.parametrize(("name", "txs", "max_txs"), _proposal_cases(),
                         ids=[case[0] for case in _proposal_cases()])
def test_execute_block_proposer_result_is_the_isolated_runs(
        name: str, txs: list[Transaction], max_txs: int | None) -> None:
    limit = max_txs if max_txs is not None else CTX.params.max_block_txs
    got = execute_block(_state(), CTX, bytes(32), txs, drop_invalid=True, max_txs=max_txs)
    want = _execute(_state(), CTX, bytes(32), txs, limit, CTX.params.max_block_bytes,
                    drop_invalid=True, isolated=True, check_signatures=False)
    assert got.txs == want.txs and got.receipts == want.receipts
    assert got.rejected == want.rejected and got.end_events == want.end_events
    assert list(got.writes.items()) == list(want.writes.items())
    assert (got.state_root, got.block_bytes) == (want.state_root, want.block_bytes)
    assert (len(got.rejected) > 0) == ("refused" in name and "past" not in name and
                                       name != "none refused")
