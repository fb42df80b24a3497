"""Figures for issue 7's closing note, measured on real node processes (not a test).

Method: one `agora init`/`agora start` validator with mempool limits raised, fed transfers
through `tx_submit` (sequential, then 32 in flight) and `tx_submitBatch` (500 a call); then
`state_getAccount` sequential and 32 in flight; then a 4-validator devnet layout where 50
transfers are submitted one after another with `wait: commit` and the latency is recorded.

    .venv/bin/python -m tests.node_e2e.measure_figures
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from client.rpc import RpcClient
from commerce.address import address_of, to_text
from commerce.keys import Keypair
from commerce.transfer import Transfer
from commerce.tx import Transaction, sign_tx
from node.home import load_node_key
from tests.node_e2e.conftest import AGORA, NodeProcess, free_ports, set_ports, start_chain, stop_all

N = 2_000
IN_FLIGHT = 32


async def _in_flight(calls: list, limit: int) -> None:  # type: ignore[type-arg]
    slots = asyncio.Semaphore(limit)

    async def one(call):  # type: ignore[no-untyped-def]
        async with slots:
            await call()

    await asyncio.gather(*(one(c) for c in calls))


async def single(root: Path) -> None:
    home = root / "single"
    subprocess.run([AGORA, "init", "--home", str(home), "--chain-id", "bench"], check=True,
                   capture_output=True)
    rpc, p2p = free_ports(2)
    set_ports(home, rpc, p2p, mempool={"max_txs": 50_000, "max_per_account": 50_000,
                                       "nonce_window": 100_000})
    node = NodeProcess("bench", home, rpc, p2p)
    node.start()
    try:
        node.wait_ready()
        key = load_node_key(home / "config" / "node_key.json")
        sink = address_of(Keypair.generate().public_key)
        nonce = 0

        def make(count: int) -> list[Transaction]:
            nonlocal nonce
            txs = [sign_tx(key, "bench", nonce + i, Transfer(to=sink, amount=1))
                   for i in range(count)]
            nonce += count
            return txs

        async with RpcClient(node.url, timeout_s=120) as client:
            txs = make(N)
            started = time.perf_counter()
            for tx in txs:
                await client.call("tx_submit", tx=tx.raw.hex())
            print(f"tx_submit sequential: {N / (time.perf_counter() - started):.0f} tx/s")
            txs = make(N)
            started = time.perf_counter()
            await _in_flight([lambda t=t: client.call("tx_submit", tx=t.raw.hex())
                              for t in txs], IN_FLIGHT)
            print(f"tx_submit {IN_FLIGHT} in flight: "
                  f"{N / (time.perf_counter() - started):.0f} tx/s")
            txs = make(5 * N)
            started = time.perf_counter()
            for i in range(0, len(txs), 500):
                answers = await client.call("tx_submitBatch",
                                            txs=[t.raw.hex() for t in txs[i:i + 500]])
                assert all(a["ok"] for a in answers), answers[:3]
            print(f"tx_submitBatch (500 a call): "
                  f"{len(txs) / (time.perf_counter() - started):.0f} tx/s")
            address = to_text(address_of(key.public_key))
            deadline = time.monotonic() + 120
            while (await client.call("state_getAccount", address=address))["nonce"] < nonce:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.2)
            print(f"  ({nonce} transfers committed)")
            started = time.perf_counter()
            for _ in range(N):
                await client.call("state_getAccount", address=address)
            print(f"state_getAccount sequential: {N / (time.perf_counter() - started):.0f} req/s")
            started = time.perf_counter()
            await _in_flight([lambda: client.call("state_getAccount", address=address)] * N,
                             IN_FLIGHT)
            print(f"state_getAccount {IN_FLIGHT} in flight: "
                  f"{N / (time.perf_counter() - started):.0f} req/s")
    finally:
        node.stop()


async def four(root: Path) -> None:
    chain = start_chain(root / "chain4")
    try:
        for node in chain.nodes:
            node.wait_ready(min_height=2, timeout_s=45)
        key = chain.keypair("alice")
        latencies = []
        async with RpcClient(chain.nodes[0].url, timeout_s=60) as client:
            for nonce in range(50):
                tx = sign_tx(key, chain.chain_id, nonce,
                             Transfer(to=chain.address("bob"), amount=1))
                started = time.perf_counter()
                await client.call("tx_submit", tx=tx.raw.hex(), wait="commit")
                latencies.append(time.perf_counter() - started)
        latencies.sort()
        print(f"4 validators, submit to commit over 50 txs: p50 "
              f"{statistics.median(latencies) * 1000:.0f} ms, p90 "
              f"{latencies[44] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    finally:
        stop_all(chain.nodes)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await single(Path(tmp))
        await four(Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
