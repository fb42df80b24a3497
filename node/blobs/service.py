"""`BlobService`: the node's listing pictures, wired to its chain, P2P and RPC server.

The node makes one after its chain and P2P exist: `add_routes(app)` before the RPC server
starts (PUT/GET `/blobs/<sha256>`), `register(p2p)` for the `blobs` request kind,
`on_finalized(block)` from the chain's finalize hook (blobs named by the block's listing
versions and not held here are fetched from peers), `start()` for the fetch workers and
the collection loop, `stop()` to end them and close the store.

Collection (`collect`): every GC_INTERVAL_S one pass looks at up to MAX_GC_SCAN_ENTRIES
blobs, going on from where the last pass stopped (wrapping round), and deletes an upload
that is older than BLOB_GRACE_MS and that no listing version names in the finalized state.
A blob that a version names is kept for good (versions are never deleted). The rule is
node-local and needs no agreement; each pass is bounded work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from commerce.block import Block
from commerce.listings import ListingCreate, ListingUpdate, get_listing
from commerce.media import ListingMediaSet, is_referenced, media_refs
from commerce.state import StateReader
from node.blobs.fetcher import BlobFetcher
from node.blobs.http import BlobRoutes
from node.blobs.limits import BLOB_GRACE_MS, GC_INTERVAL_S, MAX_GC_SCAN_ENTRIES
from node.blobs.store import BlobSource, BlobStore
from node.blobs.wire import KIND_BLOBS, BlobServer
from node.logs import get_logger, log
from node.metrics import NodeMetrics
from p2p.limits import INVALID_GOSSIP_POINTS, MISBEHAVIOUR_BAN_POINTS
from p2p.service import P2PService

BLOBS_DIR = "blobs"
MEDIA_BODIES = (ListingCreate, ListingUpdate, ListingMediaSet)

_log = get_logger("blobs")


class BlobService:
    """The blob store of one node and everything that reads or fills it."""

    def __init__(self, data_dir: Path, chain_id: str, state: Callable[[], StateReader],
                 metrics: NodeMetrics, *,
                 clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self.store = BlobStore(data_dir / BLOBS_DIR)
        self.state = state
        self.metrics = metrics
        self.clock_ms = clock_ms
        self.p2p: P2PService | None = None
        registry = metrics.registry
        uploads = registry.counter(
            "agora_blob_requests_total",
            "Blob HTTP requests answered, by outcome (stored, duplicate, get_served, "
            "get_missing or the refusal's reason)", ("outcome",))
        fetches = registry.counter(
            "agora_blob_fetches_total",
            "Blobs fetched from peers, by outcome (fetched, failed, dropped, lied, not_image, "
            "retried, given_up)",
            ("outcome",))
        served = registry.counter(
            "agora_blob_peer_requests_total",
            "Peers' blob requests answered, by outcome (found, missing, busy)", ("outcome",))
        self._collected = registry.counter(
            "agora_blobs_collected_total", "Uploads deleted because no listing version names them")
        self.fetcher = BlobFetcher(self.store, self._peers, self._request, self._blame,
                                   self._owner_of, clock_ms,
                                   on_count=lambda outcome: fetches.inc(outcome=outcome))
        self.routes = BlobRoutes(self.store, chain_id, state, self.fetcher, clock_ms,
                                 on_count=lambda outcome: uploads.inc(outcome=outcome))
        self.server = BlobServer(self.store,
                                 on_count=lambda outcome: served.inc(outcome=outcome))
        self.collected_count = 0
        self._gc_after = b""
        self._gc_task: asyncio.Task[None] | None = None
        self._blamed = metrics.peers_blamed

    # Wiring.

    def add_routes(self, app: web.Application) -> None:
        """PUT and GET `/blobs/{name}` on the RPC application."""
        self.routes.add_to(app)

    def register(self, p2p: P2PService) -> None:
        """Serve the `blobs` request kind to peers and fetch from them."""
        self.p2p = p2p
        p2p.register_request(KIND_BLOBS, self.server.serve)
        p2p.on_peer_down(self.server.forget)

    def start(self) -> None:
        """Start the fetch workers and the collection loop (on the running loop)."""
        self.fetcher.start()
        self._gc_task = asyncio.get_running_loop().create_task(self._gc_loop())

    async def stop(self) -> None:
        """Stop fetching and collecting, then close the store (idempotent)."""
        if self._gc_task is not None:
            self._gc_task.cancel()
            await asyncio.gather(self._gc_task, return_exceptions=True)
            self._gc_task = None
        await self.fetcher.stop()
        self.store.close()

    # What the fetcher needs of the node.

    def _peers(self) -> list[bytes]:
        return [bytes(peer) for peer in self.p2p.connected_peers()] if self.p2p else []

    async def _request(self, peer: bytes, kind: str, payload: bytes, timeout_s: float) -> bytes:
        assert self.p2p is not None, "P2P is registered before blobs are fetched"
        return await self.p2p.request(peer, kind, payload, timeout_s)

    def _blame(self, peer: bytes, reason: str, lie: bool) -> None:
        """Charge a peer through P2P's misbehaviour points: a lie reaches the ban."""
        self._blamed.inc(reason=reason)
        if self.p2p is not None:
            points = MISBEHAVIOUR_BAN_POINTS if lie else INVALID_GOSSIP_POINTS
            self.p2p.penalize(peer, points, reason)

    def _owner_of(self, name: bytes) -> bytes:
        """The merchant whose quota a fetched blob counts in: that of the first listing
        naming it (b"" if none does any more, which cannot happen: versions stay)."""
        state = self.state()
        for item in media_refs(state, name, limit=1)["items"]:
            record = get_listing(state, item["listing"])
            if record is not None:
                return record.merchant
        return b""

    # Chain hook.

    def on_finalized(self, block: Block) -> int:
        """Want every blob the block's listing versions name and this node lacks; returns
        how many were queued (the fetch queue is bounded: see BlobFetcher.want)."""
        if self.store.closed:
            return 0
        queued = 0
        for tx in block.txs:
            body = tx.body
            if isinstance(body, MEDIA_BODIES):
                for name in body.media:
                    if not self.store.has(name) and self.fetcher.want(name):
                        queued += 1
        return queued

    # Collection.

    async def _gc_loop(self) -> None:
        while True:
            await asyncio.sleep(GC_INTERVAL_S)
            try:
                self.collect()
            except Exception as exc:  # one failed pass must not end collection
                log(_log, logging.ERROR, "blob_gc_error", error=repr(exc))

    def collect(self, scan_max: int = MAX_GC_SCAN_ENTRIES) -> int:
        """One bounded collection pass; returns the number of blobs deleted."""
        if self.store.closed:
            return 0
        now_ms = self.clock_ms()
        state = self.state()
        seen = 0
        deleted = 0
        last = self._gc_after
        for name, record in list(self.store.records_after(self._gc_after, scan_max)):
            seen += 1
            last = name
            if record.source != BlobSource.UPLOAD:
                continue
            if now_ms - record.stored_ms < BLOB_GRACE_MS or is_referenced(state, name):
                continue
            if self.store.delete(name):
                deleted += 1
                log(_log, logging.INFO, "blob_collected", blob=name.hex(),
                    bytes=record.size_bytes)
        # A short pass reached the end: the next one starts from the first blob again.
        self._gc_after = last if seen >= scan_max else b""
        self.collected_count += deleted
        if deleted:
            self._collected.inc(deleted)
        return deleted
