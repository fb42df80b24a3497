"""Reconfiguration scenarios of `consensus.sim`: validator sets that change by height.

Each scenario scripts the sets a simulated chain goes through (`consensus.sim_app.Reconfig`)
and when each change is asked for; the primary then carries the next change in its block
and every replica's application makes it take effect `delay` heights later, the same path
a passed governance proposal takes on a node. The faults of the scenario (a crash, a
partition, Byzantine validators, a node far behind) are placed around the changes. Every
choice comes from the run's seeded `rng`.

The checkers added for these runs: every certificate verifies against the set in force at
its height (a removed validator's vote never counts), and no honest replica signs a vote
at a height whose set does not name it (a removed validator stops, an added one starts
only at its height).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from consensus.messages import PrePrepare, Vote, decode_message
from consensus.sim_app import Reconfig, SimNode

RECONFIG_SCENARIOS = (
    "add_one", "remove_one", "grow_shrink", "remove_primary", "rotate_primary_key",
    "reconfig_view_change", "reconfig_partition", "reconfig_byz_vote", "reconfig_byz_silent",
    "reconfig_far_behind",
)
# What a Byzantine validator of reconfig_byz_vote does (it still votes, and lies).
BYZANTINE_VOTING = ("equivocate", "invalid", "replay", "forge", "fake_vc", "flood")
ACTIVATION_DELAY_MIN, ACTIVATION_DELAY_MAX = 2, 4


T = TypeVar("T")


class Rng(Protocol):
    """The part of the run's seeded `random.Random` the plans use (this module stays
    free of the random module: the simulation passes its generator in)."""

    def randint(self, a: int, b: int) -> int: ...

    def choice(self, seq: Sequence[T]) -> T: ...

    def sample(self, population: Sequence[T], k: int) -> list[T]: ...


@dataclass
class ReconfigPlan:
    """The reconfiguration part of a run's plan."""

    universe: int  # keys (and simulated nodes) in the run; the first n form the first set
    reconfig: Reconfig
    request_ms: list[int] = field(default_factory=list)  # when change k is asked for
    crashes: list[tuple[int, int, int, bool]] = field(default_factory=list)
    partitions: list[tuple[int, int, list[int]]] = field(default_factory=list)
    byzantine: dict[int, str] = field(default_factory=dict)
    heal_ms_min: int = 0


def _canonical(keys: list[bytes]) -> tuple[bytes, ...]:
    """Sets are in canonical order (sorted keys), so a change moves indexes around."""
    return tuple(sorted(keys))


def make_reconfig_plan(rng: Rng, n: int, name: str, keys: list[bytes],
                       heal_ms: int) -> ReconfigPlan:
    """The sets, request times and faults of scenario `name` starting from n validators.
    `keys` are the keys of the run's nodes (index = node), at least n + 3 of them."""
    assert name in RECONFIG_SCENARIOS
    f = (n - 1) // 3
    first = list(keys[:n])
    initial = _canonical(first)
    primary = keys.index(initial[0])  # the primary of view 0
    others = [i for i in range(n) if i != primary]
    t = rng.randint(300, max(301, heal_ms // 2 - 500))
    delay = rng.randint(ACTIVATION_DELAY_MIN, ACTIVATION_DELAY_MAX)
    script: list[list[bytes]] = []
    plan = ReconfigPlan(n, Reconfig(initial, (), delay), [t])
    if name == "add_one":
        script = [first + [keys[n]]]
        plan.universe = n + 1
    elif name == "remove_one":
        victim = rng.choice(range(n))
        script = [[k for i, k in enumerate(first) if i != victim]]
    elif name == "grow_shrink":
        script = [list(keys[:n + 3]), first]
        plan.universe = n + 3
        plan.request_ms.append(t + rng.randint(800, 1_500))
    elif name == "remove_primary":
        script = [[k for i, k in enumerate(first) if i != primary]]
    elif name == "rotate_primary_key":
        script = [[k for i, k in enumerate(first) if i != primary] + [keys[n]]]
        plan.universe = n + 1
    elif name == "reconfig_view_change":
        gone = rng.choice(others)
        script = [[k for i, k in enumerate(first) if i != gone] + [keys[n]]]
        plan.universe = n + 1
        crash_ms = t + rng.randint(0, 300)  # the primary, mid-step, as the change goes in
        plan.crashes.append((crash_ms, primary, crash_ms + rng.randint(1_000, 2_500), False))
    elif name == "reconfig_partition":
        grown, dropped = first + [keys[n]], keys[rng.choice(others)]
        script = [grown, [k for k in grown if k != dropped]]
        plan.universe = n + 1
        plan.request_ms.append(t + rng.randint(300, 900))
        group = rng.sample(range(n + 1), rng.randint(1, n))
        plan.partitions.append((max(100, t - 200), t + rng.randint(800, 2_000), group))
    elif name in ("reconfig_byz_vote", "reconfig_byz_silent"):
        liars = rng.sample(others, f)
        kinds = BYZANTINE_VOTING if name == "reconfig_byz_vote" else ("silent",)
        plan.byzantine = {i: rng.choice(kinds) for i in liars}
        honest = [i for i in others if i not in liars]
        grown, dropped = first + [keys[n]], keys[rng.choice(honest)]
        script = [grown, [k for k in grown if k != dropped]]
        plan.universe = n + 1
        plan.request_ms.append(t + rng.randint(600, 1_200))
    else:
        assert name == "reconfig_far_behind"
        laggard = rng.choice(others)
        gone = rng.choice([i for i in others if i != laggard])
        step = [first + [keys[n]]]
        step.append([k for k in step[0] if k != keys[gone]])
        step.append([k for k in step[1] if k != keys[n]] + [keys[n + 1]])  # a rotation
        script = step
        plan.universe = n + 2
        t = rng.randint(400, 900)
        plan.request_ms = [t, t + rng.randint(600, 900), t + rng.randint(1_500, 2_000)]
        plan.heal_ms_min = plan.request_ms[-1] + 1_500
        plan.crashes.append((rng.randint(100, 300), laggard, -1, False))  # up at the heal
    plan.reconfig = Reconfig(initial, tuple(_canonical(s) for s in script), delay)
    assert len(plan.request_ms) == len(script)
    return plan


class ReconfigHost(Protocol):
    """What the checkers need of the simulation."""

    nodes: list[SimNode]
    violations: list[str]

    def honest(self) -> list[SimNode]: ...


def truth_set_at(sim: ReconfigHost, height: int) -> tuple[bytes, ...] | None:
    """The set in force at `height` by the longest honest chain (honest chains agree:
    the agreement checker sees to that), None when no honest node determined it yet."""
    best = max((node.app for node in sim.honest()), key=lambda app: app.height)
    if height > best.known_through():
        return None
    return best.set_at(height)


def check_member_vote(sim: ReconfigHost, node: SimNode, data: bytes) -> None:
    """An honest replica signs PREPARE/COMMIT only where its height's set names it."""
    msg = decode_message(data)
    vote = msg.vote if isinstance(msg, PrePrepare) else msg
    if not isinstance(vote, Vote):
        return
    members = truth_set_at(sim, vote.height)
    key = bytes(node.key.verify_key)
    if members is not None and key not in members:
        sim.violations.append(f"membership: node {node.index} voted at height {vote.height} "
                              f"outside its set")
    elif members is not None and members.index(key) != vote.signer:
        sim.violations.append(f"membership: node {node.index} signed as {vote.signer} at "
                              f"height {vote.height}, not as {members.index(key)}")
