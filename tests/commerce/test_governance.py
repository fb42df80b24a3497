"""Governance rules: proposals, votes, activation at a boundary, and every refusal.

Method: a chain in memory (shop.py), one transaction per block; the set and parameters in
force are read back with `validators_in_force` / `ChainContext.at` at each height, as the
node reads them, and the header commitment with `BlockResult.next_validators_hash`.
"""

from __future__ import annotations

from typing import Any

import pytest

from commerce.address import address_of
from commerce.errors import ErrorCode, ValidationError
from commerce.governance import (
    ValidatorPropose,
    ValidatorVote,
    ValidatorWithdraw,
    rotation_message,
)
from commerce.governance_state import (
    ProposalStatus,
    get_proposal,
    get_summary,
    set_at,
    validator_set_hash,
    validators_in_force,
)
from commerce.keys import Keypair
from commerce.limits import MAX_OPEN_PROPOSALS_PER_PROPOSER
from commerce.machine import Event
from commerce.merchants import MerchantRegister, MerchantVote
from commerce.rewards import epoch_of
from commerce.transfer import Transfer
from tests.commerce.shop import CHAIN_ID, Shop, addr, approve, keypair


def add_body(new: Keypair, name: str = "new0", **fields: Any) -> ValidatorPropose:
    values: dict[str, Any] = {"kind": "add", "key": new.public_key, "name": name,
                              "p2p_address": "10.0.0.9:26656"}
    values.update(fields)
    return ValidatorPropose(**values)


def propose(shop: Shop, key: Keypair, body: ValidatorPropose) -> int:
    """Send a proposal; return its id."""
    events = shop.do(key, body)
    assert events[0].kind == "validator_propose"
    return int(events[0].data[0])


def vote(shop: Shop, proposal: int, voters: list[Keypair], choice: str = "yes") -> list[Event]:
    events: list[Event] = []
    for voter in voters:
        events += shop.do(voter, ValidatorVote(proposal=proposal, vote=choice))
    return events


def closed(events: list[Event]) -> dict[str, Any]:
    found = [e.named() for e in events if e.kind == "proposal_closed"]
    assert len(found) == 1, events
    return found[0]


def keys_at(shop: Shop, height: int) -> tuple[bytes, ...]:
    return validators_in_force(shop.state, shop.genesis, height)


def test_add_passes_with_more_than_two_thirds_and_applies_after_the_delay() -> None:
    shop = Shop(governance_activation_blocks=3)
    new = keypair("new", 0)
    proposal = propose(shop, shop.validators[0], add_body(new))
    # The proposer's yes and one more: 2 of 4 is not more than two thirds.
    assert vote(shop, proposal, [shop.validators[1]]) == [
        Event("validator_vote", (addr(shop.validators[1]),), (proposal, "yes", 2, 0))]
    events = vote(shop, proposal, [shop.validators[2]])
    passed_at = shop.height
    info = closed(events)
    assert info == {"proposal": proposal, "status": "passed",
                    "activation_height": passed_at + 3, "reason": ""}
    old = tuple(v.public_key for v in shop.validators)
    for height in range(1, passed_at + 3):
        assert keys_at(shop, height) == old
    assert keys_at(shop, passed_at + 3) == (*old, new.public_key)
    entry = set_at(shop.state, shop.genesis, passed_at + 3)[-1]
    assert (entry.name, entry.p2p_address, entry.merchant) == ("new0", "10.0.0.9:26656", b"")
    # The new validator is not one until the boundary, then counts like any other.
    shop.do(shop.validators[0], Transfer(to=addr(new), amount=5_000_000, memo=""))
    assert shop.height == passed_at + 1
    shop.refuse(ErrorCode.NOT_VALIDATOR, new, add_body(keypair("new", 1), "new1"))
    shop.advance(1)
    assert shop.ctx().validators == (*old, new.public_key)
    assert propose(shop, new, add_body(keypair("new", 1), "new1")) == proposal + 1


def test_header_commits_to_the_next_heights_set() -> None:
    shop = Shop()  # the default delay, 2 blocks
    new = keypair("new", 0)
    proposal = propose(shop, shop.validators[0], add_body(new))
    old_hash = validator_set_hash([v.public_key for v in shop.validators])
    vote(shop, proposal, [shop.validators[1]])
    result = shop.block([shop.sign(shop.validators[2],
                                   ValidatorVote(proposal=proposal, vote="yes"))])
    passed_at = shop.height
    # Block h commits to h + 1's set: unchanged until the block before the boundary.
    assert result.next_validators_hash == old_hash
    before_boundary = shop.block()
    new_hash = validator_set_hash([*(v.public_key for v in shop.validators), new.public_key])
    assert shop.height == passed_at + 1
    assert before_boundary.next_validators_hash == new_hash
    assert shop.block().next_validators_hash == new_hash


def test_no_votes_reject_and_a_vote_after_closing_is_refused() -> None:
    shop = Shop()
    proposal = propose(shop, shop.validators[0], add_body(keypair("new", 0)))
    assert vote(shop, proposal, [shop.validators[1]], "no")[-1].kind == "validator_vote"
    # Two no of four: yes can reach at most 2, not more than two thirds.
    info = closed(vote(shop, proposal, [shop.validators[2]], "no"))
    assert info["status"] == "rejected" and info["activation_height"] == 0
    shop.refuse(ErrorCode.PROPOSAL_CLOSED, shop.validators[3],
                ValidatorVote(proposal=proposal, vote="yes"))
    assert get_summary(shop.state).open_count == 0
    assert keys_at(shop, shop.height + 5) == tuple(v.public_key for v in shop.validators)


def test_proposal_expires_at_the_end_of_its_expiry_block() -> None:
    shop = Shop(governance_expiry_blocks=5)
    proposal = propose(shop, shop.validators[0], add_body(keypair("new", 0)))
    created = shop.height
    assert shop.advance(4) == []
    assert shop.height == created + 4
    vote(shop, proposal, [shop.validators[1]])  # block created + 5: still open
    assert shop.height == created + 5
    record = get_proposal(shop.state, proposal)
    assert record is not None and record.status == ProposalStatus.EXPIRED
    shop.refuse(ErrorCode.PROPOSAL_CLOSED, shop.validators[2],
                ValidatorVote(proposal=proposal, vote="yes"))
    assert get_summary(shop.state).open_count == 0


def test_expiry_event_comes_from_the_end_of_block_step() -> None:
    shop = Shop(governance_expiry_blocks=3)
    proposal = propose(shop, shop.validators[0], add_body(keypair("new", 0)))
    events = shop.advance(3)
    assert closed(events) == {"proposal": proposal, "status": "expired",
                              "activation_height": 0, "reason": ""}


def test_withdraw_by_the_proposer_only() -> None:
    shop = Shop()
    proposal = propose(shop, shop.validators[0], add_body(keypair("new", 0)))
    shop.refuse(ErrorCode.NOT_PROPOSER, shop.validators[1], ValidatorWithdraw(proposal=proposal))
    shop.refuse(ErrorCode.NOT_FOUND, shop.validators[0], ValidatorWithdraw(proposal=99))
    events = shop.do(shop.validators[0], ValidatorWithdraw(proposal=proposal))
    assert closed(events)["status"] == "withdrawn"
    shop.refuse(ErrorCode.PROPOSAL_CLOSED, shop.validators[0],
                ValidatorWithdraw(proposal=proposal))
    shop.refuse(ErrorCode.PROPOSAL_CLOSED, shop.validators[1],
                ValidatorVote(proposal=proposal, vote="yes"))


def test_remove_never_takes_the_set_below_four() -> None:
    shop = Shop()
    shop.refuse(ErrorCode.SET_TOO_SMALL, shop.validators[0],
                ValidatorPropose(kind="remove", key=shop.validators[3].public_key))
    small = Shop(n_validators=2)
    small.refuse(ErrorCode.SET_TOO_SMALL, small.validators[0],
                 ValidatorPropose(kind="remove", key=small.validators[1].public_key))
    shop.refuse(ErrorCode.NOT_IN_SET, shop.validators[0],
                ValidatorPropose(kind="remove", key=keypair("new", 0).public_key))


def test_a_removed_validators_vote_stops_counting_at_the_boundary() -> None:
    shop = Shop(n_validators=5)
    v = shop.validators
    gone = v[4]
    # Proposal A gets gone's yes before gone leaves.
    a = propose(shop, v[0], add_body(keypair("new", 0)))
    vote(shop, a, [gone])
    removal = propose(shop, v[1], ValidatorPropose(kind="remove", key=gone.public_key))
    assert vote(shop, removal, [v[2], v[3]])[-1].kind == "validator_vote"  # 3 of 5
    info = closed(vote(shop, removal, [v[0]]))  # 4 of 5 is more than two thirds
    assert info["status"] == "passed"
    assert keys_at(shop, info["activation_height"]) == tuple(k.public_key for k in v[:4])
    shop.advance(2)
    assert shop.ctx().validators == tuple(k.public_key for k in v[:4])
    shop.refuse(ErrorCode.NOT_VALIDATOR, gone, ValidatorVote(proposal=a, vote="yes"))
    # A has the yes of v0 and gone; only v0's counts now: with v1 it is 2 of 4.
    events = vote(shop, a, [v[1]])
    assert events[0].named()["yes"] == 2
    assert closed(vote(shop, a, [v[2]]))["status"] == "passed"


def test_a_passed_change_that_no_longer_applies_fails() -> None:
    shop = Shop(n_validators=5)
    v = shop.validators
    first = propose(shop, v[0], ValidatorPropose(kind="remove", key=v[4].public_key))
    second = propose(shop, v[0], ValidatorPropose(kind="remove", key=v[3].public_key))
    assert closed(vote(shop, first, v[1:4]))["status"] == "passed"
    # The scheduled set has 4 validators now: a second removal would take it to 3.
    info = closed(vote(shop, second, v[1:3]))
    assert info["status"] == "failed" and info["reason"] == "set_too_small"
    assert len(keys_at(shop, shop.height + 10)) == 4


def test_two_changes_passed_for_one_boundary_merge() -> None:
    # The delay shrinks from 10 to 2: a change passed after that lands on the boundary of
    # one passed before (never earlier), and both are in the one record of that height.
    shop = Shop(governance_activation_blocks=10)
    v = shop.validators
    shorter = propose(shop, v[0], ValidatorPropose(kind="set_param", value=2,
                                                   param="governance_activation_blocks"))
    shorter_at = closed(vote(shop, shorter, v[1:3]))["activation_height"]
    shop.advance(shorter_at - 4 - shop.height)
    a = propose(shop, v[0], add_body(keypair("new", 0), "a"))
    boundary = closed(vote(shop, a, v[1:3]))["activation_height"]
    assert shop.height + 1 == shorter_at and boundary == shorter_at + 9
    assert shop.ctx().params.governance_activation_blocks == 2
    b = propose(shop, v[1], add_body(keypair("new", 1), "b"))
    vote(shop, b, [v[0]])
    assert shop.height + 1 + 2 < boundary
    assert closed(vote(shop, b, [v[2]]))["activation_height"] == boundary
    assert len(keys_at(shop, boundary - 1)) == 4
    assert len(keys_at(shop, boundary)) == 6
    assert get_summary(shop.state).sets_count == 1


def test_set_history_answers_every_past_height() -> None:
    shop = Shop(n_validators=4)
    v = shop.validators
    expected: dict[int, int] = {}
    for index in range(3):
        proposal = propose(shop, v[0], add_body(keypair("new", index), f"n{index}"))
        needed = len(shop.ctx().validators) * 2 // 3 + 1
        voters = [k for k in shop.validators if k is not v[0]] + \
            [keypair("new", i) for i in range(index)]
        info = closed(vote(shop, proposal, voters[:needed - 1]))
        expected[info["activation_height"]] = 5 + index
        shop.advance(3)
    sizes = [len(keys_at(shop, h)) for h in range(1, shop.height + 1)]
    current = 4
    for height, size in zip(range(1, shop.height + 1), sizes, strict=True):
        current = expected.get(height, current)
        assert size == current, height


def test_rotate_key_keeps_the_place_and_needs_both_keys() -> None:
    shop = Shop()
    v = shop.validators
    new = keypair("rot", 0)
    wrong = keypair("rot", 1).sign(rotation_message(CHAIN_ID, v[1].public_key, new.public_key))
    shop.refuse(ErrorCode.BAD_ROTATION, v[1],
                ValidatorPropose(kind="rotate_key", key=new.public_key, signature=wrong))
    # Signed by the new key for another old key: refused too.
    other = new.sign(rotation_message(CHAIN_ID, v[2].public_key, new.public_key))
    shop.refuse(ErrorCode.BAD_ROTATION, v[1],
                ValidatorPropose(kind="rotate_key", key=new.public_key, signature=other))
    shop.refuse(ErrorCode.VALIDATOR_EXISTS, v[1], ValidatorPropose(
        kind="rotate_key", key=v[2].public_key,
        signature=v[2].sign(rotation_message(CHAIN_ID, v[1].public_key, v[2].public_key))))
    signature = new.sign(rotation_message(CHAIN_ID, v[1].public_key, new.public_key))
    proposal = propose(shop, v[1], ValidatorPropose(kind="rotate_key", key=new.public_key,
                                                    signature=signature))
    info = closed(vote(shop, proposal, [v[0], v[2]]))
    assert info["status"] == "passed"
    rotated = keys_at(shop, info["activation_height"])
    assert rotated == (v[0].public_key, new.public_key, v[2].public_key, v[3].public_key)
    assert set_at(shop.state, shop.genesis, info["activation_height"])[1].name == "v1"
    shop.advance(2)
    shop.refuse(ErrorCode.NOT_VALIDATOR, v[1], add_body(keypair("new", 0)))
    shop.do(v[0], Transfer(to=address_of(new.public_key), amount=5_000_000, memo=""))
    assert propose(shop, new, add_body(keypair("new", 0))) > proposal


def test_set_param_changes_behaviour_at_the_boundary() -> None:
    shop = Shop(governance_activation_blocks=4)
    proposal = propose(shop, shop.validators[0],
                       ValidatorPropose(kind="set_param", param="poll_max_blocks", value=7))
    info = closed(vote(shop, proposal, shop.validators[1:3]))
    boundary = info["activation_height"]
    assert shop.ctx(boundary - 1).params.poll_max_blocks == shop.params.poll_max_blocks
    assert shop.ctx(boundary).params.poll_max_blocks == 7
    assert shop.ctx(boundary + 100).params.account_reserve_minor == \
        shop.params.account_reserve_minor


def test_a_new_epoch_length_starts_a_new_epoch_numbered_after_the_old_ones() -> None:
    shop = Shop(epoch_blocks=10, governance_activation_blocks=3)
    shop.advance(20)  # heights 1..20: epochs 0, 1, 2
    proposal = propose(shop, shop.validators[0],
                       ValidatorPropose(kind="set_param", param="epoch_blocks", value=100))
    boundary = closed(vote(shop, proposal, shop.validators[1:3]))["activation_height"]
    assert boundary == 26
    assert epoch_of(shop.ctx(boundary - 1)) == 2  # 25 // 10
    # 100-block epochs from 26 on, numbered after epoch 2: never back to 0.
    assert [epoch_of(shop.ctx(h)) for h in (26, 125, 126, 226)] == [3, 3, 4, 5]
    shorter = propose(shop, shop.validators[0],
                      ValidatorPropose(kind="set_param", param="epoch_blocks", value=5))
    again = closed(vote(shop, shorter, shop.validators[1:3]))["activation_height"]
    assert epoch_of(shop.ctx(again)) == 4 and epoch_of(shop.ctx(again + 5)) == 5


@pytest.mark.parametrize(("param", "value", "code"), [
    ("epoch_blocks", 0, ErrorCode.PARAM_OUT_OF_BOUNDS),
    ("nope", 1, ErrorCode.UNKNOWN_PARAM),
    ("governance_activation_blocks", 1, ErrorCode.PARAM_OUT_OF_BOUNDS),
    ("governance_activation_blocks", 100_001, ErrorCode.PARAM_OUT_OF_BOUNDS),
    ("max_block_txs", 0, ErrorCode.PARAM_OUT_OF_BOUNDS),
    ("max_block_txs", 10_001, ErrorCode.PARAM_OUT_OF_BOUNDS),
    ("max_referral_bps", 5_001, ErrorCode.PARAM_OUT_OF_BOUNDS),
    ("account_reserve_minor", 0, ErrorCode.PARAM_OUT_OF_BOUNDS),
    ("max_block_bytes", 16_000, ErrorCode.PARAM_OUT_OF_BOUNDS),
])
def test_set_param_refusals(param: str, value: int, code: ErrorCode) -> None:
    shop = Shop()
    shop.refuse(code, shop.validators[0],
                ValidatorPropose(kind="set_param", param=param, value=value))


def test_add_refusals() -> None:
    shop = Shop()
    v = shop.validators
    shop.refuse(ErrorCode.NOT_VALIDATOR, shop.users[0], add_body(keypair("new", 0)))
    shop.refuse(ErrorCode.VALIDATOR_EXISTS, v[0], add_body(v[1]))
    shop.refuse(ErrorCode.VALIDATOR_EXISTS, v[0], add_body(keypair("new", 0), "v2"))
    shop.refuse(ErrorCode.NOT_MERCHANT, v[0],
                add_body(keypair("new", 0), merchant=addr(shop.users[0])))
    for fields in ({"p2p_address": ""}, {"p2p_address": "nohost"}, {"p2p_address": "h:0"},
                   {"name": "bad name"}, {"param": "x"}, {"key": bytes(31)},
                   {"signature": bytes(64)}, {"value": 3}):
        shop.refuse(ErrorCode.FIELD_INVALID, v[0], add_body(keypair("new", 0), **fields))
    shop.refuse(ErrorCode.FIELD_INVALID, v[0], ValidatorPropose(kind="set_param"))
    propose(shop, v[0], add_body(keypair("new", 0)))
    shop.refuse(ErrorCode.DUPLICATE_PROPOSAL, v[1], add_body(keypair("new", 0), "other"))
    shop.refuse(ErrorCode.DUPLICATE_PROPOSAL, v[1], add_body(keypair("new", 1)))


def test_add_with_an_approved_merchant() -> None:
    shop = Shop()
    merchant = shop.users[0]
    approve(shop, merchant)
    proposal = propose(shop, shop.validators[0],
                       add_body(keypair("new", 0), merchant=addr(merchant)))
    info = closed(vote(shop, proposal, shop.validators[1:3]))
    entry = set_at(shop.state, shop.genesis, info["activation_height"])[-1]
    assert entry.merchant == addr(merchant)


def test_set_too_large_at_the_validator_cap_and_the_payload_bound() -> None:
    full = Shop(n_validators=100, n_users=0)
    full.refuse(ErrorCode.SET_TOO_LARGE, full.validators[0], add_body(keypair("new", 0)))
    # 21 validators with the largest blocks fit one P2P payload; 22 would not.
    wide = Shop(n_validators=21, n_users=0, max_block_bytes=4_128_768)
    wide.refuse(ErrorCode.SET_TOO_LARGE, wide.validators[0], add_body(keypair("new", 0)))
    fits = Shop(n_validators=21, n_users=0, max_block_bytes=4_000_000)
    propose(fits, fits.validators[0], add_body(keypair("new", 0)))


def test_open_proposals_are_capped_per_proposer_and_in_all() -> None:
    shop = Shop(n_validators=9, n_users=0)
    v = shop.validators
    for index in range(MAX_OPEN_PROPOSALS_PER_PROPOSER):
        propose(shop, v[0], add_body(keypair("new", index), f"n{index}"))
    shop.refuse(ErrorCode.PROPOSAL_LIMIT, v[0], add_body(keypair("new", 50), "n50"))
    for proposer in range(1, 8):
        for index in range(MAX_OPEN_PROPOSALS_PER_PROPOSER):
            tag = proposer * 10 + index
            propose(shop, v[proposer], add_body(keypair("new", tag), f"n{tag}"))
    assert get_summary(shop.state).open_count == 32
    shop.refuse(ErrorCode.PROPOSAL_LIMIT, v[8], add_body(keypair("new", 99), "n99"))


def test_vote_refusals() -> None:
    shop = Shop()
    shop.refuse(ErrorCode.NOT_FOUND, shop.validators[0], ValidatorVote(proposal=1, vote="yes"))
    proposal = propose(shop, shop.validators[0], add_body(keypair("new", 0)))
    shop.refuse(ErrorCode.ALREADY_VOTED, shop.validators[0],
                ValidatorVote(proposal=proposal, vote="no"))
    shop.refuse(ErrorCode.NOT_VALIDATOR, shop.users[0],
                ValidatorVote(proposal=proposal, vote="yes"))


def test_a_single_validator_chain_passes_its_own_proposal() -> None:
    shop = Shop(n_validators=1)
    events = shop.do(shop.validators[0], add_body(keypair("new", 0)))
    assert closed(events)["status"] == "passed"


def test_merchant_votes_recount_against_the_set_in_force() -> None:
    shop = Shop(n_validators=10, n_users=1)
    v = shop.validators
    merchant = shop.users[0]
    shop.do(merchant, MerchantRegister(name="Acme", profile=""))
    for voter in v[4:10]:  # 6 of 10: not more than two thirds
        shop.do(voter, MerchantVote(merchant=addr(merchant), action="approve"))
    for leaving in v[4:10]:  # six removals take the set to v0..v3
        keys = validators_in_force(shop.state, shop.genesis, shop.height + 1)
        proposal = propose(shop, v[0], ValidatorPropose(kind="remove", key=leaving.public_key))
        voters = [k for k in v[1:] if k.public_key in keys]
        needed = len(keys) * 2 // 3 + 1
        closed(vote(shop, proposal, voters[:needed - 1]))
        shop.advance(2)
    assert shop.ctx().validators == tuple(k.public_key for k in v[:4])
    # The six votes of removed validators count no more: one vote of four now.
    events = shop.do(v[0], MerchantVote(merchant=addr(merchant), action="approve"))
    assert events[0].named()["votes"] == 1
    with pytest.raises(ValidationError):
        shop.do(v[4], MerchantVote(merchant=addr(merchant), action="approve"))
