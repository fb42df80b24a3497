"""The driver's block fetch: a full answer to a range as long as the replica asks for
(MAX_FETCH_BLOCKS) makes it ask the same peer for the next range before it hands the blocks
to the replica (pipelining), and the replica's next request is answered from that prefetch
when it holds every block asked for; anything else falls back to a plain request.

Method: the real ConsensusDriver with a scripted replica (it answers each BlocksFetched with
the next FetchBlocks it was given) and a fake network whose responses are canonical
`blocks` answers built with `node.sync`; no chain or store is touched by a fetch.
"""

from __future__ import annotations

import asyncio
from typing import Any

from commerce.encoding import decode, encode
from consensus.events import BlocksFetched, Effect, Event, FetchBlocks
from consensus.limits import MAX_FETCH_BLOCKS
from consensus.messages import Height, PeerId
from node.driver import ConsensusDriver

PEER = PeerId(b"p" * 32)
OTHER = PeerId(b"q" * 32)
M = MAX_FETCH_BLOCKS


class FakeStore:
    def consensus_records(self) -> list[tuple[bytes, bytes]]:
        return []


class FakeNetwork:
    """Answers a request for [a, b] with blocks a..min(b, head) (or a scripted failure)."""

    def __init__(self, head: int) -> None:
        self.head = head
        self.requests: list[tuple[bytes, int, int]] = []
        self.fail: set[int] = set()  # from-heights whose first request fails
        self.head_later: dict[int, int] = {}  # request count -> head from that request on
        self.blamed: list[tuple[bytes, str]] = []

    def broadcast(self, kind: str, payload: bytes) -> None: ...

    def send(self, peer: bytes, kind: str, payload: bytes) -> None: ...

    def blame(self, peer: bytes, reason: str) -> None:
        self.blamed.append((peer, reason))

    async def request(self, peer: bytes, kind: str, payload: bytes, timeout: float) -> bytes:
        start, end = decode(payload)
        self.requests.append((peer, start, end))
        self.head = self.head_later.get(len(self.requests), self.head)
        await asyncio.sleep(0.001)
        if start in self.fail:
            self.fail.discard(start)
            raise TimeoutError("scripted")
        return encode([[b"block%d" % h, b"cert%d" % h]
                       for h in range(start, min(end, self.head) + 1)])


class ScriptedReplica:
    """Returns the scripted effects, one list per event; records what it was fed."""

    def __init__(self, script: list[list[Effect]]) -> None:
        self.script = script
        self.fed: list[Event] = []

    def step(self, event: Event, now_ms: int) -> list[Effect]:
        self.fed.append(event)
        return self.script.pop(0) if self.script else []


def _fetch(peer: bytes, start: int, end: int) -> FetchBlocks:
    return FetchBlocks(PeerId(peer), Height(start), Height(end))


async def _run(script: list[list[Effect]], network: FakeNetwork) -> ScriptedReplica:
    replica = ScriptedReplica(script)
    driver = ConsensusDriver(replica, None, FakeStore(), network,  # type: ignore[arg-type]
                             lambda height, view: b"")
    first = replica.script.pop(0)
    driver._run_effects(first)
    for _ in range(200):
        await asyncio.sleep(0.002)
        if not driver._tasks or (not replica.script and driver._prefetch is not None
                                 and len(driver._tasks) == 1):
            break
    driver.close()
    return replica


def _heights(event: Any) -> list[bytes]:
    assert isinstance(event, BlocksFetched)
    return [block for block, _ in event.blocks]


def _blocks(first: int, last: int) -> list[bytes]:
    return [b"block%d" % h for h in range(first, last + 1)]


def test_driver_prefetches_the_next_range_and_answers_from_it() -> None:
    network = FakeNetwork(head=200)
    script: list[list[Effect]] = [[_fetch(PEER, 1, M)], [_fetch(PEER, M + 1, 2 * M)],
                                  [_fetch(PEER, 2 * M + 1, 2 * M + 10)], []]
    replica = asyncio.run(_run(script, network))
    fed = [e for e in replica.fed if isinstance(e, BlocksFetched)]
    assert [_heights(e) for e in fed] == [
        _blocks(1, M), _blocks(M + 1, 2 * M), _blocks(2 * M + 1, 2 * M + 10)]
    # One request per range: the second and third were asked for ahead of the replica
    # (the third prefetch held more than the replica then wanted: cut); the short third
    # range asks for nothing more.
    assert network.requests == [(PEER, 1, M), (PEER, M + 1, 2 * M),
                                (PEER, 2 * M + 1, 3 * M)]


def test_driver_does_not_prefetch_after_a_range_shorter_than_the_replica_asks_at_most() -> None:
    network = FakeNetwork(head=200)
    replica = asyncio.run(_run([[_fetch(PEER, 1, 2)], []], network))
    fed = [e for e in replica.fed if isinstance(e, BlocksFetched)]
    assert [_heights(e) for e in fed] == [_blocks(1, 2)]
    assert network.requests == [(PEER, 1, 2)]


def test_driver_prefetch_holding_fewer_blocks_than_asked_is_asked_again() -> None:
    # The prefetch found the peer at its head (nothing more); by the time the replica
    # asks, the peer has 6 more blocks: it gets them, not the prefetch's empty answer.
    network = FakeNetwork(head=M)
    network.head_later = {3: M + 6}
    script: list[list[Effect]] = [[_fetch(PEER, 1, M)], [_fetch(PEER, M + 1, M + 6)], []]
    replica = asyncio.run(_run(script, network))
    fed = [e for e in replica.fed if isinstance(e, BlocksFetched)]
    assert [_heights(e) for e in fed] == [_blocks(1, M), _blocks(M + 1, M + 6)]
    assert network.requests == [(PEER, 1, M), (PEER, M + 1, 2 * M), (PEER, M + 1, M + 6)]


def test_driver_prefetch_of_another_peer_or_height_is_dropped_for_a_plain_request() -> None:
    network = FakeNetwork(head=200)
    script: list[list[Effect]] = [[_fetch(PEER, 1, M)], [_fetch(OTHER, M + 1, M + 2)], [], []]
    replica = asyncio.run(_run(script, network))
    fed = [e for e in replica.fed if isinstance(e, BlocksFetched)]
    assert [e.peer for e in fed] == [PEER, OTHER]
    assert _heights(fed[1]) == _blocks(M + 1, M + 2)
    assert (OTHER, M + 1, M + 2) in network.requests


def test_driver_failed_prefetch_is_asked_again_not_reported_empty() -> None:
    network = FakeNetwork(head=200)
    network.fail = {M + 1}
    script: list[list[Effect]] = [[_fetch(PEER, 1, M)], [_fetch(PEER, M + 1, M + 2)], []]
    replica = asyncio.run(_run(script, network))
    fed = [e for e in replica.fed if isinstance(e, BlocksFetched)]
    assert _heights(fed[1]) == _blocks(M + 1, M + 2)
    assert network.requests[:3] == [(PEER, 1, M), (PEER, M + 1, 2 * M), (PEER, M + 1, M + 2)]


def test_driver_malformed_answer_is_an_empty_fetch_without_prefetch() -> None:
    class Garbage(FakeNetwork):
        async def request(self, peer: bytes, kind: str, payload: bytes,
                          timeout: float) -> bytes:
            self.requests.append((peer, *decode(payload)))
            return b"\xc1not msgpack"

    network = Garbage(head=100)
    replica = asyncio.run(_run([[_fetch(PEER, 1, 2)], []], network))
    fed = [e for e in replica.fed if isinstance(e, BlocksFetched)]
    assert len(fed) == 1 and fed[0].blocks == ()
    assert network.requests == [(PEER, 1, 2)]
    assert network.blamed == [(PEER, "bad_sync_reply")]
