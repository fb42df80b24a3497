"""Large genesis documents: the packed accounts, the cached hash and the batched store
initialization give the same chain as the straightforward code, and a bad entry anywhere
is still named.

Method: documents of a few thousand generated accounts (addresses from a counter, no keys)
checked against the definitions: hash = SHA-256 of `encode(to_array())`, state root of
height 0 over `genesis_writes`, one account record per address; a store initialized in
small batches, and one whose first initialization was cut short.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from commerce.address import address_of, from_text, to_text
from commerce.amount import parse_amount
from commerce.encoding import encode, sha256
from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import (
    GenesisAccount,
    GenesisAccounts,
    genesis_from_record,
    genesis_record,
    genesis_state_root,
    genesis_writes,
    load_genesis,
    parse_genesis,
)
from commerce.ledger import account_key, get_account
from commerce.state import MemoryState
from node.state_store import P_STATE
from node.store import Store
from tests.foundation.genesis_refusal import refused
from tests.foundation.workload import make_keys

KEYS = make_keys(2)
COUNT = 3_000


def _address(index: int) -> str:
    return to_text(hashlib.sha256(b"genesis-scale %d" % index).digest()[:20])


def _document(count: int = COUNT) -> dict[str, Any]:
    return {
        "chain_id": "scale-test",
        "token": {"symbol": "AGR"},
        "validators": [{"name": "v0", "public_key": KEYS[0].public_key.hex()}],
        "accounts": [{"address": _address(i), "balance": str(1 + i % 97)}
                     for i in range(count)],
    }


DOC = _document()


def test_genesis_hash_is_sha256_of_the_canonical_array() -> None:
    genesis = parse_genesis(DOC)
    assert genesis.hash == sha256(encode(genesis.to_array()))
    assert genesis.to_array()[5][17] == [from_text(_address(17)), parse_amount(str(1 + 17 % 97))]


def test_genesis_accounts_read_back_as_written() -> None:
    genesis = parse_genesis(DOC)
    assert len(genesis.accounts) == COUNT
    assert genesis.accounts[5] == GenesisAccount(**DOC["accounts"][5])
    assert genesis.accounts[-1].address == DOC["accounts"][-1]["address"]
    assert [a.balance for a in genesis.accounts[:3]] == ["1", "2", "3"]
    assert json.loads(genesis.to_json())["accounts"] == DOC["accounts"]


def test_genesis_fast_and_full_validation_give_the_same_genesis() -> None:
    # A GenesisAccount object in the list sends the whole list through the full path.
    doc = copy.deepcopy(DOC)
    doc["accounts"][0] = GenesisAccount(**doc["accounts"][0])
    full = parse_genesis(doc)
    fast = parse_genesis(DOC)
    assert full == fast
    assert full.hash == fast.hash
    assert genesis_writes(full) == genesis_writes(fast)


def test_genesis_text_not_in_canonical_form_is_kept_and_hashes_the_same() -> None:
    doc = copy.deepcopy(DOC)
    doc["accounts"][3] = {"address": DOC["accounts"][3]["address"].upper(), "balance": "4.50"}
    doc["accounts"][4]["balance"] = " 5 "
    genesis = parse_genesis(doc)
    assert genesis.accounts[3].address == DOC["accounts"][3]["address"].upper()
    assert genesis.accounts[3].balance == "4.50"
    assert genesis.accounts[4].balance == " 5 "
    assert load_genesis(genesis.to_json()) == genesis
    canonical = copy.deepcopy(DOC)
    canonical["accounts"][3]["balance"] = "4.5"
    canonical["accounts"][4]["balance"] = "5"
    assert parse_genesis(canonical).hash == genesis.hash


@pytest.mark.parametrize(("index", "field", "value", "expected"), [
    (2_999, "address", "agora1qqqqqqqq", "accounts.2999.address"),
    (1_500, "balance", "1.0000001", "accounts.1500.balance"),
    (10, "balance", 5, "accounts.10.balance"),
    (700, "surprise", "x", "accounts.700.surprise"),
])
def test_genesis_bad_entry_deep_in_a_large_list_is_named(index: int, field: str, value: Any,
                                                         expected: str) -> None:
    doc = copy.deepcopy(DOC)
    doc["accounts"][index][field] = value
    assert expected in refused(doc).message


def test_genesis_duplicate_and_oversupply_are_refused_in_a_large_list() -> None:
    doc = copy.deepcopy(DOC)
    doc["accounts"].append(dict(doc["accounts"][1234]))
    assert "listed twice" in refused(doc).message
    doc = copy.deepcopy(DOC)
    doc["accounts"][2_000]["balance"] = "1000000000000"
    assert "total supply" in refused(doc).message


def test_genesis_accounts_over_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import commerce.genesis as module
    monkeypatch.setattr(module, "MAX_GENESIS_ACCOUNTS", 10)
    # The fast loop reads the module's limit; over it, the full validation decides.
    calls: list[int] = []

    def full(value: list[Any]) -> list[GenesisAccount]:
        calls.append(len(value))
        return []

    assert len(GenesisAccounts._validate(DOC["accounts"][:10], full)) == 10
    assert calls == []
    assert len(GenesisAccounts._validate(DOC["accounts"][:11], full)) == 0
    assert calls == [11]


def test_genesis_state_root_and_writes_cover_every_account() -> None:
    genesis = parse_genesis(DOC)
    writes = genesis_writes(genesis)
    state = MemoryState({k: v for k, v in writes.items() if v is not None})
    for i in (0, 1_111, COUNT - 1):
        account = get_account(state, from_text(_address(i)))
        assert account.balance == parse_amount(str(1 + i % 97))
        assert account.nonce == 0
    assert len(genesis_state_root(genesis)) == 32


def test_store_initializes_a_large_genesis_in_batches(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Store, "GENESIS_BATCH_KEYS", 97)
    genesis = parse_genesis(DOC)
    store = Store.open(tmp_path / "data", genesis)
    try:
        assert store.head.state_root == genesis_state_root(genesis)
        assert store.head.height == 0
        for i in (0, 96, 97, COUNT - 1):
            assert get_account(store.state, from_text(_address(i))).balance > 0
    finally:
        store.close()
    again = Store.open(tmp_path / "data", genesis)
    again.close()


def test_store_cut_short_initialization_is_redone_without_leftovers(tmp_path: Path) -> None:
    import plyvel
    path = tmp_path / "data"
    path.mkdir()
    # A first initialization (of another genesis) that died before its metadata batch.
    stray = account_key(address_of(KEYS[1].public_key))
    db = plyvel.DB(str(path), create_if_missing=True)
    db.put(P_STATE + stray, b"left over")
    db.close()
    genesis = parse_genesis(DOC)
    store = Store.open(path, genesis)
    try:
        assert store.state.get(stray) is None
        assert store.head.state_root == genesis_state_root(genesis)
    finally:
        store.close()


def test_genesis_checked_before_gives_the_same_genesis_as_full_validation() -> None:
    """`load_genesis(checked_before=True)` (a file validated before, same bytes) packs the
    same accounts with the same kept texts; upper-case addresses and non-canonical
    balances go through the full path, and a balance over the maximum is refused the
    same way."""
    doc = copy.deepcopy(DOC)
    doc["accounts"][5]["address"] = doc["accounts"][5]["address"].upper()
    doc["accounts"][6]["balance"] = "1.50"
    doc["accounts"][7]["balance"] = "0"
    doc["accounts"][8]["balance"] = "007"
    doc["accounts"][9]["balance"] = "100000000000"  # 12 digits: 10**17 base units
    doc["accounts"][10]["balance"] = "12.000001"
    for document in (DOC, doc):
        raw = json.dumps(document).encode()
        full = load_genesis(raw)
        fast = load_genesis(raw, checked_before=True)
        assert fast == full and fast.hash == full.hash
        assert [a.model_dump() for a in fast.accounts] == [a.model_dump() for a in full.accounts]
    over = copy.deepcopy(DOC)
    over["accounts"][3]["balance"] = "1000000000001"
    raw = json.dumps(over).encode()
    with pytest.raises(ValidationError) as full_error:
        load_genesis(raw)
    with pytest.raises(ValidationError) as fast_error:
        load_genesis(raw, checked_before=True)
    assert str(fast_error.value) == str(full_error.value)
    assert "accounts.3.balance" in str(full_error.value)


def test_from_checked_text_is_from_text_for_checked_addresses() -> None:
    """The same 20 bytes for every address `from_text` accepts in lower case; anything
    else is refused (the caller then validates in full)."""
    from commerce.address import from_checked_text

    for index in range(2_000):
        text = _address(index)
        assert from_checked_text(text) == from_text(text)
    text = _address(1)
    for bad in (text.upper(), text[:-1], text + "q", text[:10] + "b" + text[11:],
                text[:10] + "\u0663" + text[11:], "bgora1" + text[6:]):
        with pytest.raises(ValueError):
            from_checked_text(bad)


def test_genesis_from_record_defers_the_accounts_until_asked() -> None:
    """A genesis rebuilt from its record has the same hash, count, total and fields, and
    reads no account until one is asked for; then it has the same accounts."""
    genesis = parse_genesis(DOC)
    loads: list[int] = []

    def load() -> Any:
        loads.append(1)
        return parse_genesis(copy.deepcopy(DOC))

    again = genesis_from_record(json.loads(json.dumps(genesis_record(genesis))), load)
    assert again.hash == genesis.hash and len(again.accounts) == COUNT
    assert again.accounts.total() == genesis.accounts.total()
    assert again.validator_keys == genesis.validator_keys and again.params == genesis.params
    assert loads == []
    assert again.accounts[17] == genesis.accounts[17] and loads == [1]
    assert list(again.accounts.entries()) == list(genesis.accounts.entries()) and loads == [1]


@pytest.mark.parametrize("spoil", [
    lambda r: r.update(hash="zz"), lambda r: r.update(hash="00" * 31),
    lambda r: r.update(accounts=-1), lambda r: r.update(total="7"),
    lambda r: r.pop("document"), lambda r: r["document"].update(accounts=[]),
    lambda r: r["document"].update(chain_id="Not Valid"),
])
def test_genesis_from_record_refuses_a_record_that_is_not_one(spoil: Any) -> None:
    record = json.loads(json.dumps(genesis_record(parse_genesis(DOC))))
    spoil(record)
    with pytest.raises(ValidationError) as info:
        genesis_from_record(record, lambda: parse_genesis(DOC))
    assert info.value.code is ErrorCode.BAD_GENESIS and "\n" not in str(info.value)


def test_genesis_from_record_refuses_accounts_that_are_not_the_recorded_ones() -> None:
    """The loaded genesis must match the record: another balance is refused
    when the accounts are first read."""
    genesis = parse_genesis(DOC)
    other = copy.deepcopy(DOC)
    other["accounts"][3]["balance"] = "1000"
    again = genesis_from_record(genesis_record(genesis), lambda: parse_genesis(other))
    with pytest.raises(ValidationError) as info:
        again.accounts[0]
    assert info.value.code is ErrorCode.BAD_GENESIS
