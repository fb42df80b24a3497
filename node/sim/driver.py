"""One simulated node and its driver: `node/driver.py`'s effect rules without asyncio."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from commerce.errors import AgoraError
from commerce.keys import Keypair
from consensus.events import (
    Blame,
    BlockProposed,
    BlockValidated,
    Broadcast,
    CancelTimer,
    Effect,
    Event,
    FetchBlocks,
    FinalizeBlock,
    Note,
    Persist,
    ProposeBlock,
    Send,
    SetTimer,
    ValidateBlock,
    WorkPending,
)
from consensus.replica import Replica
from node.chain import Chain
from node.driver import ConsensusLog
from node.mempool import Mempool
from node.sim.world import GENESIS_TIME_MS, RECHECK_INTERVAL_MS
from node.store import Store

if TYPE_CHECKING:
    from node.sim.simulation import Simulation

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
