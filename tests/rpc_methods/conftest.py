"""In-process node for the RPC method tests: a home from `init_home` with ports 0, a
`node.service.Node` started in the test's event loop, and an `RpcClient` on its port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import commerce  # noqa: F401  (registers transaction types)
from client.rpc import RpcClient
from commerce.address import address_of, to_text
from commerce.keys import Keypair
from commerce.transfer import Transfer
from commerce.tx import Transaction, sign_tx
from node.config import parse_config
from node.home import init_home, load_home
from node.service import Node

CHAIN_ID = "rpc-methods"
UNIT = 1_000_000


@dataclass
class Running:
    """A started node, a client on its RPC port and the funded validator key."""

    node: Node
    client: RpcClient
    key: Keypair

    @property
    def address(self) -> str:
        return to_text(address_of(self.key.public_key))

    def transfer(self, to: bytes, amount: int, nonce: int) -> Transaction:
        return sign_tx(self.key, CHAIN_ID, nonce, Transfer(to=to, amount=amount))

    async def wait_height(self, height: int, timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s):
            while self.node.store is not None and self.node.store.head.height < height:
                await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def started_node(tmp_path: Path, **rpc: Any) -> AsyncIterator[Running]:
    """A node of a new home in `tmp_path` (loopback ports 0, a block every 100 ms idle,
    `[rpc]` settings `rpc` on top), with a client; both closed afterwards."""
    config = parse_config({"rpc": {"listen": "127.0.0.1:0", **rpc},
                           "p2p": {"listen": "127.0.0.1:0"},
                           "consensus": {"idle_block_interval_ms": 100}})
    init_home(tmp_path / "home", chain_id=CHAIN_ID, config=config)
    loaded = load_home(tmp_path / "home")
    node = Node(loaded)
    await node.start()
    client = RpcClient(f"http://127.0.0.1:{node.rpc_port}", timeout_s=10)
    try:
        yield Running(node, client, loaded.node_key)
    finally:
        await client.close()
        await node.stop()


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with started_node(tmp_path) as started:
        yield started
