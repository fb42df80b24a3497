"""A node gossips on only the transactions that passed its admission checks, and bans a
peer that keeps sending junk.

Method: a real node (`node.service.Node`, single validator, started in the test's loop)
with two real P2P peers on loopback that its config allows: a sender and an observer. The
sender broadcasts a 3.5 MB batch of one valid transaction, one well-formed transaction
with an all-zero signature, two oversized items and 497 undecodable ones; the observer
records every transaction batch the node gossips to it. Then the sender keeps sending junk
batches until the node bans it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from nacl.signing import SigningKey

import commerce  # noqa: F401  (registers transaction types)
from commerce.encoding import decode, pack_plain
from commerce.keys import Keypair
from commerce.limits import MAX_TX_BYTES
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from node.config import parse_config
from node.home import init_home, load_home
from node.intake import KIND_TXS
from node.service import Node
from p2p import P2PLimits, P2PService, PeerId, PersistentPeer
from p2p.limits import INVALID_GOSSIP_POINTS, MISBEHAVIOUR_BAN_POINTS

CHAIN_ID = "tx-gossip"
PEER_LIMITS = P2PLimits(dial_tick_ms=20, reconnect_backoff_initial_ms=50,
                        reconnect_backoff_max_ms=400)
JUNK_ITEM_BYTES = 7_000
JUNK_ITEMS = 497


def peer_key(name: str) -> SigningKey:
    return SigningKey(hashlib.sha256(name.encode()).digest())


@dataclass
class Observer:
    """The transaction batches the node gossiped to this peer, decoded."""

    batches: list[list[bytes]] = field(default_factory=list)

    async def on_txs(self, peer: PeerId, payload: bytes) -> bool:
        self.batches.append(decode(payload, check_leaves=False))
        return False

    def received(self) -> set[bytes]:
        return {raw for batch in self.batches for raw in batch}


@dataclass
class Net:
    node: Node
    funded: Keypair
    sender: P2PService
    observer: P2PService
    seen: Observer


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def net(tmp_path: Path) -> AsyncIterator[Net]:
    sender_key, observer_key = peer_key("sender"), peer_key("observer")
    config = parse_config({
        "rpc": {"listen": "127.0.0.1:0"},
        "p2p": {"listen": "127.0.0.1:0",
                "allowed_keys": [bytes(k.verify_key).hex() for k in (sender_key, observer_key)]},
        "consensus": {"idle_block_interval_ms": 1_000},
    })
    init_home(tmp_path / "home", chain_id=CHAIN_ID, config=config)
    loaded = load_home(tmp_path / "home")
    node = Node(loaded)
    await node.start()
    assert node.p2p is not None
    node_id = node.key.public_key
    peers: list[P2PService] = []
    try:
        for key in (sender_key, observer_key):
            svc = P2PService(
                identity=key, chain_id=node.p2p.chain_id,
                allowed_keys=[node_id],  # the node only: no PEX link around it
                persistent_peers=[PersistentPeer(node_id, "127.0.0.1", node.p2p_port)],
                limits=PEER_LIMITS,
            )
            peers.append(svc)
        seen = Observer()
        peers[1].register_gossip(KIND_TXS, seen.on_txs)
        for svc in peers:
            await svc.start()
        await wait_until(lambda: all(svc.is_connected(node_id) for svc in peers))
        assert all(svc.connected_peers() == [node_id] for svc in peers)
        yield Net(node, loaded.node_key, peers[0], peers[1], seen)
    finally:
        await asyncio.gather(*(svc.stop() for svc in peers))
        await node.stop()


def junk_batch(valid: list[bytes]) -> bytes:
    items = [*valid, os.urandom(MAX_TX_BYTES + 1), os.urandom(MAX_TX_BYTES + 4_000)]
    items += [os.urandom(JUNK_ITEM_BYTES) for _ in range(JUNK_ITEMS)]
    return pack_plain(items)


async def test_tx_gossip_junk_batch_forwards_only_the_admitted_tx_and_bans_the_sender(
    net: Net,
) -> None:
    funded = net.funded
    valid = sign_tx(funded, CHAIN_ID, 0, Transfer(to=b"\x01" * 20, amount=1))
    signed = sign_tx(funded, CHAIN_ID, 1, Transfer(to=b"\x02" * 20, amount=1))
    zero_signature = signed.raw[:-64] + bytes(64)
    payload = junk_batch([valid.raw, zero_signature])
    assert 3_500_000 < len(payload) <= net.sender.limits.max_payload_bytes
    sender_id = net.sender.peer_id
    p2p = net.node.p2p
    assert p2p is not None

    assert net.sender.broadcast(KIND_TXS, payload) == 1
    await wait_until(lambda: valid.raw in net.seen.received())
    await wait_until(lambda: p2p.misbehaviour_points(sender_id) > 0)
    await asyncio.sleep(0.2)  # room for anything else the node would forward
    # Only the admitted transaction went on, in a batch of its own making.
    assert net.seen.received() == {valid.raw}
    assert all(len(batch) == 1 for batch in net.seen.batches)
    assert p2p.misbehaviour_points(sender_id) == INVALID_GOSSIP_POINTS

    # Junk again and again: the sender is banned and cut off once its points add up.
    sent = 1
    while sender_id not in p2p.bans():
        assert sent < MISBEHAVIOUR_BAN_POINTS // INVALID_GOSSIP_POINTS, "not banned in time"
        before = p2p.misbehaviour_points(sender_id)
        net.sender.broadcast(KIND_TXS, junk_batch([]))
        sent += 1
        await wait_until(lambda before=before: p2p.misbehaviour_points(sender_id) > before
                         or sender_id in p2p.bans())
    await wait_until(lambda: not p2p.is_connected(sender_id))
    assert p2p.metrics()["closed.misbehaving"] == 1
    assert net.seen.received() == {valid.raw}
    assert p2p.is_connected(net.observer.peer_id)


async def test_tx_gossip_an_accounts_nonces_over_back_to_back_batches_are_all_admitted(
    net: Net,
) -> None:
    # Batches are verified concurrently; an account's nonces split over them must not be
    # refused as gapped (MAX_MEMPOOL_GAPPED_TXS_PER_ACCOUNT) while the earlier batch verifies.
    funded = net.funded
    txs = [sign_tx(funded, CHAIN_ID, n, Transfer(to=b"\x03" * 20, amount=10**6))
           for n in range(230)]  # each carries the reserve: the first creates the account
    # The first batch is verified in threads; the second, small one inline (at once).
    payloads = [pack_plain([tx.raw for tx in txs[:200]]), pack_plain([tx.raw for tx in txs[200:]])]
    for payload in payloads:
        assert net.sender.broadcast(KIND_TXS, payload) == 1
    wanted = {tx.raw for tx in txs}
    await wait_until(lambda: net.seen.received() >= wanted)
    assert net.seen.received() == wanted
    # Each batch was clean: forwarded as it came (one gossip id on every node), not
    # re-encoded into batches of the node's own.
    assert sorted(pack_plain(batch) for batch in net.seen.batches) == sorted(payloads)
