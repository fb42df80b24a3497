"""The load of `agora bench`: client processes that submit pre-signed transactions over
JSON-RPC at an offered rate.

`split_streams` gives each client its own senders (each account's transactions stay in one
stream, in nonce order); `client_main` runs in a process of its own (multiprocessing,
spawn), sends its stream in chunks of at most `MAX_SUBMIT_CHUNK` with `tx_submitBatch`, at
most `MAX_CLIENT_INFLIGHT` batches in flight, each chunk to the next node in turn, and puts
what was accepted and when on a queue for the parent (`bench.devnet`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from typing import Any

from client.rpc import RpcClient, RpcClientError
from commerce.tx import Transaction

MAX_SUBMIT_CHUNK = 500
MAX_CLIENT_INFLIGHT = 4


def client_main(index: int, urls: list[str], raws: list[str], rate: float | None,
                 start_at: float, stop_at: float, out: Any) -> None:
    """Submit `raws` (hex) in chunks at `rate` tx/s from `start_at`, each chunk to the next
    of `urls` in turn (as clients spread over a network's RPC endpoints); put the outcome
    on `out`: (index, {tx_id: submit_time}, {reason: count}, attempted). The attempted
    transactions are always the first `attempted` of `raws`."""
    result = asyncio.run(_client_run(urls[index % len(urls):] + urls[:index % len(urls)],
                                     raws, rate, start_at, stop_at))
    out.put((index, *result))


async def _client_run(urls: list[str], raws: list[str], rate: float | None, start_at: float,
                      stop_at: float) -> tuple[dict[str, float], dict[str, int], int]:
    chunk = MAX_SUBMIT_CHUNK if rate is None else max(1, min(MAX_SUBMIT_CHUNK, int(rate / 20)))
    sent: dict[str, float] = {}
    reasons: dict[str, int] = {}
    attempted = 0
    # A few batches in flight, so the offered rate is not one round trip per batch; each
    # account's transactions may reach the node out of order (the mempool keeps a window).
    slots = asyncio.Semaphore(MAX_CLIENT_INFLIGHT)
    tasks: list[asyncio.Task[None]] = []

    async def submit(client: RpcClient, batch: list[str], now: float) -> None:
        try:
            answers = await client.call("tx_submitBatch", txs=batch)
        except RpcClientError as exc:
            reasons["rpc_error"] = reasons.get("rpc_error", 0) + len(batch)
            print(f"bench client: {exc}", file=sys.stderr)
            return
        finally:
            slots.release()
        for answer in answers:
            if answer.get("ok"):
                sent[answer["id"]] = now
            else:
                reason = str(answer.get("reason"))
                reasons[reason] = reasons.get(reason, 0) + 1

    while time.monotonic() < start_at:
        await asyncio.sleep(min(0.01, max(0.0, start_at - time.monotonic())))
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(RpcClient(url, timeout_s=60.0))
                   for url in urls]
        for number, index in enumerate(range(0, len(raws), chunk)):
            if rate is not None:
                delay = start_at + index / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await slots.acquire()
            now = time.monotonic()
            if now >= stop_at:
                slots.release()
                break
            batch = raws[index:index + chunk]
            attempted += len(batch)
            client = clients[number % len(clients)]
            tasks.append(asyncio.create_task(submit(client, batch, now)))
        await asyncio.gather(*tasks)
    return sent, reasons, attempted


def split_streams(txs: list[Transaction], clients: int) -> list[list[Transaction]]:
    """One stream per client; each sender's transactions stay in one stream, in order."""
    streams: list[list[Transaction]] = [[] for _ in range(clients)]
    for tx in txs:
        streams[tx.sender[0] % clients].append(tx)
    return [s for s in streams if s]
