"""Goal: a genesis file from disk or an operator (`load_genesis` on any text) gives a Genesis
or a commerce ValidationError(bad_genesis) with a one-line message, never another exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import settings as Settings

from commerce.address import address_of, to_text
from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import load_genesis

from .json_doors import DEEP_JSON, NEWLINE_KEY, json_texts
from .mutate import TIERS
from .samples import ACCOUNTS, CHAIN_ID, VALIDATORS

DOCUMENT = {
    "chain_id": CHAIN_ID,
    "genesis_time": "2024-01-01T00:00:00Z",
    "token": {"symbol": "AGR", "decimals": 6},
    "validators": [{"name": f"v{i}", "public_key": key.hex()}
                   for i, key in enumerate(VALIDATORS)],
    "accounts": [{"address": to_text(address_of(k.public_key)), "balance": "1000.5"}
                 for k in ACCOUNTS],
    "params": {"max_block_txs": 100, "epoch_blocks": 10},
}


@pytest.mark.parametrize("tier", TIERS)
def test_load_genesis_any_text_gives_genesis_or_bad_genesis(tier: Settings) -> None:
    @tier
    @given(json_texts(DOCUMENT))
    @example(DEEP_JSON)
    @example(json.dumps({**DOCUMENT, **NEWLINE_KEY}).encode())
    @example(json.dumps({**DOCUMENT, "token": {"symbol": "AGR", "de\ncimals": 6}}).encode())
    def check(text: bytes) -> None:
        for checked_before in (False, True):
            try:
                genesis = load_genesis(text, checked_before=checked_before)
            except ValidationError as exc:
                assert exc.code is ErrorCode.BAD_GENESIS
                continue
            assert genesis.chain_id and len(genesis.validators) >= 1

    check()
