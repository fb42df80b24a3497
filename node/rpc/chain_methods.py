"""`chain_*` and `tx_*` JSON-RPC methods: blocks, transactions and their submission.

Each method takes its validated params model (`node.rpc.params`) and returns JSON-able
data rendered by `node.rpc.render`; a miss is `NodeError(not_found)`.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from commerce.address import to_text
from commerce.errors import ErrorCode, ValidationError
from commerce.machine import apply_tx
from commerce.state import Overlay
from commerce.tx import Transaction, decode_tx
from node.chain import Chain
from node.errors import NodeError, NodeErrorCode
from node.limits import MAX_DECODED_BLOCKS as DECODED_BLOCKS_MAX
from node.rpc.errors import RpcError
from node.rpc.params import (
    BlockHashParams,
    BlockParams,
    HeightParams,
    SimulateParams,
    SubmitParams,
    TxIdParams,
)
from node.rpc.render import render_block, render_event, render_event_array, render_tx
from node.rpc.tracker import TxTracker


def parse_tx_hex(text: str) -> Transaction:
    """Decode a hex transaction; raises ValidationError(malformed) for bad hex."""
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
    except ValueError as exc:
        raise ValidationError(ErrorCode.MALFORMED, "tx is not hex") from exc
    return decode_tx(raw)


class ChainMethods:
    """`chain_*` and `tx_*` methods over one node's chain, mempool and tracker."""

    def __init__(self, chain: Chain, tracker: TxTracker,
                 admit: Callable[[Transaction], None]) -> None:
        self.chain = chain
        self.store = chain.store
        self.tracker = tracker
        self.admit = admit
        # Finalized blocks never change: keep the last few decoded, so looking up many
        # transactions of one block decodes it once, not once per transaction.
        self._decoded: OrderedDict[int, Any] = OrderedDict()

    def _block_or_404(self, height: int) -> Any:
        block = self._decoded.get(height)
        if block is not None:
            return block
        block = self.store.get_block(height)
        if block is None:
            raise NodeError(NodeErrorCode.NOT_FOUND, f"no block at height {height}")
        self._keep_decoded(block)
        return block

    def _keep_decoded(self, block: Any) -> None:
        self._decoded[block.height] = block
        while len(self._decoded) > DECODED_BLOCKS_MAX:
            self._decoded.popitem(last=False)

    def remember_block(self, block: Any, result: Any = None) -> None:
        """A finalized-block listener: keep the block just finalized decoded, so the
        `chain_getBlock` that follows each `newBlocks` notification does not read and
        decode it again (a 2,000-transaction block is ~50 ms of decoding)."""
        self._keep_decoded(block)

    async def get_block(self, params: BlockParams) -> dict[str, Any]:
        """A block by height (latest when omitted) with its certificate."""
        height = params.height if params.height is not None else self.store.head.height
        if height == 0:
            raise NodeError(NodeErrorCode.NOT_FOUND, "the chain has no block yet")
        block = self._block_or_404(height)
        out = render_block(block, full_txs=params.full_txs)
        cert = self.store.get_certificate(height) or b""
        out["certificate"] = cert.hex()
        out["end_events"] = [
            {"kind": e.kind, "addresses": [to_text(a) for a in e.addresses]}
            for e in self.store.get_end_events(height)
        ]
        return out

    async def get_block_by_hash(self, params: BlockHashParams) -> dict[str, Any]:
        """A block by its header hash."""
        height = self.store.height_of(bytes.fromhex(params.hash))
        if height is None:
            raise NodeError(NodeErrorCode.NOT_FOUND, f"no block with hash {params.hash}")
        return await self.get_block(BlockParams(height=height, full_txs=params.full_txs))

    async def get_certificate(self, params: HeightParams) -> dict[str, Any]:
        """The commit certificate of the block at `height`."""
        cert = self.store.get_certificate(params.height)
        block = self.store.get_block(params.height)
        if cert is None or block is None:
            raise NodeError(NodeErrorCode.NOT_FOUND, f"no block at height {params.height}")
        return {"height": params.height, "block_hash": block.hash.hex(), "certificate": cert.hex()}

    async def get_transaction(self, params: TxIdParams) -> dict[str, Any]:
        """A finalized transaction with its block and receipt, or a pending one."""
        tx_id = bytes.fromhex(params.id)
        location = self.store.get_tx(tx_id)
        if location is None:
            pending = self.chain.mempool.get(tx_id)
            if pending is None:
                raise NodeError(NodeErrorCode.NOT_FOUND, f"no transaction {params.id}")
            return {"status": "pending", "tx": render_tx(pending)}
        block = self._block_or_404(location.height)
        tx = block.txs[location.index]
        return {
            "status": "finalized",
            "height": location.height,
            "index": location.index,
            "block_hash": block.hash.hex(),
            "tx": render_tx(tx),
            "events": [render_event_array(e) for e in location.receipt],
        }

    async def submit(self, params: SubmitParams) -> dict[str, Any]:
        """Admit a transaction into the mempool (and gossip it); optionally wait for it."""
        tx = parse_tx_hex(params.tx)
        if params.wait == "none":
            self.admit(tx)
            return {"id": tx.tx_id.hex(), "status": "pending"}
        future = self.tracker.watch(tx.tx_id)
        try:
            self.admit(tx)
            outcome = await asyncio.wait_for(asyncio.shield(future), params.timeout_ms / 1000)
        except TimeoutError as exc:
            # The wait is bounded (MAX_WAIT_MS); the transaction stays in the mempool, and the
            # answer names it so the client can follow it with chain_getTransaction.
            raise RpcError(NodeErrorCode.TIMEOUT,
                           f"not finalized within {params.timeout_ms} ms; still pending",
                           {"id": tx.tx_id.hex(), "status": "pending"}) from exc
        finally:
            self.tracker.forget(tx.tx_id, future)
        if not outcome.finalized:
            raise NodeError(NodeErrorCode.EVICTED, f"dropped from the mempool: {outcome.reason}")
        return {
            "id": tx.tx_id.hex(),
            "status": "finalized",
            "height": outcome.height,
            "index": outcome.index,
            "events": [render_event(e) for e in outcome.events],
        }

    async def simulate(self, params: SimulateParams) -> dict[str, Any]:
        """Run a transaction on the latest state and report the result; nothing is kept."""
        tx = parse_tx_hex(params.tx)
        ctx = self.chain.context(self.store.head.height + 1)
        receipt = apply_tx(ctx, Overlay(self.store.state), tx, check_signature=True)
        return {
            "id": tx.tx_id.hex(),
            "ok": True,
            "events": [render_event(e) for e in receipt.events],
        }
