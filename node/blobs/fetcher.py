"""Fetching blobs this node lacks from its peers, on demand.

A blob is wanted when a finalized listing version names it (`want`, from the node's
finalize hook) or when a GET asks for a named blob not held here (`fetch`, which waits).
Wanted names wait in a bounded queue (MAX_FETCH_QUEUE_ENTRIES; when full, more are dropped
and counted: the next GET of one wants it again) and MAX_FETCHES_IN_FLIGHT_COUNT workers
fetch them: each asks up to MAX_FETCH_PEERS connected peers in turn. A blob that no peer
gave (its uploader's node may not have finalized yet, or be down) is asked for again after
FETCH_RETRY_BASE_S, each later round waiting 4 times longer, MAX_FETCH_ATTEMPTS_COUNT
rounds in all (`retry_due`, every FETCH_RETRY_TICK_S).

A reply is checked before anything is kept: its form, then that its bytes hash to the
name asked for, then that they are an image. A peer whose reply fails is blamed through
the node's peer scoring (`blame(peer, reason, points)`): a wrong hash or a malformed reply
is a lie no honest node tells (it checks what it stores and re-checks what it reads), so it
costs the ban threshold; a non-image costs less (node versions could differ on formats).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from node.blobs.errors import BlobError
from node.blobs.images import sniff
from node.blobs.limits import (
    FETCH_REQUEST_TIMEOUT_MS,
    FETCH_RETRY_BASE_S,
    FETCH_RETRY_TICK_S,
    MAX_FETCH_ATTEMPTS_COUNT,
    MAX_FETCH_PEERS,
    MAX_FETCH_QUEUE_ENTRIES,
    MAX_FETCH_RETRY_ENTRIES,
    MAX_FETCH_WAITERS_COUNT,
    MAX_FETCHES_IN_FLIGHT_COUNT,
)
from node.blobs.store import BlobSource, BlobStore, blob_name
from node.blobs.wire import (
    KIND_BLOBS,
    STATUS_FOUND,
    BlobWireError,
    decode_reply,
    encode_request,
)
from node.logs import get_logger, log

_log = get_logger("blobs")

Request = Callable[[bytes, str, bytes, float], Awaitable[bytes]]
"""`request(peer, kind, payload, timeout_s)`: the P2P request of `P2PService.request`."""
Blame = Callable[[bytes, str, bool], None]
"""`blame(peer, reason, lie)`: charge a peer; `lie` for a reply no honest node sends."""


@dataclass
class BlobFetcher:
    """The queue of wanted blobs and the workers that fetch them (`start`/`stop`)."""

    store: BlobStore
    peers: Callable[[], list[bytes]]
    request: Request
    blame: Blame
    owner_of: Callable[[bytes], bytes]
    clock_ms: Callable[[], int] = field(default=lambda: time.time_ns() // 1_000_000)
    on_count: Callable[[str], None] = field(default=lambda outcome: None)
    clock_s: Callable[[], float] = time.monotonic
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("fetched", "failed", "dropped", "lied", "not_image", "retried", "given_up"), 0))
    # Failed blobs: (rounds failed, when to queue it again; inf while queued or fetching).
    _retries: dict[bytes, tuple[int, float]] = field(default_factory=dict)
    _queue: OrderedDict[bytes, None] = field(default_factory=OrderedDict)
    _waiters: dict[bytes, list[asyncio.Future[bool]]] = field(default_factory=dict)
    _active: set[bytes] = field(default_factory=set)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def _count(self, outcome: str) -> None:
        self.counters[outcome] += 1
        self.on_count(outcome)

    def start(self) -> None:
        """Start the workers (on the running loop)."""
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._worker(), name=f"blob-fetch-{index}")
                       for index in range(MAX_FETCHES_IN_FLIGHT_COUNT)]
        self._tasks.append(loop.create_task(self._retry_loop(), name="blob-fetch-retry"))

    async def stop(self) -> None:
        """Cancel the workers and fail every waiter."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for name in list(self._waiters):
            self._settle(name, False)

    @property
    def queued_count(self) -> int:
        return len(self._queue)

    def want(self, name: bytes) -> bool:
        """Queue blob `name` for fetching unless it is held, queued or being fetched;
        False when the queue is full (counted as dropped)."""
        if name in self._queue or name in self._active or self.store.has(name):
            return True
        if len(self._queue) >= MAX_FETCH_QUEUE_ENTRIES:
            self._count("dropped")
            return False
        self._queue[name] = None
        self._wake.set()
        return True

    async def fetch(self, name: bytes, timeout_s: float) -> bool:
        """Want `name` and wait up to `timeout_s` for it; True once it is held."""
        if self.store.has(name):
            return True
        waiting = sum(len(futures) for futures in self._waiters.values())
        if waiting >= MAX_FETCH_WAITERS_COUNT or not self.want(name):
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(name, []).append(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            return False
        finally:
            futures = self._waiters.get(name, [])
            if future in futures:
                futures.remove(future)
            if not futures:
                self._waiters.pop(name, None)

    async def _worker(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            name, _ = self._queue.popitem(last=False)
            self._active.add(name)
            try:
                got = await self.fetch_now(name)
            except Exception as exc:  # a bug in one fetch must not stop the worker
                log(_log, logging.ERROR, "blob_fetch_error", blob=name.hex(), error=repr(exc))
                got = False
            finally:
                self._active.discard(name)
            self._after(name, got)
            self._settle(name, got)

    def _after(self, name: bytes, got: bool) -> None:
        """Schedule another round for a blob no peer gave, with a growing wait."""
        rounds = self._retries.pop(name, (0, 0.0))[0] + 1
        if got:
            return
        if rounds >= MAX_FETCH_ATTEMPTS_COUNT or len(self._retries) >= MAX_FETCH_RETRY_ENTRIES:
            self._count("given_up")
            return
        delay_s = FETCH_RETRY_BASE_S * 4 ** (rounds - 1)
        self._retries[name] = (rounds, self.clock_s() + delay_s)

    def retry_due(self) -> int:
        """Queue the failed blobs whose wait is over; returns how many."""
        now_s = self.clock_s()
        due = [name for name, (_, at_s) in self._retries.items() if at_s <= now_s]
        for name in due:
            rounds, _ = self._retries[name]
            if self.store.has(name):  # a GET of it fetched it meanwhile
                del self._retries[name]
            elif self.want(name):
                self._retries[name] = (rounds, float("inf"))
                self._count("retried")
            else:  # the queue is full: try again at the next tick
                self._retries[name] = (rounds, now_s + FETCH_RETRY_TICK_S)
        return len(due)

    async def _retry_loop(self) -> None:
        while True:
            await asyncio.sleep(FETCH_RETRY_TICK_S)
            self.retry_due()

    def _settle(self, name: bytes, got: bool) -> None:
        for future in self._waiters.pop(name, []):
            if not future.done():
                future.set_result(got)

    async def fetch_now(self, name: bytes) -> bool:
        """Ask peers for `name` until one gives checked bytes; True once it is stored."""
        if self.store.has(name):
            return True
        for peer in self.peers()[:MAX_FETCH_PEERS]:
            try:
                payload = await self.request(peer, KIND_BLOBS, encode_request(name),
                                             FETCH_REQUEST_TIMEOUT_MS / 1000)
            except Exception as exc:  # timeout, disconnect, busy: ask the next peer
                log(_log, logging.DEBUG, "blob_fetch_peer_failed", peer=peer.hex()[:16],
                    error=str(exc))
                continue
            data = self._checked(peer, name, payload)
            if data is None:
                continue
            try:
                info = sniff(data)
            except BlobError as exc:
                self._count("not_image")
                self.blame(peer, "blob_not_image", False)
                log(_log, logging.WARNING, "blob_fetch_not_image", peer=peer.hex()[:16],
                    blob=name.hex(), error=exc.message)
                continue
            if self.store.closed:
                return False
            await asyncio.to_thread(self.store.put, name, data, info, self.owner_of(name),
                                    self.clock_ms(), BlobSource.FETCHED)
            self._count("fetched")
            log(_log, logging.INFO, "blob_fetched", blob=name.hex(), peer=peer.hex()[:16],
                bytes=len(data))
            return True
        self._count("failed")
        return False

    def _checked(self, peer: bytes, name: bytes, payload: bytes) -> bytes | None:
        """The blob bytes of a found reply whose bytes hash to `name`; None otherwise,
        after blaming a peer that lied."""
        try:
            status, data = decode_reply(payload)
        except BlobWireError as exc:
            self._lied(peer, name, "blob_reply_malformed", str(exc))
            return None
        if status != STATUS_FOUND:
            return None
        if blob_name(data) != name:
            self._lied(peer, name, "blob_hash_mismatch", "the bytes hash to another name")
            return None
        return data

    def _lied(self, peer: bytes, name: bytes, reason: str, detail: str) -> None:
        self._count("lied")
        log(_log, logging.WARNING, "blob_peer_blamed", peer=peer.hex()[:16], blob=name.hex(),
            reason=reason, detail=detail)
        self.blame(peer, reason, True)
