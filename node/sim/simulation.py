"""One seeded run of n whole nodes: the event queue, the network, the nodes' life cycle,
the checkers and the run loop."""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

from commerce.amount import parse_amount
from commerce.encoding import decode, sha256
from commerce.errors import AgoraError
from commerce.keys import Keypair
from commerce.ledger import ACCOUNT_PREFIX, get_account, get_supply
from consensus.errors import ConsensusValidationError
from consensus.events import (
    BlocksFetched,
    Event,
    FetchBlocks,
    FinalizeBlock,
    MessageReceived,
    Started,
    TimerFired,
    WorkPending,
)
from consensus.messages import (
    PeerId,
    Verifier,
    verify_certificate,
)
from consensus.replica import Replica
from consensus.sim_loop import VirtualRun
from node.chain import Chain, ConsensusDigest
from node.mempool import Mempool
from node.sim.byzantine import ByzantineValidator
from node.sim.driver import NodeCrashed, NodeHalted, NodeWedged, SimDriver, SimNode
from node.sim.plan import RunResult, make_plan
from node.sim.traffic import ClientTraffic
from node.sim.world import (
    BYZANTINE_TICK_MS,
    CLIENT_TICK_MS,
    DELAY_MS_MAX,
    DELAY_MS_MIN,
    DUPLICATE_PCT,
    FETCH_TIMEOUT_MS,
    KIND_CONSENSUS,
    KIND_TXS,
    LIVENESS_BLOCKS,
    LIVENESS_BOUND_MS,
    MAX_EVENTS,
    RECHECK_INTERVAL_MS,
    REGOSSIP_INTERVAL_MS,
    SCENARIOS,
    SIM_CONFIG,
    DigestFn,
    ScheduledChain,
    _scratch_root,
    account_keys,
    make_genesis,
    validator_keys,
)
from node.store import Store
from node.sync import decode_response, encode_request, serve_request
from node.validators import replica_schedule
from p2p.limits import (
    BAN_DURATION_MS,
    INVALID_GOSSIP_POINTS,
    MAX_PAYLOAD_BYTES,
    MISBEHAVIOUR_BAN_POINTS,
    MISBEHAVIOUR_DECAY_POINTS_PER_MIN,
)


class Simulation(VirtualRun[SimNode], ClientTraffic, ByzantineValidator):
    """One seeded run of n whole nodes. `run()` returns a RunResult."""

    max_events = MAX_EVENTS
    liveness_blocks = LIVENESS_BLOCKS
    liveness_bound_ms = LIVENESS_BOUND_MS
    stop_on_violation = True

    def __init__(self, seed: int, n: int = 4, *, scenario: str | None = None,
                 digest_fn: DigestFn | None = None) -> None:
        super().__init__()
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
        self.messages = 0
        self.view_changes = 0
        self.loss_pct = self.plan.loss_pct
        self.partition: set[int] | None = None
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

    def honest(self) -> list[SimNode]:
        return [node for node in self.nodes if not node.byzantine]

    def height_of(self, node: SimNode) -> int:
        return node.height

    def restartable(self, node: SimNode) -> bool:
        return node.replica is None and not node.dead

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
        if self.plan.sets:
            chain = ScheduledChain(store, self.genesis, node.mempool, node.key.public_key)
            chain.sets = {1: tuple(self.validators)}
            chain.sets.update({h: tuple(self.validators[i] for i in members)
                               for h, members in self.plan.sets})
            node.chain = chain
        else:
            node.chain = Chain(store, self.genesis, node.mempool, node.key.public_key)
        head = store.head
        node.replica = Replica(
            chain_id=self.genesis.chain_id.encode(), schedule=replica_schedule(node.chain),
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
        assert node.store is not None and node.chain is not None
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
            verify_certificate(cert, height, effect.digest, node.chain.validators_at(height),
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
            if self.restartable(node):
                self.start(node, empty=empty)
        elif kind == "partition":
            self.partition = set(payload) if payload is not None else None
        elif kind == "client":
            self.client_tick()
            self.push(self.now_ms + CLIENT_TICK_MS, -1, "client", None)
        elif kind == "heal":
            self.heal()

    def dispatch(self, index: int, incarnation: int, kind: str, payload: Any) -> None:
        node = self.nodes[index]
        if not node.up or incarnation != node.incarnation:
            if kind == "serve":  # the peer is gone: the request fails (request_failed)
                asker, _, effect, _ = payload
                self.push(self.now_ms, asker, "fetched", (effect, None))
            return
        self.deliver(node, kind, payload)
        if kind in ("regossip", "byz") and node.up:
            period = REGOSSIP_INTERVAL_MS if kind == "regossip" else BYZANTINE_TICK_MS
            self.push(self.now_ms + period, index, kind, None)

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

    def run(self) -> RunResult:
        try:
            return self._run()
        finally:
            for node in self.nodes:
                if node.store is not None and not node.store.closed:
                    node.store.close()
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self) -> RunResult:
        recovered_ms = self.run_plan()
        return RunResult(self.seed, self.n, self.plan.scenario, self.highest(),
                         self.view_changes, self.messages, self.now_ms, self.violations,
                         self.heal_height, recovered_ms, behaviours=self.plan.behaviours,
                         txs=self.txs_finalized, lies=dict(self.lies))


def run_seed(seed: int, n: int = 4, **kwargs: Any) -> RunResult:
    """Run one seed; see `Simulation`."""
    return Simulation(seed, n, **kwargs).run()
