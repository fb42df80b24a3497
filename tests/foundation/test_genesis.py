"""Genesis validation: a valid document parses and hashes stably; each bad field is refused.

Method: start from a valid document, break one field at a time, and check that the error
is bad_genesis and that its one-line message names the field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import genesis_state_root, load_genesis, parse_genesis
from tests.foundation.genesis_refusal import refused
from tests.foundation.workload import genesis_document, make_genesis, make_keys

KEYS = make_keys(3)
DOC = genesis_document(KEYS)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return change


def test_parse_genesis_valid_document_is_accepted() -> None:
    genesis = parse_genesis(DOC)
    assert genesis.chain_id == "foundation-test"
    assert genesis.validator_keys == (KEYS[0].public_key,)


def test_genesis_hash_is_stable_through_json() -> None:
    genesis = make_genesis(KEYS)
    again = load_genesis(genesis.to_json())
    assert again.hash == genesis.hash
    assert genesis_state_root(again) == genesis_state_root(genesis)


def test_genesis_hash_changes_with_chain_id_and_params() -> None:
    base = make_genesis(KEYS).hash
    assert make_genesis(KEYS, "other-chain").hash != base
    doc = copy.deepcopy(DOC)
    doc["params"] = {"max_block_txs": 10}
    assert parse_genesis(doc).hash != base


@pytest.mark.parametrize(("field", "value"), [
    ("chain_id", "Bad Chain"),
    ("chain_id", ""),
    ("chain_id", "c" * 65),
    ("token.symbol", "agr"),
    ("token.symbol", ""),
    ("token.decimals", 8),
    ("validators.0.public_key", "zz" * 32),
    ("validators.0.public_key", "ab" * 31),
    ("validators.0.name", "bad name!"),
    ("accounts.0.address", "agora1qqqqqqqq"),
    ("accounts.0.balance", "1.0000001"),
    ("accounts.0.balance", "-5"),
    ("accounts.0.balance", 5),
    ("params.max_block_txs", 0),
    ("params.max_block_txs", 10**9),
    ("params.max_block_bytes", 10),
    ("genesis_time", "x" * 41),
])
def test_parse_genesis_bad_field_is_named(field: str, value: Any) -> None:
    doc = copy.deepcopy(DOC)
    doc.setdefault("params", {})
    _set(field, value)(doc)
    error = refused(doc)
    top = field.split(".")[0]
    assert top in error.message, error.message


def test_parse_genesis_balance_over_maximum_is_refused() -> None:
    doc = copy.deepcopy(DOC)
    doc["accounts"][0]["balance"] = "1000000000001"
    assert "accounts" in refused(doc).message


def test_parse_genesis_typo_in_address_is_refused() -> None:
    doc = copy.deepcopy(DOC)
    address = doc["accounts"][0]["address"]
    doc["accounts"][0]["address"] = address[:-1] + ("q" if address[-1] != "q" else "p")
    assert "checksum" in refused(doc).message


def test_parse_genesis_no_validators_is_refused() -> None:
    doc = copy.deepcopy(DOC)
    doc["validators"] = []
    assert "validators" in refused(doc).message


def test_parse_genesis_duplicate_validator_is_refused() -> None:
    doc = copy.deepcopy(DOC)
    doc["validators"].append(dict(doc["validators"][0], name="v1"))
    assert "validators" in refused(doc).message


def test_parse_genesis_duplicate_account_is_refused() -> None:
    doc = copy.deepcopy(DOC)
    doc["accounts"].append(doc["accounts"][0])
    assert "accounts" in refused(doc).message


@pytest.mark.parametrize("missing", ["chain_id", "token", "validators"])
def test_parse_genesis_missing_field_is_named(missing: str) -> None:
    doc = copy.deepcopy(DOC)
    del doc[missing]
    assert missing in refused(doc).message


def test_parse_genesis_unknown_field_is_named() -> None:
    doc = copy.deepcopy(DOC)
    doc["surprise"] = 1
    assert "surprise" in refused(doc).message


@pytest.mark.parametrize("document", [None, [], "genesis", 5])
def test_parse_genesis_not_an_object_is_refused(document: Any) -> None:
    refused(document)


def test_load_genesis_invalid_json_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        load_genesis('{"chain_id": ')
    assert info.value.code is ErrorCode.BAD_GENESIS
    assert "JSON" in info.value.message


def test_load_genesis_float_balance_is_refused() -> None:
    doc = copy.deepcopy(DOC)
    doc["accounts"][0]["balance"] = 12.5
    with pytest.raises(ValidationError) as info:
        load_genesis(json.dumps(doc))
    assert info.value.code is ErrorCode.BAD_GENESIS
