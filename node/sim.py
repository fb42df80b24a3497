"""Whole-node deterministic simulator: the real node layers under every replica.

The consensus simulator (`consensus/sim.py`) runs `Replica.step` over a toy application
whose body is its header, so it cannot see a defect in the layers it replaced (a block
body the consensus digest does not bind; bytes from a peer escaping `step`). This one
runs, under each of n replicas, the real `Chain` (propose, validate, finalize), the real
`Mempool`, a real `Store` (LevelDB in a temporary directory per node, under /dev/shm
when there is one), the commerce state machine, the block sync codec (`serve_request` on
the serving node, `decode_response` on the asking one) and a driver that runs the
replica's effects exactly as `node/driver.py` does (see `SimDriver`), on a virtual clock
and a virtual network. Nothing reads the wall clock and one `random.Random(seed)`
chooses everything, so a seed replays exactly.

Faults: loss, delay, reordering, duplication, partitions that heal, crash/restart
mid-step (the store is closed and reopened), restart with an empty data directory, and
one Byzantine validator (f = 1 at n = 4) that runs a real node underneath but lies with
genuine material: tampered bodies under genuine headers in PRE-PREPARE, NEW-VIEW,
VIEW-CHANGE (its own and honest ones it relays), DECIDED (a real certificate, sent to
nodes one height behind) and sync replies; junk after good blocks in a sync reply;
oversized replies; withheld bodies; floods of junk consensus messages, junk gossip and
unexecutable transactions. Honest clients submit signed transfers among funded genesis
accounts, which the nodes gossip.

Checkers (violations are listed, never raised): agreement (one block, same bytes, at
each height on every honest node; certificate verifies), no honest node halts (the
driver's fatal rule) or wedges (an exception out of `step` or an effect), the supply
invariant on every honest node after every block, and liveness: after the faults heal,
every honest node finalizes again within a bound of virtual time.

Run: python -m node.sim --seed N   (or --seeds A:B; a failure prints its replay command)
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import random
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import commerce  # noqa: F401  (registers the transaction types)
from commerce.address import address_of, to_text
from commerce.amount import parse_amount
from commerce.block import BlockHeader
from commerce.encoding import decode, encode, pack_plain, sha256
from commerce.errors import AgoraError, ValidationError
from commerce.genesis import Genesis, parse_genesis
from commerce.keys import Keypair
from commerce.ledger import ACCOUNT_PREFIX, get_account, get_supply
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from consensus.errors import ValidationError as ConsensusValidationError
from consensus.events import (
    Blame,
    BlockProposed,
    BlocksFetched,
    BlockValidated,
    Broadcast,
    CancelTimer,
    Effect,
    Event,
    FetchBlocks,
    FinalizeBlock,
    MessageReceived,
    Note,
    Persist,
    ProposeBlock,
    Send,
    SetTimer,
    Started,
    TimerFired,
    ValidateBlock,
    WorkPending,
)
from consensus.messages import (
    PHASE_COMMIT,
    PHASE_PREPARE,
    Certificate,
    Decided,
    Digest,
    Height,
    NewView,
    PeerId,
    PrePrepare,
    ValidatorIndex,
    Verifier,
    View,
    ViewChange,
    Vote,
    decode_certificate,
    decode_message,
    encode_message,
    new_view_payload,
    verify_certificate,
)
from consensus.replica import Replica, ReplicaConfig
from node import chain as chain_module
from node.chain import Chain, ConsensusDigest
from node.driver import ConsensusLog
from node.intake import (
    REGOSSIP_AGE_BLOCKS,
    REGOSSIP_MAX_TXS,
    TX_BATCH_BYTES_MAX,
    TX_BATCH_MAX,
    screen_gossiped,
)
from node.limits import SYNC_MAX_BLOCKS_PER_REQUEST
from node.mempool import Mempool
from node.store import Store
from node.sync import decode_response, encode_request, serve_request
from p2p.limits import (
    BAN_DURATION_MS,
    INVALID_GOSSIP_POINTS,
    MAX_PAYLOAD_BYTES,
    MISBEHAVIOUR_BAN_POINTS,
    MISBEHAVIOUR_DECAY_POINTS_PER_MIN,
)

CHAIN_ID = "nodesim"
ACCOUNTS_COUNT = 8
ACCOUNT_BALANCE = "1000"
GENESIS_TIME_MS = 1_700_000_000_000  # the virtual clock's zero, for block timestamps

SIM_CONFIG = ReplicaConfig(
    view_change_timeout_ms=500, view_change_timeout_max_ms=8_000,
    retransmit_interval_ms=200, fetch_timeout_ms=1_000, idle_block_interval_ms=300,
)
DELAY_MS_MIN, DELAY_MS_MAX = 5, 40
DUPLICATE_PCT = 3
FETCH_TIMEOUT_MS = 5_000  # node/driver.py FETCH_TIMEOUT_S: a lost request answers empty then
RECHECK_INTERVAL_MS = 500  # node/service.py RECHECK_INTERVAL_S
REGOSSIP_INTERVAL_MS = 1_000  # node/service.py REGOSSIP_INTERVAL_S
CLIENT_TICK_MS = 120  # honest clients submit transfers this often
BYZANTINE_TICK_MS = 150
FLOOD_TXS_PER_TICK = 4
LIVENESS_BLOCKS = 2
LIVENESS_BOUND_MS = 60_000
MAX_EVENTS = 200_000
KIND_CONSENSUS = "consensus"
KIND_TXS = "txs"

BEHAVIOURS = ("pp_tamper", "vc_tamper", "decided_tamper", "sync_tamper", "sync_junk",
              "sync_oversize", "withhold", "flood_consensus", "flood_txs")
SCENARIOS = (
    "normal", "lossy", "partition", "crash_restart", "empty_datadir",
    "byz_preprepare", "byz_view_change", "byz_decided", "byz_sync", "byz_withhold",
    "byz_flood", "byz_mixed",
)


def validator_keys(n: int) -> list[Keypair]:
    """Deterministic validator keys."""
    return [Keypair.from_seed(hashlib.sha256(b"nodesim-validator-%d" % i).digest())
            for i in range(n)]


def account_keys(count: int = ACCOUNTS_COUNT) -> list[Keypair]:
    """Deterministic keys of the funded genesis accounts."""
    return [Keypair.from_seed(hashlib.sha256(b"nodesim-account-%d" % i).digest())
            for i in range(count)]


def make_genesis(validators: Sequence[Keypair], accounts: Sequence[Keypair]) -> Genesis:
    """A genesis with `validators` and `accounts` funded with ACCOUNT_BALANCE each."""
    return parse_genesis({
        "chain_id": CHAIN_ID,
        "token": {"symbol": "AGR"},
        "validators": [{"name": f"v{i}", "public_key": k.public_key.hex()}
                       for i, k in enumerate(validators)],
        "accounts": [{"address": to_text(address_of(k.public_key)),
                      "balance": ACCOUNT_BALANCE} for k in accounts],
    })


def _scratch_root() -> str | None:
    """Where node stores live: /dev/shm when it exists (fsync is free there)."""
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


# --- tampering: genuine headers, other bodies ------------------------------------------------


def tamper_body(raw: bytes, rng: random.Random, donors: Sequence[bytes]) -> bytes:
    """The same header with another body (decodable, so a header-only digest still
    matches; the body no longer matches the header's tx_root)."""
    value = decode(raw)
    header, body = value[0], value[1]
    txs = list(body) if isinstance(body, list) else []
    mode = rng.randrange(6)
    if mode == 0 and txs:
        txs.pop(rng.randrange(len(txs)))
    elif mode == 1 and donors:
        txs.append(rng.choice(donors))  # a real signed transaction of another block
    elif mode == 2 and len(txs) > 1:
        txs.reverse()
    elif mode == 3:
        txs.append(rng.randbytes(rng.randint(1, 48)))  # bytes that are no transaction
    elif mode == 4:
        txs.append(rng.randint(0, 1 << 20))  # an item that is not bytes
    else:
        return encode([header, rng.randint(0, 9)])  # a body that is not a list
    out = encode([header, txs])
    if out == raw:
        out = encode([header, txs + [b"\x00"]])
    assert out != raw
    return out


def junk_block(rng: random.Random, raw: bytes | None = None) -> bytes:
    """Bytes that are not a block: random, or a real block with trailing bytes."""
    if raw is not None and rng.randrange(2):
        return raw + rng.randbytes(rng.randint(1, 8))
    return rng.randbytes(rng.randint(0, 96))


# --- the defects of issue 19, put back (mutation tests) -----------------------------------------


def header_only_digest(raw: bytes) -> bytes | None:
    """Defect 1 put back: the header's hash with the body unbound (None for bytes that
    are no block header, so that defect 2 stays fixed)."""
    try:
        value = decode(raw)
        if not isinstance(value, list) or len(value) != 2:
            return None
        return bytes(BlockHeader.from_array(value[0]).hash)
    except AgoraError:
        return None


def raising_digest(raw: bytes) -> bytes:
    """Defect 2 put back: the body-binding digest without `ConsensusDigest`'s guard, so a
    commerce error reaches the replica for bytes that are not a valid block (as the old
    `block_digest` did) instead of None."""
    return chain_module.block_digest(raw)


MUTATIONS: dict[str, DigestFn] = {"header_digest": header_only_digest,
                                  "raising_digest": raising_digest}


# --- the simulated node ----------------------------------------------------------------------


DigestFn = Callable[[bytes], Any]


class NodeHalted(Exception):
    """The driver's fatal rule fired (node/driver.py: finalize failed, the node stops)."""


class NodeWedged(Exception):
    """An exception came out of `Replica.step` (node/driver.py: fatal, `consensus_wedged`)."""


class NodeCrashed(Exception):
    """The simulated process died mid-step (raised to leave the effect loop)."""


@dataclass
class SimNode:
    """One node: its key, its data directory and, while up, its open layers."""

    index: int
    key: Keypair
    path: Path
    byzantine: tuple[str, ...] = ()
    store: Store | None = None
    mempool: Mempool | None = None
    chain: Chain | None = None
    replica: Replica | None = None
    driver: SimDriver | None = None
    timers: dict[str, int] = field(default_factory=dict)
    incarnation: int = 0
    crash_armed: bool = False
    dead: str = ""  # why an honest node stopped for good (halt or wedge); "" while fine
    work_signalled: bool = False
    rechecked_ms: int = -RECHECK_INTERVAL_MS
    last_height: int = 0  # the store's height when it was last closed

    @property
    def up(self) -> bool:
        return self.replica is not None and not self.dead

    @property
    def height(self) -> int:
        return self.store.head.height if self.store is not None and not self.store.closed \
            else self.last_height


class SimDriver:
    """`node/driver.py`'s ConsensusDriver without asyncio: the same feed loop and the same
    effect semantics, on the simulator's clock and network.

    Mirrored exactly: one event's effects run to the end before the next event; Persist
    is written (synced) before any later effect; a run of FinalizeBlock effects is synced
    at its last block; ProposeBlock and ValidateBlock are answered by queuing
    BlockProposed and BlockValidated; after each finalized block WorkPending(has_ready)
    is queued; an AgoraError from `Chain.finalize` is fatal (flush, close, raise), and so
    is an exception out of `step` (wedged); Blame bans the peer; FetchBlocks is answered
    through `serve_request` on the target node and `decode_response` here, sliced to the
    span asked, with any fetch error (timeout, transport refusal, malformed reply: that
    one also blamed) answered as an empty BlocksFetched. Left out: the
    prefetch pipelining of the next range (a latency optimization; the replica sees the
    same BlocksFetched answers) and the latency metrics.
    """

    MAX_QUEUED_EVENTS = 10_000  # node/driver.py MAX_QUEUED_EVENTS

    def __init__(self, sim: Simulation, node: SimNode) -> None:
        assert node.replica is not None and node.chain is not None and node.store is not None
        self.sim = sim
        self.node = node
        self.replica = node.replica
        self.chain = node.chain
        self.store = node.store
        self._queue: deque[Event] = deque()
        self._running = False
        self._closed = False
        self.fatal: BaseException | None = None
        self.log = ConsensusLog(self.store)

    def feed(self, event: Event) -> None:
        """Queue `event` and run the replica until the queue is empty (as the driver)."""
        if self._closed:
            return
        if len(self._queue) >= self.MAX_QUEUED_EVENTS:
            return
        self._queue.append(event)
        if self._running:
            return
        self._running = True
        try:
            while self._queue and not self._closed:
                current = self._queue.popleft()
                try:
                    effects = self.replica.step(current, self.sim.now_ms)
                except Exception as exc:
                    self.fatal = exc
                    self.close()
                    raise NodeWedged(f"{type(exc).__name__} from {type(current).__name__}: "
                                     f"{exc}") from exc
                self._run_effects(effects)
        finally:
            self._running = False

    def close(self) -> None:
        self._closed = True
        self.node.timers.clear()

    def _run_effects(self, effects: list[Effect]) -> None:
        cut = len(effects)
        if self.node.crash_armed and effects:
            cut = self.sim.rng.randint(0, len(effects))
        last = len(effects) - 1
        for index, effect in enumerate(effects[:cut]):
            match effect:
                case Persist():
                    self.log.append(effect)
                case Send():
                    self.sim.out_consensus(self.node, [effect.to], effect.msg)
                case Broadcast():
                    self.sim.out_consensus(self.node, None, effect.msg)
                case SetTimer():
                    self.node.timers[effect.name] = effect.deadline_ms
                    self.sim.push(max(self.sim.now_ms, effect.deadline_ms), self.node.index,
                                  "timer", (effect.name, effect.deadline_ms))
                case CancelTimer():
                    self.node.timers.pop(effect.name, None)
                case ProposeBlock():
                    block = self.chain.propose(effect.height, GENESIS_TIME_MS + self.sim.now_ms)
                    self._queue.append(BlockProposed(effect.height, effect.view, block))
                case ValidateBlock():
                    self._validate(effect)
                case FinalizeBlock():
                    self._finalize(effect, sync=index == last
                                   or not isinstance(effects[index + 1], FinalizeBlock))
                case FetchBlocks():
                    self.sim.fetch(self.node, effect)
                case Blame():
                    self.sim.blame(self.node, self.sim.by_key.get(bytes(effect.peer), -1),
                                   effect.reason)
                case Note():
                    if effect.kind == "view_change":
                        self.sim.view_changes += 1
                case _:
                    raise AssertionError(f"unknown effect {effect!r}")
        if cut < len(effects) or self.node.crash_armed:
            raise NodeCrashed()

    def _validate(self, effect: ValidateBlock) -> None:
        primary = None if effect.reproposal else \
            self.sim.validators[effect.view % len(self.sim.validators)]
        try:
            self.chain.validate(effect.height, effect.block, primary)
        except AgoraError as exc:
            self._queue.append(BlockValidated(effect.height, effect.view, effect.digest,
                                              False, f"{exc.reason}: {exc.message}"))
            return
        self._queue.append(BlockValidated(effect.height, effect.view, effect.digest, True, ""))

    def _finalize(self, effect: FinalizeBlock, *, sync: bool) -> None:
        try:
            block = self.chain.finalize(effect.block, effect.certificate, effect.digest,
                                        sync=sync)
        except AgoraError as exc:
            self.chain.flush()
            self.fatal = exc
            self.close()
            raise NodeHalted(f"finalize of height {effect.height} failed: {exc.reason}: "
                             f"{exc.message}") from exc
        if sync:
            self.log.prune(effect.height)
        self.sim.on_finalized(self.node, block.height, effect)
        self._queue.append(WorkPending(self.chain.mempool.has_ready()))


# --- the plan ----------------------------------------------------------------------------------


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
    else:
        assert scenario == "normal", f"unknown scenario {scenario}"
    return plan


@dataclass
class RunResult:
    """What one seed did; `violations` empty when every checker held."""

    seed: int
    validators: int
    scenario: str
    behaviours: tuple[str, ...]
    blocks: int
    txs: int
    view_changes: int
    messages: int
    virtual_ms: int
    violations: list[str]
    heal_height: int = 0
    recovered_ms: int = 0
    lies: dict[str, int] = field(default_factory=dict)  # Byzantine messages sent, by kind


# --- the simulation ----------------------------------------------------------------------------


class Simulation:
    """One seeded run of n whole nodes. `run()` returns a RunResult."""

    def __init__(self, seed: int, n: int = 4, *, scenario: str | None = None,
                 digest_fn: DigestFn | None = None) -> None:
        self.seed = seed
        self.n = n
        self.f = (n - 1) // 3
        self.rng = random.Random(seed)
        self.plan = make_plan(self.rng, n, scenario or SCENARIOS[seed % len(SCENARIOS)])
        # None: each node gets its own ConsensusDigest, as node/service.py builds it.
        self.digest_fn = digest_fn
        self.keys = validator_keys(n)
        self.accounts = account_keys()
        self.genesis = make_genesis(self.keys, self.accounts)
        self.genesis_supply = sum(parse_amount(a.balance) for a in self.genesis.accounts)
        self.validators = [k.public_key for k in self.keys]
        self.by_key = {pk: i for i, pk in enumerate(self.validators)}
        self.verifier = Verifier(max_entries=1 << 15)
        self.root = Path(tempfile.mkdtemp(prefix="nodesim-", dir=_scratch_root()))
        self.nodes = [SimNode(i, k, self.root / f"node{i}",
                              self.plan.behaviours if i == self.plan.byzantine else ())
                      for i, k in enumerate(self.keys)]
        self.now_ms = 0
        self.queue: list[tuple[int, int, int, int, str, Any]] = []
        self.seq = 0
        self.events = 0
        self.messages = 0
        self.view_changes = 0
        self.loss_pct = self.plan.loss_pct
        self.partition: set[int] | None = None
        self.healed = False
        self.heal_at_ms = 0
        self.heal_height = 0
        self.violations: list[str] = []
        self.finalized: dict[int, tuple[bytes, bytes]] = {}  # height -> (hash, raw digest)
        self.donors: list[bytes] = []  # transaction bytes seen in blocks (tamper material)
        self.flood_keys = [Keypair.from_seed(hashlib.sha256(b"flood-%d" % i).digest())
                           for i in range(16)]
        self.txs_finalized = 0
        self._counted: set[int] = set()  # heights whose transactions were counted
        self.lies: dict[str, int] = {}
        self.commits_withheld: dict[tuple[int, int], bool] = {}  # (height, view) -> withheld
        self.bans: dict[tuple[int, int], int] = {}  # (node, peer) -> ban ends, virtual ms
        self.points: dict[tuple[int, int], tuple[int, int]] = {}  # -> (points, at ms)

    def lie(self, kind: str, count: int = 1) -> None:
        """Count a Byzantine message (the report shows that each path was exercised)."""
        self.lies[kind] = self.lies.get(kind, 0) + count

    # --- queue and network ---------------------------------------------------------------

    def push(self, at_ms: int, node: int, kind: str, payload: Any) -> None:
        self.seq += 1
        inc = self.nodes[node].incarnation if node >= 0 else 0
        heapq.heappush(self.queue, (at_ms, self.seq, node, inc, kind, payload))

    def honest(self) -> list[SimNode]:
        return [node for node in self.nodes if not node.byzantine]

    def cut_off(self, src: int, dst: int) -> bool:
        """No connection between `src` and `dst`: a partition, or a ban either way."""
        if self.partition is not None and ((src in self.partition)
                                           != (dst in self.partition)):
            return True
        return self.bans.get((src, dst), -1) > self.now_ms \
            or self.bans.get((dst, src), -1) > self.now_ms

    def blame(self, node: SimNode, peer: int, reason: str) -> None:
        """node/service.py ConsensusNetwork.blame: ban the peer. Only a faulty peer may be
        blamed: an honest node sends only what it checked."""
        if peer < 0:
            return
        if not node.byzantine and not self.nodes[peer].byzantine:
            self.violations.append(f"blame: node {node.index} blamed honest node {peer} "
                                   f"for {reason}")
        self.bans[(node.index, peer)] = self.now_ms + BAN_DURATION_MS

    def penalize(self, node: SimNode, peer: int) -> None:
        """p2p/service.py P2PService.penalize with INVALID_GOSSIP_POINTS: decaying points,
        a ban once they reach MISBEHAVIOUR_BAN_POINTS."""
        if not node.byzantine and not self.nodes[peer].byzantine:
            self.violations.append(f"penalize: node {node.index} charged honest node {peer} "
                                   f"for junk gossip")
        points, at_ms = self.points.get((node.index, peer), (0, self.now_ms))
        decayed = (self.now_ms - at_ms) * MISBEHAVIOUR_DECAY_POINTS_PER_MIN // 60_000
        total = max(0, points - decayed) + INVALID_GOSSIP_POINTS
        if total < MISBEHAVIOUR_BAN_POINTS:
            self.points[(node.index, peer)] = (total, self.now_ms)
            return
        self.points.pop((node.index, peer), None)
        self.bans[(node.index, peer)] = self.now_ms + BAN_DURATION_MS

    def send(self, src: int, dst: int, kind: str, data: bytes) -> None:
        """One message over the simulated network: partitions, loss, delay, duplicates."""
        if dst == src or not 0 <= dst < self.n:
            return
        self.messages += 1
        if self.cut_off(src, dst):
            return
        if self.loss_pct and self.rng.randrange(100) < self.loss_pct:
            return
        self.push(self.now_ms + self.rng.randint(DELAY_MS_MIN, DELAY_MS_MAX), dst, "msg",
                  (src, kind, data))
        if self.rng.randrange(100) < DUPLICATE_PCT:
            self.push(self.now_ms + self.rng.randint(DELAY_MS_MIN, 4 * DELAY_MS_MAX), dst,
                      "msg", (src, kind, data))

    def out_consensus(self, node: SimNode, to: list[bytes] | None, data: bytes) -> None:
        """A Send (to one peer) or Broadcast (to all) from `node`'s driver."""
        targets = [j for j in range(self.n) if j != node.index] if to is None \
            else [self.by_key.get(key, -1) for key in to]
        if node.byzantine:
            for dst, out in self.byzantine_out(node, targets, data):
                self.send(node.index, dst, KIND_CONSENSUS, out)
            return
        for dst in targets:
            self.send(node.index, dst, KIND_CONSENSUS, data)

    # --- node life cycle -------------------------------------------------------------------

    def start(self, node: SimNode, empty: bool = False) -> None:
        """Open (or reopen) the node's store and build its layers as node/service.py does."""
        if empty and node.path.exists():
            shutil.rmtree(node.path)
        store = Store.open(node.path, self.genesis, write_buffer_bytes=1 << 20)
        node.store = store
        node.mempool = Mempool(store.state, self.genesis.chain_id,
                               context=lambda: self._next_context(node))
        node.chain = Chain(store, self.genesis, node.mempool, node.key.public_key)
        head = store.head
        node.replica = Replica(
            chain_id=self.genesis.chain_id.encode(), validators=self.validators,
            signing_key=node.key.signing_key, finalized_height=head.height,
            finalized_digest=head.block_hash if head.height > 0 else b"",
            finalized_certificate=store.get_certificate(head.height),
            records=[value for _, value in store.consensus_records()],
            digest_fn=self.digest_fn or ConsensusDigest(), config=SIM_CONFIG,
            verifier=self.verifier)
        node.driver = SimDriver(self, node)
        node.timers = {}
        node.work_signalled = False
        self.feed(node, Started())
        if node.up and node.mempool.has_ready():
            self.feed(node, WorkPending(True))

    def _next_context(self, node: SimNode) -> Any:
        assert node.chain is not None
        return node.chain.context(node.chain.height + 1)

    def crash(self, node: SimNode) -> None:
        """The process dies: everything not in the store is lost."""
        if node.store is not None and not node.store.closed:
            node.last_height = node.store.head.height
            node.store.close()
        if node.driver is not None:
            node.driver.close()
        node.replica = node.driver = node.chain = node.mempool = None
        node.timers = {}
        node.incarnation += 1
        node.crash_armed = False

    def feed(self, node: SimNode, event: Event) -> None:
        """Feed one event to a node's driver; turn what escapes into a verdict."""
        assert node.driver is not None
        try:
            node.driver.feed(event)
        except NodeCrashed:
            self.crash(node)
        except NodeHalted as exc:
            self.fail(node, f"halt: node {node.index} {exc}")
        except NodeWedged as exc:
            self.fail(node, f"wedge: node {node.index} {exc}")
        except Exception as exc:  # noqa: BLE001 - an exception here IS the finding
            self.fail(node, f"error: node {node.index} {type(exc).__name__} running the "
                            f"effects of {type(event).__name__}: {exc}")

    def fail(self, node: SimNode, reason: str) -> None:
        if node.byzantine:
            self.crash(node)  # a Byzantine node's own trouble is no finding
            return
        node.dead = reason
        self.violations.append(reason)
        self.crash(node)

    # --- application hooks (called by SimDriver) ------------------------------------------

    def on_finalized(self, node: SimNode, height: int, effect: FinalizeBlock) -> None:
        """Checkers after each finalized block: agreement, certificate, supply."""
        if node.byzantine:
            return
        assert node.store is not None
        raw = node.store.get_block_raw(height)
        cert = node.store.get_certificate(height)
        assert raw is not None and cert is not None
        block_hash = node.store.head.block_hash
        mark = (block_hash, sha256(raw))
        known = self.finalized.setdefault(height, mark)
        if known != mark:
            self.violations.append(f"agreement: height {height} node {node.index} "
                                   f"{block_hash.hex()[:12]} != {known[0].hex()[:12]}"
                                   f"{' (bodies differ)' if known[0] == block_hash else ''}")
        try:
            verify_certificate(cert, height, effect.digest, self.validators,
                               self.genesis.chain_id.encode(), self.verifier)
        except ConsensusValidationError as exc:
            self.violations.append(f"certificate: height {height} node {node.index}: {exc}")
        self.check_supply(node, height)
        block_txs = decode(raw)[1]
        if known == mark and height not in self._counted:
            self._counted.add(height)
            self.txs_finalized += len(block_txs)
            self.donors = (self.donors + list(block_txs))[-32:]
        node.work_signalled = False
        if self.now_ms - node.rechecked_ms >= RECHECK_INTERVAL_MS:
            node.rechecked_ms = self.now_ms
            self.push(self.now_ms, node.index, "recheck", None)

    def check_supply(self, node: SimNode, height: int) -> None:
        """genesis supply + minted = total = sum of balances + escrow, on this node."""
        assert node.store is not None
        state = node.store.state
        supply = get_supply(state)
        balances = sum(get_account(state, key[len(ACCOUNT_PREFIX):]).balance
                       for key, _ in state.iterate(ACCOUNT_PREFIX)
                       if len(key) == len(ACCOUNT_PREFIX) + 20)
        if supply.genesis != self.genesis_supply or supply.total != balances + supply.escrow:
            self.violations.append(
                f"supply: node {node.index} height {height}: genesis {supply.genesis} "
                f"(expected {self.genesis_supply}) + minted {supply.minted} != balances "
                f"{balances} + escrow {supply.escrow}")

    # --- block sync -------------------------------------------------------------------------

    def fetch(self, node: SimNode, effect: FetchBlocks) -> None:
        """A FetchBlocks: the request travels, the target serves it from its store, the
        reply travels back and is decoded here; any failure answers empty."""
        target = self.by_key.get(effect.peer, -1)
        request = encode_request(effect.from_height, effect.to_height)
        lost = target < 0 or self.cut_off(node.index, target) or (
            self.loss_pct and self.rng.randrange(100) < self.loss_pct)
        if lost:
            self.push(self.now_ms + FETCH_TIMEOUT_MS, node.index, "fetched",
                      (effect, None))
            return
        self.push(self.now_ms + self.rng.randint(DELAY_MS_MIN, DELAY_MS_MAX), target, "serve",
                  (node.index, node.incarnation, effect, request))

    def serve(self, target: SimNode, asker: int, asker_inc: int, effect: FetchBlocks,
              request: bytes) -> None:
        assert target.store is not None
        try:
            reply: bytes | None = serve_request(target.store, request)
        except AgoraError:
            reply = None  # the P2P layer answers request_failed
        if reply is not None and target.byzantine:
            reply = self.byzantine_reply(target, reply)
        if reply is not None and len(reply) > MAX_PAYLOAD_BYTES:
            reply = None  # the transport refuses the payload: request_failed
        asker_node = self.nodes[asker]
        if asker_node.incarnation != asker_inc:
            return
        if self.cut_off(target.index, asker) or (
                self.loss_pct and self.rng.randrange(100) < self.loss_pct):
            self.push(self.now_ms + FETCH_TIMEOUT_MS, asker, "fetched", (effect, None))
            return
        self.push(self.now_ms + self.rng.randint(DELAY_MS_MIN, DELAY_MS_MAX), asker,
                  "fetched", (effect, reply))

    def fetched(self, node: SimNode, effect: FetchBlocks, reply: bytes | None) -> None:
        span = effect.to_height - effect.from_height + 1
        blocks: tuple[tuple[bytes, bytes], ...] = ()
        if reply is not None:
            try:
                blocks = tuple(decode_response(reply))[:span]
            except AgoraError:
                # The answer arrived and is not a block reply: the peer is at fault.
                self.blame(node, self.by_key.get(bytes(effect.peer), -1), "bad_sync_reply")
        self.feed(node, BlocksFetched(effect.peer, blocks))

    # --- transactions -----------------------------------------------------------------------

    def client_tick(self) -> None:
        """Honest clients: a few signed transfers to one live honest node, then gossip."""
        live = [node for node in self.honest() if node.up]
        if not live:
            return
        node = self.rng.choice(live)
        assert node.mempool is not None
        admitted: list[bytes] = []
        for _ in range(self.rng.randint(0, 3)):
            sender, target = self.rng.sample(range(len(self.accounts)), 2)
            key = self.accounts[sender]
            nonce = node.mempool.pending_nonce(address_of(key.public_key))
            body = Transfer(to=address_of(self.accounts[target].public_key),
                            amount=self.rng.randint(1, 50_000), memo="")
            tx = sign_tx(key, self.genesis.chain_id, nonce, body)
            try:
                node.mempool.admit(tx)
            except AgoraError:
                continue
            admitted.append(tx.raw)
        if admitted:
            self.gossip_txs(node.index, admitted)
            self.signal_work(node)

    def gossip_txs(self, src: int, raws: list[bytes]) -> None:
        for start in range(0, len(raws), TX_BATCH_MAX):
            payload = pack_plain(raws[start:start + TX_BATCH_MAX])
            for dst in range(self.n):
                self.send(src, dst, KIND_TXS, payload)

    def signal_work(self, node: SimNode) -> None:
        """node/service.py `_signal_work`: WorkPending(True) on the next loop turn."""
        if not node.work_signalled:
            node.work_signalled = True
            self.push(self.now_ms, node.index, "work", None)

    def on_tx_gossip(self, node: SimNode, src: int, payload: bytes) -> None:
        """node/intake.py `on_gossip` + `_admit_gossiped`, without threads: admit what
        passes, gossip those on as this node's own batch, charge the peer for junk."""
        mempool = node.mempool
        assert mempool is not None
        try:
            items = decode(payload, max_bytes=TX_BATCH_BYTES_MAX, check_leaves=False)
        except ValidationError:
            self.penalize(node, src)
            return
        if not isinstance(items, list) or len(items) > TX_BATCH_MAX:
            self.penalize(node, src)
            return
        txs, junk = screen_gossiped(items, mempool, None, gap_quota=True)
        admitted: list[bytes] = []
        for tx in txs:
            if tx.tx_id not in mempool.verified:
                if not tx.verify_signature():
                    junk += 1
                    continue
                mempool.verified.add(tx.tx_id)
            try:
                mempool.admit(tx, signature_checked=True, simulate=False)
            except AgoraError:
                continue
            admitted.append(tx.raw)
        if junk:
            self.penalize(node, src)
        if admitted:
            self.gossip_txs(node.index, admitted)
            self.signal_work(node)

    def regossip(self, node: SimNode) -> None:
        assert node.mempool is not None and node.store is not None
        due = node.mempool.regossip_due(node.store.head.height, REGOSSIP_AGE_BLOCKS,
                                        REGOSSIP_MAX_TXS)
        if due:
            self.gossip_txs(node.index, [tx.raw for tx in due])

    # --- the Byzantine validator -------------------------------------------------------------

    def victims(self, node: SimNode) -> list[int]:
        return [j for j in range(self.n) if j != node.index and not self.nodes[j].byzantine]

    def byzantine_out(self, node: SimNode, targets: list[int],
                      data: bytes) -> list[tuple[int, bytes]]:
        """What the Byzantine node sends instead of `data` to each of `targets`."""
        kinds, rng = node.byzantine, self.rng
        msg = decode_message(data)
        out = [(dst, data) for dst in targets]
        if isinstance(msg, PrePrepare | NewView):
            pp = msg if isinstance(msg, PrePrepare) else msg.preprepare
            if pp is None:
                return out
            if "withhold" in kinds and isinstance(msg, PrePrepare):
                # The block to a quorum only: the others must get it from another holder.
                starved = set(rng.sample(self.victims(node), rng.randint(1, self.f)))
                self.lie("withheld_preprepare", len(starved))
                return [(dst, data) for dst in targets if dst not in starved]
            if "pp_tamper" in kinds:
                # The genuine block to a quorum, the same header with another body to one.
                victim = rng.choice(self.victims(node))
                tampered = self.with_block(node, msg, tamper_body(pp.block, rng, self.donors))
                self.lie("tampered_" + type(msg).__name__.lower())
                return [(dst, tampered if dst == victim else data) for dst in targets]
        elif isinstance(msg, Vote) and msg.phase == PHASE_COMMIT and "vc_tamper" in kinds:
            # Its COMMIT withheld at some heights: with an honest node down, a prepared
            # block then stalls and the view change carries it (VIEW-CHANGE, NEW-VIEW).
            slot = (msg.height, msg.view)
            if slot not in self.commits_withheld:
                self.commits_withheld[slot] = rng.randrange(2) == 0
            if self.commits_withheld[slot]:
                self.lie("withheld_commit")
                return []
        elif isinstance(msg, ViewChange) and msg.block is not None:
            if "vc_tamper" in kinds:
                self.lie("tampered_viewchange", len(targets))
                return [(dst, encode_message(self.vc_with(msg, tamper_body(
                    msg.block, rng, self.donors)))) for dst in targets]
            if "withhold" in kinds:
                self.lie("withheld_viewchange_block", len(targets))
                return [(dst, encode_message(self.vc_with(msg, None))) for dst in targets]
        elif isinstance(msg, Decided) and msg.block is not None:
            if "decided_tamper" in kinds:
                tampered = tamper_body(msg.block, rng, self.donors)
                self.lie("tampered_decided", len(targets))
                return [(dst, encode_message(Decided(msg.certificate, tampered)))
                        for dst in targets]
            if "withhold" in kinds:
                self.lie("withheld_decided_block", len(targets))
                return [(dst, encode_message(Decided(msg.certificate, None)))
                        for dst in targets]
        return out

    @staticmethod
    def vc_with(vc: ViewChange, block: bytes | None) -> ViewChange:
        """The same signed VIEW-CHANGE carrying `block` (the block is not signed)."""
        return ViewChange(vc.view, vc.height, vc.last_cert, vc.prepared, vc.signer,
                          vc.signature, block)

    def with_block(self, node: SimNode, msg: PrePrepare | NewView, block: bytes) -> bytes:
        """`msg` with its proposal's block replaced (a NEW-VIEW is signed again)."""
        if isinstance(msg, PrePrepare):
            return encode_message(PrePrepare(msg.vote, block))
        assert msg.preprepare is not None
        unsigned = NewView(msg.view, msg.view_changes, PrePrepare(msg.preprepare.vote, block),
                           msg.signer, b"")
        signature = node.key.signing_key.sign(
            new_view_payload(self.genesis.chain_id.encode(), unsigned)).signature
        return encode_message(NewView(unsigned.view, unsigned.view_changes,
                                      unsigned.preprepare, unsigned.signer, signature))

    def byzantine_in(self, node: SimNode, src: int, data: bytes) -> None:
        """The Byzantine node relays honest VIEW-CHANGEs with tampered blocks (the block is
        not signed, and the first copy of a VIEW-CHANGE a replica sees is the one kept)."""
        if "vc_tamper" not in node.byzantine:
            return
        try:
            msg = decode_message(data)
        except ConsensusValidationError:
            return
        if isinstance(msg, ViewChange) and msg.block is not None:
            forged = encode_message(self.vc_with(msg, tamper_body(msg.block, self.rng,
                                                                  self.donors)))
            for dst in self.victims(node):
                if dst != src and dst != msg.signer:
                    self.lie("tampered_relayed_viewchange")
                    self.push(self.now_ms + DELAY_MS_MIN, dst, "msg",
                              (node.index, KIND_CONSENSUS, forged))

    def byzantine_reply(self, node: SimNode, reply: bytes) -> bytes:
        """A sync reply as the Byzantine node serves it."""
        kinds, rng = node.byzantine, self.rng
        pairs = [list(pair) for pair in decode_response(reply)]
        choices = [k for k in ("sync_tamper", "sync_junk", "sync_oversize", "withhold")
                   if k in kinds]
        if not choices:
            return reply
        kind = rng.choice(choices)
        self.lie("sync_reply_" + kind.removeprefix("sync_"))
        if kind == "withhold":
            return encode(pairs[:rng.randint(0, max(0, len(pairs) - 1))])
        if kind == "sync_tamper" and pairs:
            index = rng.randrange(len(pairs))
            pairs[index][0] = tamper_body(pairs[index][0], rng, self.donors)
            return encode(pairs)
        if kind == "sync_junk":
            # Good blocks, then junk: bytes that are no block, with a real certificate.
            cert = pairs[-1][1] if pairs else rng.randbytes(16)
            last = pairs[-1][0] if pairs else None
            return encode(pairs + [[junk_block(rng, last), cert]])
        if kind == "sync_oversize":
            mode = rng.randrange(3)
            if mode == 0:  # more pairs than any reply may hold
                return encode(pairs + [[b"", b""]] * (SYNC_MAX_BLOCKS_PER_REQUEST + 1))
            if mode == 1:  # more bytes than the transport carries
                return encode(pairs + [[bytes(MAX_PAYLOAD_BYTES), b""]])
            return encode(pairs + pairs)  # more blocks than asked for
        return reply

    def byzantine_tick(self, node: SimNode) -> None:
        """Unprompted lies: DECIDED with tampered bodies or lures, floods."""
        if not node.up:
            return
        assert node.store is not None and node.replica is not None
        kinds, rng = node.byzantine, self.rng
        chain_id = self.genesis.chain_id.encode()
        for dst in self.victims(node):
            other = self.nodes[dst]
            if not other.up:
                continue
            assert other.replica is not None
            height = other.replica.height  # the height it works on: one above its last
            raw = node.store.get_block_raw(height)
            cert_raw = node.store.get_certificate(height)
            if raw is not None and cert_raw is not None:
                cert = decode_certificate(cert_raw)
                if "decided_tamper" in kinds:
                    tampered = tamper_body(raw, rng, self.donors)
                    self.lie("tampered_decided")
                    self.send(node.index, dst, KIND_CONSENSUS,
                              encode_message(Decided(cert, tampered)))
                if set(kinds) & {"sync_tamper", "sync_junk", "sync_oversize", "withhold"}:
                    # A lure: the certificate without its block makes the node fetch here.
                    self.lie("lure_decided")
                    self.send(node.index, dst, KIND_CONSENSUS,
                              encode_message(Decided(cert, None)))
                if "flood_consensus" in kinds:
                    self.send(node.index, dst, KIND_CONSENSUS,
                              encode_message(Decided(cert, junk_block(rng, raw))))
            if "flood_consensus" in kinds:
                self.flood_consensus(node, dst, other.replica, chain_id)
        if "flood_txs" in kinds:
            self.flood_txs(node)

    def flood_consensus(self, node: SimNode, dst: int, replica: Replica,
                        chain_id: bytes) -> None:
        rng = self.rng
        height, view = replica.height, replica.view
        primary = ValidatorIndex(view % self.n)
        fake = Vote(PHASE_PREPARE, View(view), Height(height), Digest(rng.randbytes(32)),
                    primary, rng.randbytes(64))
        out = [encode_message(PrePrepare(fake, junk_block(rng))), rng.randbytes(rng.randint(0, 64))]
        sigs = tuple((ValidatorIndex(k), rng.randbytes(64)) for k in range(self.n - self.f))
        prepared = Certificate(PHASE_PREPARE, View(view), Height(height), fake.digest, sigs)
        vc = ViewChange(View(view + 1), Height(height), None, prepared,
                        ValidatorIndex(node.index), b"", junk_block(rng))
        signature = node.key.signing_key.sign(b"").signature  # wrong, and checked last
        out.append(encode_message(ViewChange(vc.view, vc.height, None, prepared, vc.signer,
                                             signature, vc.block)))
        self.lie("junk_consensus", len(out))
        for data in out:
            self.send(node.index, dst, KIND_CONSENSUS, data)

    def flood_txs(self, node: SimNode) -> None:
        """Junk gossip and unexecutable transactions (unfunded keys, future nonces)."""
        rng = self.rng
        unexecutable = []
        for _ in range(FLOOD_TXS_PER_TICK):
            key = rng.choice(self.flood_keys)
            body = Transfer(to=address_of(self.accounts[0].public_key),
                            amount=rng.randint(1, 10), memo="")
            unexecutable.append(sign_tx(key, self.genesis.chain_id, rng.randint(0, 255),
                                        body).raw)
        junk = rng.choice((rng.randbytes(rng.randint(0, 64)), encode(7),
                           encode([1, b"x", None]),
                           pack_plain([rng.randbytes(rng.randint(0, 80)), *unexecutable])))
        payloads = [pack_plain(unexecutable), junk]
        self.lie("junk_gossip", len(payloads) * len(self.victims(node)))
        for dst in self.victims(node):
            for payload in payloads:
                self.send(node.index, dst, KIND_TXS, payload)

    # --- the run ------------------------------------------------------------------------------

    def schedule_plan(self) -> None:
        plan = self.plan
        for crash_ms, index, restart_ms, empty in plan.crashes:
            self.push(crash_ms, -1, "crash", (index, empty))
            self.push(restart_ms, -1, "restart", (index, empty))
        for start_ms, end_ms, group in plan.partitions:
            self.push(start_ms, -1, "partition", frozenset(group))
            self.push(end_ms, -1, "partition", None)
        self.push(plan.heal_ms, -1, "heal", None)
        self.push(CLIENT_TICK_MS, -1, "client", None)
        for node in self.nodes:
            self.push(REGOSSIP_INTERVAL_MS, node.index, "regossip", None)
            if node.byzantine:
                self.push(BYZANTINE_TICK_MS, node.index, "byz", None)

    def control(self, kind: str, payload: Any) -> None:
        if kind == "crash":
            index, empty = payload
            node = self.nodes[index]
            if not node.up:
                return
            if empty:
                self.crash(node)
            else:
                node.crash_armed = True  # dies inside its next step, mid-effects
        elif kind == "restart":
            index, empty = payload
            node = self.nodes[index]
            node.crash_armed = False
            if node.replica is None and not node.dead:
                self.start(node, empty=empty)
        elif kind == "partition":
            self.partition = set(payload) if payload is not None else None
        elif kind == "client":
            self.client_tick()
            self.push(self.now_ms + CLIENT_TICK_MS, -1, "client", None)
        elif kind == "heal":
            self.healed = True
            self.loss_pct = 0
            self.partition = None
            for node in self.nodes:
                node.crash_armed = False
                if node.replica is None and not node.dead:
                    self.start(node)
            self.heal_height = max((node.height for node in self.honest()), default=0)
            self.heal_at_ms = self.now_ms

    def deliver(self, node: SimNode, kind: str, payload: Any) -> None:
        """One queued event for a live node."""
        if kind == "msg":
            src, channel, data = payload
            if channel == KIND_TXS:
                self.on_tx_gossip(node, src, data)
                return
            if node.byzantine:
                self.byzantine_in(node, src, data)
            self.feed(node, MessageReceived(PeerId(self.validators[src]), data))
        elif kind == "timer":
            name, deadline = payload
            if node.timers.get(name) == deadline:
                del node.timers[name]
                self.feed(node, TimerFired(name))
        elif kind == "serve":
            self.serve(node, *payload)
        elif kind == "fetched":
            effect, reply = payload
            self.fetched(node, effect, reply)
        elif kind == "work":
            node.work_signalled = False
            assert node.mempool is not None
            if node.mempool.has_ready():
                self.feed(node, WorkPending(True))
        elif kind == "recheck":
            assert node.chain is not None
            node.chain.recheck_mempool()
        elif kind == "regossip":
            self.regossip(node)
        elif kind == "byz":
            self.byzantine_tick(node)

    def live_enough(self) -> bool:
        goal = self.heal_height + LIVENESS_BLOCKS
        return all(node.height >= goal for node in self.honest())

    def run(self) -> RunResult:
        try:
            return self._run()
        finally:
            for node in self.nodes:
                if node.store is not None and not node.store.closed:
                    node.store.close()
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self) -> RunResult:
        for node in self.nodes:
            self.start(node)
        self.schedule_plan()
        recovered_ms = 0
        while self.queue and self.events < MAX_EVENTS and not self.violations:
            at_ms, _, index, inc, kind, payload = heapq.heappop(self.queue)
            assert at_ms >= self.now_ms, "the virtual clock never goes back"
            self.now_ms = at_ms
            self.events += 1
            if self.healed and self.live_enough():
                recovered_ms = self.now_ms - self.heal_at_ms
                break
            if self.healed and self.now_ms > self.heal_at_ms + LIVENESS_BOUND_MS:
                break
            if index < 0:
                self.control(kind, payload)
                continue
            node = self.nodes[index]
            if not node.up or inc != node.incarnation:
                if kind == "serve":  # the peer is gone: the request fails (request_failed)
                    asker, _, effect, _ = payload
                    self.push(self.now_ms, asker, "fetched", (effect, None))
                continue
            self.deliver(node, kind, payload)
            if kind in ("regossip", "byz") and node.up:
                period = REGOSSIP_INTERVAL_MS if kind == "regossip" else BYZANTINE_TICK_MS
                self.push(self.now_ms + period, index, kind, None)
        if self.events >= MAX_EVENTS:
            self.violations.append(f"event budget: {MAX_EVENTS} events at {self.now_ms} ms")
        if not self.violations and not (self.healed and self.live_enough()):
            heights = [node.height for node in self.honest()]
            self.violations.append(f"liveness: heights {heights} did not pass "
                                   f"{self.heal_height + LIVENESS_BLOCKS} within "
                                   f"{LIVENESS_BOUND_MS} ms after heal")
        blocks = max((node.height for node in self.honest()), default=0)
        return RunResult(self.seed, self.n, self.plan.scenario, self.plan.behaviours, blocks,
                         self.txs_finalized, self.view_changes, self.messages, self.now_ms,
                         self.violations, self.heal_height, recovered_ms, dict(self.lies))


def run_seed(seed: int, n: int = 4, **kwargs: Any) -> RunResult:
    """Run one seed; see `Simulation`."""
    return Simulation(seed, n, **kwargs).run()


def _sum_lies(results: Sequence[RunResult]) -> dict[str, int]:
    total: dict[str, int] = {}
    for result in results:
        for kind, count in result.lies.items():
            total[kind] = total.get(kind, 0) + count
    return dict(sorted(total.items()))


def replay_command(seed: int, n: int = 4, scenario: str | None = None,
                   mutation: str | None = None) -> str:
    """The command line that replays `seed` exactly."""
    cmd = f"python -m node.sim --seed {seed}"
    if n != 4:
        cmd += f" --validators {n}"
    if scenario is not None:
        cmd += f" --scenario {scenario}"
    if mutation is not None:
        cmd += f" --mutation {mutation}"
    return cmd


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node.sim", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, help="run this one seed")
    parser.add_argument("--seeds", help="A:B runs seeds A..B-1")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--scenario", choices=SCENARIOS)
    parser.add_argument("--output", choices=("text", "json"), default="text")
    parser.add_argument("--mutation", choices=sorted(MUTATIONS),
                        help="TESTING ONLY: put an issue-19 defect back (see MUTATIONS)")
    args = parser.parse_args(argv)
    if args.seed is not None:
        seeds = range(args.seed, args.seed + 1)
    elif args.seeds:
        first, _, last = args.seeds.partition(":")
        seeds = range(int(first), int(last) if last else int(first) + 1)
    else:
        parser.error("give --seed N or --seeds A:B")
    digest_fn = MUTATIONS[args.mutation] if args.mutation else None
    replay = {"n": args.validators, "scenario": args.scenario, "mutation": args.mutation}
    results = [run_seed(seed, args.validators, scenario=args.scenario, digest_fn=digest_fn)
               for seed in seeds]
    failures = [r for r in results if r.violations]
    if args.output == "json":
        print(json.dumps({
            "runs": len(results), "blocks": sum(r.blocks for r in results),
            "txs": sum(r.txs for r in results),
            "view_changes": sum(r.view_changes for r in results),
            "lies": _sum_lies(results),
            "failures": [{"seed": r.seed, "scenario": r.scenario, "violations": r.violations,
                          "replay": replay_command(r.seed, **replay)}
                         for r in failures]}, sort_keys=True))
    else:
        for r in results:
            status = "FAIL" if r.violations else "ok"
            print(f"{status} seed={r.seed} scenario={r.scenario} "
                  f"behaviours={','.join(r.behaviours) or '-'} blocks={r.blocks} "
                  f"txs={r.txs} view_changes={r.view_changes} virtual_ms={r.virtual_ms}")
            for violation in r.violations[:3]:
                print(f"  {violation}")
            if r.violations:
                print(f"  replay: {replay_command(r.seed, **replay)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
