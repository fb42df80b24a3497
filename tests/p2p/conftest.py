"""Every P2P test must leave no task behind: checked after each test in its own loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    yield
    current = asyncio.current_task()
    for _ in range(50):
        leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not leftover:
            return
        await asyncio.sleep(0.01)
    names = sorted(t.get_name() for t in leftover)
    raise AssertionError(f"tasks leaked by the test: {names}")
