"""The consensus driver: the only place where the PBFT core meets I/O.

Every entry point follows one loop (as aioquic's protocol does): feed an event to the
replica, run the effects it returns in order, then re-arm timers. Effects that ask the
application something (propose, validate) are answered by queuing the answer as the next
event, so one event's effects always run to the end before the next event starts.
Persist effects are written and synced to LevelDB before any later effect of the step;
a run of FinalizeBlock effects (catch-up) is synced once, at its last block, before any
later effect and before any of its blocks is reported. Once a finalized height is durable
the records the replica no longer needs are deleted
(`node.consensus_records.obsolete_records`), so the consensus log holds a few records
whatever the chain's length.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from commerce.errors import AgoraError
from consensus import events as ev
from consensus.limits import MAX_FETCH_BLOCKS
from node.chain import Chain
from node.consensus_records import RecordKey, obsolete_records
from node.limits import FETCH_TIMEOUT_S, MAX_QUEUED_EVENTS
from node.logs import get_logger, log
from node.store import Store
from node.sync import decode_response, encode_request
from node.validators import validators_report
from p2p.errors import P2PError

KIND_CONSENSUS = "consensus"
KIND_BLOCKS = "blocks"
PREFETCH_LOOP_TURNS = 3

_log = get_logger("consensus")


class Network(Protocol):
    """What the driver needs of P2P."""

    def broadcast(self, kind: str, payload: bytes) -> None: ...

    def send(self, peer: bytes, kind: str, payload: bytes) -> None: ...

    async def request(self, peer: bytes, kind: str, payload: bytes,
                      timeout: float) -> bytes: ...

    def blame(self, peer: bytes, reason: str) -> None:
        """`peer` sent bytes that prove it faulty: lower its standing (disconnect, ban)."""


class Replica(Protocol):
    """What the driver needs of the consensus core."""

    def step(self, event: ev.Event, now_ms: int) -> list[ev.Effect]: ...


def now_ms() -> int:
    """Milliseconds on the monotonic clock (the core only compares deadlines)."""
    return time.monotonic_ns() // 1_000_000


class ConsensusLog:
    """The replica's records in the store: each Persist appended (synced), and the records
    the replica no longer needs deleted once a height is durable. Shared by the driver
    and the whole-node simulator, so both keep the log the same way."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # The live records (`Store.open` pruned the log), for pruning by key.
        self._records = [RecordKey.decode(key) for key, _ in store.consensus_records()]
        self._seq = max((key.seq for key in self._records), default=0)

    def __len__(self) -> int:
        return len(self._records)

    def append(self, effect: ev.Persist) -> None:
        """Write `effect.record` durably (before any later effect of its step runs)."""
        self._seq += 1
        key = RecordKey(self._seq, effect.height, effect.view)
        self.store.put_consensus_record(key.encode(), effect.record)
        self._records.append(key)

    def prune(self, finalized_height: int) -> None:
        """Delete the records the replica no longer needs now that `finalized_height` is
        durable, in one atomic batch. Unsynced: the batch only removes records below a
        synced height, never the one that keeps the highest view (synced when written);
        lost in a crash, it is done again when the store opens."""
        obsolete = obsolete_records(self._records, finalized_height)
        if not obsolete:
            return
        self.store.delete_consensus_records((key.encode() for key in obsolete), sync=False)
        gone = set(obsolete)
        self._records = [key for key in self._records if key not in gone]


class EffectRunner(ABC):
    """The feed loop and the effect rules, shared by `ConsensusDriver` and the whole-node
    simulator's driver (node/sim/driver.py), so both run a replica's effects one way.

    One event's effects run to the end before the next event starts; ProposeBlock and
    ValidateBlock are answered by queuing BlockProposed and BlockValidated; a Persist is
    written before any later effect; a run of FinalizeBlock effects is synced once, at its
    last block (a run that goes on over the next steps, while fetched blocks wait for their
    validator set, is synced before any other effect and when the queue empties); after
    each finalized block ValidatorsKnown (when the chain determined more
    of the validator schedule) and WorkPending(has_ready) are queued. Subclasses
    give the I/O: `_send`, `_broadcast`, `_set_timer`, `_cancel_timer`, `_fetch`,
    `_blame`, `_note`, the block time, and what a wedge or a failed finalize does.
    """

    def __init__(self, replica: Replica, chain: Chain, store: Store,
                 primary_of: Callable[[int, int], bytes]) -> None:
        self.replica = replica
        self.chain = chain
        self.store = store
        self.primary_of = primary_of  # (height, view) -> the primary's key
        # The schedule the replica knows (it was built from the chain as it stands).
        self._validators_reported: ev.ValidatorsKnown | None = (
            None if chain is None else validators_report(chain))
        self._queue: deque[ev.Event] = deque()
        self._unsynced_height: int | None = None  # the last block of a run not yet synced
        self._running = False
        self._closed = False
        self.fatal: BaseException | None = None
        self.log = ConsensusLog(store)

    def feed(self, event: ev.Event) -> None:
        """Queue `event` and run the replica until the queue is empty."""
        if self._closed:
            return
        if len(self._queue) >= MAX_QUEUED_EVENTS:
            self._queue_full(event)
            return
        self._queue.append(event)
        if self._running:
            return
        self._running = True
        try:
            while self._queue and not self._closed:
                current = self._queue.popleft()
                try:
                    effects = self.replica.step(current, self._now_ms())
                except Exception as exc:
                    # Our bug (peer input is dropped inside step): the replica's state may
                    # be half-changed, so it must not step again.
                    self.fatal = exc
                    self.close()
                    self._wedged(current, exc)
                    return
                self._run_effects(effects)
            if not self._closed:
                self._flush_run()
        finally:
            self._running = False

    def close(self) -> None:
        """Later events are ignored."""
        self._closed = True

    def _run_effects(self, effects: list[ev.Effect]) -> None:
        """Run a step's effects in order."""
        for index in range(len(effects)):
            self._run_effect(effects, index)

    def _run_effect(self, effects: list[ev.Effect], index: int) -> None:
        effect = effects[index]
        last = len(effects) - 1
        if not isinstance(effect, _SILENT_EFFECTS):
            self._flush_run()  # blocks are durable before anything leaves or is persisted
        match effect:
            case ev.Persist():
                self.log.append(effect)
            case ev.Send():
                self._send(effect)
            case ev.Broadcast():
                self._broadcast(effect)
            case ev.SetTimer():
                self._set_timer(effect.name, effect.deadline_ms)
            case ev.CancelTimer():
                self._cancel_timer(effect.name)
            case ev.ProposeBlock():
                self._propose(effect)
            case ev.ValidateBlock():
                self._validate(effect)
            case ev.FinalizeBlock():
                # A run of blocks (catch-up) is synced once, at its last block, before
                # any other effect runs and before any block of it is reported. The run
                # goes on over the next steps while the replica holds fetched blocks
                # that waited for their validator set (one ValidatorsKnown away).
                run_ends = index == last or not isinstance(effects[index + 1], ev.FinalizeBlock)
                self._finalize(effect, sync=run_ends and not self._run_continues())
            case ev.FetchBlocks():
                self._fetch(effect)
            case ev.Blame():
                self._blame(effect)
            case ev.Note():
                self._note(effect)
            case _:
                raise AssertionError(f"unknown effect {effect!r}")

    def _run_continues(self) -> bool:
        return bool(getattr(self.replica, "finalize_pending", False))

    def _flush_run(self) -> None:
        """Sync a run of blocks left unsynced because it continued over later steps."""
        height, self._unsynced_height = self._unsynced_height, None
        if height is not None:
            self.chain.flush()
            self.log.prune(height)

    def _propose(self, effect: ev.ProposeBlock) -> None:
        block = self.chain.propose(effect.height, self._block_time_ms())
        self._queue.append(ev.BlockProposed(effect.height, effect.view, block))

    def _validate(self, effect: ev.ValidateBlock) -> None:
        try:
            # A re-proposal was built by an earlier view's primary: any validator.
            proposer = None if effect.reproposal \
                else self.primary_of(effect.height, effect.view)
            self.chain.validate(effect.height, effect.block, proposer)
        except AgoraError as exc:
            self._invalid_block(effect, exc)
            self._queue.append(ev.BlockValidated(effect.height, effect.view, effect.digest,
                                              False, f"{exc.reason}: {exc.message}"))
            return
        self._queue.append(ev.BlockValidated(effect.height, effect.view, effect.digest, True, ""))

    def _finalize(self, effect: ev.FinalizeBlock, *, sync: bool = True) -> None:
        try:
            block = self.chain.finalize(effect.block, effect.certificate, effect.digest,
                                        sync=sync)
        except AgoraError as exc:
            self.chain.flush()  # the run's earlier blocks are final: durable, reported
            # A certified block that does not apply means our state diverged: stop.
            self.fatal = exc
            self.close()
            self._halted(effect, exc)
            raise
        if sync:
            self._unsynced_height = None
            self.log.prune(effect.height)
        else:
            self._unsynced_height = effect.height
        self._finalized(effect, block)
        report = validators_report(self.chain)
        if report != self._validators_reported:
            # The replica finalizes h + 1 only once it knows the set of h + 2: it must
            # hear of it before anything else happens.
            self._validators_reported = report
            self._queue.append(report)
        self._queue.append(ev.WorkPending(self.chain.mempool.has_ready()))

    # The I/O, per subclass.

    @abstractmethod
    def _now_ms(self) -> int: ...

    @abstractmethod
    def _block_time_ms(self) -> int: ...

    def _queue_full(self, event: ev.Event) -> None:
        """`event` is dropped: the queue holds MAX_QUEUED_EVENTS."""
        return None  # an optional hook

    def _wedged(self, event: ev.Event, exc: Exception) -> None:
        """An exception came out of `step` (the driver is closed already)."""
        return None  # an optional hook

    def _halted(self, effect: ev.FinalizeBlock, exc: AgoraError) -> None:
        """`Chain.finalize` failed (closed already); the AgoraError is raised after this."""
        return None  # an optional hook

    def _invalid_block(self, effect: ev.ValidateBlock, exc: AgoraError) -> None:
        """The block of `effect` failed validation (the answer is queued after this)."""
        return None  # an optional hook

    def _finalized(self, effect: ev.FinalizeBlock, block: Any) -> None:
        """`block` (the chain's finalized block) is stored."""
        return None  # an optional hook

    @abstractmethod
    def _send(self, effect: ev.Send) -> None: ...

    @abstractmethod
    def _broadcast(self, effect: ev.Broadcast) -> None: ...

    @abstractmethod
    def _set_timer(self, name: str, deadline_ms: int) -> None: ...

    @abstractmethod
    def _cancel_timer(self, name: str) -> None: ...

    @abstractmethod
    def _fetch(self, effect: ev.FetchBlocks) -> None: ...

    @abstractmethod
    def _blame(self, effect: ev.Blame) -> None: ...

    def _note(self, effect: ev.Note) -> None:
        """Log or count a Note (nothing by default)."""
        return None  # an optional hook


class ConsensusDriver(EffectRunner):
    """Runs one replica against the chain, the store and the network."""

    def __init__(self, replica: Replica, chain: Chain, store: Store, network: Network,
                 primary_of: Callable[[int, int], bytes], *,
                 on_note: Callable[[ev.Note], None] | None = None,
                 on_latency: Callable[[float], None] | None = None) -> None:
        super().__init__(replica, chain, store, primary_of)
        self.network = network
        self.on_note = on_note
        self.on_latency = on_latency
        # When this node first saw each height's block (proposed or to validate), for the
        # proposal-to-finalize latency; only heights in flight are kept.
        self._seen_s: dict[int, float] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # At most one block range asked for ahead of the replica: (peer, from, request).
        self._prefetch: tuple[bytes, int, asyncio.Task[bytes]] | None = None

    def on_message(self, sender: bytes, payload: bytes) -> None:
        """A consensus message arrived from the network."""
        self.feed(ev.MessageReceived(sender, payload))  # type: ignore[arg-type]

    def close(self) -> None:
        """Cancel timers and fetches; later events are ignored."""
        super().close()
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()

    def _now_ms(self) -> int:
        return now_ms()

    def _block_time_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def _queue_full(self, event: ev.Event) -> None:
        log(_log, logging.WARNING, "event_dropped", reason="queue_full",
            event_type=type(event).__name__)

    def _wedged(self, event: ev.Event, exc: Exception) -> None:
        # /health reports it (`fatal`).
        log(_log, logging.CRITICAL, "consensus_wedged", event_type=type(event).__name__,
            error=f"{type(exc).__name__}: {exc}")

    def _halted(self, effect: ev.FinalizeBlock, exc: AgoraError) -> None:
        log(_log, logging.CRITICAL, "finalize_failed", height=effect.height,
            reason=exc.reason, detail=exc.message)

    def _invalid_block(self, effect: ev.ValidateBlock, exc: AgoraError) -> None:
        log(_log, logging.WARNING, "block_invalid", height=effect.height,
            view=effect.view, reason=exc.reason, detail=exc.message)

    def _send(self, effect: ev.Send) -> None:
        self.network.send(effect.to, KIND_CONSENSUS, effect.msg)

    def _broadcast(self, effect: ev.Broadcast) -> None:
        self.network.broadcast(KIND_CONSENSUS, effect.msg)

    def _blame(self, effect: ev.Blame) -> None:
        log(_log, logging.WARNING, "peer_blamed", peer=effect.peer, reason=effect.reason)
        self.network.blame(effect.peer, effect.reason)

    def _note(self, effect: ev.Note) -> None:
        log(_log, logging.INFO, effect.kind, detail=effect.detail)
        if self.on_note is not None:
            self.on_note(effect)

    def _set_timer(self, name: str, deadline_ms: int) -> None:
        old = self._timers.pop(name, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        delay_s = max(0, deadline_ms - now_ms()) / 1000
        self._timers[name] = loop.call_later(delay_s, self._fire, name)

    def _cancel_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _fire(self, name: str) -> None:
        self._timers.pop(name, None)
        self.feed(ev.TimerFired(name))

    def _propose(self, effect: ev.ProposeBlock) -> None:
        self._seen_s.setdefault(effect.height, time.monotonic())
        super()._propose(effect)

    def _validate(self, effect: ev.ValidateBlock) -> None:
        self._seen_s.setdefault(effect.height, time.monotonic())
        super()._validate(effect)

    def _finalized(self, effect: ev.FinalizeBlock, block: Any) -> None:
        started = self._seen_s.pop(effect.height, None)
        self._seen_s = {h: t for h, t in self._seen_s.items() if h > effect.height}
        if started is not None and self.on_latency is not None:
            self.on_latency(time.monotonic() - started)

    def _fetch(self, effect: ev.FetchBlocks) -> None:
        self._spawn(self._fetch_task(effect))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _fetch_task(self, effect: ev.FetchBlocks) -> None:
        span = effect.to_height - effect.from_height + 1
        blocks: tuple[tuple[bytes, bytes], ...] = ()
        try:
            blocks = await self._answer(effect)
        except AgoraError as exc:
            # The answer arrived and is not a block reply: the peer is at fault.
            log(_log, logging.WARNING, "fetch_failed", peer=effect.peer,
                from_height=effect.from_height, error=exc.reason)
            self.network.blame(effect.peer, "bad_sync_reply")
        except _FETCH_ERRORS as exc:
            log(_log, logging.INFO, "fetch_failed", peer=effect.peer,
                from_height=effect.from_height, error=type(exc).__name__)
        if span == MAX_FETCH_BLOCKS and len(blocks) == span and not self._closed:
            # Pipeline: ask the same peer for the next range now, so it is served (in its
            # own process) while this node executes these blocks; the replica asks for
            # exactly that range next when the peer was honest. Only after a range as
            # long as the replica asks for: a shorter one ended at the height the replica
            # knew to be final, so the next range would most likely come back empty.
            # The request must reach the socket before the blocks below hold the loop:
            # a few loop turns let the request task and the connection's writer run.
            self._prefetch = (effect.peer, effect.to_height + 1, self._spawn(
                self.network.request(effect.peer, KIND_BLOCKS, encode_request(
                    effect.to_height + 1, effect.to_height + span), FETCH_TIMEOUT_S)))
            self._prefetch[2].add_done_callback(_retrieve)
            for _ in range(PREFETCH_LOOP_TURNS):
                await asyncio.sleep(0)
        self.feed(ev.BlocksFetched(effect.peer, blocks))

    async def _answer(self, effect: ev.FetchBlocks) -> tuple[tuple[bytes, bytes], ...]:
        """The blocks answering `effect`, at most as many as it asks for: the prefetched
        ones when the prefetch asked the same peer from the same height and holds every
        block asked for, else those of a new request. A failed or short prefetch is asked
        again rather than reported: it tells what the peer had when it answered, and the
        peer may have more by now (reported empty, it would cost the replica a cool-down).

        Raises what `Network.request` and `decode_response` raise (`_FETCH_ERRORS`).
        """
        span = effect.to_height - effect.from_height + 1
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is not None:
            peer, start, task = prefetch
            if peer == effect.peer and start == effect.from_height:
                try:
                    blocks = tuple(decode_response(await task))[:span]
                except _FETCH_ERRORS:
                    blocks = ()
                if len(blocks) == span:
                    return blocks
            else:
                task.cancel()
        payload = encode_request(effect.from_height, effect.to_height)
        answer = await self.network.request(effect.peer, KIND_BLOCKS, payload, FETCH_TIMEOUT_S)
        return tuple(decode_response(answer))[:span]


# Effects with no outside consequence: they may run before a run of blocks is synced.
_SILENT_EFFECTS = (ev.FinalizeBlock, ev.SetTimer, ev.CancelTimer, ev.Note)

_FETCH_ERRORS = (TimeoutError, AgoraError, OSError, ConnectionError, P2PError)


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a prefetch's exception as seen (an unused prefetch may fail or be cancelled)."""
    if not task.cancelled():
        task.exception()


