"""The virtual clock and event queue of the seeded simulators (`consensus.sim` over bare
replicas, `node.sim` over whole nodes).

Events are ordered by (virtual time, push order), so a seed replays exactly. Each is
addressed to one incarnation of a node (an event for an incarnation that crashed since is
dropped) or, with node index -1, to the run itself (crashes, partitions, the heal). The
loop runs them until the healed cluster is live again, the liveness bound after the heal
passes, or the event budget is spent; nothing here reads a clock or draws a number.
"""

from __future__ import annotations

import heapq
from abc import ABC, abstractmethod
from typing import Any, Generic, Protocol, TypeVar


class SimMember(Protocol):
    """A simulated node: its incarnation counts its restarts; a crash armed kills it
    inside its next step."""

    incarnation: int
    crash_armed: bool


_Node = TypeVar("_Node", bound=SimMember)


class VirtualRun(ABC, Generic[_Node]):
    """The queue and run loop of one seeded run. A subclass sets the three limits and
    `nodes`, `loss_pct` and `partition`, and defines `start`, `restartable`,
    `schedule_plan`, `control` (events of the run), `dispatch` (events of a node),
    `honest` and `height_of`."""

    max_events: int  # the event budget of a run
    liveness_blocks: int  # blocks past the heal height that make the cluster live again
    liveness_bound_ms: int  # how long after the heal it may take
    stop_on_violation: bool = False  # stop at the first violation (else run to the end)
    nodes: list[_Node]
    loss_pct: int  # the network's loss now
    partition: set[int] | None  # the nodes cut off from the others now, if any

    def __init__(self) -> None:
        self.now_ms = 0
        self.queue: list[tuple[int, int, int, int, str, Any]] = []
        self.seq = 0
        self.events = 0
        self.healed = False
        self.heal_at_ms = 0
        self.heal_height = 0
        self.violations: list[str] = []

    def push(self, at_ms: int, node: int, kind: str, payload: Any) -> None:
        """Queue an event for node `node`'s current incarnation (-1: for the run)."""
        self.seq += 1
        inc = self.nodes[node].incarnation if node >= 0 else 0
        heapq.heappush(self.queue, (at_ms, self.seq, node, inc, kind, payload))

    @abstractmethod
    def start(self, node: _Node) -> None:
        """Start (or restart) `node`."""

    @abstractmethod
    def restartable(self, node: _Node) -> bool:
        """`node` is down and may be started again."""

    def heal(self) -> None:
        """End the faults: no loss, no partition, no crash armed, every restartable node
        started; the heal height is the highest honest one."""
        self.healed = True
        self.loss_pct = 0
        self.partition = None
        for node in self.nodes:
            node.crash_armed = False
            if self.restartable(node):
                self.start(node)
        self.heal_height = self.highest()
        self.heal_at_ms = self.now_ms

    @abstractmethod
    def schedule_plan(self) -> None:
        """Queue the run's planned events (faults, the heal, ticks)."""

    @abstractmethod
    def control(self, kind: str, payload: Any) -> None:
        """Run an event addressed to the run itself."""

    @abstractmethod
    def dispatch(self, index: int, incarnation: int, kind: str, payload: Any) -> None:
        """Run an event addressed to incarnation `incarnation` of node `index`."""

    @abstractmethod
    def honest(self) -> list[_Node]:
        """The nodes the checkers hold to the protocol."""

    @abstractmethod
    def height_of(self, node: _Node) -> int:
        """The height `node` has finalized."""

    def live_enough(self) -> bool:
        """Every honest node finalized `liveness_blocks` past the heal height."""
        goal = self.heal_height + self.liveness_blocks
        return all(self.height_of(node) >= goal for node in self.honest())

    def highest(self) -> int:
        """The highest height an honest node finalized."""
        return max((self.height_of(node) for node in self.honest()), default=0)

    def run_plan(self) -> int:
        """Start every node, queue the plan and run the queue (see `run_events`)."""
        for node in self.nodes:
            self.start(node)
        self.schedule_plan()
        return self.run_events()

    def run_events(self) -> int:
        """Run the queue to the end of the run, adding the budget and liveness violations;
        returns how long after the heal the cluster was live again (0: it was not)."""
        recovered_ms = 0
        while self.queue and self.events < self.max_events and not (
                self.stop_on_violation and self.violations):
            at_ms, _, index, inc, kind, payload = heapq.heappop(self.queue)
            assert at_ms >= self.now_ms, "the virtual clock never goes back"
            self.now_ms = at_ms
            self.events += 1
            if self.healed and self.live_enough():
                recovered_ms = self.now_ms - self.heal_at_ms
                break
            if self.healed and self.now_ms > self.heal_at_ms + self.liveness_bound_ms:
                break
            if index < 0:
                self.control(kind, payload)
            else:
                self.dispatch(index, inc, kind, payload)
        if self.events >= self.max_events:
            self.violations.append(f"event budget: {self.max_events} events at {self.now_ms} ms")
        stopped = self.stop_on_violation and bool(self.violations)
        if not stopped and not (self.healed and self.live_enough()):
            heights = [self.height_of(node) for node in self.honest()]
            self.violations.append(f"liveness: heights {heights} did not pass "
                                   f"{self.heal_height + self.liveness_blocks} within "
                                   f"{self.liveness_bound_ms} ms after heal")
        return recovered_ms
