"""One client (one address) cannot hold the RPC server's call slots with waiting calls, and
a waiting `tx_submit` ends in a bounded time naming the pending transaction; the refusal is
documented in docs/ERRORS.md.

Method: a real `node.service.Node` in the test's event loop (home from `init_home`, ports 0,
`[rpc] max_calls_per_client = 3`), called over HTTP and WebSocket by aiohttp sessions bound
to two loopback source addresses, 127.0.0.1 (the greedy client) and 127.0.0.2 (another
client). The greedy client's waiting calls are `tx_submit` with `wait: commit` of
transactions whose nonces leave a gap, so they cannot finalize until the gap is filled.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import commerce  # noqa: F401  (registers transaction types)
from commerce.address import address_of
from commerce.keys import Keypair
from commerce.transfer import Transfer
from commerce.tx import Transaction, sign_tx
from node.config import parse_config
from node.home import init_home, load_home
from node.rpc.errors import RpcErrorCode
from node.rpc.routes import STATE, client_key
from node.service import Node
from tests.foundation.test_errors import _doc_tables

CHAIN_ID = "client-cap"
CLIENT_CAP = 3
GREEDY_HOST = "127.0.0.1"
OTHER_HOST = "127.0.0.2"
UNIT = 1_000_000


@dataclass
class Served:
    node: Node
    key: Keypair
    url: str

    def transfer(self, nonce: int) -> Transaction:
        to = address_of(Keypair.generate().public_key)
        return sign_tx(self.key, CHAIN_ID, nonce, Transfer(to=to, amount=UNIT))

    def calls_in_flight(self) -> int:
        """The server's calls in flight, all clients together."""
        runner = self.node._runner
        assert runner is not None
        return runner.app[STATE].dispatcher.inflight_calls


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    config = parse_config({
        "rpc": {"listen": "127.0.0.1:0", "max_calls_per_client": CLIENT_CAP},
        "p2p": {"listen": "127.0.0.1:0"},
        "consensus": {"idle_block_interval_ms": 100},
    })
    init_home(tmp_path / "home", chain_id=CHAIN_ID, config=config)
    loaded = load_home(tmp_path / "home")
    node = Node(loaded)
    await node.start()
    try:
        yield Served(node, loaded.node_key, f"http://127.0.0.1:{node.rpc_port}/")
    finally:
        await node.stop()


def session_from(host: str) -> aiohttp.ClientSession:
    """An HTTP client whose connections come from `host` (a loopback address)."""
    connector = aiohttp.TCPConnector(local_addr=(host, 0), limit=0)
    return aiohttp.ClientSession(connector=connector,
                                 timeout=aiohttp.ClientTimeout(total=30))


async def post(session: aiohttp.ClientSession, url: str, method: str,
               **params: Any) -> dict[str, Any]:
    """One JSON-RPC call over HTTP; the whole response object."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    async with session.post(url, json=body) as response:
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        return answer


async def wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


async def test_client_cap_greedy_address_refused_while_another_is_served(
        served: Served) -> None:
    async with session_from(GREEDY_HOST) as greedy, session_from(OTHER_HOST) as other:
        gapped = [served.transfer(nonce) for nonce in range(1, CLIENT_CAP + 1)]
        waiting = [asyncio.create_task(post(greedy, served.url, "tx_submit",
                                            tx=tx.raw.hex(), wait="commit",
                                            timeout_ms=60_000))
                   for tx in gapped]
        await wait_for(lambda: served.calls_in_flight() == CLIENT_CAP)

        # The greedy address is at its cap: over HTTP and over a WebSocket alike.
        refused = await post(greedy, served.url, "node_status")
        assert "error" in refused, f"a fourth call from the same address was served: {refused}"
        assert refused["error"]["code"] == -32096
        assert refused["error"]["data"] == {"reason": "client_busy", "limit": CLIENT_CAP}
        async with greedy.ws_connect(served.url + "ws") as ws:
            await ws.send_str(json.dumps(
                [{"jsonrpc": "2.0", "id": n, "method": "node_status"} for n in range(5)]))
            answers = json.loads(await ws.receive_str(timeout=10))
        assert [a["error"]["data"]["reason"] for a in answers] == ["client_busy"] * 5

        # Another address is served meanwhile: a read, and a commit that fills the gap.
        status = await post(other, served.url, "node_status")
        assert status["result"]["chain_id"] == CHAIN_ID
        first = served.transfer(0)
        done = await post(other, served.url, "tx_submit", tx=first.raw.hex(), wait="commit")
        assert done["result"]["status"] == "finalized", done

        # The gap is filled: the greedy client's calls finalize and its slots come back.
        results = await asyncio.gather(*waiting)
        assert [r["result"]["status"] for r in results] == ["finalized"] * CLIENT_CAP
        assert [r["result"]["id"] for r in results] == [tx.tx_id.hex() for tx in gapped]
        again = await post(greedy, served.url, "node_status")
        assert again["result"]["chain_id"] == CHAIN_ID
        assert served.calls_in_flight() == 0


async def test_tx_submit_wait_commit_timeout_names_the_pending_tx(served: Served) -> None:
    gapped = served.transfer(2)  # nonce 0 and 1 never come: it cannot finalize
    async with session_from(GREEDY_HOST) as session:
        answer = await post(session, served.url, "tx_submit", tx=gapped.raw.hex(),
                            wait="commit", timeout_ms=300)
        assert answer["error"]["code"] == -32060
        assert answer["error"]["data"] == {"reason": "timeout", "id": gapped.tx_id.hex(),
                                           "status": "pending"}
        found = await post(session, served.url, "chain_getTransaction", id=gapped.tx_id.hex())
        assert found["result"]["status"] == "pending"
        assert served.calls_in_flight() == 0


@pytest.mark.parametrize(("remote", "key"), [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    (None, "unknown"),
])
def test_client_key_ipv6_host_counts_as_its_64_prefix(remote: str | None, key: str) -> None:
    assert client_key(remote) == key


def test_errors_doc_rpc_transport_table_equals_code_table() -> None:
    documented = _doc_tables().get("node.rpc.errors.RpcErrorCode")
    assert documented is not None, "docs/ERRORS.md has no section for RpcErrorCode"
    actual = {code.reason: (code.rpc_code, code.meaning) for code in RpcErrorCode}
    assert documented == actual
    assert list(documented) == list(actual), "the doc lists the codes in table order"
