"""A list method never answers more than `[rpc] max_page_size` items: a larger `limit` is
clamped to the cap and the rest is reached by following `next` (docs/RPC.md, Limits).

Method: a real `node.service.Node` with `max_page_size = 2` whose validator opens three
marketplace polls; `state_listPolls` is called over HTTP with limits at and over the cap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from commerce.polls import PollCreate
from commerce.tx import sign_tx
from tests.rpc_methods.conftest import CHAIN_ID, Running, started_node

PAGE_CAP = 2
POLLS = PAGE_CAP + 1


@pytest.fixture
async def capped(tmp_path: Path) -> AsyncIterator[Running]:
    async with started_node(tmp_path, max_page_size=PAGE_CAP) as started:
        yield started


async def open_polls(running: Running, count: int) -> None:
    await running.wait_height(1)
    for nonce in range(count):
        body = PollCreate(question=f"poll {nonce}?", options=["yes", "no"], scope="marketplace",
                          listing=0, buyers_only=False, close_height=1_000)
        tx = sign_tx(running.key, CHAIN_ID, nonce, body)
        done = await running.client.call("tx_submit", tx=tx.raw.hex(), wait="commit",
                                         timeout_ms=10_000)
        assert done["status"] == "finalized", done


async def test_list_polls_limit_over_page_cap_is_clamped_to_the_cap(capped: Running) -> None:
    await open_polls(capped, POLLS)
    first = await capped.client.call("state_listPolls", limit=PAGE_CAP + 1)
    assert len(first["items"]) == PAGE_CAP and first["next"] is not None
    rest = await capped.client.call("state_listPolls", limit=PAGE_CAP + 1, cursor=first["next"])
    assert len(rest["items"]) == POLLS - PAGE_CAP and rest["next"] is None
    ids = [item["id"] for item in first["items"] + rest["items"]]
    assert ids == sorted(set(ids)) and len(ids) == POLLS


async def test_list_polls_limit_at_page_cap_is_served_whole(capped: Running) -> None:
    await open_polls(capped, POLLS)
    page = await capped.client.call("state_listPolls", limit=PAGE_CAP)
    assert len(page["items"]) == PAGE_CAP and page["next"] is not None
    one = await capped.client.call("state_listPolls", limit=1)
    assert len(one["items"]) == 1
