"""The driver's block fetch: a full range makes it ask the same peer for the next range
before it hands the blocks to the replica (pipelining), and the replica's next request is
answered from that prefetch; anything else falls back to a plain request.

Method: the real ConsensusDriver with a scripted replica (it answers each BlocksFetched with
the next FetchBlocks it was given) and a fake network whose responses are canonical
`blocks` answers built with `node.sync`; no chain or store is touched by a fetch.
"""

from __future__ import annotations

import asyncio
from typing import Any

from commerce.encoding import decode, encode
from consensus.events import BlocksFetched, Effect, Event, FetchBlocks
from consensus.messages import Height, PeerId
from node.driver import ConsensusDriver

PEER = PeerId(b"p" * 32)
OTHER = PeerId(b"q" * 32)


class FakeStore:
    def consensus_records(self) -> list[tuple[bytes, bytes]]:
        return []


class FakeNetwork:
    """Answers a request for [a, b] with blocks a..min(b, head) (or a scripted failure)."""

    def __init__(self, head: int) -> None:
        self.head = head
        self.requests: list[tuple[bytes, int, int]] = []
        self.fail: set[int] = set()  # from-heights whose first request fails

    def broadcast(self, kind: str, payload: bytes) -> None: ...

    def send(self, peer: bytes, kind: str, payload: bytes) -> None: ...

    async def request(self, peer: bytes, kind: str, payload: bytes, timeout: float) -> bytes:
        start, end = decode(payload)
        self.requests.append((peer, start, end))
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
                             lambda view: b"")
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


def test_driver_prefetches_the_next_range_and_answers_from_it() -> None:
    network = FakeNetwork(head=10)
    script: list[list[Effect]] = [[_fetch(PEER, 1, 4)], [_fetch(PEER, 5, 8)],
                                  [_fetch(PEER, 9, 12)], []]
    replica = asyncio.run(_run(script, network))
    fed = [e for e in replica.fed if isinstance(e, BlocksFetched)]
    assert [_heights(e) for e in fed] == [
        [b"block1", b"block2", b"block3", b"block4"],
        [b"block5", b"block6", b"block7", b"block8"],
        [b"block9", b"block10"]]
    # One request per range: 5-8 and 9-12 were asked for ahead of the replica; the short
    # answer (the peer's head) asks for nothing more.
    assert network.requests == [(PEER, 1, 4), (PEER, 5, 8), (PEER, 9, 12)]


def test_driver_prefetch_of_another_peer_or_height_is_dropped_for_a_plain_request() -> None:
    network = FakeNetwork(head=100)
    script: list[list[Effect]] = [[_fetch(PEER, 1, 2)], [_fetch(OTHER, 3, 4)], [], []]
    replica = asyncio.run(_run(script, network))
    fed = [e for e in replica.fed if isinstance(e, BlocksFetched)]
    assert [e.peer for e in fed] == [PEER, OTHER]
    assert _heights(fed[1]) == [b"block3", b"block4"]
    assert (OTHER, 3, 4) in network.requests


def test_driver_failed_prefetch_is_asked_again_not_reported_empty() -> None:
    network = FakeNetwork(head=100)
    network.fail = {3}
    script: list[list[Effect]] = [[_fetch(PEER, 1, 2)], [_fetch(PEER, 3, 4)], []]
    replica = asyncio.run(_run(script, network))
    fed = [e for e in replica.fed if isinstance(e, BlocksFetched)]
    assert _heights(fed[1]) == [b"block3", b"block4"]
    assert network.requests[:3] == [(PEER, 1, 2), (PEER, 3, 4), (PEER, 3, 4)]


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
