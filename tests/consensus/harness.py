"""A scripted cluster for unit and scenario tests: messages move only when told to.

Unlike consensus.sim (random faults), every delivery, drop and clock tick here is a
command, so a test can stage one exact interleaving. Application requests are answered
at once by sim.ToyApp.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from consensus import events as ev
from consensus.messages import (
    PHASE_PREPARE,
    PeerId,
    PrePrepare,
    decode_message,
    encode_message,
    sha256_digest,
    sign_vote,
)
from consensus.replica import Replica, ReplicaConfig
from consensus.sim import CHAIN_ID, ToyApp, validator_keys

CONFIG = ReplicaConfig(view_change_timeout_ms=1_000, view_change_timeout_max_ms=8_000,
                       retransmit_interval_ms=300, fetch_timeout_ms=1_000)
MAX_ROUNDS = 200


@dataclass
class Node:
    index: int
    app: ToyApp = field(default_factory=ToyApp)
    replica: Replica | None = None
    records: list[bytes] = field(default_factory=list)
    timers: dict[str, int] = field(default_factory=dict)
    behaviour: str = ""  # "", "equivocate", "invalid"
    effects: list[ev.Effect] = field(default_factory=list)  # every effect, for assertions


class Cluster:
    def __init__(self, n: int, config: ReplicaConfig = CONFIG, quiet: bool = False) -> None:
        self.keys = validator_keys(n)
        self.validators = [bytes(k.verify_key) for k in self.keys]
        self.n = n
        self.config = config
        self.now_ms = 0
        self.nodes = [Node(i) for i in range(n)]
        self.pending: list[tuple[int, int, bytes]] = []  # (src, dst, msg)
        self.isolated: set[int] = set()
        self.log: list[str] = []
        self.counter = 0
        self.work_target = 0
        self.later: list[tuple[int, ev.Event]] = []
        self.draining = False
        self.drop_filter: Callable[[int, int, bytes], bool] | None = None
        for node in self.nodes:
            self.start(node.index)

    def replica(self, i: int) -> Replica:
        replica = self.nodes[i].replica
        assert replica is not None
        return replica

    def start(self, i: int, empty: bool = False) -> None:
        node = self.nodes[i]
        if empty:
            node.app, node.records = ToyApp(), []
        chain = node.app.chain
        node.replica = Replica(
            chain_id=CHAIN_ID, validators=self.validators, signing_key=self.keys[i],
            finalized_height=len(chain), finalized_digest=chain[-1][0] if chain else b"",
            finalized_certificate=chain[-1][2] if chain else None, records=list(node.records),
            config=self.config)
        node.timers = {}
        self.step(i, ev.Started())

    def crash(self, i: int) -> None:
        self.nodes[i].replica = None
        self.nodes[i].timers = {}
        self.pending = [m for m in self.pending if m[1] != i]

    def step(self, i: int, event: ev.Event) -> list[ev.Effect]:
        node = self.nodes[i]
        assert node.replica is not None
        effects = node.replica.step(event, self.now_ms)
        node.effects.extend(effects)
        for effect in effects:
            self.run_effect(node, effect)
        if not self.draining:  # application answers arrive after the step's effects ran
            self.draining = True
            for _ in range(MAX_ROUNDS * 10):
                if not self.later:
                    break
                j, answer = self.later.pop(0)
                if self.nodes[j].replica is not None:
                    self.step(j, answer)
            self.draining = False
            assert not self.later, "application answers do not settle"
        return effects

    def post(self, src: int, dst: int, msg: bytes) -> None:
        if src in self.isolated or dst in self.isolated or src == dst:
            return
        if self.drop_filter is not None and self.drop_filter(src, dst, msg):
            return
        if self.nodes[dst].replica is not None:
            self.pending.append((src, dst, msg))

    def run_effect(self, node: Node, effect: ev.Effect) -> None:
        i = node.index
        match effect:
            case ev.Persist():
                node.records.append(effect.record)
            case ev.Broadcast():
                for msg in self.mangle(node, effect.msg):
                    for j in range(self.n):
                        self.post(i, j, msg)
            case ev.Send():
                self.post(i, self.validators.index(effect.to), effect.msg)
            case ev.SetTimer():
                node.timers[effect.name] = effect.deadline_ms
            case ev.CancelTimer():
                node.timers.pop(effect.name, None)
            case ev.ProposeBlock():
                self.counter += 1
                block = node.app.build(effect.height, b"n%d-%d" % (i, self.counter),
                                       corrupt=node.behaviour == "invalid")
                self.later.append((i, ev.BlockProposed(effect.height, effect.view, block)))
            case ev.ValidateBlock():
                reason = node.app.validate(effect.height, effect.block)
                self.later.append((i, ev.BlockValidated(effect.height, effect.view,
                                                     effect.digest, not reason, reason)))
            case ev.FinalizeBlock():
                reason = node.app.finalize(effect.height, effect.digest, effect.block,
                                           effect.certificate)
                assert not reason, reason
                self.log.append(f"n{i} finalize h={effect.height} "
                                f"block={effect.digest.hex()[:8]}")
                self.later.append((i, ev.WorkPending(node.app.height < self.work_target)))
            case ev.FetchBlocks():
                peer = self.validators.index(effect.peer)
                chain = self.nodes[peer].app.chain
                items = tuple((b, c) for _, b, c in chain[effect.from_height - 1:effect.to_height])
                self.log.append(f"n{i} fetch from=n{peer} "
                                f"h={effect.from_height}..{effect.to_height}")
                if self.nodes[peer].replica is not None and peer not in self.isolated:
                    self.later.append((i, ev.BlocksFetched(effect.peer, items)))
            case ev.Note():
                if effect.kind in ("view_change", "new_view", "equivocation", "invalid_block",
                                   "view_sync", "bad_fetched_block"):
                    detail = effect.detail.split(" timeout_ms")[0]
                    self.log.append(f"n{i} {effect.kind} {detail}")

    def mangle(self, node: Node, msg: bytes) -> list[bytes]:
        if node.behaviour != "equivocate":
            return [msg]
        decoded = decode_message(msg)
        if not isinstance(decoded, PrePrepare):
            return [msg]
        vote = decoded.vote
        block = node.app.build(vote.height, b"evil")
        other = sign_vote(self.keys[node.index], CHAIN_ID, PHASE_PREPARE, vote.view,
                          vote.height, sha256_digest(block), node.index)
        return [msg, encode_message(PrePrepare(other, block))]

    # --- commands ------------------------------------------------------------------

    def work(self, blocks_count: int = 0) -> None:
        """Give every replica work worth `blocks_count` more blocks (0: no work)."""
        self.work_target = max(self.heights()) + blocks_count
        for node in self.nodes:
            if node.replica is not None:
                self.step(node.index, ev.WorkPending(node.app.height < self.work_target))

    def deliver(self, drop: frozenset[int] = frozenset()) -> int:
        batch, self.pending = self.pending, []
        for src, dst, msg in batch:
            if src in drop or dst in drop or self.nodes[dst].replica is None:
                continue
            self.step(dst, ev.MessageReceived(PeerId(self.validators[src]), msg))
        return len(batch)

    def stabilize(self, drop: frozenset[int] = frozenset()) -> None:
        for _ in range(MAX_ROUNDS):
            if not self.deliver(drop):
                return
        raise AssertionError("cluster did not stabilize")

    def tick(self, ms: int) -> None:
        """Advance the clock by `ms`, firing due timers in deadline order."""
        end = self.now_ms + ms
        while True:
            due = sorted((deadline, node.index, name) for node in self.nodes
                         if node.replica is not None
                         for name, deadline in node.timers.items() if deadline <= end)
            if not due:
                break
            deadline, i, name = due[0]
            self.now_ms = max(self.now_ms, deadline)
            del self.nodes[i].timers[name]
            self.step(i, ev.TimerFired(name))
            self.stabilize()
        self.now_ms = end

    def heights(self) -> list[int]:
        return [node.app.height for node in self.nodes]
