"""`Replica.step` is total over everything a peer can shape: arbitrary bytes, mutated valid
messages, certified headers over foreign bodies and sync replies with junk after good
blocks never raise out of step nor leave an effect stranded, so consensus keeps stepping.

Method: hypothesis drives a real replica (validator 1 of 4) with the node's own digest
function (`ConsensusDigest`, which checks a body against its header) through sequences of
peer events built from a genuine certified block; after every step the replica must take
the next event (a stranded effect would make it refuse: "step is not re-entrant").
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commerce.encoding import encode
from consensus import messages as wire
from consensus.events import (
    BlocksFetched,
    Event,
    FetchBlocks,
    MessageReceived,
    Started,
    TimerFired,
)
from consensus.replica import (
    TIMER_FETCH,
    TIMER_PROPOSE,
    TIMER_RETRANSMIT,
    TIMER_VIEW_CHANGE,
    Replica,
)
from node.chain import ConsensusDigest

from .binding_world import CHAIN, HONEST, OBSERVER, VALIDATORS, World

PEERS = [wire.PeerId(k.public_key) for k in VALIDATORS] + [wire.PeerId(OBSERVER.public_key)]
TIMERS = [TIMER_VIEW_CHANGE, TIMER_RETRANSMIT, TIMER_PROPOSE, TIMER_FETCH]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with tempfile.TemporaryDirectory() as tmp:
        made = World(Path(tmp))
        yield made
        made.close()


def _valid_messages(world: World) -> list[bytes]:
    pp_vote = wire.sign_vote(VALIDATORS[0].signing_key, CHAIN.encode(), wire.PHASE_PREPARE, 0, 1,
                             world.digest, 0)
    ahead = [wire.sign_vote(VALIDATORS[i].signing_key, CHAIN.encode(), wire.PHASE_PREPARE, 0, 3,
                            b"\x03" * 32, i) for i in (0, 2, 3)]
    return [wire.encode_message(wire.PrePrepare(pp_vote, world.block)),
            wire.encode_message(wire.PrePrepare(pp_vote, world.tampered)),
            wire.encode_message(wire.Decided(world.cert, world.block)),
            wire.encode_message(wire.Decided(world.cert, world.tampered)),
            wire.encode_message(wire.Decided(world.cert, None)),
            *[wire.encode_message(vote) for vote in world.commits],
            *[wire.encode_message(vote) for vote in ahead]]


def _mutate(data: bytes, position: int, byte: int, cut: int) -> bytes:
    position %= len(data)
    mutated = data[:position] + bytes([byte]) + data[position + 1:]
    return mutated[:len(mutated) - cut % 8] if cut % 3 == 0 else mutated


@st.composite
def _events(draw: st.DrawFn, world: World, valid: list[bytes]) -> list[tuple[str, object]]:
    genuine = (world.block, wire.encode_certificate(world.cert))
    junk_pair = st.tuples(st.binary(max_size=300), st.binary(max_size=300))
    payload = st.one_of(
        st.binary(max_size=400),
        st.sampled_from(valid),
        st.builds(_mutate, st.sampled_from(valid), st.integers(0, 10**6), st.integers(0, 255),
                  st.integers(0, 100)),
        st.builds(lambda b: wire.encode_message(wire.Decided(world.cert, b)),
                  st.binary(max_size=300)),
    )
    reply = st.one_of(
        st.lists(junk_pair, max_size=4),
        st.lists(junk_pair, max_size=3).map(lambda rest: [genuine, *rest]),
        st.just([(world.tampered, genuine[1])]),
        st.just([genuine, (b"\xc1", b"")]),
    )
    kinds = st.one_of(
        st.tuples(st.just("msg"), st.tuples(st.sampled_from(PEERS), payload)),
        st.tuples(st.just("fetched"), reply),
        st.tuples(st.just("timer"), st.sampled_from(TIMERS)),
    )
    return draw(st.lists(kinds, min_size=1, max_size=25))


def _replica() -> Replica:
    return Replica(chain_id=CHAIN.encode(), validators=[k.public_key for k in VALIDATORS],
                   signing_key=VALIDATORS[HONEST].signing_key, digest_fn=ConsensusDigest())


def _step(replica: Replica, event: Event, now_ms: int, asked: list[wire.PeerId]) -> None:
    for effect in replica.step(event, now_ms):
        if isinstance(effect, FetchBlocks):
            asked.append(effect.peer)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_step_peer_shaped_events_never_raise_nor_strand_effects(
    world: World, data: st.DataObject
) -> None:
    valid = _valid_messages(world)
    events = data.draw(_events(world, valid))
    replica = _replica()
    asked: list[wire.PeerId] = []
    now_ms = 0
    _step(replica, Started(), now_ms, asked)
    for kind, value in events:
        now_ms += 700
        if kind == "msg":
            sender, payload = value  # type: ignore[misc]
            event: Event = MessageReceived(sender, payload)
        elif kind == "fetched":
            peer = asked[-1] if asked else PEERS[0]
            event = BlocksFetched(peer, tuple(value))  # type: ignore[arg-type]
        else:
            event = TimerFired(value)  # type: ignore[arg-type]
        _step(replica, event, now_ms, asked)
        assert replica.finalized_height <= 1
    # Still steps, and never finalized anything but the genuine block.
    _step(replica,
          MessageReceived(PEERS[2], wire.encode_message(wire.Decided(world.cert, world.block))),
          now_ms + 1, asked)
    assert replica.finalized_height == 1
    assert replica.finalized_digest == world.digest


def test_step_fetched_reply_with_junk_after_good_block_leaves_nothing_stranded(
    world: World,
) -> None:
    replica = _replica()
    asked: list[wire.PeerId] = []
    _step(replica, Started(), 0, asked)
    for i in (0, 2):
        vote = wire.sign_vote(VALIDATORS[i].signing_key, CHAIN.encode(), wire.PHASE_PREPARE, 0, 3,
                              b"\x03" * 32, i)
        _step(replica, MessageReceived(PEERS[i], wire.encode_message(vote)), 1, asked)
    assert asked, "two validators signing at height 3 prove heights 1-2 final"
    reply = ((world.block, wire.encode_certificate(world.cert)), (encode([1, 2]), b"junk"))
    effects = replica.step(BlocksFetched(asked[-1], reply), 2)
    assert [type(e).__name__ for e in effects].count("FinalizeBlock") == 1
    assert any(type(e).__name__ == "Blame" for e in effects)
    replica.step(TimerFired(TIMER_RETRANSMIT), 3)  # would raise "not re-entrant" if stranded
    assert replica.finalized_height == 1


class _Broken:
    """A replica with a bug: its step raises (what peer input must never cause)."""

    def __init__(self) -> None:
        self.steps = 0

    def step(self, event: Event, now_ms: int) -> list[object]:
        self.steps += 1
        raise RuntimeError("bug")


def test_driver_replica_that_raises_stops_consensus_and_reports_it() -> None:
    from node.driver import ConsensusDriver

    class _Store:
        def consensus_records(self) -> list[tuple[bytes, bytes]]:
            return []

    replica = _Broken()
    driver = ConsensusDriver(replica, None, _Store(), None,  # type: ignore[arg-type]
                             lambda height, view: b"")
    driver.feed(TimerFired(TIMER_RETRANSMIT))
    assert isinstance(driver.fatal, RuntimeError)  # /health's consensus_running reads it
    driver.feed(TimerFired(TIMER_RETRANSMIT))
    assert replica.steps == 1  # a half-changed replica is never stepped again
