"""A runnable P2P node for multi-process tests and manual experiments.

    python -m p2p.demo --index 0 --count 4 [--port 0] [--peer 127.0.0.1:PORT ...]

Node `i` of `count` uses the deterministic test identity sha256(f"{seed}-{i}") and allows
the keys of all `count` nodes. It prints one JSON object per line on stdout:
`{"event": "ready", "port": P, "peer": HEX}`, `{"event": "up"|"down", "peer": HEX}`,
`{"event": "deliver", "payload": TEXT}`, `{"event": "peers", "count": N}`. It reads
commands on stdin: `broadcast TEXT`, `peers`, `quit`. Not for production: the keys are
derived from public seeds.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from typing import Any

from nacl.signing import SigningKey

from p2p.limits import P2PLimits
from p2p.service import P2PService, PeerId, PersistentPeer

DEMO_LIMITS = P2PLimits(
    handshake_timeout_ms=2_000,
    ping_interval_ms=1_000,
    idle_timeout_ms=5_000,
    reconnect_backoff_initial_ms=100,
    reconnect_backoff_max_ms=1_000,
    dial_tick_ms=50,
    pex_interval_ms=1_000,
)


def demo_key(index: int, seed: str) -> SigningKey:
    return SigningKey(hashlib.sha256(f"{seed}-{index}".encode()).digest())


def emit(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


async def run(args: argparse.Namespace) -> None:
    keys = [bytes(demo_key(i, args.seed).verify_key) for i in range(args.count)]
    peers = []
    for text in args.peer:
        host, port = text.rsplit(":", 1)
        peers.append(PersistentPeer(None, host, int(port)))
    svc = P2PService(
        identity=demo_key(args.index, args.seed), chain_id=args.chain_id, allowed_keys=keys,
        port=args.port, persistent_peers=peers, limits=DEMO_LIMITS,
    )

    async def on_msg(peer: PeerId, payload: bytes) -> None:
        emit(event="deliver", payload=payload.decode())

    svc.register_gossip("msg", on_msg)
    svc.on_peer_up(lambda peer: emit(event="up", peer=peer.hex()))
    svc.on_peer_down(lambda peer: emit(event="down", peer=peer.hex()))
    await svc.start()
    emit(event="ready", port=svc.port, peer=svc.peer_id.hex())
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := (await reader.readline()).decode().strip():
            command, _, rest = line.partition(" ")
            if command == "broadcast":
                svc.broadcast("msg", rest.encode())
            elif command == "peers":
                emit(event="peers", count=len(svc.peers()))
            elif command == "quit":
                break
    finally:
        await svc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--peer", action="append", default=[], help="HOST:PORT to dial")
    parser.add_argument("--seed", default="test")
    parser.add_argument("--chain-id", default="agora-test")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
