"""Reconfiguration in the replica: the validator set in force at each height decides
quorum, primary and who may vote; catch-up follows every change; nothing is judged with
another height's set. Method: a schedule unit by unit, then a lone Replica fed hand-made
certificates, votes and NEW-VIEWs across a change of set, then the simulator's
reconfiguration scenarios (zero violations) and a mutation it must catch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from nacl.signing import SigningKey

from consensus import events as ev
from consensus import messages as wire
from consensus import sim
from consensus.errors import ConsensusLocalProtocolError
from consensus.replica import Replica
from consensus.schedule import KNOWN_FOREVER, ValidatorSchedule, ValidatorSet
from consensus.sim import SIM_CONFIG, Simulation, run_seed
from consensus.sim_app import CHAIN_ID, ToyApp, validator_keys
from consensus.sim_reconfig import RECONFIG_SCENARIOS
from tests.consensus.harness import CONFIG

KEYS = validator_keys(6)
PUB = [bytes(k.verify_key) for k in KEYS]
SET_A = tuple(PUB[:4])  # validators 0..3
SET_B = tuple(PUB[1:5])  # 0 removed, 4 added


# --- the schedule ----------------------------------------------------------------------------


def test_schedule_fixed_answers_every_height() -> None:
    schedule = ValidatorSchedule.fixed(SET_A)
    assert schedule.at(1) == schedule.at(10**9) == ValidatorSet.of(SET_A)
    assert schedule.known_through == KNOWN_FOREVER


def test_schedule_above_known_height_is_unknown_until_extended() -> None:
    schedule = ValidatorSchedule([(1, SET_A)], known_through=2)
    assert schedule.at(2) is not None
    assert schedule.at(3) is None
    assert schedule.extend(5, [(4, SET_B)])
    assert schedule.at(3) == ValidatorSet.of(SET_A)
    assert schedule.at(4) == schedule.at(5) == ValidatorSet.of(SET_B)
    assert schedule.at(6) is None


def test_schedule_repeated_report_is_accepted_and_contradiction_refused() -> None:
    schedule = ValidatorSchedule([(1, SET_A)], known_through=2)
    schedule.extend(5, [(4, SET_B)])
    assert not schedule.extend(5, [(4, SET_B)])  # a host may repeat itself
    with pytest.raises(ConsensusLocalProtocolError):
        schedule.extend(6, [(4, SET_A)])  # height 4 is known: B
    with pytest.raises(ConsensusLocalProtocolError):
        schedule.extend(6, [(7, SET_A)])  # above through_height
    with pytest.raises(ConsensusLocalProtocolError):
        schedule.extend(9, [(8, SET_A), (7, SET_B)])  # not ascending


def test_schedule_prune_keeps_the_set_in_force() -> None:
    schedule = ValidatorSchedule([(1, SET_A), (4, SET_B)], known_through=10)
    schedule.prune(5)
    assert schedule.at(5) == ValidatorSet.of(SET_B)
    assert schedule.at(3) is None  # pruned
    assert schedule.changes_above(0) == [(4, SET_B)]


def test_schedule_changes_above_a_height_exclude_a_set_starting_at_it() -> None:
    schedule = ValidatorSchedule([(1, SET_A), (4, SET_B)], known_through=10)
    assert schedule.changes_above(3) == [(4, SET_B)]
    assert schedule.changes_above(4) == []  # in force at 4 already: no change above it


@pytest.mark.parametrize("keys", [(), (PUB[0], PUB[0]), (b"short",)])
def test_validator_set_refuses_bad_sets(keys: Sequence[bytes]) -> None:
    with pytest.raises(ConsensusLocalProtocolError):
        ValidatorSet.of(keys)


def test_replica_needs_the_next_heights_set() -> None:
    with pytest.raises(ConsensusLocalProtocolError, match="schedule"):
        Replica(chain_id=CHAIN_ID, schedule=ValidatorSchedule([(1, SET_A)], 0),
                signing_key=KEYS[0], config=CONFIG)


# --- a chain whose set changes: blocks and certificates by hand --------------------------------


def certificate(height: int, digest: bytes, signers: Sequence[SigningKey],
                members: Sequence[bytes], view: int = 0) -> bytes:
    """A commit certificate of `signers`, indexed in `members` (the set of `height`)."""
    sigs = []
    for key in signers:
        index = list(members).index(bytes(key.verify_key))
        sigs.append((wire.ValidatorIndex(index),
                     wire.sign_vote(key, CHAIN_ID, wire.PHASE_COMMIT, view, height, digest,
                                    index).signature))
    return wire.encode_certificate(wire.Certificate(wire.PHASE_COMMIT, wire.View(view),
                                                    wire.Height(height), wire.Digest(digest),
                                                    tuple(sorted(sigs))))


def chain_of(sets: dict[int, tuple[bytes, ...]], heights: int,
             forge_at: int | None = None) -> list[tuple[bytes, bytes]]:
    """Blocks 1..heights, each certified by the first quorum of its height's set (or, at
    `forge_at`, by the set of the height before: a removed validator set)."""
    app, out = ToyApp(), []
    by_key = {bytes(k.verify_key): k for k in KEYS}
    for h in range(1, heights + 1):
        members = [keys for start, keys in sorted(sets.items()) if start <= h][-1]
        if h == forge_at:
            members = [keys for start, keys in sorted(sets.items()) if start < h][-1]
        block = app.build(h, b"b%d" % h)
        digest = wire.sha256_digest(block)
        signers = [by_key[k] for k in members[:ValidatorSet.of(members).quorum]]
        cert = certificate(h, digest, signers, members)
        assert app.finalize(h, digest, block, cert) == ""
        out.append((block, cert))
    return out


def started(replica: Replica) -> Replica:
    replica.step(ev.Started(), 0)
    return replica


def finalized(effects: list) -> list[int]:  # type: ignore[type-arg]
    return [e.height for e in effects if isinstance(e, ev.FinalizeBlock)]


def test_catch_up_follows_each_change_and_waits_for_unknown_sets() -> None:
    sets = {1: SET_A, 3: SET_B}
    blocks = chain_of(sets, 4)
    replica = started(Replica(chain_id=CHAIN_ID, signing_key=None, config=CONFIG,
                              schedule=ValidatorSchedule([(1, SET_A)], known_through=2)))
    peer = wire.PeerId(PUB[2])
    replica.state.learn_final(4, peer)
    fetch = [e for e in replica.step(ev.ValidatorsKnown(2), 1) if isinstance(e, ev.FetchBlocks)]
    assert fetch and fetch[0].from_height == 1
    # Block 1 finalizes; block 2 would move us to 3, whose set is not known yet: wait.
    assert finalized(replica.step(ev.BlocksFetched(peer, tuple(blocks)), 2)) == [1]
    assert replica.validators_known_through == 2
    assert finalized(replica.step(ev.ValidatorsKnown(4, ((3, SET_B),)), 3)) == [2, 3]
    assert replica.validators == SET_B
    assert finalized(replica.step(ev.ValidatorsKnown(5, ((3, SET_B),)), 4)) == [4]


def test_catch_up_refuses_a_certificate_of_the_removed_set_and_blames_its_sender() -> None:
    sets = {1: SET_A, 3: SET_B}
    blocks = chain_of(sets, 4, forge_at=3)  # height 3 signed by A, B is in force there
    replica = started(Replica(chain_id=CHAIN_ID, signing_key=None, config=CONFIG,
                              schedule=ValidatorSchedule([(1, SET_A), (3, SET_B)], 5)))
    peer = wire.PeerId(PUB[2])
    replica.state.learn_final(4, peer)
    replica.step(ev.ValidatorsKnown(5), 1)
    effects = replica.step(ev.BlocksFetched(peer, tuple(blocks)), 2)
    assert finalized(effects) == [1, 2]
    assert ev.Blame(peer, "bad_fetched_block") in effects
    assert replica.finalized_height == 2


def test_decided_of_a_height_whose_set_is_unknown_is_only_a_hint() -> None:
    sets = {1: SET_A, 3: SET_B}
    blocks = chain_of(sets, 4)
    replica = started(Replica(chain_id=CHAIN_ID, signing_key=None, config=CONFIG,
                              schedule=ValidatorSchedule([(1, SET_A)], known_through=2)))
    cert_4 = blocks[3][1]
    sender = wire.PeerId(PUB[3])
    effects = replica.step(ev.MessageReceived(sender, wire.encode_message(
        wire.Decided(wire.decode_certificate(cert_4), None))), 1)
    assert finalized(effects) == []
    assert replica.counters.get("drop_unknown_validator_set") == 1
    assert [e.peer for e in effects if isinstance(e, ev.FetchBlocks)] == [sender]


def test_vote_of_a_key_outside_its_heights_set_is_refused() -> None:
    # Validator 0 is not in the set of height 1 (B); its vote is judged with B.
    replica = started(Replica(chain_id=CHAIN_ID, signing_key=KEYS[1], config=CONFIG,
                              schedule=ValidatorSchedule([(1, SET_B)], known_through=2)))
    digest = wire.sha256_digest(b"x")
    outsider = wire.sign_vote(KEYS[0], CHAIN_ID, wire.PHASE_PREPARE, 0, 1, digest, 3)
    replica.step(ev.MessageReceived(wire.PeerId(PUB[0]), wire.encode_message(outsider)), 1)
    beyond = wire.sign_vote(KEYS[0], CHAIN_ID, wire.PHASE_PREPARE, 0, 1, digest, 4)
    replica.step(ev.MessageReceived(wire.PeerId(PUB[0]), wire.encode_message(beyond)), 2)
    assert replica.counters.get("drop_bad_signature") == 1  # index 3 is key 4's in B
    assert replica.counters.get("drop_unknown_validator") == 1  # B has 4 members
    assert not replica.state.votes


def test_observer_becomes_validator_at_its_height_and_removed_one_stops() -> None:
    sets = {1: SET_A, 3: SET_B}
    blocks = chain_of(sets, 2)
    added = started(Replica(chain_id=CHAIN_ID, signing_key=KEYS[4], config=CONFIG,
                            schedule=ValidatorSchedule([(1, SET_A), (3, SET_B)], 3)))
    removed = started(Replica(chain_id=CHAIN_ID, signing_key=KEYS[0], config=CONFIG,
                              schedule=ValidatorSchedule([(1, SET_A), (3, SET_B)], 3)))
    assert not added.is_validator and removed.is_validator
    for replica in (added, removed):
        for h, (block, cert) in enumerate(blocks, start=1):
            effects = replica.step(ev.MessageReceived(wire.PeerId(PUB[2]), wire.encode_message(
                wire.Decided(wire.decode_certificate(cert), block))), 10 * h)
            assert finalized(effects) == [h]
    assert added.is_validator and added.height == 3
    assert not removed.is_validator
    # The removed validator arms no view-change timer any more; the added one does.
    assert "view_change" not in removed.state.timers
    effects = added.step(ev.ValidatorsKnown(4), 100)
    assert added.state.index == SET_B.index(PUB[4])
    assert not any(isinstance(e, ev.SetTimer) for e in removed.step(ev.ValidatorsKnown(4), 100))


def test_new_view_across_a_change_is_judged_with_the_set_of_its_height() -> None:
    # Heights 1-2 under A, 3 on under B. A NEW-VIEW for view 1 starting at height 3 must
    # come from B's primary of view 1 (B[1] = key 2), not A's (A[1] = key 1).
    sets = {1: SET_A, 3: SET_B}
    blocks = chain_of(sets, 2)
    last = wire.decode_certificate(blocks[1][1])
    replica = Replica(chain_id=CHAIN_ID, signing_key=KEYS[3], config=CONFIG,
                      finalized_height=2, finalized_digest=last.digest,
                      finalized_certificate=blocks[1][1],
                      schedule=ValidatorSchedule([(1, SET_A), (3, SET_B)], 4))
    started(replica)

    def vc(key: SigningKey) -> wire.ViewChange:
        index = wire.ValidatorIndex(SET_B.index(bytes(key.verify_key)))
        unsigned = wire.ViewChange(wire.View(1), wire.Height(3), last, None, index, b"", None)
        sig = key.sign(wire.view_change_payload(CHAIN_ID, unsigned)).signature
        return wire.ViewChange(wire.View(1), wire.Height(3), last, None, index, sig, None)

    vcs = tuple(vc(KEYS[i]) for i in (2, 3, 4))

    def new_view(key: SigningKey, signer: int) -> bytes:
        unsigned = wire.NewView(wire.View(1), vcs, None, wire.ValidatorIndex(signer), b"")
        sig = key.sign(wire.new_view_payload(CHAIN_ID, unsigned)).signature
        return wire.encode_message(replace(unsigned, signature=sig))

    replica.step(ev.MessageReceived(wire.PeerId(PUB[1]), new_view(KEYS[1], 0)), 1)
    assert replica.counters.get("drop_not_primary") == 1 and replica.view == 0
    replica.step(ev.MessageReceived(wire.PeerId(PUB[2]), new_view(KEYS[2], 1)), 2)
    assert replica.view == 1 and replica.active


# --- the simulator -------------------------------------------------------------------------------

RECONFIG_TIER = [(name, n) for name in RECONFIG_SCENARIOS for n in (4, 7, 10)]
RECONFIG_SEEDS = 2


@pytest.mark.parametrize("name,n", RECONFIG_TIER, ids=[f"{s}-n{n}" for s, n in RECONFIG_TIER])
def test_sim_reconfiguration_scenarios_have_no_violations(name: str, n: int) -> None:
    failures = []
    for seed in range(RECONFIG_SEEDS):
        simulation = Simulation(seed, n, scenario=name)
        result = simulation.run()
        if result.violations:
            failures.append((sim.replay_command(seed, n) + f" --scenario {name}",
                             result.violations[:2]))
            continue
        # Every change of the script took effect on every honest node, and the chain
        # kept finalizing under the last set, with certificates of that set.
        assert simulation.reconfig is not None
        script = simulation.reconfig.script
        for node in simulation.honest():
            assert node.app.applied == len(script), (name, n, seed, node.index)
        app = max((node.app for node in simulation.honest()), key=lambda a: a.height)
        assert app.sets[-1][0] <= app.height, "the chain went past the last change"
    assert failures == []


def test_sim_counting_a_removed_validators_vote_is_caught() -> None:
    """Mutation: every height judged with the first set (a removed validator's votes
    still count). The certificate checker must see a signer outside the set."""
    broken = replace(SIM_CONFIG, stale_membership=True)
    found: list[str] = []
    for seed in range(10):
        result = run_seed(seed, 4, scenario="remove_one", config=broken)
        found += [v for v in result.violations if v.startswith("certificate")]
        if found:
            break
    assert found, "the simulator missed votes of a removed validator"


@pytest.mark.soak
def test_sim_reconfiguration_soak() -> None:
    failures = []
    for name in RECONFIG_SCENARIOS:
        for n in (4, 7, 10):
            for seed in range(100, 300):
                if run_seed(seed, n, scenario=name).violations:
                    failures.append(sim.replay_command(seed, n) + f" --scenario {name}")
    assert failures == []
