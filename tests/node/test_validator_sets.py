"""The node follows the validator set by height: the replica's schedule comes from the
chain, the driver reports each newly determined set right after a finalized block, the
primary and the P2P allow-list are those of the height concerned.

Method: a real Chain and Store over the 4-validator world of `binding_world`; a subclass
of Chain scripts a change of set (as governance will make the state do) so the node side
can be checked before any transaction can vote one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from commerce.block import BlockHeader, encode_block, tx_root
from commerce.governance import ValidatorPropose, ValidatorVote
from commerce.machine import ChainContext, execute_block
from commerce.tx import sign_tx
from consensus.events import Started, ValidatorsKnown
from consensus.messages import (
    PHASE_COMMIT,
    Certificate,
    Decided,
    Digest,
    Height,
    PeerId,
    ValidatorIndex,
    View,
    decode_certificate,
    encode_certificate,
    encode_message,
    sign_vote,
)
from consensus.replica import Replica
from consensus.schedule import Timers, TimerSchedule
from node.chain import Chain, ConsensusDigest, block_digest
from node.driver import ConsensusDriver
from node.home import init_home, load_home
from node.mempool import Mempool
from node.service import Node
from node.store import Store
from node.validators import (
    allowed_peer_keys,
    primary_at,
    replica_schedule,
    replica_timers,
    scheduled_keys,
    validators_report,
)

from .binding_world import CHAIN, HONEST, KEYS, VALIDATORS, World
from .test_body_binding import Net

GENESIS_SET = tuple(k.public_key for k in VALIDATORS)
# From height 3 on: validator 0 removed, key 4 added (canonical order: sorted).
NEXT_SET = tuple(sorted([k.public_key for k in VALIDATORS[1:]] + [KEYS[4].public_key]))


class ScriptedChain(Chain):
    """A chain whose sets change as `sets` says, determined `delay` heights ahead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sets: dict[int, tuple[bytes, ...]] = {1: GENESIS_SET, 3: NEXT_SET}
        self.delay = 2

    def validators_known_through(self) -> int:
        return self.height + self.delay

    def validators_at(self, height: int) -> tuple[bytes, ...]:
        assert 1 <= height <= self.validators_known_through()
        return [keys for start, keys in sorted(self.sets.items()) if start <= height][-1]

    def validator_changes(self, after_height: int) -> list[tuple[int, tuple[bytes, ...]]]:
        through = self.validators_known_through()
        return [(h, keys) for h, keys in sorted(self.sets.items())
                if after_height < h <= through]


@pytest.fixture
def store(tmp_path: Path, world: World) -> Iterator[Store]:
    opened = Store.open(tmp_path / "honest", world.genesis)
    yield opened
    opened.close()


def test_chain_validators_at_is_the_genesis_set_until_sets_change(
        world: World, store: Store) -> None:
    chain = Chain(store, world.genesis, Mempool(store.state, CHAIN), KEYS[0].public_key)
    # At head 0 the state fixes the sets of heights 1 and 2 (a change passed in block 1
    # applies at 3 at the earliest); nothing is scheduled, so both are the genesis set.
    assert chain.validators_at(1) == chain.validators_at(2) == GENESIS_SET
    assert chain.validators_known_through() == 2
    with pytest.raises(AssertionError):
        chain.validators_at(3)
    assert chain.validator_changes(0) == []
    schedule = replica_schedule(chain)
    assert schedule.at(1) is not None and schedule.at(1).keys == GENESIS_SET
    assert schedule.known_through == 2
    assert primary_at(chain, 2, 5) == GENESIS_SET[5 % len(GENESIS_SET)]


def test_driver_reports_the_set_determined_by_each_finalized_block(
        world: World, store: Store) -> None:
    chain = ScriptedChain(store, world.genesis, Mempool(store.state, CHAIN),
                          VALIDATORS[HONEST].public_key)
    replica = Replica(chain_id=CHAIN.encode(), schedule=replica_schedule(chain),
                      signing_key=VALIDATORS[HONEST].signing_key, digest_fn=ConsensusDigest())
    assert replica.validators_known_through == 2 and replica.validators_at(3) is None
    driver = ConsensusDriver(replica, chain, store, Net(),
                             lambda height, view: primary_at(chain, height, view))
    try:
        driver.feed(Started())
        driver.on_message(PeerId(VALIDATORS[2].public_key),
                          encode_message(Decided(world.cert, world.block)))
        assert driver.fatal is None
        assert store.head.height == 1
        # Block 1 determined height 3's set: the replica heard of it before anything else.
        assert replica.validators_known_through == 3
        assert replica.validators_at(3) == NEXT_SET
        assert validators_report(chain) == ValidatorsKnown(3, ((3, NEXT_SET),))
        # The primary of a view is that of the height's set.
        assert primary_at(chain, 2, 0) == GENESIS_SET[0]
        assert primary_at(chain, 3, 0) == NEXT_SET[0]
    finally:
        driver.close()


def test_allow_list_grows_before_the_boundary_and_refuses_removed_on_request(
        world: World, store: Store) -> None:
    chain = ScriptedChain(store, world.genesis, Mempool(store.state, CHAIN),
                          VALIDATORS[HONEST].public_key)
    observer, added, removed = KEYS[5].public_key, KEYS[4].public_key, GENESIS_SET[0]
    # Height 3's set is not determined yet: the allow-list is the set in force.
    assert allowed_peer_keys(chain, [observer], [], "observer") == {*GENESIS_SET, observer}
    chain.delay = 3  # now it is: the added validator may connect and sync before it votes
    assert added in scheduled_keys(chain)
    assert added in allowed_peer_keys(chain, [observer], [], "refuse")
    # Once the removed validator is in no set in force or scheduled, "refuse" drops it
    # (the P2P service then disconnects it); "observer" keeps it connected.
    chain.sets = {1: NEXT_SET}
    assert removed not in allowed_peer_keys(chain, [observer], [removed], "refuse")
    assert removed in allowed_peer_keys(chain, [observer], [removed], "observer")
    assert allowed_peer_keys(chain, [observer], [removed], "refuse") == {*NEXT_SET, observer}


def test_health_names_a_validator_outside_the_current_set(tmp_path: Path) -> None:
    """/health's `validator_set` check: a plain observer passes, a validator that the set
    in force no longer names fails with its key in the detail."""
    init_home(tmp_path / "v", moniker="v0", chain_id="sets-1")
    node = Node(load_home(tmp_path / "v"))
    key = node.key.public_key
    assert node.is_validator
    assert node._validator_set_check() == ("validator_set", True, "")
    node._next_validators = (KEYS[4].public_key,)  # as after a vote that removed it
    name, ok, detail = node._validator_set_check()
    assert (name, ok) == ("validator_set", False)
    assert key.hex()[:16] in detail and "not in the validator set" in detail


def certified_store(world: World, path: Path, count: int) -> Store:
    """A store holding blocks 1..count, each with a commit certificate of validators 0-2."""
    store = Store.open(path, world.genesis)
    chain = Chain(store, world.genesis, Mempool(store.state, CHAIN), VALIDATORS[0].public_key)
    for height in range(1, count + 1):
        raw = chain.propose(height, 1_000 + height)
        digest = Digest(block_digest(raw))
        sigs = tuple((ValidatorIndex(i), sign_vote(
            VALIDATORS[i].signing_key, CHAIN.encode(), PHASE_COMMIT, 0, height, digest,
            i).signature) for i in (0, 1, 2))
        cert = Certificate(PHASE_COMMIT, View(0), Height(height), digest, sigs)
        chain.finalize(raw, encode_certificate(cert), digest)
    return store


async def test_catch_up_with_sets_known_two_heights_ahead_syncs_once_per_run(
        world: World, store: Store, tmp_path: Path) -> None:
    """Sets determined only `delay` = 2 heights ahead (as with governance): the replica
    finalizes fetched blocks a few at a time between the driver's reports, and the
    driver still makes the whole run durable once, not once per block."""
    count = 20
    source = certified_store(world, tmp_path / "source", count)
    chain = ScriptedChain(store, world.genesis, Mempool(store.state, CHAIN),
                          VALIDATORS[HONEST].public_key)
    chain.sets = {1: GENESIS_SET}
    replica = Replica(chain_id=CHAIN.encode(), schedule=replica_schedule(chain),
                      signing_key=VALIDATORS[HONEST].signing_key, digest_fn=ConsensusDigest())
    net = Net()
    net.serve_from = source
    driver = ConsensusDriver(replica, chain, store, net,
                             lambda height, view: primary_at(chain, height, view))
    synced: list[int] = []
    finalize_block = store.finalize_block

    def counting(*args: Any, sync: bool = True, **kwargs: Any) -> None:
        if sync:
            synced.append(store.head.height + 1)
        finalize_block(*args, sync=sync, **kwargs)

    store.finalize_block = counting  # type: ignore[method-assign]
    store_sync, flushed = store.sync, []
    store.sync = lambda: (flushed.append(store.head.height), store_sync())[1]  # type: ignore[method-assign]
    try:
        driver.feed(Started())
        last = source.get_certificate(count)
        assert last is not None
        driver.on_message(PeerId(VALIDATORS[2].public_key),
                          encode_message(Decided(decode_certificate(last), None)))
        for _ in range(400):
            if store.head.height >= count or driver.fatal is not None:
                break
            await asyncio.sleep(0.005)
        assert driver.fatal is None
        assert store.head.height == count
        assert store.head.block_hash == source.head.block_hash
        assert replica.validators_known_through == count + 2
        assert len(synced) + len(flushed) <= 2, (synced, flushed)
    finally:
        driver.close()
        source.close()


class StubSets:
    """The part of a Chain the node's set following reads: a head height and scripted
    sets known two heights ahead."""

    def __init__(self, sets: dict[int, tuple[bytes, ...]]) -> None:
        self.height = 0
        self.sets = sets

    def validators_known_through(self) -> int:
        return self.height + 2

    def validators_at(self, height: int) -> tuple[bytes, ...]:
        return [keys for start, keys in sorted(self.sets.items()) if start <= height][-1]

    def validator_changes(self, after_height: int) -> list[tuple[int, tuple[bytes, ...]]]:
        return [(h, k) for h, k in sorted(self.sets.items())
                if after_height < h <= self.validators_known_through()]


class AllowList:
    def __init__(self) -> None:
        self.lists: list[set[bytes]] = []

    def set_allowed_keys(self, keys: list[bytes]) -> None:
        self.lists.append(set(keys))


@pytest.mark.parametrize("policy", ["observer", "refuse"])
def test_node_allow_list_follows_the_set_at_the_boundary(tmp_path: Path, policy: str) -> None:
    init_home(tmp_path / "v", moniker="v0", chain_id="sets-2")
    node = Node(load_home(tmp_path / "v"))
    node.config = node.config.model_copy(update={"p2p": node.config.p2p.model_copy(
        update={"removed_validators": policy})})
    me, other = node.key.public_key, KEYS[4].public_key
    chain = StubSets({1: (me,), 3: (other,)})
    p2p = AllowList()
    node.chain, node.p2p = chain, p2p  # type: ignore[assignment]
    chain.height = 1
    node._follow_validator_set()
    assert p2p.lists == []  # height 2 is still under the genesis set
    chain.height = 2
    node._follow_validator_set()  # height 3's set is in force next: `me` is out
    assert len(p2p.lists) == 1
    assert other in p2p.lists[0]
    assert (me in p2p.lists[0]) == (policy == "observer")
    name, ok, detail = node._validator_set_check()
    assert not ok and me.hex()[:16] in detail


def test_chain_gives_the_replica_the_timers_voted_for_each_height(
        world: World, store: Store) -> None:
    # Block 1 carries a proposal to raise the view-change timeout base to 9,000 ms and two
    # votes: it passes there and applies at 1 + 2 = 3, a height the state of head 1 fixes.
    bodies = [(VALIDATORS[0], ValidatorPropose(kind="set_param", value=9_000,
                                               param="view_change_timeout_ms")),
              (VALIDATORS[1], ValidatorVote(proposal=1, vote="yes")),
              (VALIDATORS[2], ValidatorVote(proposal=1, vote="yes"))]
    txs = tuple(sign_tx(key, CHAIN, 0, body) for key, body in bodies)
    genesis = world.genesis
    result = execute_block(store.state, ChainContext.of(genesis, 1), store.head.state_root,
                           txs, drop_invalid=False, check_signatures=False)
    assert not result.rejected
    header = BlockHeader(CHAIN, 1, store.head.block_hash, tx_root(txs), result.state_root,
                         GENESIS_SET[0], 0, result.next_validators_hash)
    store.finalize_block(encode_block(header, txs), b"certificate", result)
    chain = Chain(store, genesis, Mempool(store.state, CHAIN), KEYS[0].public_key)
    assert chain.timers_at(2) == (4_000, 1_000) and chain.timers_at(3) == (9_000, 1_000)
    assert chain.timer_changes(1) == [(3, 9_000, 1_000)]
    assert validators_report(chain).timers == ((3, 9_000, 1_000),)
    assert replica_timers(chain) == [(2, 4_000, 1_000), (3, 9_000, 1_000)]
    assert TimerSchedule(replica_timers(chain)).at(3) == Timers(9_000, 1_000)
    # A node whose config sets the idle interval keeps the chain's base.
    local = Chain(store, genesis, Mempool(store.state, CHAIN), KEYS[0].public_key,
                  timers_override=(None, 250))
    assert local.timers_at(3) == (9_000, 250)
