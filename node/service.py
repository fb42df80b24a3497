"""The Node service: wires the store, mempool, chain, consensus driver, P2P and RPC.

`Node(loaded_home)` then `await node.start()`; `await node.stop()` shuts everything down in
reverse order (RPC, P2P, consensus timers, verification threads, the database). `run_node`
is what `agora start` calls: it also handles SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from commerce.block import Block
from commerce.errors import AgoraError
from commerce.governance_state import get_summary, validators_in_force
from commerce.machine import BlockResult, ChainContext
from commerce.tx import Transaction
from consensus.events import Note, Started, WorkPending
from consensus.replica import Replica, ReplicaConfig
from node.blobs.service import BlobService
from node.blobs.store import BlobStore
from node.chain import Chain, ConsensusDigest
from node.config import parse_host_port
from node.driver import KIND_BLOCKS, KIND_CONSENSUS, ConsensusDriver
from node.errors import NodeError, NodeErrorCode
from node.home import LoadedHome
from node.intake import KIND_TXS, TxIntake
from node.limits import RECHECK_INTERVAL_S, REGOSSIP_INTERVAL_S, THREAD_SCAN_INTERVAL_S
from node.logs import get_logger, log
from node.mempool import Mempool, MempoolLimits
from node.metrics import NodeMetrics
from node.native_threads import NativeThreadPriority
from node.progress import NoProgress, Progress
from node.rpc import RpcLimits, SubscriptionHub, create_app, serve
from node.rpc.methods import VERSION, build_registry
from node.rpc.node_api import NodeReport
from node.rpc.notifications import TxFeed
from node.rpc.server import bound_port
from node.rpc.tracker import TxTracker
from node.rpc.webapp import default_web_root
from node.state_store import StateStore
from node.store import Store
from node.sync import serve_request
from node.validators import allowed_peer_keys, primary_at, replica_schedule, replica_timers
from p2p.banlist import JsonFileBanStore
from p2p.errors import P2PError
from p2p.limits import P2PLimits
from p2p.service import P2PService, PeerRow, PersistentPeer

VERIFY_THREADS = 2  # signature verification of gossiped and submitted batches

_log = get_logger("node")


@dataclass(slots=True)
class NodeStatus:
    """Counters the RPC reports beside the chain head."""

    started_ms: int = field(default_factory=lambda: time.time_ns() // 1_000_000)
    view_changes: int = 0
    last_note: str = ""


class Node:
    """One validator (or observer) node. Not reusable after `stop`. Implements the RPC's
    `NodeAPI` (`admit`, `admit_many`, `report`, `peers`, `page_items_max`)."""

    def __init__(self, loaded: LoadedHome, *, rpc_port: int | None = None,
                 p2p_port: int | None = None) -> None:
        self.home = loaded.home
        self.config = loaded.config
        self.genesis = loaded.genesis
        self.key = loaded.node_key
        self.metrics = NodeMetrics()
        self.status = NodeStatus()
        self.tracker = TxTracker()
        self.hub = SubscriptionHub(self._rpc_limits(), self.metrics)
        self.feed = TxFeed(self.hub, self.tracker)
        # Validators removed from the set while this node ran (kept as observers on the
        # allow-list unless config p2p.removed_validators = "refuse").
        self._former_validators: set[bytes] = set()
        self._next_validators: tuple[bytes, ...] = self.genesis.validator_keys
        self._rpc_port_override = rpc_port
        self._p2p_port_override = p2p_port
        self.store: Store | None = None
        self.chain: Chain | None = None
        self.mempool: Mempool | None = None
        self.p2p: P2PService | None = None
        self.intake: TxIntake | None = None
        self.driver: ConsensusDriver | None = None
        self.replica: Replica | None = None
        self.blobs: BlobService | None = None
        self._runner: web.AppRunner | None = None
        self._verify_pool: ThreadPoolExecutor | None = None
        self._regossip_task: asyncio.Task[None] | None = None
        self._priority_task: asyncio.Task[None] | None = None
        self._rechecked_at = float("-inf")
        self._work_signalled = False
        self.rpc_port = 0
        self.p2p_port = 0
        self.stopped = asyncio.Event()

    @property
    def is_validator(self) -> bool:
        """True when this node's key is in the set in force at the height being decided."""
        if self.replica is not None:
            return self.replica.is_validator
        return self.key.public_key in self._next_validators

    def _rpc_limits(self) -> RpcLimits:
        rpc = self.config.rpc
        return RpcLimits(body_bytes_max=rpc.max_body_bytes, batch_calls_max=rpc.max_batch,
                         subscriptions_total_max=rpc.max_subscriptions,
                         client_inflight_calls_max=rpc.max_calls_per_client)

    # Lifecycle.

    async def start(self, progress: Progress | None = None) -> None:
        """Open the store (telling `progress` of a state rebuilt), start P2P, consensus and
        RPC. Raises NodeError with one line."""
        buffer_mb = self.config.store.write_buffer_mb
        self.store = Store.open(self.home.data_dir, self.genesis,
                                write_buffer_bytes=(buffer_mb << 20) or None,
                                node_id=self.key.public_key, progress=progress)
        try:
            await self._start_parts()
        except BaseException:
            await self.stop()
            raise
        head = self.store.head
        log(_log, logging.INFO, "node_started", chain_id=self.genesis.chain_id,
            node_id=self.key.public_key.hex()[:16], validator=self.is_validator,
            height=head.height, rpc_port=self.rpc_port, p2p_port=self.p2p_port,
            write_buffer_mb=round(self.store.write_buffer_bytes / (1 << 20), 1),
            state_replayed=self.store.replayed)
        if any(self.config.consensus.timers_override()):  # docs/OPERATIONS.md
            log(_log, logging.WARNING, "consensus_timers_overridden", **self.config.consensus
                .model_dump(include={"view_change_timeout_ms", "idle_block_interval_ms"}))

    async def _start_parts(self) -> None:
        assert self.store is not None
        cfg = self.config
        self._verify_pool = ThreadPoolExecutor(max_workers=VERIFY_THREADS,
                                               thread_name_prefix="verify")
        self.mempool = Mempool(self.store.state, self.genesis.chain_id, MempoolLimits(
            max_txs=cfg.mempool.max_txs, max_bytes=cfg.mempool.max_bytes,
            max_per_account=cfg.mempool.max_per_account,
            nonce_window=cfg.mempool.nonce_window), context=self._next_context)
        self.mempool.evict_listeners.append(self._on_evicted)
        self.chain = Chain(self.store, self.genesis, self.mempool, self.key.public_key,
                           max_block_txs=cfg.consensus.max_block_txs,
                           verify_pool=self._verify_pool,
                           digests=ConsensusDigest(self.mempool.id_of_bytes),
                           timers_override=cfg.consensus.timers_override())
        self.chain.finalized_listeners.append(self._on_finalized)
        self.replica = self._make_replica()
        self.p2p = self._make_p2p()
        self.intake = TxIntake(self.mempool, self.p2p, self.feed, self._signal_work,
                               self._verify_pool)
        self.driver = ConsensusDriver(self.replica, self.chain, self.store,
                                      ConsensusNetwork(self.p2p, self.metrics),
                                      self._primary_of,
                                      on_note=self._on_note,
                                      on_latency=self.metrics.commit_latency.observe)
        self.blobs = BlobService(self.home.data_dir, self.genesis.chain_id,
                                 self._finalized_state, self.metrics)
        self._register_p2p_handlers()
        await self._start_rpc()
        try:
            await self.p2p.start()
        except OSError as exc:
            host, port = self._p2p_address()
            raise NodeError(NodeErrorCode.PORT_IN_USE,
                            f"cannot listen for P2P on {host}:{port}: {exc.strerror}") from None
        self.p2p_port = self.p2p.port
        self._regossip_task = asyncio.get_running_loop().create_task(self._regossip_loop())
        if cfg.store.compaction_niceness > 0:
            self._priority_task = asyncio.get_running_loop().create_task(
                self._thread_priority_loop(NativeThreadPriority(cfg.store.compaction_niceness)))
        self._refresh_gauges()
        self.blobs.start()
        self.driver.feed(Started())

    def _p2p_address(self) -> tuple[str, int]:
        host, port = parse_host_port(self.config.p2p.listen)
        port = port if self._p2p_port_override is None else self._p2p_port_override
        return host, port

    def _make_replica(self) -> Replica:
        assert self.store is not None and self.chain is not None
        assert self.chain.digests is not None, "the replica shares the chain's digests"
        head = self.store.head
        records = [value for _, value in self.store.consensus_records()]
        cons = self.config.consensus
        # The timers come from the chain (replica_timers); the config caps the backoff.
        config = ReplicaConfig(view_change_timeout_max_ms=cons.view_change_timeout_max_ms)
        self._next_validators = self.chain.validators_at(head.height + 1)
        # The node's key signs from the height whose set names it (it may be in none yet:
        # an observer admitted by vote starts voting at its height).
        return Replica(
            chain_id=self.genesis.chain_id.encode(),
            schedule=replica_schedule(self.chain),
            signing_key=self.key.signing_key,
            finalized_height=head.height,
            finalized_digest=head.block_hash if head.height > 0 else b"",
            finalized_certificate=self.store.get_certificate(head.height),
            records=records,
            digest_fn=self.chain.digests,
            config=config,
            timers=replica_timers(self.chain),
        )

    def _make_p2p(self) -> P2PService:
        from node.config import parse_peer

        host, port = self._p2p_address()
        allowed = sorted(self._allowed_keys())
        peers = []
        for text in self.config.p2p.persistent_peers:
            key, peer_host, peer_port = parse_peer(text)
            peers.append(PersistentPeer(key, peer_host, peer_port))
        p2p_limits = P2PLimits(max_outbound_peers=max(8, self.config.p2p.max_peers // 2),
                               max_inbound_peers=self.config.p2p.max_peers)
        # The handshake compares this string: binding the genesis hash into it refuses a
        # peer whose genesis differs even when its chain id is the same (a tampered file).
        network_id = f"{self.genesis.chain_id}/{self.genesis.hash.hex()[:32]}"
        return P2PService(identity=self.key.signing_key, chain_id=network_id,
                          allowed_keys=allowed, host=host, port=port, persistent_peers=peers,
                          limits=p2p_limits,
                          ban_store=JsonFileBanStore(self.home.data_dir / "banned_peers.json"))

    async def _start_rpc(self) -> None:
        host, port = parse_host_port(self.config.rpc.listen)
        port = port if self._rpc_port_override is None else self._rpc_port_override
        registry = build_registry(self)
        app = create_app(registry, self.hub, self.health_checks, self.metrics,
                         cors_origins=self.config.rpc.cors_origins, limits=self.hub.limits,
                         version=VERSION, web_root=self._web_root(),
                         extra_routes=None if self.blobs is None else self.blobs.add_routes)
        self._runner = await serve(app, host, port)
        self.rpc_port = bound_port(self._runner)

    def _web_root(self) -> Path | None:
        """The built web app's directory, None when `[web] enabled = false`."""
        web_config = self.config.web
        if not web_config.enabled:
            return None
        if not web_config.root:
            return default_web_root()
        return self.home.root / Path(web_config.root).expanduser()

    async def stop(self) -> None:
        """Stop RPC, P2P and consensus, then close the database (idempotent)."""
        if self.intake is not None:
            self.intake.cancel_flush()
        if self._regossip_task is not None:
            self._regossip_task.cancel()
        if self._priority_task is not None:
            self._priority_task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.driver is not None:
            self.driver.close()
        if self.p2p is not None:
            await self.p2p.stop()
            self.p2p = None
        if self.blobs is not None:
            await self.blobs.stop()
        self.tracker.cancel_all()
        if self.intake is not None:
            await self.intake.close()
        if self._verify_pool is not None:
            self._verify_pool.shutdown(wait=True, cancel_futures=True)
            self._verify_pool = None
        if self.store is not None:
            self.store.close()
        self.stopped.set()
        log(_log, logging.INFO, "node_stopped")

    def _finalized_state(self) -> StateStore:
        assert self.store is not None, "a started node"
        return self.store.state

    def _next_context(self) -> ChainContext:
        assert self.chain is not None
        return self.chain.context(self.chain.height + 1)

    # Consensus glue.

    def _primary_of(self, height: int, view: int) -> bytes:
        assert self.chain is not None
        return primary_at(self.chain, height, view)

    def _allowed_keys(self) -> set[bytes]:
        """Who may connect: the validators in force and scheduled (`node.validators`), the
        genesis validators (their nodes sync from us whatever the set), the configured
        observers, and validators removed since start unless the config refuses them."""
        assert self.chain is not None
        policy = self.config.p2p.removed_validators
        configured = [bytes.fromhex(k) for k in self.config.p2p.allowed_keys]
        allowed = allowed_peer_keys(self.chain, configured, self._former_validators, policy)
        if policy == "observer":
            allowed |= set(self.genesis.validator_keys)
        return allowed

    def _follow_validator_set(self) -> None:
        """After a finalized block: when the set of the next height differs, remember who
        left, and make the allow-list follow (a refused former validator is disconnected)."""
        assert self.chain is not None
        current = self.chain.validators_at(self.chain.height + 1)
        if current == self._next_validators:
            return
        left = set(self._next_validators) - set(current)
        self._former_validators |= left
        self._next_validators = current
        log(_log, logging.INFO, "validator_set_changed", height=self.chain.height + 1,
            validators=len(current), left=len(left), member=self.key.public_key in current)
        if self.p2p is not None:
            self.p2p.set_allowed_keys(sorted(self._allowed_keys()))

    def _on_note(self, note: Note) -> None:
        self.status.last_note = f"{note.kind}: {note.detail}"
        if note.kind.startswith("view_change"):
            self.status.view_changes += 1
            self.metrics.view_changes.inc()

    def _signal_work(self) -> None:
        # Deferred to the next loop turn: fed synchronously, a lone validator proposed and
        # finalized a block inside each admit, so a batch became one block per transaction.
        if not self._work_signalled and self.driver is not None:
            self._work_signalled = True
            asyncio.get_running_loop().call_soon(self._feed_work)

    def _feed_work(self) -> None:
        if self.driver is None or self.mempool is None or not self.mempool.has_ready():
            self._work_signalled = False  # only future nonces: the next admit signals again
            return
        self.driver.feed(WorkPending(True))

    def _on_finalized(self, block: Block, result: BlockResult) -> None:
        self._work_signalled = False
        self._follow_validator_set()
        self.metrics.txs_finalized.inc(len(block.txs))
        self.feed.on_finalized(block, result)
        if self.blobs is not None:
            self.blobs.on_finalized(block)
        self._refresh_gauges()
        log(_log, logging.INFO, "block_finalized", height=block.height,
            txs=len(block.txs), hash=block.hash)
        loop = asyncio.get_running_loop()
        if loop.time() - self._rechecked_at >= RECHECK_INTERVAL_S:
            self._rechecked_at = loop.time()
            loop.call_soon(self._recheck)

    def _recheck(self) -> None:
        if self.chain is None or self.store is None or self.store.closed:
            return
        self.chain.recheck_mempool()
        self._refresh_gauges()

    def _refresh_gauges(self) -> None:
        if self.store is None or self.mempool is None:
            return
        self.metrics.height.set(self.store.head.height)
        governance = get_summary(self.store.state)
        self.metrics.validators.set(len(validators_in_force(
            self.store.state, self.genesis, self.store.head.height + 1)))
        self.metrics.proposals_open.set(governance.open_count)
        self.metrics.reconfiguration_height.set(governance.last_activation_height)
        self.metrics.mempool_txs.set(len(self.mempool))
        self.metrics.mempool_bytes.set(self.mempool.size_bytes)
        if self.replica is not None:
            self.metrics.view.set(self.replica.view)
        if self.p2p is not None:
            self.metrics.peers.set(len(self.p2p.connected_peers()))

    def _on_evicted(self, tx: Transaction, reason: str) -> None:
        self.feed.on_dropped(tx, reason)

    # Transactions (`node.intake`).

    def admit(self, tx: Transaction) -> None:
        """Admit a transaction submitted to this node and gossip it; raises AgoraError."""
        assert self.intake is not None, "a started node"
        self.intake.admit(tx)

    async def admit_many(self, raws: list[bytes]) -> list[str | AgoraError]:
        """Admit a batch of submitted transactions, verifying signatures in threads.

        Returns, per transaction, its id hex or the AgoraError that refused it.
        """
        assert self.intake is not None, "a started node"
        return await self.intake.admit_many(raws)


    async def _regossip_loop(self) -> None:
        """Offer long-pending transactions to peers again (see Mempool.regossip_due)."""
        while True:
            await asyncio.sleep(REGOSSIP_INTERVAL_S)
            if self.intake is None or self.store is None or self.store.closed:
                continue
            due = self.intake.regossip(self.store.head.height)
            if due:
                log(_log, logging.DEBUG, "txs_regossiped", count=due)

    async def _thread_priority_loop(self, priority: NativeThreadPriority) -> None:
        """Lower LevelDB's background thread's priority once it exists (its first flush or
        compaction starts it); one thread per process, so the loop ends there."""
        while not priority.lowered:
            await asyncio.sleep(THREAD_SCAN_INTERVAL_S)
            lowered = priority.scan()
            if lowered:
                log(_log, logging.INFO, "store_thread_priority_lowered", threads=len(lowered),
                    niceness=priority.niceness)


    # P2P handlers.

    def _register_p2p_handlers(self) -> None:
        assert self.p2p is not None and self.driver is not None
        driver = self.driver

        async def on_consensus(peer: bytes, payload: bytes) -> None:
            driver.on_message(peer, payload)

        async def on_blocks(peer: bytes, payload: bytes) -> bytes:
            assert self.store is not None
            return serve_request(self.store, payload)

        self.p2p.register_direct(KIND_CONSENSUS, on_consensus)
        assert self.intake is not None
        self.p2p.register_gossip(KIND_TXS, self.intake.on_gossip)
        self.p2p.register_request(KIND_BLOCKS, on_blocks)
        if self.blobs is not None:
            self.blobs.register(self.p2p)
        self.p2p.on_peer_up(lambda peer: self._refresh_gauges())
        self.p2p.on_peer_down(lambda peer: self._refresh_gauges())

    # What the RPC reports (`node.rpc.node_api.NodeAPI`).

    @property
    def page_items_max(self) -> int:
        """The most items a `state_list*` page holds."""
        return self.config.rpc.max_page_size

    def report(self) -> NodeReport:
        """This node's identity, consensus view, peers and ports, for `node_status`."""
        return NodeReport(
            moniker=self.config.node.moniker,
            node_id=self.key.public_key,
            validator=self.is_validator,
            view=int(self.replica.view) if self.replica is not None else 0,
            view_changes=self.status.view_changes,
            catching_up=self.replica_catching_up(),
            peers_count=len(self.p2p.connected_peers()) if self.p2p is not None else 0,
            rpc_port=self.rpc_port,
            p2p_port=self.p2p_port,
        )

    def blob_store(self) -> BlobStore | None:
        """The blob store of listing pictures (None before start)."""
        return self.blobs.store if self.blobs is not None else None

    def peers(self) -> list[PeerRow]:
        """The connected peers with their traffic counters (none when P2P is stopped)."""
        return self.p2p.peers() if self.p2p is not None else []

    # Health.

    def health_checks(self) -> list[tuple[str, bool, str]]:
        """(name, ok, detail) for /health: database writable, consensus running, peers."""
        checks: list[tuple[str, bool, str]] = []
        store_ok = self.store is not None and not self.store.closed and \
            self.store.check_writable()
        checks.append(("database_writable", store_ok, "" if store_ok else "write failed"))
        fatal = self.driver.fatal if self.driver is not None else None
        checks.append(("consensus_running", fatal is None, "" if fatal is None else str(fatal)))
        synced = self.replica is not None and not self.replica_catching_up()
        checks.append(("synced", synced, "" if synced else "catching up with peers"))
        checks.append(self._peers_check())
        checks.append(self._validator_set_check())
        return checks

    def _validator_set_check(self) -> tuple[str, bool, str]:
        """Fails for a validator that is not in the set in force (removed, or its key
        rotated away) and names it; a node that was never one is a plain observer."""
        key = self.key.public_key
        name = key.hex()[:16]
        if self.is_validator:
            return ("validator_set", True, "")
        if key in self._former_validators or key in self.genesis.validator_keys:
            height = self.chain.height + 1 if self.chain is not None else 0
            return ("validator_set", False,
                    f"validator {name} is not in the validator set at height {height}; "
                    "it follows the chain as an observer")
        return ("validator_set", True, f"observer {name}")

    def _peers_check(self) -> tuple[str, bool, str]:
        """A validator needs quorum - 1 validator peers to finalize anything; an observer
        f + 1 (one of them honest) to learn what is final."""
        keys = set(self._next_validators)
        f = (len(keys) - 1) // 3
        needed = (self.replica.quorum - 1) if self.is_validator and self.replica else f + 1
        peers = self.p2p.connected_peers() if self.p2p is not None else []
        connected = sum(1 for peer in peers if bytes(peer) in keys)
        ok = connected >= needed
        return ("peers", ok, "" if ok else f"{connected} validator peers, {needed} needed")

    def replica_catching_up(self) -> bool:
        """True while the replica fetches finalized blocks from peers."""
        return self.replica is not None and self.replica.catching_up


class ConsensusNetwork:
    """Consensus messages go directly to each connected peer (not relayed as gossip, so
    the replica's retransmissions are not suppressed as duplicates)."""

    def __init__(self, p2p: P2PService, metrics: NodeMetrics) -> None:
        self.p2p = p2p
        self.metrics = metrics

    def broadcast(self, kind: str, payload: bytes) -> None:
        for peer in self.p2p.connected_peers():
            self.send(peer, kind, payload)

    def send(self, peer: bytes, kind: str, payload: bytes) -> None:
        if not self.p2p.is_connected(peer):
            return
        try:
            self.p2p.send(peer, kind, payload)
        except P2PError as exc:
            log(_log, logging.DEBUG, "consensus_send_failed", peer=peer, error=str(exc))

    async def request(self, peer: bytes, kind: str, payload: bytes, timeout: float) -> bytes:
        return await self.p2p.request(peer, kind, payload, timeout)

    def blame(self, peer: bytes, reason: str) -> None:
        """A peer sent consensus bytes no honest node sends (a body that is not the block
        it names, a sync reply that is not the chain): count it and ban the peer, which
        disconnects it; the replica fetches from another holder."""
        self.metrics.peers_blamed.inc(reason=reason)
        self.p2p.ban(peer)


# The cyclic collector's generation-0 threshold while a node runs (CPython's default: 700).
# A busy node allocates hundreds of objects per transaction, almost none of them in cycles
# (reference counting frees them), so with the default a young collection ran every few
# transactions, and each full one walked the whole heap: a pending backlog of 100,000
# transactions made that ~1/8 of a validator's time at saturation (py-spy --gil showed it
# on allocating lines). Cycles are still collected, ~70x less often.
GC_GEN0_THRESHOLD = 50_000


def tune_gc() -> None:
    """Collect once, keep the start-up objects out of later collections (`gc.freeze`)
    and raise the young-generation threshold (see GC_GEN0_THRESHOLD)."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


async def run_node(loaded: LoadedHome, progress: Progress | None = None) -> None:
    """Run a node until SIGINT or SIGTERM, then stop it cleanly; `progress` hears of a
    state rebuilt on open and, each second, of a catch-up."""
    progress = progress or NoProgress()
    node = Node(loaded)
    await node.start(progress)
    progress.clear()
    tune_gc()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass
            if node.driver is not None and node.driver.fatal is not None:
                raise NodeError(NodeErrorCode.STATE_DIVERGED,
                                f"consensus stopped: {node.driver.fatal}")
            if node.replica_catching_up() and node.store is not None:
                progress.step(f"catching up with peers: height {node.store.head.height}")
            else:
                progress.clear()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await node.stop()
