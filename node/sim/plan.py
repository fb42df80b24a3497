"""The faults of one run, drawn from the seed, and what the run reports."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from consensus.sim import RunResult as ConsensusRunResult
from node.sim.world import BEHAVIOURS


@dataclass
class Plan:
    """The faults of one run, all drawn from the seed."""

    scenario: str
    byzantine: int | None  # the Byzantine validator's index
    behaviours: tuple[str, ...]
    crashes: list[tuple[int, int, int, bool]]  # (crash_ms, node, restart_ms, empty datadir)
    partitions: list[tuple[int, int, list[int]]]  # (start_ms, end_ms, one side's nodes)
    loss_pct: int
    heal_ms: int
    # reconfig: (from_height, validator indexes in force) after genesis, ascending
    sets: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)


def make_plan(rng: random.Random, n: int, scenario: str) -> Plan:
    """Draw the faults of `scenario` (Byzantine scenarios need f >= 1)."""
    f = (n - 1) // 3
    heal_ms = rng.randint(2_500, 4_500)
    plan = Plan(scenario, None, (), [], [], 0, heal_ms)
    nodes = list(range(n))

    def crash(node: int, empty: bool = False) -> None:
        start = rng.randint(200, heal_ms - 600)
        plan.crashes.append((start, node, rng.randint(start + 100, heal_ms), empty))

    def lagger(exclude: int | None) -> None:
        # An honest node down for a while comes back behind: the target of DECIDED and
        # the asker of sync replies.
        crash(rng.choice([i for i in nodes if i != exclude]))

    if scenario.startswith("byz_") and f == 0:
        scenario = plan.scenario = "normal"
    if scenario == "lossy":
        plan.loss_pct = rng.randint(5, 30)
    elif scenario == "partition":
        start = rng.randint(200, heal_ms // 2)
        plan.partitions.append((start, rng.randint(start + 400, heal_ms),
                                rng.sample(nodes, rng.randint(1, n - 1))))
    elif scenario == "crash_restart":
        for node in rng.sample(nodes, rng.randint(1, max(1, f))):
            crash(node)
    elif scenario == "empty_datadir":
        if f:
            crash(rng.randrange(n), empty=True)
    elif scenario == "byz_preprepare":
        plan.byzantine, plan.behaviours = 0, ("pp_tamper",)
        plan.loss_pct = rng.choice((0, 0, 5))
    elif scenario == "byz_view_change":
        # The primary of view 0 crashes: the Byzantine node 1 leads view 1 with a
        # re-proposal it tampers, and it tampers every VIEW-CHANGE it sends or relays.
        plan.byzantine, plan.behaviours = 1, ("vc_tamper", "pp_tamper")
        plan.loss_pct = rng.choice((0, 5, 10))
        start = rng.randint(200, heal_ms // 3)
        plan.crashes.append((start, 0, heal_ms, False))
    elif scenario == "byz_decided":
        plan.byzantine = rng.randrange(n)
        plan.behaviours = ("decided_tamper",)
        lagger(plan.byzantine)
    elif scenario == "byz_sync":
        plan.byzantine = rng.randrange(n)
        plan.behaviours = tuple(sorted(rng.sample(("sync_tamper", "sync_junk",
                                                   "sync_oversize"), rng.randint(1, 3))))
        lagger(plan.byzantine)
    elif scenario == "byz_withhold":
        plan.byzantine, plan.behaviours = 0, ("withhold",)
        plan.loss_pct = rng.choice((0, 5))
    elif scenario == "byz_flood":
        plan.byzantine = rng.randrange(n)
        plan.behaviours = ("flood_consensus", "flood_txs")
    elif scenario == "byz_mixed":
        plan.byzantine = rng.randrange(n)
        plan.behaviours = tuple(sorted(rng.sample(BEHAVIOURS, rng.randint(2, 5))))
        plan.loss_pct = rng.choice((0, 5, 10, 20))
        if rng.randrange(2):
            lagger(plan.byzantine)
        elif rng.randrange(2):
            start = rng.randint(200, heal_ms // 2)
            plan.partitions.append((start, rng.randint(start + 300, heal_ms),
                                    rng.sample(nodes, n // 3 or 1)))
    elif scenario == "reconfig":
        # Validator k leaves at `gone` (the others are 3: f = 0, every one needed) and
        # comes back at `back`; it follows as an observer in between.
        k = rng.randrange(n)
        gone = rng.randint(3, 7)
        back = gone + rng.randint(3, 6)
        plan.sets = [(gone, tuple(i for i in nodes if i != k)), (back, tuple(nodes))]
        plan.loss_pct = rng.choice((0, 5))
    else:
        assert scenario == "normal", f"unknown scenario {scenario}"
    return plan


@dataclass
class RunResult(ConsensusRunResult):
    """What one seed did: the consensus simulator's figures, the Byzantine node's
    behaviours, the transactions finalized and the lies told (messages sent, by kind)."""

    behaviours: tuple[str, ...] = ()
    txs: int = 0
    lies: dict[str, int] = field(default_factory=dict)
