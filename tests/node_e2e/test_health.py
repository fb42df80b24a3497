"""`/health` on real node processes fails each check for the fault it names: the database
cannot be written, consensus stopped (a validator whose state diverged), and a validator
without enough validator peers to finalize; the answer is HTTP 503 naming the check.

Method: `agora start` processes on loopback (tests/node_e2e/conftest.py). The database is
made unwritable with RLIMIT_FSIZE set on the running process (`prlimit`): the kernel then
refuses every write that extends a file with EFBIG, for root too, where chmod and
read-only bind mounts are ignored by root or need privileges a container may lack
(Python ignores SIGXFSZ, so the write fails instead of killing the process). Divergence
is made by changing one account's balance in a stopped validator's state database, then
spending from that account; that validator runs as a `node.service.Node` in the test's
loop, because `agora start` exits a second after consensus stops.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]
import plyvel
import pytest

from client.rpc import RpcClient
from commerce.encoding import pack_plain
from commerce.ledger import ACCOUNT_PREFIX
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from node.home import load_home
from node.service import Node
from node.state_store import GENESIS_STATE_DIR, P_STATE, STATE_DIR
from tests.node_e2e.conftest import (
    AGORA,
    ROOT,
    UNIT,
    Chain4,
    NodeProcess,
    free_ports,
    running_chain,
    set_ports,
)

pytestmark = pytest.mark.e2e

WAIT_S = 60.0  # generous: a slow machine is not a failure, a check that never flips is


def health(node: NodeProcess) -> tuple[int, dict[str, Any]]:
    """GET /health: (HTTP status, JSON body)."""
    try:
        with urllib.request.urlopen(node.url + "/health", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def health_until(node: NodeProcess, want_failed: str | None,
                       timeout_s: float = WAIT_S) -> tuple[int, dict[str, Any]]:
    """Poll /health until `want_failed` is among the failed checks (None: until 200)."""
    last: tuple[int, dict[str, Any]] | None = None
    async with asyncio.timeout(timeout_s):
        while True:
            last = await asyncio.to_thread(health, node)
            if want_failed is None and last[0] == 200:
                return last
            if want_failed is not None and want_failed in last[1]["failed"]:
                return last
            await asyncio.sleep(0.2)


def assert_failing(answer: tuple[int, dict[str, Any]], check: str) -> None:
    status, body = answer
    assert status == 503, answer
    assert body["status"] == "failing" and check in body["failed"], body
    named = {item["name"]: item for item in body["checks"]}
    assert named[check]["ok"] is False and named[check]["detail"], body
    assert named["rpc"]["ok"] is True


@pytest.fixture
def lone_node(tmp_path: Path) -> Any:
    """A one-validator chain of its own (this test breaks it)."""
    home = tmp_path / "home"
    done = subprocess.run([AGORA, "init", "--home", str(home), "--chain-id", "e2e-health",
                           "--output", "json"], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    rpc_port, p2p_port = free_ports(2)
    set_ports(home, rpc_port, p2p_port, consensus={"idle_block_interval_ms": 200})
    node = NodeProcess("lone", home, rpc_port, p2p_port)
    node.start()
    try:
        node.wait_ready(min_height=1)
        yield node
    finally:
        node.stop()


async def test_health_database_unwritable_is_503_database_writable(
    lone_node: NodeProcess,
) -> None:
    assert (await asyncio.to_thread(health, lone_node))[0] == 200
    assert lone_node.proc is not None
    # No file of the process may grow past its current end: every LevelDB append fails.
    resource.prlimit(lone_node.proc.pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
    answer = await health_until(lone_node, "database_writable")
    assert_failing(answer, "database_writable")
    assert lone_node.running, "the node answers /health; it does not exit"


@pytest.fixture
def four(tmp_path: Path) -> Any:
    with running_chain(tmp_path / "chain") as chain:
        yield chain


async def test_health_validator_below_quorum_peers_is_503_peers(four: Chain4) -> None:
    watched, *others = four.nodes
    await health_until(watched, None)
    others[-1].stop()  # 2 validator peers left: with itself a quorum of 3 of 4
    status, body = await health_until(watched, None)
    assert status == 200 and "peers" in {c["name"] for c in body["checks"]}
    others[-2].stop()  # 1 peer left: no quorum can form
    assert_failing(await health_until(watched, "peers"), "peers")
    others[-2].start()
    others[-2].wait_ready(min_height=1)
    await health_until(watched, None)  # back to a quorum: healthy again


async def test_health_diverged_validator_is_503_consensus_running(four: Chain4) -> None:
    victim = four.nodes[-1]
    spender = four.keypair("alice")
    address = four.address("alice")
    victim.stop()
    # The victim's copy of alice's account gains one unit: its state is no longer the
    # chain's, which shows at the first block that touches the account.
    # (The store keeps the blocks' writes in state/ over the genesis state in
    # state/genesis/; a write in state/ shadows genesis.)
    key = P_STATE + ACCOUNT_PREFIX + address
    state_dir = victim.home / "data" / STATE_DIR
    state, genesis = plyvel.DB(str(state_dir)), plyvel.DB(str(state_dir / GENESIS_STATE_DIR))
    try:
        raw = state.get(key) or genesis.get(key)
        assert raw is not None, "alice is funded"
        balance, nonce = msgpack.unpackb(raw)
        state.put(key, pack_plain((balance + 1, nonce)), sync=True)
    finally:
        state.close()
        genesis.close()
    # `agora start` exits (state_diverged) within a second of consensus stopping, so /health
    # is seen failing only in that second; the same `Node` runs here in the test's event
    # loop, without that exit, so its /health can be read for as long as the test needs.
    node = Node(load_home(victim.home))
    await node.start()
    try:
        async with RpcClient(four.nodes[0].url, timeout_s=30) as client:
            account = await client.call("state_getAccount",
                                        address=four.address_text("alice"))
            tx = sign_tx(spender, four.chain_id, account["pending_nonce"],
                         Transfer(to=four.address("bob"), amount=UNIT))
            done = await client.call("tx_submit", tx=tx.raw.hex(), wait="commit",
                                     timeout_ms=20_000)
            assert done["status"] == "finalized"
        answer = await health_until(victim, "consensus_running")
        assert_failing(answer, "consensus_running")
        detail = {c["name"]: c["detail"] for c in answer[1]["checks"]}["consensus_running"]
        assert "state root does not match execution" in detail, answer
        assert (await asyncio.to_thread(health, four.nodes[0]))[0] == 200
    finally:
        await node.stop()
