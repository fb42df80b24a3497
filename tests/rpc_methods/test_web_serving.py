"""A node serves its web app as `[web]` says: from `root` (relative to the home), or not at
all (`enabled = false`), while POST / stays JSON-RPC."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from node.config import parse_config
from node.home import init_home, load_home
from node.service import Node

StartNode = Callable[[dict[str, Any]], Awaitable[str]]


@pytest.fixture
async def start_node(tmp_path: Path) -> AsyncIterator[StartNode]:
    nodes: list[Node] = []

    async def start(web: dict[str, Any]) -> str:
        home = tmp_path / f"home{len(nodes)}"
        config = parse_config({"rpc": {"listen": "127.0.0.1:0"},
                               "p2p": {"listen": "127.0.0.1:0"}, "web": web})
        init_home(home, chain_id="web-serving", config=config)
        site = home / "site"
        site.mkdir()
        (site / "index.html").write_text("<!doctype html><title>shop of this node</title>")
        node = Node(load_home(home))
        await node.start()
        nodes.append(node)
        return f"http://127.0.0.1:{node.rpc_port}"

    yield start
    for node in nodes:
        await node.stop()


async def test_the_app_is_served_from_the_configured_root(start_node: StartNode) -> None:
    url = await start_node({"root": "site"})
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/") as response:
            assert response.status == 200
            assert "shop of this node" in await response.text()
        async with session.post(url + "/", json={"jsonrpc": "2.0", "method": "node_status",
                                                 "id": 1}) as response:
            assert (await response.json())["result"]["chain_id"] == "web-serving"


async def test_a_node_with_the_app_off_says_so(start_node: StartNode) -> None:
    url = await start_node({"enabled": False, "root": "site"})
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/") as response:
            assert response.status == 404
            assert "turned off" in await response.text()
        async with session.get(url + "/index.html") as response:
            assert response.status == 404
