"""Waiters for transaction outcomes: `tx_submit` with `wait: finalized` parks here.

A waiter resolves when its transaction is finalized (with height, index and receipt) or
leaves the mempool without being finalized (with the reason). The number of waiters is
bounded; a caller beyond the bound is refused at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from commerce.machine import Event
from node.errors import NodeError, NodeErrorCode

MAX_WAITERS = 20_000


@dataclass(frozen=True, slots=True)
class TxOutcome:
    """How a transaction ended: finalized at `height` (index, events) or dropped (reason)."""

    tx_id: bytes
    finalized: bool
    height: int = 0
    index: int = 0
    events: tuple[Event, ...] = ()
    reason: str = ""


class TxTracker:
    """Futures keyed by transaction id, resolved by the node's finalize and evict paths."""

    def __init__(self, max_waiters: int = MAX_WAITERS) -> None:
        self._waiters: dict[bytes, list[asyncio.Future[TxOutcome]]] = {}
        self._count = 0
        self._max = max_waiters

    def __len__(self) -> int:
        return self._count

    def watch(self, tx_id: bytes) -> asyncio.Future[TxOutcome]:
        """A future for `tx_id`'s outcome; raises NodeError(mempool_full) past the bound."""
        if self._count >= self._max:
            raise NodeError(NodeErrorCode.MEMPOOL_FULL, "too many transactions being awaited")
        future: asyncio.Future[TxOutcome] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(tx_id, []).append(future)
        self._count += 1
        return future

    def forget(self, tx_id: bytes, future: asyncio.Future[TxOutcome]) -> None:
        """Stop waiting (after a timeout)."""
        waiters = self._waiters.get(tx_id)
        if waiters and future in waiters:
            waiters.remove(future)
            self._count -= 1
            if not waiters:
                del self._waiters[tx_id]

    def watching(self, tx_id: bytes) -> bool:
        """True when someone awaits `tx_id` (build its outcome only then)."""
        return tx_id in self._waiters

    def resolve(self, outcome: TxOutcome) -> None:
        """Wake every waiter of the outcome's transaction."""
        waiters = self._waiters.pop(outcome.tx_id, None)
        if not waiters:
            return
        self._count -= len(waiters)
        assert self._count >= 0
        for future in waiters:
            if not future.done():
                future.set_result(outcome)

    def cancel_all(self) -> None:
        """Cancel every waiter (at shutdown)."""
        for waiters in self._waiters.values():
            for future in waiters:
                future.cancel()
        self._waiters.clear()
        self._count = 0
