"""Honest clients and transaction gossip: signed transfers submitted to live nodes, and
the node service's gossip rules (admit, relay, charge peers for junk) without threads."""

from __future__ import annotations

from commerce.address import address_of
from commerce.encoding import decode, pack_plain
from commerce.errors import AgoraError, ValidationError
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from node.intake import (
    REGOSSIP_AGE_BLOCKS,
    REGOSSIP_MAX_TXS,
    TX_BATCH_BYTES_MAX,
    TX_BATCH_MAX,
    screen_gossiped,
)
from node.sim.driver import SimNode
from node.sim.world import KIND_TXS


class ClientTraffic:
    """The transaction side of `Simulation` (a mixin: it uses the simulation's state)."""

    def client_tick(self) -> None:
        """Honest clients: a few signed transfers to one live honest node, then gossip."""
        live = [node for node in self.honest() if node.up]
        if not live:
            return
        node = self.rng.choice(live)
        assert node.mempool is not None
        admitted: list[bytes] = []
        for _ in range(self.rng.randint(0, 3)):
            sender, target = self.rng.sample(range(len(self.accounts)), 2)
            key = self.accounts[sender]
            nonce = node.mempool.pending_nonce(address_of(key.public_key))
            body = Transfer(to=address_of(self.accounts[target].public_key),
                            amount=self.rng.randint(1, 50_000), memo="")
            tx = sign_tx(key, self.genesis.chain_id, nonce, body)
            try:
                node.mempool.admit(tx)
            except AgoraError:
                continue
            admitted.append(tx.raw)
        if admitted:
            self.gossip_txs(node.index, admitted)
            self.signal_work(node)

    def gossip_txs(self, src: int, raws: list[bytes]) -> None:
        for start in range(0, len(raws), TX_BATCH_MAX):
            payload = pack_plain(raws[start:start + TX_BATCH_MAX])
            for dst in range(self.n):
                self.send(src, dst, KIND_TXS, payload)

    def signal_work(self, node: SimNode) -> None:
        """node/service.py `_signal_work`: WorkPending(True) on the next loop turn."""
        if not node.work_signalled:
            node.work_signalled = True
            self.push(self.now_ms, node.index, "work", None)

    def on_tx_gossip(self, node: SimNode, src: int, payload: bytes) -> None:
        """node/intake.py `on_gossip` + `_admit_gossiped`, without threads: admit what
        passes, gossip those on as this node's own batch, charge the peer for junk."""
        mempool = node.mempool
        assert mempool is not None
        try:
            items = decode(payload, max_bytes=TX_BATCH_BYTES_MAX, check_leaves=False)
        except ValidationError:
            self.penalize(node, src)
            return
        if not isinstance(items, list) or len(items) > TX_BATCH_MAX:
            self.penalize(node, src)
            return
        txs, junk = screen_gossiped(items, mempool, None, gap_quota=True)
        admitted: list[bytes] = []
        for tx in txs:
            if tx.tx_id not in mempool.verified:
                if not tx.verify_signature():
                    junk += 1
                    continue
                mempool.verified.add(tx.tx_id)
            try:
                mempool.admit(tx, signature_checked=True, simulate=False)
            except AgoraError:
                continue
            admitted.append(tx.raw)
        if junk:
            self.penalize(node, src)
        if admitted:
            self.gossip_txs(node.index, admitted)
            self.signal_work(node)

    def regossip(self, node: SimNode) -> None:
        assert node.mempool is not None and node.store is not None
        due = node.mempool.regossip_due(node.store.head.height, REGOSSIP_AGE_BLOCKS,
                                        REGOSSIP_MAX_TXS)
        if due:
            self.gossip_txs(node.index, [tx.raw for tx in due])
