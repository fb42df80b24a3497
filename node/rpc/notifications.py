"""What the RPC tells as it happens: the node calls a `TxFeed` when a block is finalized and
when a transaction is admitted or dropped; the feed wakes the `tx_submit` calls waiting for
those transactions (the tracker) and publishes the subscriptions' notifications (the hub).

Notifications are rendered only for subscribers: rendering every event of a block costs.
The payloads are those of `docs/RPC.md`, "Subscriptions".
"""

from __future__ import annotations

from commerce.address import to_text
from commerce.block import Block
from commerce.machine import BlockResult
from commerce.tx import Transaction
from node.rpc.render import render_event, render_header
from node.rpc.subscriptions import SubscriptionHub
from node.rpc.tracker import TxOutcome, TxTracker


class TxFeed:
    """Outcomes and notifications of one node, from its finalize, admit and evict paths."""

    def __init__(self, hub: SubscriptionHub, tracker: TxTracker) -> None:
        self.hub = hub
        self.tracker = tracker

    def tx_watched(self) -> bool:
        """True when anyone follows any transaction (skip per-transaction work otherwise)."""
        return self.hub.wants_topic("tx")

    def on_finalized(self, block: Block, result: BlockResult) -> None:
        """Resolve the waiters of the block's transactions, then notify `tx`, `account`
        and `newBlocks` subscribers."""
        hub = self.hub
        accounts_watched = hub.wants_topic("account")
        txs_watched = hub.wants_topic("tx")
        awaited = len(self.tracker) > 0
        for index, (tx, receipt) in enumerate(zip(block.txs, result.receipts, strict=True)):
            if awaited and self.tracker.watching(tx.tx_id):
                self.tracker.resolve(TxOutcome(tx.tx_id, True, block.height, index,
                                               receipt.events))
            if not (txs_watched or accounts_watched):
                continue
            tx_key = tx.tx_id.hex()
            if txs_watched and hub.wants("tx", tx_key):
                hub.publish("tx", tx_key, {
                    "id": tx_key, "status": "finalized", "height": block.height,
                    "index": index, "events": [render_event(e) for e in receipt.events]})
            if accounts_watched:
                touched = {a for e in receipt.events for a in e.addresses}
                for address in sorted(touched | {tx.sender_address}):
                    if hub.wants("account", text := to_text(address)):
                        hub.publish("account", text, {
                            "address": text, "tx": tx_key, "height": block.height,
                            "type": tx.type})
        for event in result.end_events if accounts_watched else ():
            for address in sorted(set(event.addresses)):
                if hub.wants("account", text := to_text(address)):
                    hub.publish("account", text, {
                        "address": text, "height": block.height,
                        "event": render_event(event)})
        hub.publish("newBlocks", None, {**render_header(block.header),
                                         "tx_count": len(block.txs)})

    def on_admitted(self, tx: Transaction) -> None:
        """Notify the transaction's `tx` subscribers that the mempool admitted it."""
        if self.hub.wants("tx", tx_key := tx.tx_id.hex()):
            self.hub.publish("tx", tx_key, {"id": tx_key, "status": "admitted"})

    def on_dropped(self, tx: Transaction, reason: str) -> None:
        """The transaction left the mempool unfinalized: wake its waiters, notify."""
        self.tracker.resolve(TxOutcome(tx.tx_id, False, reason=reason))
        self.hub.publish("tx", tx.tx_id.hex(), {"id": tx.tx_id.hex(), "status": "dropped",
                                               "reason": reason})
