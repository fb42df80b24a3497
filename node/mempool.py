"""The mempool: admitted transactions waiting for a block, with limits on everything.

Admission checks the form, the chain id, that the sender can act (it holds the account
reserve or is a validator, as the state machine requires: `reserve_required` otherwise,
before any other work), the nonce against committed state (within a window), the
per-account and total limits and, once per transaction, the signature (a bounded cache
remembers what was verified, so a block's transactions are not verified again).

A transaction is gapped when some nonce between its account's committed one and its own is
not pending: it cannot execute until the gap is filled. An account may have at most
`max_gapped_per_account` of them (`account_quota`). When the pool is full, an executable
transaction displaces gapped ones (the highest nonces of the accounts that gapped first)
to make room; a gapped one, or an executable one with nothing to displace, is answered
`mempool_full` at once: the pool never slows down or grows.

Transactions are kept per account by nonce. `reap` returns, in arrival order, those whose
nonce is the next one of their account (counting earlier ones in the same reap).
After each finalized block, `on_finalized` drops what the block included and what its
nonces made stale; `recheck` (run after the commit, not in its path) re-executes a bounded
number of account heads against the new state and evicts those that fail.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from commerce.errors import AgoraError, ErrorCode, ValidationError
from commerce.ledger import get_account, require_can_act
from commerce.limits import BLOCK_TX_FRAME_BYTES
from commerce.machine import ChainContext, apply_tx
from commerce.state import Overlay, StateReader
from commerce.tx import Transaction
from node import limits
from node.errors import NodeError, NodeErrorCode


@dataclass(slots=True)
class MempoolLimits:
    """Per-node limits (from config.toml; defaults in node/limits.py)."""

    max_txs: int = limits.MAX_MEMPOOL_TXS
    max_bytes: int = limits.MAX_MEMPOOL_BYTES
    max_per_account: int = limits.MAX_MEMPOOL_TXS_PER_ACCOUNT
    nonce_window: int = limits.MAX_MEMPOOL_NONCES_AHEAD
    ttl_blocks: int = limits.MEMPOOL_TTL_BLOCKS
    max_gapped_per_account: int = limits.MAX_MEMPOOL_GAPPED_TXS_PER_ACCOUNT


@dataclass(slots=True)
class _Entry:
    tx: Transaction
    height_admitted: int
    height_gossiped: int = 0


EvictListener = Callable[[Transaction, str], None]
NONCE_CACHE_MAX = 100_000  # committed nonces remembered (all forgotten when full)
RECHECK_HEADS = 256  # account heads re-executed per recheck (the node runs one per 0.5 s)


class VerifiedCache:
    """A bounded set of transaction ids whose signatures verified (oldest forgotten first)."""

    def __init__(self, capacity: int = limits.MAX_VERIFIED_CACHE_ENTRIES) -> None:
        assert capacity > 0
        self._ids: OrderedDict[bytes, None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, tx_id: bytes) -> bool:
        return tx_id in self._ids

    def add(self, tx_id: bytes) -> None:
        """Remember that `tx_id` verified."""
        if tx_id in self._ids:
            self._ids.move_to_end(tx_id)
            return
        self._ids[tx_id] = None
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)

    def unverified(self, txs: Iterable[Transaction]) -> list[Transaction]:
        """The transactions of `txs` whose ids are not here, in order (one call for a
        whole batch or block, not one per transaction)."""
        ids = self._ids
        return [tx for tx in txs if tx.tx_id not in ids]

    def discard(self, tx_id: bytes) -> None:
        """Forget `tx_id`."""
        self._ids.pop(tx_id, None)

    def __len__(self) -> int:
        return len(self._ids)


class Mempool:
    """Pending transactions of one node. Not thread-safe: use from the event loop."""

    def __init__(self, state: StateReader, chain_id: str,
                 pool_limits: MempoolLimits | None = None,
                 context: Callable[[], ChainContext] | None = None) -> None:
        self._state = state
        self._context = context
        self._chain_id = chain_id
        self.limits = pool_limits or MempoolLimits()
        # Arrival order is the dict's own insertion order (an OrderedDict's linked list
        # cost every insert and removal more, and nothing here reorders entries).
        self._by_id: dict[bytes, _Entry] = {}
        # The same entries by wire bytes: a validator finds a proposal's transactions here
        # without hashing each (bytes cache their own hash, so this costs an admission one
        # hash of bytes it already holds and a removal nothing).
        self._by_raw: dict[bytes, _Entry] = {}
        self._by_sender: dict[bytes, dict[int, bytes]] = {}
        self._bytes = 0
        self._height = 0
        self.verified = VerifiedCache()
        self.evict_listeners: list[EvictListener] = []
        self.evicted_count: dict[str, int] = {}
        # Committed nonces read from the state, moved by `on_finalized` for a block's senders
        # (only a sender's own transaction moves its nonce). A LevelDB read and a record
        # unpack per admitted transaction otherwise.
        self._nonces: dict[bytes, int] = {}
        # Senders known to be able to act. Holding the reserve never stops (a balance that
        # reached it stays above it, commerce.ledger), so an entry never goes stale.
        self._can_act: dict[bytes, None] = {}
        # Senders that may have gapped transactions, in the order they gapped (a superset:
        # `_displaceable` drops those found with none).
        self._gapped_senders: dict[bytes, None] = {}
        self._recheck_from = 0

    # Reading.

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def size_bytes(self) -> int:
        """Total encoded bytes of the pending transactions."""
        return self._bytes

    def __contains__(self, tx_id: bytes) -> bool:
        return tx_id in self._by_id

    def get(self, tx_id: bytes) -> Transaction | None:
        """The pending transaction `tx_id`, or None."""
        entry = self._by_id.get(tx_id)
        return None if entry is None else entry.tx

    def get_by_bytes(self, raw: bytes) -> Transaction | None:
        """The pending transaction whose wire bytes are `raw`, or None."""
        entry = self._by_raw.get(raw)
        return None if entry is None else entry.tx

    def id_of_bytes(self, raw: bytes) -> bytes | None:
        """The id of the pending transaction whose wire bytes are `raw`, or None."""
        entry = self._by_raw.get(raw)
        return None if entry is None else entry.tx.tx_id

    def committed_nonce(self, sender: bytes) -> int:
        """The next nonce of `sender` on committed state."""
        nonce = self._nonces.get(sender)
        if nonce is None:
            nonce = get_account(self._state, sender).nonce
            if len(self._nonces) >= NONCE_CACHE_MAX:
                self._nonces.clear()
            self._nonces[sender] = nonce
        return nonce

    def pending_nonce(self, sender: bytes) -> int:
        """The next nonce for `sender` counting its pending consecutive transactions."""
        nonce = self.committed_nonce(sender)
        queued = self._by_sender.get(sender, {})
        while nonce in queued:
            nonce += 1
        return nonce

    def has_ready(self) -> bool:
        """True when some account's next transaction is pending (a block would not be empty)."""
        for sender, queued in self._by_sender.items():
            if self.committed_nonce(sender) in queued:
                return True
        return False

    # Admission.

    def check(self, tx: Transaction, *, simulate: bool = True, gap_quota: bool = True) -> None:
        """Raise the error that admitting `tx` would give, without admitting it.

        Does not verify the signature (see `admit`). With a `context`, the sender must be
        able to act (reserve_required), and the account's next transaction is also
        executed on committed state (nothing is kept) and its refusal raised, unless
        `simulate` is False (gossip from peers, which ran it already). `gap_quota` False
        leaves out the limit on gapped transactions: a pre-check while earlier nonces of
        the account are still being verified (they are admitted first, so `admit` decides).
        """
        self._check(tx, simulate, gap_quota)

    def _check(self, tx: Transaction, simulate: bool,
               gap_quota: bool = True) -> tuple[list[bytes], bool]:
        """`check`; returns the gapped transactions to displace to make room for `tx`
        (empty unless the pool is full), and whether `tx` itself is gapped."""
        if tx.chain_id != self._chain_id:
            raise ValidationError(ErrorCode.WRONG_CHAIN, f"transaction is for chain {tx.chain_id}")
        if tx.tx_id in self._by_id:
            raise NodeError(NodeErrorCode.DUPLICATE_TX, "transaction is already pending")
        sender = tx.sender_address
        if sender not in self._can_act:
            self._require_can_act(tx, sender)
        nonce = tx.nonce
        state_nonce = self.committed_nonce(sender)
        if nonce < state_nonce:
            raise ValidationError(
                ErrorCode.BAD_NONCE, f"nonce {nonce} is used; next is {state_nonce}"
            )
        pool_limits = self.limits
        if nonce >= state_nonce + pool_limits.nonce_window:
            raise NodeError(
                NodeErrorCode.NONCE_TOO_FAR,
                f"nonce {nonce} is more than {pool_limits.nonce_window} ahead of {state_nonce}",
            )
        queued = self._by_sender.get(sender)
        if queued is not None and nonce in queued:
            raise NodeError(NodeErrorCode.DUPLICATE_TX, f"nonce {nonce} is already pending")
        queued_count = 0 if queued is None else len(queued)
        if queued_count >= pool_limits.max_per_account:
            raise NodeError(
                NodeErrorCode.ACCOUNT_QUOTA,
                f"account has {queued_count} pending transactions"
                f" (limit {pool_limits.max_per_account})",
            )
        gapped = False
        # The usual case costs two lookups: the next nonce after a pending one of an
        # account with nothing gapped (`_gapped_senders` holds every account that has a
        # gapped transaction) is executable. Otherwise walk the account's executable run.
        if nonce > state_nonce and not (queued is not None and nonce - 1 in queued
                                        and sender not in self._gapped_senders):
            run_end = self._run_end(state_nonce, queued)
            gapped = nonce > run_end
            waiting = queued_count - (run_end - state_nonce)
            if gap_quota and gapped and waiting >= pool_limits.max_gapped_per_account:
                raise NodeError(
                    NodeErrorCode.ACCOUNT_QUOTA,
                    f"account has {waiting} transactions waiting on a nonce gap"
                    f" (limit {pool_limits.max_gapped_per_account})",
                )
            if waiting == 0 and not gapped:
                self._gapped_senders.pop(sender, None)  # nothing of it waits (any more)
        victims: list[bytes] = []
        if len(self._by_id) >= pool_limits.max_txs or \
                self._bytes + len(tx.raw) > pool_limits.max_bytes:
            displaceable = None if gapped else self._displaceable(sender, len(tx.raw))
            if displaceable is None:
                raise NodeError(NodeErrorCode.MEMPOOL_FULL, "mempool is full; retry later")
            victims = displaceable
        if simulate and nonce == state_nonce and self._context is not None:
            # The account's next transaction: run it on committed state now, so a client
            # hears "insufficient_funds" at once rather than a drop later. The overlay is
            # thrown away whatever happens: no child overlay of its own.
            apply_tx(self._context(), Overlay(self._state), tx, check_signature=False,
                     isolated=False)
        return victims, gapped

    def _require_can_act(self, tx: Transaction, sender: bytes) -> None:
        """Raise reserve_required unless `sender` holds the account reserve or is a
        validator (the state machine's rule, on committed state); remember it if so.
        Without a `context` the chain's rules are unknown and nothing is checked."""
        if self._context is None:
            return
        ctx = self._context()
        require_can_act(get_account(self._state, sender).balance, tx.sender,
                        ctx.params.account_reserve_minor, ctx.validators)
        if len(self._can_act) >= NONCE_CACHE_MAX:
            self._can_act.clear()
        self._can_act[sender] = None

    @staticmethod
    def _run_end(state_nonce: int, queued: dict[int, bytes] | None) -> int:
        """The first nonce from `state_nonce` on that is not pending (the end of the
        executable run)."""
        nonce = state_nonce
        if queued:
            while nonce in queued:
                nonce += 1
        return nonce

    def _gapped_of(self, sender: bytes) -> list[bytes]:
        """The ids of `sender`'s gapped transactions, highest nonce first."""
        queued = self._by_sender.get(sender)
        if not queued:
            return []
        run_end = self._run_end(self.committed_nonce(sender), queued)
        return [queued[n] for n in sorted(queued, reverse=True) if n > run_end]

    def _displaceable(self, newcomer: bytes, size_bytes: int) -> list[bytes] | None:
        """Gapped transactions (not `newcomer`'s) whose removal makes room for one more
        transaction of `size_bytes`, or None when there are not enough (at most
        MAX_MEMPOOL_DISPLACED_TXS). Senders found with none leave `_gapped_senders`."""
        pool_limits = self.limits
        need_txs = len(self._by_id) + 1 - pool_limits.max_txs
        need_bytes = self._bytes + size_bytes - pool_limits.max_bytes
        victims: list[bytes] = []
        drained: list[bytes] = []
        for sender in self._gapped_senders:
            if (need_txs <= 0 and need_bytes <= 0
                    or len(victims) >= limits.MAX_MEMPOOL_DISPLACED_TXS):
                break
            if sender == newcomer:
                continue
            gapped = self._gapped_of(sender)
            if not gapped:
                drained.append(sender)
                continue
            for tx_id in gapped:
                if need_txs <= 0 and need_bytes <= 0 or \
                        len(victims) >= limits.MAX_MEMPOOL_DISPLACED_TXS:
                    break
                victims.append(tx_id)
                need_txs -= 1
                need_bytes -= len(self._by_id[tx_id].tx.raw)
        for sender in drained:
            del self._gapped_senders[sender]
        return victims if need_txs <= 0 and need_bytes <= 0 else None

    def admit(self, tx: Transaction, *, signature_checked: bool = False,
              simulate: bool = True) -> None:
        """Admit `tx` or raise AgoraError with the reason; nothing changes on refusal.

        The signature is verified here unless `signature_checked` (the caller verified it,
        e.g. in a worker thread) or it is in the verified cache. In a full pool, the gapped
        transactions `check` chose are evicted (`displaced`) once the signature verified.
        """
        victims, gapped = self._check(tx, simulate)
        tx_id = tx.tx_id
        if not signature_checked and tx_id not in self.verified:
            if not tx.verify_signature():
                raise ValidationError(ErrorCode.BAD_SIGNATURE, "signature does not verify")
            self.verified.add(tx_id)
        for victim in victims:
            self._evict(victim, "displaced")
        sender = tx.sender_address
        entry = _Entry(tx, self._height)
        self._by_id[tx_id] = entry
        self._by_raw[tx.raw] = entry
        queued = self._by_sender.get(sender)
        if queued is None:
            queued = self._by_sender[sender] = {tx.nonce: tx_id}
        else:
            queued[tx.nonce] = tx_id
        if gapped:
            self._gapped_senders[sender] = None
        self._bytes += len(tx.raw)
        assert self._bytes <= self.limits.max_bytes
        assert len(self._by_id) <= self.limits.max_txs
        assert len(self._by_raw) == len(self._by_id), "one entry per id and per wire bytes"

    # Block building.

    def reap(self, max_txs: int, max_bytes: int) -> list[Transaction]:
        """Up to `max_txs` executable transactions, in arrival order, whose bytes in a
        block (each with its BLOCK_TX_FRAME_BYTES) add up to at most `max_bytes`."""
        assert max_txs >= 0 and max_bytes >= 0
        next_nonce: dict[bytes, int] = {}
        picked: list[Transaction] = []
        size = 0
        for entry in self._by_id.values():
            if len(picked) >= max_txs:
                break
            tx = entry.tx
            sender = tx.sender_address
            expected = next_nonce.get(sender)
            if expected is None:
                expected = self.committed_nonce(sender)
            tx_bytes = len(tx.raw) + BLOCK_TX_FRAME_BYTES
            if tx.nonce != expected or size + tx_bytes > max_bytes:
                next_nonce[sender] = expected
                continue
            picked.append(tx)
            size += tx_bytes
            next_nonce[sender] = expected + 1
        return picked

    # After a block.

    def on_finalized(self, height: int, txs: Iterable[Transaction]) -> list[Transaction]:
        """Drop the block's transactions and those its nonces made stale; expire old ones.

        Returns the transactions removed because the block included them.
        """
        self._height = height
        included: list[Transaction] = []
        next_nonces: dict[bytes, int] = {}  # of the block's senders
        remove = self._remove
        # Final: never validated again (its nonce is used), so its id need not stay in the
        # verified cache, which then tracks what is pending, not all history.
        forget = self.verified.discard
        for tx in txs:
            sender = tx.sender_address
            after = tx.nonce + 1
            if after > next_nonces.get(sender, 0):
                next_nonces[sender] = after
            tx_id = tx.tx_id
            if remove(tx_id) is not None:
                included.append(tx)
            forget(tx_id)
        # A finalized block holds only transactions that executed, each moving its sender's
        # nonce by one: the sender's next nonce is its last one in the block plus one.
        if len(self._nonces) + len(next_nonces) > NONCE_CACHE_MAX:
            self._nonces.clear()
        self._nonces.update(next_nonces)
        for sender in sorted(next_nonces):
            queued = self._by_sender.get(sender)
            if not queued:
                continue
            state_nonce = self.committed_nonce(sender)
            if min(queued) >= state_nonce:
                continue  # nothing stale (the usual case: the block took the lowest ones)
            for nonce in sorted(n for n in queued if n < state_nonce):
                self._evict(queued[nonce], "nonce_used")
        self._expire(height)
        return included

    def _expire(self, height: int) -> None:
        cutoff = height - self.limits.ttl_blocks
        if cutoff <= 0:
            return
        expired: list[bytes] = []
        for tx_id, entry in self._by_id.items():
            # Admission order, `height_admitted` never decreasing: the first one young
            # enough ends the scan (no walk of the whole pool after every block).
            if entry.height_admitted >= cutoff or len(expired) >= limits.MAX_MEMPOOL_RECHECK_TXS:
                break
            expired.append(tx_id)
        for tx_id in expired:
            self._evict(tx_id, "expired")

    def recheck(self, ctx: ChainContext) -> int:
        """Re-execute up to a bounded number of account heads on committed state; evict
        the ones that now fail. Returns how many were evicted."""
        evicted = 0
        checked = 0
        # Round-robin from where the last recheck stopped: starting from the first sender
        # every time, the same accounts were rechecked every time and the others never;
        # and at most RECHECK_HEADS of them (each is a full execution).
        senders = list(self._by_sender)
        start = self._recheck_from % len(senders) if senders else 0
        for sender in senders[start:] + senders[:start]:
            if checked >= RECHECK_HEADS:
                break
            self._recheck_from += 1
            queued = self._by_sender.get(sender)
            if not queued:
                continue
            nonce = self.committed_nonce(sender)
            tx_id = queued.get(nonce)
            if tx_id is None:
                continue
            checked += 1
            tx = self._by_id[tx_id].tx
            try:
                apply_tx(ctx, Overlay(self._state), tx, check_signature=False,
                         isolated=False)
            except AgoraError as exc:
                self._evict(tx_id, exc.reason)
                evicted += 1
        return evicted

    def regossip_due(self, height: int, age_blocks: int, max_count: int) -> list[Transaction]:
        """Pending transactions not gossiped in the last `age_blocks` blocks, oldest first
        (at most `max_count`); they are marked as gossiped at `height`.

        A peer that missed the first gossip (a dropped connection, a full queue) gets them
        again, so a transaction admitted by any node reaches the primary eventually.
        """
        assert age_blocks >= 1 and max_count >= 0
        due: list[Transaction] = []
        for entry in self._by_id.values():
            # Entries are in admission order and `height_admitted` never decreases along
            # it: past the first one admitted too recently, none is due (no full scan of
            # a large backlog every second).
            if len(due) >= max_count or height - entry.height_admitted < age_blocks:
                break
            if height - max(entry.height_admitted, entry.height_gossiped) >= age_blocks:
                entry.height_gossiped = height
                due.append(entry.tx)
        return due

    def evict(self, tx_id: bytes, reason: str) -> None:
        """Remove `tx_id` (if pending) telling the listeners why."""
        if tx_id in self._by_id:
            self._evict(tx_id, reason)

    def _evict(self, tx_id: bytes, reason: str) -> None:
        entry = self._remove(tx_id)
        if entry is None:
            return
        sender = entry.tx.sender_address
        if sender in self._by_sender:
            self._gapped_senders[sender] = None  # its later nonces may wait on a gap now
        self.evicted_count[reason] = self.evicted_count.get(reason, 0) + 1
        for listener in self.evict_listeners:
            listener(entry.tx, reason)

    def _remove(self, tx_id: bytes) -> _Entry | None:
        entry = self._by_id.pop(tx_id, None)
        if entry is None:
            return None
        tx = entry.tx
        del self._by_raw[tx.raw]
        sender = tx.sender_address
        queued = self._by_sender.get(sender)
        if queued is not None:
            queued.pop(tx.nonce, None)
            if not queued:
                del self._by_sender[sender]
                self._gapped_senders.pop(sender, None)
        self._bytes -= len(tx.raw)
        assert self._bytes >= 0
        return entry
