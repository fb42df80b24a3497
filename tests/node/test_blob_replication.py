"""Blob replication over real P2P connections: a node fetches a picture a listing version
names from its peers, and a peer that answers with bytes of another name is banned through
P2P's misbehaviour points, while an honest peer's bytes are stored.

Method: three real `P2PService`s on loopback (encrypted, authenticated), each with a real
`BlobService` over a LevelDB in a temporary directory: the fetcher, a liar whose `blobs`
handler answers every request with another picture, and an honest holder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.blobs.images import sniff
from node.blobs.service import BlobService
from node.blobs.store import BlobSource, blob_name
from node.blobs.wire import KIND_BLOBS, STATUS_FOUND, encode_reply
from node.metrics import NodeMetrics
from p2p import P2PService, PersistentPeer
from tests.commerce.shop import CHAIN_ID, Shop, approve, create_listing
from tests.node.blob_images import png
from tests.p2p.helpers import make_node, public_key, wait_until

FETCHER, LIAR, HONEST = 0, 1, 2


@pytest.fixture
async def network(tmp_path: Path) -> AsyncIterator[tuple[list[P2PService], list[BlobService],
                                                          Shop]]:
    shop = Shop()
    approve(shop, shop.users[0])
    nodes = [make_node(index, 3)[0] for index in range(3)]
    services = [BlobService(tmp_path / f"n{index}", CHAIN_ID, lambda: shop.state,
                            NodeMetrics()) for index in range(3)]
    for index in (FETCHER, HONEST):
        services[index].register(nodes[index])

    async def lie(peer: bytes, payload: bytes) -> bytes:
        return encode_reply(STATUS_FOUND, png(seed=123))

    nodes[LIAR].register_request(KIND_BLOBS, lie)
    for node in nodes:
        await node.start()
    services[FETCHER].fetcher.start()
    try:
        yield nodes, services, shop
    finally:
        for service in services:
            await service.stop()
        for node in nodes:
            await node.stop()


def _connect(nodes: list[P2PService], target: int) -> None:
    nodes[FETCHER].add_persistent_peer(
        PersistentPeer(public_key(target), "127.0.0.1", nodes[target].port))


async def test_a_lying_peer_is_banned_and_an_honest_one_supplies_the_blob(
        network: tuple[list[P2PService], list[BlobService], Shop]) -> None:
    nodes, services, shop = network
    picture = png(64, 48, seed=5)
    name = blob_name(picture)
    services[HONEST].store.put(name, picture, sniff(picture), b"\x01" * 20, 0,
                               BlobSource.UPLOAD)
    create_listing(shop, shop.users[0], media=[name])
    fetcher = services[FETCHER]

    _connect(nodes, LIAR)
    await wait_until(lambda: len(nodes[FETCHER].connected_peers()) == 1)
    assert not await fetcher.fetcher.fetch(name, 5.0)
    assert public_key(LIAR) in nodes[FETCHER].bans(), "the liar is banned"
    assert fetcher.metrics.peers_blamed.value(reason="blob_hash_mismatch") == 1
    assert not fetcher.store.has(name), "the lie is not stored"

    _connect(nodes, HONEST)
    await wait_until(lambda: public_key(HONEST) in nodes[FETCHER].connected_peers())
    assert await fetcher.fetcher.fetch(name, 5.0)
    found = fetcher.store.get(name)
    assert found is not None and found[1] == picture
    assert found[0].source is BlobSource.FETCHED
    assert public_key(HONEST) not in nodes[FETCHER].bans()
