"""The consensus timers are chain parameters: voted within bounds, applied at the boundary.

Method: a chain in memory (shop.py); a validator proposes a new view-change timeout base
or idle block interval, the others vote, and the parameters in force are read back with
`ChainContext.at` at each height, as the node reads them for its replica. The bounds are
checked at their edges, one past each, and against each other (the base at least twice
the idle interval), also when a change that was fine when proposed no longer fits the
parameters scheduled by the time it passes.
"""

from __future__ import annotations

import pytest

from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import ChainParams, parse_genesis
from commerce.governance import ValidatorPropose, param_bounds
from commerce.limits import (
    MAX_IDLE_BLOCK_INTERVAL_MS,
    MAX_VIEW_CHANGE_TIMEOUT_MS,
    MIN_IDLE_BLOCK_INTERVAL_MS,
    MIN_VIEW_CHANGE_TIMEOUT_MS,
)
from tests.commerce.shop import Shop
from tests.commerce.test_governance import closed, propose, vote


def set_param(param: str, value: int) -> ValidatorPropose:
    return ValidatorPropose(kind="set_param", param=param, value=value)


def test_timers_genesis_defaults_are_the_former_node_defaults() -> None:
    params = ChainParams()
    assert (params.view_change_timeout_ms, params.idle_block_interval_ms) == (4_000, 1_000)
    assert param_bounds("view_change_timeout_ms") == (MIN_VIEW_CHANGE_TIMEOUT_MS,
                                                      MAX_VIEW_CHANGE_TIMEOUT_MS)
    assert param_bounds("idle_block_interval_ms") == (MIN_IDLE_BLOCK_INTERVAL_MS,
                                                      MAX_IDLE_BLOCK_INTERVAL_MS)


def test_timer_change_applies_at_the_boundary_only() -> None:
    shop = Shop(governance_activation_blocks=3)
    v = shop.validators
    proposal = propose(shop, v[0], set_param("view_change_timeout_ms", 9_000))
    info = closed(vote(shop, proposal, v[1:3]))
    boundary = info["activation_height"]
    assert info["status"] == "passed" and boundary == shop.height + 3
    assert shop.ctx(boundary - 1).params.view_change_timeout_ms == 4_000
    assert shop.ctx(boundary).params.view_change_timeout_ms == 9_000
    assert shop.ctx(boundary + 1_000).params.idle_block_interval_ms == 1_000
    idle = propose(shop, v[1], set_param("idle_block_interval_ms", 4_500))
    later = closed(vote(shop, idle, [v[0], v[2]]))["activation_height"]
    timers = [(p.view_change_timeout_ms, p.idle_block_interval_ms)
              for p in (shop.ctx(h).params for h in (boundary - 1, later - 1, later))]
    assert timers == [(4_000, 1_000), (9_000, 1_000), (9_000, 4_500)]


@pytest.mark.parametrize(("param", "value", "code"), [
    ("view_change_timeout_ms", MIN_VIEW_CHANGE_TIMEOUT_MS - 1, ErrorCode.PARAM_OUT_OF_BOUNDS),
    ("view_change_timeout_ms", MAX_VIEW_CHANGE_TIMEOUT_MS + 1, ErrorCode.PARAM_OUT_OF_BOUNDS),
    ("idle_block_interval_ms", MIN_IDLE_BLOCK_INTERVAL_MS - 1, ErrorCode.PARAM_OUT_OF_BOUNDS),
    ("idle_block_interval_ms", MAX_IDLE_BLOCK_INTERVAL_MS + 1, ErrorCode.PARAM_OUT_OF_BOUNDS),
    # In bounds, but the base must stay at least twice the idle interval (1,000 and 4,000).
    ("view_change_timeout_ms", 1_999, ErrorCode.PARAM_CONFLICT),
    ("idle_block_interval_ms", 2_001, ErrorCode.PARAM_CONFLICT),
])
def test_timer_values_out_of_bounds_or_in_conflict_are_refused(param: str, value: int,
                                                                code: ErrorCode) -> None:
    shop = Shop()
    shop.refuse(code, shop.validators[0], set_param(param, value))


@pytest.mark.parametrize(("param", "value"), [
    ("view_change_timeout_ms", 2_000),  # exactly twice the idle interval
    ("idle_block_interval_ms", 2_000),  # exactly half the base
    ("idle_block_interval_ms", MIN_IDLE_BLOCK_INTERVAL_MS),
    ("view_change_timeout_ms", MAX_VIEW_CHANGE_TIMEOUT_MS),
])
def test_timer_values_at_their_edges_are_accepted(param: str, value: int) -> None:
    shop = Shop()
    proposal = propose(shop, shop.validators[0], set_param(param, value))
    info = closed(vote(shop, proposal, shop.validators[1:3]))
    assert info["status"] == "passed"
    assert getattr(shop.ctx(info["activation_height"]).params, param) == value


def test_timer_change_that_conflicts_with_one_passed_before_fails() -> None:
    # Each fits the parameters of the day it is proposed; together they would break the
    # relation: the one that passes second is checked against what is scheduled by then.
    shop = Shop()
    v = shop.validators
    slower = propose(shop, v[0], set_param("idle_block_interval_ms", 2_000))
    faster = propose(shop, v[1], set_param("view_change_timeout_ms", 3_000))
    assert closed(vote(shop, slower, v[1:3]))["status"] == "passed"
    info = closed(vote(shop, faster, [v[0], v[2]]))
    assert info["status"] == "failed" and info["reason"] == "param_conflict"
    assert shop.ctx(shop.height + 10).params.view_change_timeout_ms == 4_000


def test_genesis_with_conflicting_timers_is_refused() -> None:
    document = {"chain_id": "t", "token": {"symbol": "AG"},
                "validators": [{"name": "v0", "public_key": "ab" * 32}],
                "params": {"view_change_timeout_ms": 3_000, "idle_block_interval_ms": 2_000}}
    with pytest.raises(ValidationError) as refused:
        parse_genesis(document)
    assert refused.value.code == ErrorCode.BAD_GENESIS
    assert "at least 2 x idle_block_interval_ms" in refused.value.message
