"""A peer whose gossiped transactions are finalized while this node verifies them is not
charged for junk: only a signature that fails is.

Method: a real store, mempool and chain under `TxIntake`, its verification pool gated so
that a block with the same transactions is finalized (through the chain, as consensus
would) between their verification and their admission; the P2P side is a recorder of the
points charged and the batches forwarded.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from commerce.address import address_of
from commerce.encoding import pack_plain
from commerce.genesis import Genesis
from commerce.keys import Keypair
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from node.chain import Chain, block_digest
from node.intake import TxIntake
from node.limits import MIN_POOLED_VERIFY_TXS
from node.mempool import Mempool
from node.rpc.notifications import TxFeed
from node.rpc.subscriptions import SubscriptionHub
from node.rpc.tracker import TxTracker
from node.store import Store

from .conftest import CHAIN_ID


class GatedPool(ThreadPoolExecutor):
    """Verifies in a thread, but only once the test opens the gate."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.gate = threading.Event()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def gated() -> Any:
            self.gate.wait(10)
            return fn(*args, **kwargs)
        return super().submit(gated)


class Recorder:
    """The P2P calls the intake makes: points charged, batches broadcast."""

    def __init__(self) -> None:
        self.penalties: list[tuple[bytes, int, str]] = []
        self.broadcasts: list[bytes] = []

    def penalize(self, peer: bytes, points: int, detail: str) -> bool:
        self.penalties.append((peer, points, detail))
        return False

    def broadcast(self, kind: str, payload: bytes) -> int:
        self.broadcasts.append(payload)
        return 1


async def test_intake_txs_finalized_while_verifying_do_not_penalize_the_peer(
    store: Store, genesis: Genesis, keys: list[Keypair]
) -> None:
    mempool = Mempool(store.state, CHAIN_ID)
    chain = Chain(store, genesis, mempool, keys[0].public_key)
    pool = GatedPool()
    p2p = Recorder()
    intake = TxIntake(mempool, p2p, TxFeed(SubscriptionHub(), TxTracker()),  # type: ignore[arg-type]
                      lambda: None, verify_pool=pool)
    try:
        to = address_of(keys[2].public_key)
        first = [sign_tx(keys[3], CHAIN_ID, n, Transfer(to=to, amount=1))
                 for n in range(MIN_POOLED_VERIFY_TXS)]
        second = [sign_tx(keys[1], CHAIN_ID, n, Transfer(to=to, amount=1)) for n in range(3)]
        peer = b"\x07" * 32
        # The first batch verifies in the (gated) pool; the second, small one in the loop,
        # then waits for the first to be admitted: batches are admitted in arrival order.
        await intake.on_gossip(peer, pack_plain([tx.raw for tx in first]))
        await intake.on_gossip(peer, pack_plain([tx.raw for tx in second]))
        async with asyncio.timeout(10):  # the loop verifies the small batch at once
            while not all(tx.tx_id in mempool.verified for tx in second):
                await asyncio.sleep(0.005)
        # Meanwhile the second batch's transactions reach a block (another peer gave them
        # to the primary): admitted here directly, proposed, finalized.
        for tx in second:
            mempool.admit(tx)
        raw = chain.propose(1, 1_000)
        chain.finalize(raw, b"certificate", block_digest(raw))
        assert store.head.height == 1 and len(mempool) == 0
        pool.gate.set()
        await asyncio.wait_for(asyncio.gather(*intake.tasks), 10)
        assert p2p.penalties == []
        assert all(tx.tx_id in mempool for tx in first) and len(mempool) == len(first)
        # A batch with a bad signature still costs its sender.
        forged = sign_tx(keys[1], CHAIN_ID, 3, Transfer(to=to, amount=1))
        await intake.on_gossip(peer, pack_plain([forged.raw[:-64] + bytes(64)]))
        await asyncio.wait_for(asyncio.gather(*intake.tasks), 10)
        assert [points for _, points, _ in p2p.penalties] != []
    finally:
        pool.gate.set()
        pool.shutdown(wait=True)
