"""A block's body is bound to the digest consensus agrees on: a body that does not match its
header is not that block, is never finalized and never halts the node, and its sender is
blamed, whether it came in a PRE-PREPARE, a DECIDED or a sync reply.

Method: one honest validator runs in the real ConsensusDriver over a real Chain and Store
(LevelDB); the three other validators are played by the test with their real keys; the
genuine block is built by the primary's own Chain and certified with real signatures. The
network is a recorder that answers block requests from a chosen store with the real
`serve_request`, or with scripted bytes for a lying peer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from commerce.block import BlockHeader
from commerce.encoding import decode, encode
from commerce.errors import ValidationError
from commerce.keys import Keypair
from consensus.events import Started
from consensus.messages import (
    PHASE_PREPARE,
    Decided,
    PeerId,
    PrePrepare,
    encode_certificate,
    encode_message,
    sign_vote,
)
from consensus.replica import Replica
from node.chain import Chain, ConsensusDigest, block_digest
from node.driver import ConsensusDriver
from node.mempool import Mempool
from node.store import Store
from node.sync import serve_request

from .binding_world import CHAIN, HONEST, OBSERVER, VALIDATORS, World


class Net:
    """The honest node's network: records sends and blames, serves block requests."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.blamed: list[tuple[bytes, str]] = []
        self.serve_from: Store | None = None
        self.lie: bytes | None = None  # scripted reply bytes of a lying peer
        self.requests: list[tuple[bytes, int, int]] = []

    def broadcast(self, kind: str, payload: bytes) -> None:
        self.sent.append(payload)

    def send(self, peer: bytes, kind: str, payload: bytes) -> None:
        self.sent.append(payload)

    async def request(self, peer: bytes, kind: str, payload: bytes, timeout: float) -> bytes:
        start, end = decode(payload)
        self.requests.append((peer, start, end))
        if self.lie is not None:
            return self.lie
        assert self.serve_from is not None
        return serve_request(self.serve_from, payload)

    def blame(self, peer: bytes, reason: str) -> None:
        self.blamed.append((peer, reason))


@pytest.fixture
def honest(tmp_path: Path, world: World) -> Iterator[tuple[ConsensusDriver, Store, Net]]:
    store = Store.open(tmp_path / "honest", world.genesis)
    chain = Chain(store, world.genesis, Mempool(store.state, CHAIN),
                  VALIDATORS[HONEST].public_key)
    replica = Replica(chain_id=CHAIN.encode(),
                      validators=[k.public_key for k in VALIDATORS],
                      signing_key=VALIDATORS[HONEST].signing_key, digest_fn=ConsensusDigest())
    net = Net()
    driver = ConsensusDriver(replica, chain, store, net,
                             lambda height, view: VALIDATORS[view % 4].public_key)
    yield driver, store, net
    driver.close()
    store.close()


@pytest.fixture
async def started(
    honest: tuple[ConsensusDriver, Store, Net],
) -> tuple[ConsensusDriver, Store, Net]:
    """The honest node once its driver has started."""
    honest[0].feed(Started())
    return honest


def _peer(key: Keypair) -> PeerId:
    return PeerId(key.public_key)


async def _settle(driver: ConsensusDriver, store: Store, height: int) -> None:
    """Let fetch tasks run until the store reaches `height` (or a generous timeout)."""
    for _ in range(400):
        if store.head.height >= height or driver.fatal is not None:
            return
        await asyncio.sleep(0.005)


def test_block_digest_tampered_body_is_refused(world: World) -> None:
    assert BlockHeader.from_array(decode(world.tampered)[0]).hash == world.digest
    with pytest.raises(ValidationError):
        block_digest(world.tampered)
    assert ConsensusDigest()(world.tampered) is None
    assert ConsensusDigest()(world.block) == world.digest
    assert ConsensusDigest()(b"\xc1junk") is None


async def test_preprepare_tampered_body_is_blamed_and_genuine_block_fetched(
    world: World, honest: tuple[ConsensusDriver, Store, Net]
) -> None:
    driver, store, net = honest
    net.serve_from = world.primary_store
    driver.feed(Started())
    primary = _peer(VALIDATORS[0])
    pp_vote = sign_vote(VALIDATORS[0].signing_key, CHAIN.encode(), PHASE_PREPARE, 0, 1,
                        world.digest, 0)
    # The Byzantine primary sends the genuine header hash over another body to us only.
    driver.on_message(primary, encode_message(PrePrepare(pp_vote, world.tampered)))
    assert net.blamed == [(primary, "digest_mismatch")]
    for i in (2, 3):
        vote = sign_vote(VALIDATORS[i].signing_key, CHAIN.encode(), PHASE_PREPARE, 0, 1,
                         world.digest, i)
        driver.on_message(_peer(VALIDATORS[i]), encode_message(vote))
    for vote in world.commits:
        driver.on_message(_peer(VALIDATORS[vote.signer]), encode_message(vote))
    assert store.head.height == 0  # certified, but we hold no genuine body yet
    # The quorum moves on to height 2: they hold block 1, so we fetch it from them.
    for i in (2, 3):
        vote = sign_vote(VALIDATORS[i].signing_key, CHAIN.encode(), PHASE_PREPARE, 0, 2,
                         b"\x02" * 32, i)
        driver.on_message(_peer(VALIDATORS[i]), encode_message(vote))
    await _settle(driver, store, 1)
    assert driver.fatal is None
    assert store.head.height == 1
    assert store.head.block_hash == world.digest
    assert store.get_block_raw(1) == world.block
    assert all(peer != primary for peer, _, _ in net.requests)


async def test_decided_tampered_body_is_blamed_and_never_finalized(
    world: World, started: tuple[ConsensusDriver, Store, Net]
) -> None:
    driver, store, net = started
    liar = _peer(OBSERVER)
    driver.on_message(liar, encode_message(Decided(world.cert, world.tampered)))
    assert net.blamed == [(liar, "digest_mismatch")]
    assert driver.fatal is None
    assert store.head.height == 0
    await asyncio.sleep(0.05)
    assert net.requests == []  # the liar showed it lacks the block: it is no fetch target
    driver.on_message(_peer(VALIDATORS[2]), encode_message(Decided(world.cert, world.block)))
    assert driver.fatal is None
    assert store.head.height == 1
    assert store.get_block_raw(1) == world.block


async def test_sync_reply_tampered_body_is_blamed_then_fetched_from_another_holder(
    world: World, started: tuple[ConsensusDriver, Store, Net]
) -> None:
    driver, store, net = started
    liar = _peer(OBSERVER)
    net.lie = encode([[world.tampered, encode_certificate(world.cert)]])
    # The liar proves block 1 final (a genuine certificate) and so becomes the fetch target.
    driver.on_message(liar, encode_message(Decided(world.cert, None)))
    for _ in range(100):
        if net.blamed:
            break
        await asyncio.sleep(0.005)
    assert net.blamed == [(liar, "bad_fetched_block")]
    assert store.head.height == 0
    assert driver.fatal is None
    # An honest holder tells us of the same certificate; it is asked after the cool-down.
    net.lie = None
    net.serve_from = world.primary_store
    honest_holder = _peer(VALIDATORS[2])
    driver.on_message(honest_holder, encode_message(Decided(world.cert, None)))
    await _settle_with_timers(driver, store, 1)
    assert driver.fatal is None
    assert store.head.height == 1
    assert store.get_block_raw(1) == world.block
    assert net.requests[-1][0] == honest_holder


async def test_sync_reply_junk_after_a_good_block_finalizes_the_good_one_and_steps_on(
    world: World, started: tuple[ConsensusDriver, Store, Net]
) -> None:
    driver, store, net = started
    peer = _peer(VALIDATORS[2])
    good = serve_request(world.primary_store, encode([1, 1]))
    net.lie = encode(decode(good) + [[b"\xc1junk", b"\x00" * 7]])
    # A quorum claims height 3, so heights 1..2 are final: we fetch 1..2 and get 1 + junk.
    for i in (0, 2):
        vote = sign_vote(VALIDATORS[i].signing_key, CHAIN.encode(), PHASE_PREPARE, 0, 3,
                         b"\x03" * 32, i)
        driver.on_message(_peer(VALIDATORS[i]), encode_message(vote))
    await _settle(driver, store, 1)
    await asyncio.sleep(0.02)
    assert driver.fatal is None
    assert store.head.height == 1
    assert store.get_block_raw(1) == world.block
    assert (peer, "bad_fetched_block") in net.blamed or \
        (_peer(VALIDATORS[0]), "bad_fetched_block") in net.blamed
    # Consensus still steps: a later message is taken (no stranded effect, no wedge).
    driver.on_message(peer, b"\xc1")
    assert driver.fatal is None


async def _settle_with_timers(driver: ConsensusDriver, store: Store, height: int) -> None:
    """Wait through the replica's fetch cool-down (its timer runs on the loop)."""
    for _ in range(1_000):
        if store.head.height >= height or driver.fatal is not None:
            return
        await asyncio.sleep(0.01)
