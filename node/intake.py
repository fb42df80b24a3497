"""Transaction intake: what enters a node's mempool, from clients and from peers, and the
gossip of what was admitted.

`TxIntake.admit` and `admit_many` take the RPC's submissions; `on_gossip` takes a peer's
batch of transactions. Signatures are verified in a thread pool (batches concurrently,
admitted in arrival order); what is admitted is announced to the RPC's `TxFeed`, queued
for this node's next gossip batch (`TX_BATCH_MAX` transactions or `TX_BATCH_DELAY_S`,
whichever comes first) and signalled to consensus as pending work. A peer's batch carrying
junk costs it `INVALID_GOSSIP_POINTS`; `regossip` offers long-pending transactions again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from commerce.encoding import decode, pack_plain
from commerce.errors import AgoraError, ErrorCode, ValidationError
from commerce.tx import Transaction, decode_tx

# The gossip limits, under the names this module has used for them.
from node.limits import GOSSIP_BATCH_DELAY_S as TX_BATCH_DELAY_S
from node.limits import MAX_GOSSIP_BATCH_BYTES as TX_BATCH_BYTES_MAX
from node.limits import MAX_GOSSIP_BATCH_TXS as TX_BATCH_MAX
from node.limits import MAX_GOSSIP_VERIFY_TASKS as GOSSIP_VERIFY_TASKS_MAX
from node.limits import MAX_REGOSSIP_TXS as REGOSSIP_MAX_TXS
from node.limits import MIN_POOLED_VERIFY_TXS, REGOSSIP_AGE_BLOCKS
from node.logs import get_logger, log
from node.mempool import Mempool
from node.rpc.notifications import TxFeed
from p2p.errors import P2PError
from p2p.limits import INVALID_GOSSIP_POINTS
from p2p.service import P2PService

KIND_TXS = "txs"

_log = get_logger("node")
_sha256 = hashlib.sha256  # commerce.encoding.sha256 without its call, per gossiped tx


class TxIntake:
    """One node's intake into `mempool`. `p2p` None: nothing is gossiped (not started,
    or stopped); `verify_pool` None: signatures are verified in the loop's thread;
    `signal_work()` tells consensus that the mempool may hold executable transactions."""

    def __init__(self, mempool: Mempool, p2p: P2PService | None, feed: TxFeed,
                 signal_work: Callable[[], None], verify_pool: Executor | None = None
                 ) -> None:
        self.mempool = mempool
        self.p2p = p2p
        self.feed = feed
        self._signal_work = signal_work
        self._verify_pool = verify_pool
        self._tx_batch: list[bytes] = []
        self._tx_flush: asyncio.TimerHandle | None = None
        self._gossip_tasks = 0
        self.tasks: set[asyncio.Task[None]] = set()  # gossiped batches being admitted
        # The admission of the batch verified before this one: batches are verified
        # concurrently (in threads) but admitted in arrival order, so an account's nonces
        # split over two batches do not arrive gapped (see `_verify_and_admit`).
        self._admit_turn: asyncio.Future[None] | None = None
        # Ids of the transactions being verified (at most GOSSIP_VERIFY_TASKS_MAX + 1
        # batches of TX_BATCH_MAX, plus RPC batches): a copy from another peer meanwhile is
        # skipped, not verified a second time.
        self._verifying: set[bytes] = set()

    async def close(self) -> None:
        """Stop gossiping (the batch being gathered is dropped) and cancel the admission
        of gossiped batches; the intake takes nothing more from peers."""
        self.cancel_flush()
        self.p2p = None
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def cancel_flush(self) -> None:
        """Cancel the timer that sends the batch being gathered."""
        if self._tx_flush is not None:
            self._tx_flush.cancel()

    def admit(self, tx: Transaction) -> None:
        """Admit a transaction submitted to this node and gossip it; raises AgoraError."""
        self.mempool.admit(tx)
        self._after_admit(tx)

    def _after_admit(self, tx: Transaction, *, tx_watched: bool = True,
                     signal: bool = True, gossip: bool = True) -> None:
        """Notify, queue for gossip and signal work. `tx_watched` False: the caller found
        no "tx" subscription at all (once per batch), so no per-transaction lookup;
        `signal` False: the caller signals work itself once for a batch; `gossip` False:
        the caller forwards it in a batch of its own."""
        if tx_watched:
            self.feed.on_admitted(tx)
        if gossip:
            self._queue_gossip(tx.raw)
        if signal:
            self._signal_work()

    def _queue_gossip(self, raw: bytes) -> None:
        self._tx_batch.append(raw)
        if len(self._tx_batch) >= TX_BATCH_MAX:
            self.flush_gossip()
        elif self._tx_flush is None:
            self._tx_flush = asyncio.get_running_loop().call_later(TX_BATCH_DELAY_S,
                                                                   self.flush_gossip)

    def flush_gossip(self) -> None:
        """Send the batch being gathered now."""
        self._tx_flush = None
        batch, self._tx_batch = self._tx_batch, []
        self._broadcast_txs(batch)

    def _broadcast_txs(self, batch: list[bytes]) -> None:
        if batch and self.p2p is not None:
            try:
                # A list of bytes is canonical as msgpack packs it: no leaf walk.
                self.p2p.broadcast(KIND_TXS, pack_plain(batch))
            except P2PError as exc:
                log(_log, logging.WARNING, "tx_gossip_failed", error=str(exc))

    def regossip(self, head_height: int) -> int:
        """Offer long-pending transactions to peers again (see Mempool.regossip_due);
        returns how many."""
        due = self.mempool.regossip_due(head_height, REGOSSIP_AGE_BLOCKS, REGOSSIP_MAX_TXS)
        for start in range(0, len(due), TX_BATCH_MAX):
            self._broadcast_txs([tx.raw for tx in due[start:start + TX_BATCH_MAX]])
        return len(due)

    async def on_gossip(self, peer: bytes, payload: bytes) -> bool:
        """A batch of transactions from a peer: decode, verify in threads, admit.

        Returns False always: the batch is never relayed as received. What passes every
        admission check is broadcast again, as batches of just those, by `_admit_gossiped`;
        a batch carrying junk (undecodable or foreign items, bad signatures) costs the peer
        `INVALID_GOSSIP_POINTS` once, and enough of them get it banned by the P2P layer.
        """
        try:
            # Each item is checked to be bytes below and decoded canonically on its own:
            # the batch around them needs no leaf walk of its own.
            items = decode(payload, max_bytes=TX_BATCH_BYTES_MAX, check_leaves=False)
        except ValidationError:
            self._penalize_gossip(peer, "undecodable transaction batch")
            return False
        if not isinstance(items, list) or len(items) > TX_BATCH_MAX:
            self._penalize_gossip(peer, "transaction batch is not a list of at most "
                                        f"{TX_BATCH_MAX}")
            return False
        # Earlier nonces may still be in a batch being verified: the gap limit is checked
        # when they are admitted, in arrival order.
        txs, junk = screen_gossiped(items, self.mempool, self._verifying, gap_quota=False)
        if not txs:
            if junk:
                self._penalize_gossip(peer, f"{junk} junk items of {len(items)}")
            return False  # nothing new here: this node relayed these when they were new
        if self._gossip_tasks < GOSSIP_VERIFY_TASKS_MAX:
            # Verified and admitted in a task of its own: this peer's connection handles
            # its messages one at a time, so awaiting the verification here held its
            # consensus messages behind every batch of transactions. Past the bound, the
            # batch is handled inline (back-pressure on that peer).
            self._gossip_tasks += 1
            task = asyncio.get_running_loop().create_task(
                self._admit_gossiped(txs, peer=peer, junk=junk, items=len(items),
                                     payload=payload if len(txs) == len(items) else None))
            self.tasks.add(task)
            task.add_done_callback(self._gossip_task_done)
            return False
        await self._admit_gossiped(txs, peer=peer, junk=junk, items=len(items),
                                   payload=payload if len(txs) == len(items) else None)
        return False

    def _gossip_task_done(self, task: asyncio.Task[None]) -> None:
        self._gossip_tasks -= 1
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log(_log, logging.WARNING, "tx_gossip_admit_failed", error=str(task.exception()))

    def _penalize_gossip(self, peer: bytes, detail: str) -> None:
        if self.p2p is not None:
            self.p2p.penalize(peer, INVALID_GOSSIP_POINTS, detail)
        log(_log, logging.INFO, "tx_gossip_junk", peer=peer.hex()[:16], detail=detail)

    async def _admit_gossiped(self, txs: list[Transaction], *, peer: bytes, junk: int,
                              items: int, payload: bytes | None = None) -> None:
        """Verify and admit `txs` (from `peer`'s batch of `items`, `junk` of them already
        refused as junk); gossip the admitted ones on and charge the peer for the junk.

        `payload`: the peer's batch, when every item of it is in `txs`. If every one is
        admitted, that batch is forwarded as it came (it is then a batch of just admitted
        transactions): its gossip id is the same on every node, so the copies the other
        peers forward are dropped unopened by the P2P layer. Otherwise the admitted ones
        go out in this node's own batches."""
        refusals = await self._verify_and_admit(txs)
        whole = payload is not None and all(refusal is None for refusal in refusals)
        watched = self.feed.tx_watched()
        admitted = 0
        for tx, refusal in zip(txs, refusals, strict=True):
            if refusal is None:
                # Publishes, counts and, unless the whole batch goes on, queues the
                # transaction for the next gossip batch of this node's own (re-encoded).
                self._after_admit(tx, tx_watched=watched, signal=False, gossip=not whole)
                admitted += 1
            elif refusal.code is ErrorCode.BAD_SIGNATURE:
                junk += 1
        if whole and payload is not None and self.p2p is not None:
            try:
                self.p2p.broadcast(KIND_TXS, payload)
            except P2PError as exc:
                log(_log, logging.WARNING, "tx_gossip_failed", error=str(exc))
        if junk:
            self._penalize_gossip(peer, f"{junk} junk items of {items}")
        if admitted:
            self._signal_work()

    async def _verify_and_admit(self, txs: list[Transaction]) -> list[AgoraError | None]:
        """Verify the signatures not verified before (in the thread pool), then admit each
        transaction: per transaction None, or the error that refused it.

        The mempool checks again on admission: its state may have moved while the
        signatures were being verified. The caller has claimed the ids in `_verifying`
        (`screen_gossiped` for a peer's batch, `admit_many` for a client's); they are
        released here.
        """
        mempool = self.mempool
        assert mempool is not None
        previous, turn = self._admit_turn, asyncio.get_running_loop().create_future()
        self._admit_turn = turn
        try:
            return await self._verify_then_admit(mempool, txs, previous)
        finally:
            turn.set_result(None)
            self._verifying.difference_update(tx.tx_id for tx in txs)

    async def _verify_then_admit(self, mempool: Mempool, txs: list[Transaction],
                                 previous: asyncio.Future[None] | None,
                                 ) -> list[AgoraError | None]:
        verified = mempool.verified
        unverified = verified.unverified(txs)
        refused: set[bytes] = set()
        for tx, ok in zip(unverified, await self._verify(unverified), strict=True):
            if ok:
                verified.add(tx.tx_id)
            else:
                refused.add(tx.tx_id)
        if previous is not None:
            await previous  # the batch that arrived first is admitted first
        # Only a signature that failed here refuses as bad_signature (junk from a peer). An
        # id that left the cache meanwhile verified: its transaction was finalized while
        # this batch waited, and `admit` refuses it by its nonce, no fault of the sender.
        refusals: list[AgoraError | None] = []
        for tx in txs:
            if refused and tx.tx_id in refused:
                refusals.append(ValidationError(ErrorCode.BAD_SIGNATURE,
                                                "signature does not verify"))
                continue
            try:
                mempool.admit(tx, signature_checked=True, simulate=False)
            except AgoraError as exc:
                refusals.append(exc)
                continue
            refusals.append(None)
        return refusals

    async def _verify(self, txs: list[Transaction]) -> list[bool]:
        if not txs:
            return []
        if self._verify_pool is None or len(txs) < MIN_POOLED_VERIFY_TXS:
            return [tx.verify_signature() for tx in txs]
        loop = asyncio.get_running_loop()
        half = (len(txs) + 1) // 2
        parts = [txs[:half], txs[half:]]
        results = await asyncio.gather(*(
            loop.run_in_executor(self._verify_pool, _verify_list, part) for part in parts))
        return [ok for part in results for ok in part]

    async def admit_many(self, raws: list[bytes]) -> list[str | AgoraError]:
        """Admit a batch of submitted transactions, verifying signatures in threads.

        Returns, per transaction, its id hex or the AgoraError that refused it.
        """
        check = self.mempool.check
        out: list[Any] = []  # None until its transaction is decided
        txs: list[Transaction | None] = []
        for raw in raws:
            try:
                tx = decode_tx(raw)
                check(tx)
            except AgoraError as exc:
                out.append(exc)
                txs.append(None)
                continue
            out.append(None)
            txs.append(tx)
        indexes = [i for i, tx in enumerate(txs) if tx is not None]
        checked = [tx for tx in txs if tx is not None]
        self._verifying.update(tx.tx_id for tx in checked)
        refusals = await self._verify_and_admit(checked)
        tx_watched = self.feed.tx_watched()
        admitted = False
        for i, tx, refusal in zip(indexes, checked, refusals, strict=True):
            if refusal is not None:
                out[i] = refusal
                continue
            self._after_admit(tx, tx_watched=tx_watched, signal=False)
            out[i] = tx.tx_id.hex()
            admitted = True
        if admitted:
            self._signal_work()  # once: it only schedules a check for the next loop turn
        return out


def screen_gossiped(items: list[Any], mempool: Mempool, verifying: set[bytes] | None, *,
                    gap_quota: bool) -> tuple[list[Transaction], int]:
    """The transactions of a peer's batch worth verifying, and how many of its items are
    junk (not bytes, undecodable, another chain's). Skipped, not junk: those pending
    already, those in `verifying` (each one returned is added to it, None: no such set)
    and those the mempool's state refuses (`mempool.check`, with `gap_quota`)."""
    txs: list[Transaction] = []
    junk = 0
    for raw in items:
        if not isinstance(raw, bytes):
            junk += 1
            continue
        tx_id = _sha256(raw).digest()
        if tx_id in mempool or (verifying is not None and tx_id in verifying):
            # Pending here already, or in a batch being verified: every peer gossips
            # what it admitted, so a transaction arrives once from each of them.
            continue
        try:
            tx = decode_tx(raw, tx_id=tx_id)
        except AgoraError:
            junk += 1
            continue
        try:
            mempool.check(tx, simulate=False, gap_quota=gap_quota)
        except AgoraError as exc:
            # Refusals that depend on this node's state (a nonce just finalized, a full
            # pool) happen to honest peers too; another chain's transaction does not.
            if exc.code is ErrorCode.WRONG_CHAIN:
                junk += 1
            continue
        txs.append(tx)
        if verifying is not None:
            verifying.add(tx_id)
    return txs, junk


def _verify_list(txs: list[Transaction]) -> list[bool]:
    return [tx.verify_signature() for tx in txs]
