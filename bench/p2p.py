"""Loopback figures for docs/P2P.md: `python -m bench.p2p [--quick]`.

1. Throughput through one encrypted connection (P2PService direct messages) beside a
   plain asyncio socket moving the same length-prefixed frames, in the same run.
2. Gossip fan-out latency: a broadcast from one node of an 8-node mesh until the last of
   the other 7 delivers it (p50 / p99 / max over repeated broadcasts).
3. Memory per connected peer (tracemalloc, both ends in this process, halved).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import struct
import time
import tracemalloc

from nacl.signing import SigningKey

from p2p.limits import P2PLimits
from p2p.service import P2PService, PeerId, PersistentPeer

BENCH_LIMITS = P2PLimits(
    rate_messages_per_s=10_000_000,
    rate_burst_messages=10_000_000,
    rate_bytes_per_s=2**40,
    rate_burst_bytes=2**40,
    max_send_queue_frames=4096,
    max_inbound_queue_messages=1024,
    reconnect_backoff_initial_ms=50,
    dial_tick_ms=20,
)
WINDOW_MESSAGES = 1024


def key(index: int) -> SigningKey:
    return SigningKey(hashlib.sha256(f"bench-{index}".encode()).digest())


def allowed(count: int) -> list[bytes]:
    return [bytes(key(i).verify_key) for i in range(count)]


async def wait_for(predicate: object, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("bench condition not reached")
        await asyncio.sleep(0.001)


async def mesh(count: int) -> list[P2PService]:
    nodes = [P2PService(identity=key(i), chain_id="bench", allowed_keys=allowed(count),
                        limits=BENCH_LIMITS) for i in range(count)]
    for node in nodes:
        await node.start()
    for i, node in enumerate(nodes):
        for j in range(i + 1, count):
            node.add_persistent_peer(
                PersistentPeer(bytes(key(j).verify_key), "127.0.0.1", nodes[j].port)
            )
    await wait_for(lambda: all(len(n.peers()) == count - 1 for n in nodes))
    return nodes


async def encrypted_throughput(message_count: int, payload_bytes: int) -> float:
    nodes = await mesh(2)
    received = [0]

    async def on_bench(peer: PeerId, payload: bytes) -> None:
        received[0] += 1

    nodes[1].register_direct("bench", on_bench)
    target = nodes[0].peers()[0].peer_id
    payload = bytes(payload_bytes)
    try:
        start = time.perf_counter()
        for sent in range(1, message_count + 1):
            nodes[0].send(target, "bench", payload)
            if sent % 256 == 0:
                await wait_for(lambda s=sent: received[0] >= s - WINDOW_MESSAGES)
        await wait_for(lambda: received[0] == message_count)
        return time.perf_counter() - start
    finally:
        for node in nodes:
            await node.stop()


async def plain_throughput(message_count: int, payload_bytes: int) -> float:
    done = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(message_count):
            (length,) = struct.unpack(">I", await reader.readexactly(4))
            await reader.readexactly(length)
        done.set()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    frame = struct.pack(">I", payload_bytes) + bytes(payload_bytes)
    start = time.perf_counter()
    for sent in range(message_count):
        writer.write(frame)
        if sent % 256 == 0:
            await writer.drain()
    await writer.drain()
    await done.wait()
    elapsed_s = time.perf_counter() - start
    writer.close()
    server.close()
    await server.wait_closed()
    return elapsed_s


async def fanout_latency(count: int, rounds: int) -> list[float]:
    nodes = await mesh(count)
    arrivals: dict[bytes, list[float]] = {}

    async def on_msg(peer: PeerId, payload: bytes) -> None:
        arrivals.setdefault(payload, []).append(time.perf_counter())

    for node in nodes:
        node.register_gossip("lat", on_msg)
    latencies_ms: list[float] = []
    try:
        for r in range(rounds):
            payload = f"round-{r}".encode()
            start = time.perf_counter()
            nodes[r % count].broadcast("lat", payload)
            await wait_for(lambda p=payload: len(arrivals.get(p, ())) == count - 1)
            latencies_ms.append((max(arrivals[payload]) - start) * 1000)
            await asyncio.sleep(0.002)
    finally:
        for node in nodes:
            await node.stop()
    return latencies_ms


async def memory_per_peer(peer_count: int) -> float:
    tracemalloc.start()
    hub = P2PService(identity=key(0), chain_id="bench", allowed_keys=allowed(peer_count + 1),
                     limits=BENCH_LIMITS)
    spokes = [P2PService(identity=key(i), chain_id="bench",
                         allowed_keys=allowed(peer_count + 1), limits=BENCH_LIMITS)
              for i in range(1, peer_count + 1)]
    await hub.start()
    for spoke in spokes:
        await spoke.start()
    await asyncio.sleep(0.2)
    before = tracemalloc.get_traced_memory()[0]
    for spoke in spokes:
        spoke.add_persistent_peer(
            PersistentPeer(bytes(key(0).verify_key), "127.0.0.1", hub.port)
        )
    await wait_for(lambda: len(hub.peers()) == peer_count)
    for spoke in spokes:  # exchange one message each way so buffers are warm
        spoke.broadcast("warm", spoke.peer_id)
    await asyncio.sleep(0.5)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    for node in [hub, *spokes]:
        await node.stop()
    return (after - before) / peer_count / 2


def rate(message_count: int, payload_bytes: int, elapsed_s: float) -> str:
    mb_per_s = message_count * payload_bytes / elapsed_s / 1e6
    return f"{message_count / elapsed_s:>10,.0f} msg/s {mb_per_s:>8.1f} MB/s"


async def main(quick: bool) -> None:
    print("# p2p loopback benchmark (one process, one event loop)")
    for payload_bytes, message_count in ((256, 20_000), (4_096, 20_000), (65_536, 3_000)):
        if quick:
            message_count //= 10
        plain_s = await plain_throughput(message_count, payload_bytes)
        enc_s = await encrypted_throughput(message_count, payload_bytes)
        plain = rate(message_count, payload_bytes, plain_s)
        encrypted = rate(message_count, payload_bytes, enc_s)
        print(f"payload {payload_bytes:>6} B  plain socket {plain}  | encrypted p2p {encrypted}")
    latencies = sorted(await fanout_latency(8, 50 if quick else 200))
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"gossip fan-out, 8-node mesh, {len(latencies)} broadcasts: p50 "
          f"{statistics.median(latencies):.2f} ms  p99 {p99:.2f} ms  max {latencies[-1]:.2f} ms")
    per_peer = await memory_per_peer(10 if quick else 30)
    print(f"memory per connected peer (one end, tracemalloc): {per_peer / 1024:.1f} KiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="P2P loopback benchmark")
    parser.add_argument("--quick", action="store_true", help="a tenth of the messages")
    asyncio.run(main(parser.parse_args().quick))
