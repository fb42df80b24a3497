"""Goal: `decode_tx` turns any bytes a client or peer sends into a Transaction or a commerce
ValidationError, never another exception, and what it accepts is exactly canonical."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import settings as Settings

from commerce.errors import ValidationError
from commerce.limits import MAX_TX_BYTES
from commerce.tx import decode_tx

from .mutate import TIERS, fuzz_bytes, pack
from .samples import transactions

VALID = [tx.raw for tx in transactions()]


@pytest.mark.parametrize("tier", TIERS)
def test_decode_tx_any_bytes_gives_transaction_or_validation_error(tier: Settings) -> None:
    @tier
    @given(fuzz_bytes(VALID))
    @example(b"\x91" * 1_000 + b"\xc0")  # deep nesting, decoded without the leaf walk
    @example(b"\x96" + b"\x91" * 900 + b"\xc0" * 6)
    @example(pack(["c", bytes(32), 0, "transfer", [[[[[b"x"]]]]], bytes(64)]))
    @example(b"\xc4" + bytes(1) * (MAX_TX_BYTES + 1))
    def check(data: bytes) -> None:
        original = bytes(data)
        try:
            tx = decode_tx(data)
        except ValidationError:
            assert data == original, "decoding changed its input"
            return
        assert tx.raw == data, "a transaction keeps its exact bytes"
        assert type(tx.nonce) is int and type(tx.sender) is bytes
        assert decode_tx(tx.raw) == tx, "decoding is deterministic"

    check()
