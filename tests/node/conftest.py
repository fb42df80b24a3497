"""Shared fixtures for node-layer tests: a small genesis, funded keys, a fresh store, and the
4-validator world of binding_world.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import commerce  # noqa: F401  (registers transaction types)
from commerce.address import address_of, to_text
from commerce.genesis import Genesis, parse_genesis
from commerce.keys import Keypair
from node.store import Store
from tests.foundation.workload import make_keys
from tests.node.binding_world import World

CHAIN_ID = "test-chain"


@pytest.fixture
def keys() -> list[Keypair]:
    return make_keys(6)


@pytest.fixture
def genesis(keys: list[Keypair]) -> Genesis:
    return parse_genesis({
        "chain_id": CHAIN_ID,
        "token": {"symbol": "AGR"},
        "validators": [{"name": "v0", "public_key": keys[0].public_key.hex()}],
        "accounts": [
            {"address": to_text(address_of(k.public_key)), "balance": "1000"} for k in keys[:4]
        ],
    })


@pytest.fixture
def store(tmp_path: Path, genesis: Genesis) -> Iterator[Store]:
    opened = Store.open(tmp_path / "data", genesis)
    yield opened
    opened.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = World(tmp_path)
    yield made
    made.close()
