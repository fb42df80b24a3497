"""The whole-node simulator as a test tier: seeded runs of four real nodes (Chain, Mempool,
LevelDB store, sync codec, the driver's effect rules) through every fault and Byzantine
behaviour end with no violation; issue 19's defects 1 and 2, put back in-process, are
found within a bounded number of seeds; a seed replays exactly; the command line prints
a replay command. The larger tier is marked `soak` (`make soak`)."""

from __future__ import annotations

import json

import pytest

from node import sim
from node.sim import MUTATIONS, SCENARIOS, run_seed

# (first seed, seeds count) chunks at n = 4, every scenario in each chunk.
TIERS = [(start, 40) for start in range(0, 240, 40)]
MUTATION_SEEDS_MAX = 24  # a reverted fix must be found within this many seeds


@pytest.mark.parametrize("first,count", TIERS, ids=[f"seeds{s}" for s, _ in TIERS])
def test_node_sim_seeds_have_no_violations(first: int, count: int) -> None:
    failures = []
    for seed in range(first, first + count):
        result = run_seed(seed)
        if result.violations:
            failures.append((sim.replay_command(seed), result.violations[:2]))
    assert failures == []


def test_node_sim_tier_covers_every_scenario() -> None:
    covered = {SCENARIOS[seed % len(SCENARIOS)] for first, count in TIERS
               for seed in range(first, first + count)}
    assert covered == set(SCENARIOS)


def _first_finding(mutation: str, scenarios: tuple[str, ...], prefix: str) -> list[str]:
    """Seeds 0.. over `scenarios` with `mutation` until a violation starting `prefix`."""
    found: list[str] = []
    for seed in range(MUTATION_SEEDS_MAX):
        scenario = scenarios[seed % len(scenarios)]
        result = run_seed(seed, scenario=scenario, digest_fn=MUTATIONS[mutation])
        found += [v for v in result.violations if v.startswith(prefix)]
        if found:
            break
    return found


def test_node_sim_header_only_digest_halts_an_honest_node() -> None:
    # Defect 1: a body not bound by the digest is finalized, and the driver stops.
    found = _first_finding("header_digest", ("byz_preprepare", "byz_decided", "byz_sync"),
                           "halt")
    assert found and "finalize of height" in found[0], found


def test_node_sim_raising_digest_wedges_an_honest_node() -> None:
    # Defect 2: a commerce error from the digest function escapes Replica.step.
    found = _first_finding("raising_digest", ("byz_flood", "byz_sync", "byz_mixed"), "wedge")
    assert found and "ValidationError" in found[0], found


def test_node_sim_same_seed_replays_identically() -> None:
    for seed, scenario in ((3, "crash_restart"), (11, "byz_mixed")):
        first = run_seed(seed, scenario=scenario)
        again = run_seed(seed, scenario=scenario)
        assert first == again
        assert first.messages > 0


def test_node_sim_byzantine_scenarios_tell_every_kind_of_lie() -> None:
    lies: dict[str, int] = {}
    for seed, scenario in enumerate(("byz_preprepare", "byz_view_change", "byz_decided",
                                     "byz_sync", "byz_withhold", "byz_flood")):
        for kind, count in run_seed(seed, scenario=scenario).lies.items():
            lies[kind] = lies.get(kind, 0) + count
    assert {"tampered_preprepare", "tampered_decided", "lure_decided", "withheld_preprepare",
            "withheld_commit", "junk_consensus", "junk_gossip"} <= set(lies), lies
    assert any(kind.startswith("sync_reply_") for kind in lies), lies


def test_node_sim_command_line_prints_totals_and_exits_zero(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert sim.main(["--seeds", "0:3", "--output", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["runs"] == 3
    assert report["failures"] == []
    assert report["blocks"] > 0 and report["txs"] > 0


def test_node_sim_failure_prints_replay_command(capsys: pytest.CaptureFixture[str]) -> None:
    code = sim.main(["--seed", "5", "--scenario", "byz_preprepare",
                     "--mutation", "header_digest"])
    out = capsys.readouterr().out
    assert code == 1
    assert "replay: python -m node.sim --seed 5 --scenario byz_preprepare " \
           "--mutation header_digest" in out


@pytest.mark.soak
def test_node_sim_soak_seeds_have_no_violations() -> None:
    failures = []
    for seed in range(100_000, 102_000):
        result = run_seed(seed)
        if result.violations:
            failures.append((sim.replay_command(seed), result.violations[:2]))
    assert failures == []


RECONFIG_SEEDS = range(4)


def test_node_sim_reconfiguration_leaves_and_rejoins_without_violation() -> None:
    """Named scenario `reconfig`: a validator leaves the set at one height and rejoins at
    a later one, each set known only two heights ahead (the real Chain's reports, the
    driver's lazy sync, proposer checks by height). Certificates are checked against the
    set of their height by the simulator, so a vote of the absent validator would show."""
    failures = []
    for seed in RECONFIG_SEEDS:
        simulation = sim.Simulation(seed, scenario="reconfig")
        back = simulation.plan.sets[-1][0]
        result = simulation.run()
        if result.violations:
            failures.append((sim.replay_command(seed, scenario="reconfig"),
                             result.violations[:2]))
        assert result.blocks >= back + 2, (seed, result.blocks, back)
    assert failures == []
