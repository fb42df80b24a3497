"""Deterministic fault simulator of the PBFT core (the VOPR of consensus/).

One `random.Random(seed)` (never the module-level `random`) chooses everything: the
scenario's faults, message delays, loss, duplication, crash points. The simulator runs
n real `Replica` objects with a toy deterministic application on a virtual clock and
a virtual network, turning their effects into events. Nothing reads the wall clock, so
a seed replays exactly.

Faults: loss (up to 30%), delay and reordering, duplication, partitions that heal,
crash/restart of replicas mid-step (losing everything not persisted), restart with an
empty data directory, more than f replicas down at once, and Byzantine replicas
(equivocating primary, invalid blocks, silence, replayed messages, forged signatures,
fabricated VIEW-CHANGE certificates, floods). After the faults heal (at most f faulty
left), the run continues until every honest replica finalized new blocks.

Checkers: agreement, validity, certificate validity (after every finalize) and
liveness (at the end). Run: python -m consensus.sim --seeds A:B --validators N
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from consensus import events as ev
from consensus.errors import ConsensusValidationError
from consensus.messages import (
    PeerId,
    Verifier,
    sha256_digest,
    verify_certificate,
)
from consensus.replica import Replica, ReplicaConfig
from consensus.schedule import ValidatorSchedule
from consensus.sim_app import CHAIN_ID, Reconfig, SimNode, ToyApp, validator_keys
from consensus.sim_byzantine import byzantine_out, byzantine_tick
from consensus.sim_loop import VirtualRun
from consensus.sim_reconfig import (
    RECONFIG_SCENARIOS,
    check_member_vote,
    make_reconfig_plan,
    truth_set_at,
)

SIM_CONFIG = ReplicaConfig(
    view_change_timeout_ms=500, view_change_timeout_max_ms=8_000,
    retransmit_interval_ms=200, fetch_timeout_ms=1_000, idle_block_interval_ms=300,
)
DELAY_MS_MIN, DELAY_MS_MAX = 5, 40
DUPLICATE_PCT = 3
BYZANTINE_TICK_MS = 150
LIVENESS_BLOCKS = 2
LIVENESS_BOUND_MS = 90_000
MAX_EVENTS = 400_000
MAX_REPLAY_MESSAGES = 64

BYZANTINE_KINDS = ("equivocate", "invalid", "silent", "replay", "forge", "fake_vc", "flood")
SCENARIOS = (
    "normal", "lossy", "partition", "crash_restart", "crash_primary", "byz_equivocate",
    "byz_invalid", "byz_silent", "byz_replay", "byz_forge", "byz_fake_vc", "byz_flood",
    "more_than_f_down", "empty_datadir", "far_behind", "storm", "mixed",
)
# Scenarios run only when named (`--scenario`): outside the seed rotation, so adding one
# changes no seed's outcome.
NAMED_SCENARIOS = ("first_copy_loss", *RECONFIG_SCENARIOS)
# first_copy_loss: until the heal every first copy of each message (per sender, receiver and
# bytes) is lost, so only a replica's retransmissions get through. The slowest honest
# replica must still finalize a block for every this many ms of that loss (measured at
# n = 4, 7, 10: 0.46 blocks/s at worst with retransmission, none without).
FIRST_COPY_LOSS_MS_PER_BLOCK = 3_000



@dataclass
class Plan:
    scenario: str
    byzantine: dict[int, str]
    crashes: list[tuple[int, int, int, bool]]  # (crash_ms, node, restart_ms, amnesia)
    partitions: list[tuple[int, int, list[int]]]  # (start_ms, end_ms, group of node ids)
    loss_pct: int
    heal_ms: int
    work: bool
    first_copy_loss: bool = False
    reconfig: Reconfig | None = None  # the scripted validator sets (consensus.sim_reconfig)
    reconfig_ms: list[int] = field(default_factory=list)  # when each change is asked for
    universe: int = 0  # nodes in the run (validators of any set, and observers)


@dataclass
class RunResult:
    """What one seed did; `violations` empty when every checker held."""

    seed: int
    validators: int
    scenario: str
    blocks: int
    view_changes: int
    messages: int
    virtual_ms: int
    violations: list[str]
    heal_height: int = 0
    recovered_ms: int = 0


def make_plan(rng: random.Random, n: int, scenario: str | None, byzantine: int | None,
              crashes: int | None, loss_pct: int | None, seed: int) -> Plan:
    f = (n - 1) // 3
    name = scenario or SCENARIOS[seed % len(SCENARIOS)]
    if byzantine is not None or crashes is not None or loss_pct is not None:
        name = scenario or "custom"
    heal_ms = rng.randint(3_000, 6_000)
    plan = Plan(name, {}, [], [], 0, heal_ms, rng.randrange(4) == 0)
    nodes = list(range(n))

    def crash(node: int, amnesia: bool = False, start: int = 200, end: int | None = None) -> None:
        t = rng.randint(start, heal_ms - 500)
        restart = rng.randint(t + 100, end if end is not None else heal_ms)
        plan.crashes.append((t, node, restart, amnesia))

    if name == "custom":
        k_b = min(byzantine or 0, f)
        chosen = rng.sample(nodes, k_b + min(crashes or 0, max(0, f - k_b)))
        for node in chosen[:k_b]:
            plan.byzantine[node] = rng.choice(BYZANTINE_KINDS)
        for node in chosen[k_b:]:
            crash(node)
        plan.loss_pct = min(loss_pct or 0, 30)
    elif name == "lossy":
        plan.loss_pct = rng.randint(5, 30)
    elif name == "partition":
        size = rng.randint(1, n - 1) if n > 1 else 1
        t = rng.randint(200, heal_ms // 2)
        plan.partitions.append((t, rng.randint(t + 500, heal_ms), rng.sample(nodes, size)))
    elif name == "crash_restart":
        for node in rng.sample(nodes, rng.randint(1, max(1, f))):
            crash(node)
    elif name == "crash_primary":
        crash(0)  # the primary of view 0, mid-step, probably while a block commits
    elif name.startswith("byz_"):
        kind = name[4:]
        for node in rng.sample(nodes, rng.randint(1, f) if f else 0):
            plan.byzantine[node] = kind
        if kind in ("equivocate", "invalid", "silent") and f and 0 not in plan.byzantine:
            plan.byzantine = {0: kind}  # make sure a primary misbehaves
    elif name == "more_than_f_down":
        down = rng.sample(nodes, rng.randint(f + 1, n))
        t = rng.randint(300, heal_ms // 2)
        for node in down:
            plan.crashes.append((t + rng.randint(0, 100), node, heal_ms - rng.randint(0, 400),
                                 False))
    elif name == "empty_datadir":
        if f:
            crash(rng.randrange(n), amnesia=True)
    elif name == "far_behind":
        if f:
            laggard = rng.randrange(1, n)
            t = rng.randint(100, 400)
            plan.crashes.append((t, laggard, heal_ms - 300, False))
            plan.crashes.append((heal_ms - 800, 0, heal_ms + 1_500, False))
    elif name == "storm":
        plan.loss_pct = 30
        plan.partitions.append((500, heal_ms // 2, rng.sample(nodes, n // 2)))
    elif name == "mixed":
        k_b = rng.randint(0, f)
        chosen = rng.sample(nodes, k_b + rng.randint(0, f - k_b))
        for node in chosen[:k_b]:
            plan.byzantine[node] = rng.choice(BYZANTINE_KINDS)
        for node in chosen[k_b:]:
            crash(node)
        plan.loss_pct = rng.choice((0, 5, 10, 20, 30))
        if rng.randrange(2) and n > 1:
            t = rng.randint(200, heal_ms // 2)
            plan.partitions.append((t, rng.randint(t + 300, heal_ms), rng.sample(nodes, n // 3)))
    elif name == "first_copy_loss":
        plan.first_copy_loss = True
    elif name in RECONFIG_SCENARIOS:
        keys = [bytes(k.verify_key) for k in validator_keys(n + 3)]
        rp = make_reconfig_plan(rng, n, name, keys, heal_ms)
        plan.heal_ms = heal_ms = max(heal_ms, rp.heal_ms_min)
        plan.reconfig, plan.reconfig_ms, plan.universe = rp.reconfig, rp.request_ms, rp.universe
        plan.byzantine, plan.partitions = rp.byzantine, rp.partitions
        plan.crashes = [(t, node, heal_ms - 300 if restart < 0 else restart, amnesia)
                        for t, node, restart, amnesia in rp.crashes]
    else:
        assert name == "normal", f"unknown scenario {name}"
    return plan


class Simulation(VirtualRun[SimNode]):
    """One seeded run. `run()` returns a RunResult; violations are listed, not raised."""

    max_events = MAX_EVENTS
    liveness_blocks = LIVENESS_BLOCKS
    liveness_bound_ms = LIVENESS_BOUND_MS

    def __init__(self, seed: int, n: int, *, scenario: str | None = None,
                 byzantine: int | None = None, crashes: int | None = None,
                 loss_pct: int | None = None, config: ReplicaConfig = SIM_CONFIG) -> None:
        super().__init__()
        self.seed = seed
        self.n = n
        self.f = (n - 1) // 3
        self.quorum_true = n - self.f
        self.rng = random.Random(seed)
        self.config = config
        self.plan = make_plan(self.rng, n, scenario, byzantine, crashes, loss_pct, seed)
        self.reconfig = self.plan.reconfig
        self.reconfig_wanted = 0  # changes asked for so far
        if self.reconfig is not None:
            self.n = self.plan.universe  # every node of the run, validator or not
        keys = validator_keys(self.n)
        self.validators = [bytes(k.verify_key) for k in keys]
        self.by_key = {pk: i for i, pk in enumerate(self.validators)}
        self.nodes = [SimNode(i, k, ToyApp(self.reconfig), byzantine=self.plan.byzantine.get(i))
                      for i, k in enumerate(keys)]
        self.verifier = Verifier(max_entries=1 << 15)
        self.messages = 0
        self.view_changes = 0
        self.loss_pct = self.plan.loss_pct
        self.partition: set[int] | None = None
        self.finalized: dict[int, bytes] = {}  # height -> digest, by honest replicas
        self.proposed: set[bytes] = set()
        self.first_copy_loss = self.plan.first_copy_loss
        self.copies_seen: set[bytes] = set()  # (sender, receiver, bytes) hashes delivered

    # --- event queue -------------------------------------------------------------------

    def honest(self) -> list[SimNode]:
        return [node for node in self.nodes if node.byzantine is None]

    def height_of(self, node: SimNode) -> int:
        return node.app.height

    def restartable(self, node: SimNode) -> bool:
        return node.replica is None

    def send(self, src: int, dst: int, data: bytes) -> None:
        if dst == src or not 0 <= dst < self.n:
            return
        self.messages += 1
        if self.partition is not None and ((src in self.partition) != (dst in self.partition)):
            return
        if self.loss_pct and self.rng.randrange(100) < self.loss_pct:
            return
        if self.first_copy_loss:
            copy = hashlib.sha256(b"%d:%d:" % (src, dst) + data).digest()
            if copy not in self.copies_seen:
                self.copies_seen.add(copy)
                return
        self.push(self.now_ms + self.rng.randint(DELAY_MS_MIN, DELAY_MS_MAX), dst, "msg",
                  (src, data))
        if self.rng.randrange(100) < DUPLICATE_PCT:
            self.push(self.now_ms + self.rng.randint(DELAY_MS_MIN, 4 * DELAY_MS_MAX), dst,
                      "msg", (src, data))

    # --- replicas ----------------------------------------------------------------------

    def start(self, node: SimNode) -> None:
        if node.amnesia:
            node.app, node.records = ToyApp(self.reconfig), []
        chain = node.app.chain
        app = node.app
        validators, schedule = self.validators, None
        if self.reconfig is not None:
            validators = []
            schedule = ValidatorSchedule(app.schedule_entries(max(1, app.height)),
                                         app.known_through())
        node.replica = Replica(
            chain_id=CHAIN_ID, validators=validators, schedule=schedule, signing_key=node.key,
            finalized_height=len(chain), finalized_digest=chain[-1][0] if chain else b"",
            finalized_certificate=chain[-1][2] if chain else None, records=list(node.records),
            config=self.config, verifier=self.verifier)
        node.timers = {}
        self.step(node, ev.Started())
        if self.plan.work:
            self.step(node, ev.WorkPending(True))

    def crash(self, node: SimNode) -> None:
        node.replica = None
        node.timers = {}
        node.incarnation += 1
        node.crash_armed = False

    def step(self, node: SimNode, event: ev.Event) -> None:
        assert node.replica is not None
        effects = node.replica.step(event, self.now_ms)
        cut = len(effects)
        if node.crash_armed and effects:
            cut = self.rng.randint(0, len(effects))
        for effect in effects[:cut]:
            self.run_effect(node, effect)
        if cut < len(effects) or (node.crash_armed and effects):
            self.crash(node)

    def run_effect(self, node: SimNode, effect: ev.Effect) -> None:
        i = node.index
        match effect:
            case ev.Persist():
                node.records.append(effect.record)
            case ev.Send():
                for data in byzantine_out(self, node, effect.msg):
                    self.send(i, self.by_key.get(effect.to, -1), data)
            case ev.Broadcast():
                if self.reconfig is not None and node.byzantine is None:
                    check_member_vote(self, node, effect.msg)
                for data in byzantine_out(self, node, effect.msg):
                    for j in range(self.n):
                        self.send(i, j, data)
            case ev.SetTimer():
                node.timers[effect.name] = effect.deadline_ms
                self.push(max(self.now_ms, effect.deadline_ms), i, "timer",
                          (effect.name, effect.deadline_ms))
            case ev.CancelTimer():
                node.timers.pop(effect.name, None)
            case ev.ProposeBlock():
                if effect.height != node.app.height + 1:
                    self.violations.append(f"order: node {i} asked to propose {effect.height} "
                                           f"at {node.app.height}")
                    return
                payload = b"p%d:v%d:h%d:%d" % (i, effect.view, effect.height, self.seq)
                block = node.app.build(effect.height, payload, corrupt=node.byzantine == "invalid",
                                       reconfig=node.app.applied < self.reconfig_wanted)
                self.proposed.add(sha256_digest(block))
                self.push(self.now_ms + 1, i, "app",
                          ev.BlockProposed(effect.height, effect.view, block))
            case ev.ValidateBlock():
                reason = node.app.validate(effect.height, effect.block)
                self.push(self.now_ms + 1, i, "app", ev.BlockValidated(
                    effect.height, effect.view, effect.digest, not reason, reason))
            case ev.FinalizeBlock():
                self.on_finalize(node, effect)
            case ev.FetchBlocks():
                self.on_fetch(node, effect)
            case ev.Note():
                if effect.kind == "view_change":
                    self.view_changes += 1
            case ev.Blame():
                self.on_blame(node, effect)
            case _:
                raise AssertionError(f"unknown effect {effect!r}")

    def on_finalize(self, node: SimNode, effect: ev.FinalizeBlock) -> None:
        h = effect.height
        if h != node.app.height + 1:
            self.violations.append(f"order: node {node.index} finalized {h} at {node.app.height}")
            return
        if node.byzantine is None:
            known = self.finalized.setdefault(h, effect.digest)
            if known != effect.digest:
                self.violations.append(f"agreement: height {h} node {node.index} "
                                       f"{effect.digest.hex()[:12]} != {known.hex()[:12]}")
            if effect.digest not in self.proposed:
                self.violations.append(f"validity: height {h} block was never proposed")
            members = self.validators if self.reconfig is None else truth_set_at(self, h)
            try:
                assert members is not None, "an honest chain determined the set of h"
                verify_certificate(effect.certificate, h, effect.digest, members,
                                   CHAIN_ID, self.verifier)
            except ConsensusValidationError as exc:
                self.violations.append(f"certificate: height {h} node {node.index} {exc}")
        reason = node.app.finalize(h, effect.digest, effect.block, effect.certificate)
        if self.reconfig is not None and not reason:
            app = node.app  # the host reports the sets its chain determined
            self.push(self.now_ms, node.index, "app", ev.ValidatorsKnown(
                app.known_through(), app.changes_above(app.height)))
        if self.plan.work:
            self.push(self.now_ms + 1, node.index, "app", ev.WorkPending(True))
        if reason and node.byzantine is None:
            self.violations.append(f"validity: node {node.index} finalized invalid block "
                                   f"at {h}: {reason}")

    def on_fetch(self, node: SimNode, effect: ev.FetchBlocks) -> None:
        peer = self.by_key.get(effect.peer, -1)
        if peer < 0 or self.nodes[peer].replica is None:
            return
        if self.partition is not None and ((peer in self.partition)
                                           != (node.index in self.partition)):
            return
        if self.loss_pct and self.rng.randrange(100) < self.loss_pct:
            return
        chain = self.nodes[peer].app.chain
        items = tuple((block, cert) for _, block, cert in
                      chain[effect.from_height - 1:effect.to_height])
        if self.nodes[peer].byzantine is not None and items:
            # A lying peer: swap in a block its certificate does not cover.
            items = ((items[-1][0], items[0][1]),) + items[1:]
        self.push(self.now_ms + 2 * self.rng.randint(DELAY_MS_MIN, DELAY_MS_MAX), node.index,
                  "app", ev.BlocksFetched(effect.peer, items))

    def on_blame(self, node: SimNode, effect: ev.Blame) -> None:
        """Only a faulty peer may be blamed: honest nodes send only what they checked."""
        blamed = self.nodes[self.by_key[bytes(effect.peer)]]
        if node.byzantine is None and blamed.byzantine is None:
            self.violations.append(f"blame: node {node.index} blamed honest node "
                                   f"{blamed.index} for {effect.reason}")

    # --- Byzantine behaviour -----------------------------------------------------------

    # --- the run -------------------------------------------------------------------------

    def schedule_plan(self) -> None:
        plan = self.plan
        for crash_ms, index, restart_ms, amnesia in plan.crashes:
            self.push(crash_ms, -1, "crash", (index, amnesia))
            self.push(restart_ms, -1, "restart", index)
        for start_ms, end_ms, group in plan.partitions:
            self.push(start_ms, -1, "partition", frozenset(group))
            self.push(end_ms, -1, "partition", None)
        self.push(plan.heal_ms, -1, "heal", None)
        for at_ms in plan.reconfig_ms:
            self.push(at_ms, -1, "reconfig", None)
        for node in self.nodes:
            if node.byzantine is not None:
                self.push(BYZANTINE_TICK_MS, node.index, "byz", None)

    def control(self, kind: str, payload: Any) -> None:
        if kind == "crash":
            index, amnesia = payload
            node = self.nodes[index]
            node.crash_armed = True
            node.amnesia = node.amnesia or amnesia
            if amnesia:
                self.crash(node)
        elif kind == "restart":
            node = self.nodes[payload]
            if self.restartable(node):
                self.start(node)
            node.crash_armed = False
        elif kind == "partition":
            self.partition = set(payload) if payload is not None else None
        elif kind == "reconfig":
            self.reconfig_wanted += 1
        elif kind == "heal":
            self.heal()
            if self.first_copy_loss:
                self.first_copy_loss = False
                slowest = min(node.app.height for node in self.honest())
                bound = self.now_ms // FIRST_COPY_LOSS_MS_PER_BLOCK
                if slowest < bound:
                    self.violations.append(
                        f"retransmission: {slowest} blocks finalized in {self.now_ms} ms of "
                        f"first-copy loss, fewer than {bound}")

    def dispatch(self, index: int, incarnation: int, kind: str, payload: Any) -> None:
        node = self.nodes[index]
        if node.replica is None or incarnation != node.incarnation:
            return
        if kind == "msg":
            src, data = payload
            if node.byzantine == "replay" and len(node.replay) < MAX_REPLAY_MESSAGES:
                node.replay.append(data)
            self.step(node, ev.MessageReceived(PeerId(self.validators[src]), data))
        elif kind == "timer":
            name, deadline = payload
            if node.timers.get(name) == deadline:
                del node.timers[name]
                self.step(node, ev.TimerFired(name))
        elif kind == "app":
            self.step(node, payload)
        elif kind == "byz":
            byzantine_tick(self, node)
            self.push(self.now_ms + BYZANTINE_TICK_MS, index, "byz", None)

    def run(self) -> RunResult:
        recovered_ms = self.run_plan()
        return RunResult(self.seed, self.n, self.plan.scenario, self.highest(),
                         self.view_changes, self.messages, self.now_ms, self.violations,
                         self.heal_height, recovered_ms)


def run_seed(seed: int, n: int, **kwargs: Any) -> RunResult:
    return Simulation(seed, n, **kwargs).run()


def replay_command(seed: int, n: int, args: argparse.Namespace | None = None) -> str:
    cmd = f"python -m consensus.sim --seeds {seed}:{seed + 1} --validators {n}"
    if args is not None:
        for flag in ("byzantine", "crashes", "loss", "scenario", "quorum_override"):
            value = getattr(args, flag, None)
            if value is not None:
                cmd += f" --{flag.replace('_', '-')} {value}"
    return cmd


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m consensus.sim", description=__doc__)
    parser.add_argument("--seeds", required=True, help="A:B runs seeds A..B-1")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--byzantine", type=int)
    parser.add_argument("--crashes", type=int)
    parser.add_argument("--loss", type=int, help="message loss in percent (<= 30)")
    parser.add_argument("--scenario", choices=SCENARIOS + NAMED_SCENARIOS)
    parser.add_argument("--output", choices=("text", "json"), default="text")
    parser.add_argument("--quorum-override", type=int,
                        help="TESTING ONLY: break the core with this quorum")
    args = parser.parse_args(argv)
    first, _, last = args.seeds.partition(":")
    seeds = range(int(first), int(last) if last else int(first) + 1)
    per: dict[str, list[RunResult]] = {}
    failures: list[RunResult] = []
    for seed in seeds:
        config = SIM_CONFIG
        if args.quorum_override:
            config = replace(SIM_CONFIG, quorum_override=args.quorum_override)
        result = run_seed(seed, args.validators, scenario=args.scenario, config=config,
                          byzantine=args.byzantine, crashes=args.crashes, loss_pct=args.loss)
        per.setdefault(result.scenario, []).append(result)
        if result.violations:
            failures.append(result)
    rows: list[dict[str, Any]] = []
    for name in sorted(per):
        results = per[name]
        rows.append({"scenario": name, "runs": len(results),
                     "blocks": sum(r.blocks for r in results),
                     "view_changes": sum(r.view_changes for r in results),
                     "violations": sum(len(r.violations) for r in results)})
    totals = {key: sum(int(row[key]) for row in rows)
              for key in ("runs", "blocks", "view_changes", "violations")}
    failed: list[dict[str, Any]] = [
        {"seed": r.seed, "scenario": r.scenario, "violations": r.violations,
         "replay": replay_command(r.seed, r.validators, args)} for r in failures]
    if args.output == "json":
        print(json.dumps({"validators": args.validators, "scenarios": rows, "totals": totals,
                          "failures": failed}, sort_keys=True))
    else:
        for row in rows:
            print(f"{row['scenario']:<18} runs={row['runs']} blocks={row['blocks']} "
                  f"view_changes={row['view_changes']} violations={row['violations']}")
        print(f"{'TOTAL':<18} runs={totals['runs']} blocks={totals['blocks']} "
              f"view_changes={totals['view_changes']} violations={totals['violations']}")
        for item in failed:
            print(f"FAIL seed={item['seed']} scenario={item['scenario']}: "
                  f"{'; '.join(item['violations'][:3])}")
            print(f"  replay: {item['replay']}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
