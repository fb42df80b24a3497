"""One simulated node and its driver: `node/driver.py`'s effect rules without asyncio."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from commerce.errors import AgoraError
from commerce.keys import Keypair
from consensus.events import (
    Blame,
    Broadcast,
    Effect,
    Event,
    FetchBlocks,
    FinalizeBlock,
    Note,
    Send,
)
from consensus.replica import Replica
from node.chain import Chain
from node.driver import EffectRunner
from node.mempool import Mempool
from node.sim.world import GENESIS_TIME_MS, RECHECK_INTERVAL_MS
from node.store import Store
from node.validators import primary_at


class SimHost(Protocol):
    """What a `SimDriver` needs of the simulation it runs in (`node.sim.Simulation`)."""

    rng: random.Random
    now_ms: int
    validators: list[bytes]
    by_key: dict[bytes, int]
    view_changes: int

    def push(self, at_ms: int, node: int, kind: str, payload: Any) -> None: ...
    def blame(self, node: SimNode, peer: int, reason: str) -> None: ...
    def out_consensus(self, node: SimNode, to: list[bytes] | None, data: bytes) -> None: ...
    def on_finalized(self, node: SimNode, height: int, effect: FinalizeBlock) -> None: ...
    def fetch(self, node: SimNode, effect: FetchBlocks) -> None: ...

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


class SimDriver(EffectRunner):
    """`node/driver.py`'s effect rules (`EffectRunner`, shared with ConsensusDriver)
    without asyncio, on the simulator's clock and network.

    What differs from the driver is only the I/O: an AgoraError from `Chain.finalize`
    raises NodeHalted and an exception out of `step` NodeWedged (both fatal there too);
    Blame bans the peer; FetchBlocks is answered through `serve_request` on the target
    node and `decode_response` here, sliced to the span asked, with any fetch error
    (timeout, transport refusal, malformed reply: that one also blamed) answered as an
    empty BlocksFetched; a node armed to crash runs a random prefix of a step's effects.
    Left out: the prefetch pipelining of the next range (a latency optimization; the
    replica sees the same BlocksFetched answers) and the latency metrics.
    """

    def __init__(self, sim: SimHost, node: SimNode) -> None:
        assert node.replica is not None and node.chain is not None and node.store is not None
        chain = node.chain
        super().__init__(node.replica, node.chain, node.store,
                         lambda height, view: primary_at(chain, height, view))
        self.sim = sim
        self.node = node

    def close(self) -> None:
        super().close()
        self.node.timers.clear()

    def _run_effects(self, effects: list[Effect]) -> None:
        cut = len(effects)
        if self.node.crash_armed and effects:
            cut = self.sim.rng.randint(0, len(effects))
        for index in range(cut):
            self._run_effect(effects, index)
        if cut < len(effects) or self.node.crash_armed:
            raise NodeCrashed()

    def _now_ms(self) -> int:
        return self.sim.now_ms

    def _block_time_ms(self) -> int:
        return GENESIS_TIME_MS + self.sim.now_ms

    def _wedged(self, event: Event, exc: Exception) -> None:
        raise NodeWedged(f"{type(exc).__name__} from {type(event).__name__}: "
                         f"{exc}") from exc

    def _halted(self, effect: FinalizeBlock, exc: AgoraError) -> None:
        raise NodeHalted(f"finalize of height {effect.height} failed: {exc.reason}: "
                         f"{exc.message}") from exc

    def _finalized(self, effect: FinalizeBlock, block: Any) -> None:
        self.sim.on_finalized(self.node, block.height, effect)

    def _send(self, effect: Send) -> None:
        self.sim.out_consensus(self.node, [effect.to], effect.msg)

    def _broadcast(self, effect: Broadcast) -> None:
        self.sim.out_consensus(self.node, None, effect.msg)

    def _set_timer(self, name: str, deadline_ms: int) -> None:
        self.node.timers[name] = deadline_ms
        self.sim.push(max(self.sim.now_ms, deadline_ms), self.node.index, "timer",
                      (name, deadline_ms))

    def _cancel_timer(self, name: str) -> None:
        self.node.timers.pop(name, None)

    def _fetch(self, effect: FetchBlocks) -> None:
        self.sim.fetch(self.node, effect)

    def _blame(self, effect: Blame) -> None:
        self.sim.blame(self.node, self.sim.by_key.get(bytes(effect.peer), -1), effect.reason)

    def _note(self, effect: Note) -> None:
        if effect.kind == "view_change":
            self.sim.view_changes += 1
