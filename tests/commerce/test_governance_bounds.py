"""The governance bounds commerce mirrors from the layers it may not import hold.

Method: commerce bounds a NEW-VIEW's size by a formula and the P2P payload by a copied
constant (commerce imports neither node nor p2p); this test compares them with the real
encoder (`consensus.messages.new_view_bytes_max`) for every set size and with p2p's limit, and
checks the parameter bounds table against the genesis field bounds.
"""

from __future__ import annotations

from commerce.genesis import ChainParams
from commerce.governance import GOVERNED_PARAMS, consensus_fits, param_bounds
from commerce.limits import (
    CONSENSUS_PAYLOAD_BYTES,
    MAX_VALIDATORS,
    NEW_VIEW_BASE_BYTES,
    NEW_VIEW_PER_VALIDATOR2_BYTES,
)
from consensus.messages import new_view_bytes_max
from p2p.limits import MAX_PAYLOAD_BYTES


def test_payload_bound_is_p2ps() -> None:
    assert CONSENSUS_PAYLOAD_BYTES == MAX_PAYLOAD_BYTES


def test_new_view_bound_covers_the_real_encoding_for_every_set_size() -> None:
    for count in range(1, MAX_VALIDATORS + 1):
        bound = NEW_VIEW_PER_VALIDATOR2_BYTES * count * count + NEW_VIEW_BASE_BYTES
        assert new_view_bytes_max(count, 0) <= bound, count
        # ... and is not loose by more than a tenth past a handful of validators.
        if count >= 10:
            assert bound <= new_view_bytes_max(count, 0) * 11 // 10 + NEW_VIEW_BASE_BYTES


def test_consensus_fits_refuses_exactly_past_the_payload() -> None:
    overhead = NEW_VIEW_PER_VALIDATOR2_BYTES * 16 + NEW_VIEW_BASE_BYTES
    assert consensus_fits(4, CONSENSUS_PAYLOAD_BYTES - overhead)
    assert not consensus_fits(4, CONSENSUS_PAYLOAD_BYTES - overhead + 1)


def test_every_parameter_is_governed_within_its_genesis_bounds() -> None:
    assert GOVERNED_PARAMS == tuple(ChainParams.model_fields)
    assert param_bounds("governance_activation_blocks") == (2, 100_000)
    assert param_bounds("max_referral_bps") == (0, 5_000)
    assert param_bounds("account_reserve_minor") == (1, 10**12)
    for name in GOVERNED_PARAMS:
        low, high = param_bounds(name)
        default = ChainParams.model_fields[name].default
        assert low <= default <= high, name
