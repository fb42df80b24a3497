"""`agora devnet` end to end: one real 4-validator devnet (real processes, LevelDB and P2P on
free loopback ports) driven only through the installed `agora` script.

Method: a module-scoped devnet started with `up --detach --output json`; the tests run in
file order against it (status, refusals, stop/start of one node, a stale PID file, down and
a foreground `up` that resumes the chain and stops on SIGINT, then reset). A finalizer stops
every node process by the PIDs in the homes, even when a test failed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from client.keyring import Keyring
from client.rpc import RpcCallError, RpcClient
from commerce.address import address_of, from_text, to_text
from commerce.merchants import MerchantVote
from commerce.tx import TxBody, sign_tx
from devnet.layout import load_layout
from devnet.processes import is_node_process, pid_path
from tests.devnet.conftest import (
    AGORA,
    agora,
    agora_json,
    free_base_port,
    one_error_line,
    stop_everything,
)

pytestmark = pytest.mark.e2e

VALIDATORS = 4


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`up --detach --output json` of a fresh 4-validator devnet, with its root added."""
    root = tmp_path_factory.mktemp("devnet") / "net"
    try:
        base = free_base_port(VALIDATORS)
        summary = agora_json("devnet", "up", "--detach", "--home", str(root),
                             "--base-port", str(base))
        summary["_root"] = root
        summary["_base"] = base
        yield summary
    finally:
        stop_everything(root)


def _home(devnet: dict[str, Any]) -> list[str]:
    return ["--home", str(devnet["_root"])]


def _status(devnet: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = agora_json("devnet", "status", *_home(devnet))
    return result


def _wait_status(devnet: dict[str, Any], ok: Any, timeout_s: float = 20.0) -> dict[str, Any]:
    """Poll `devnet status` until `ok(status)`; the last status (asserts on timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        current = _status(devnet)
        if ok(current):
            return current
        assert time.monotonic() < deadline, json.dumps(current, indent=1)
        time.sleep(0.5)


def test_up_detach_json_has_the_documented_shape(devnet: dict[str, Any]) -> None:
    assert set(devnet) - {"_root", "_base"} == {"chain_id", "nodes", "accounts", "keyring"}
    assert devnet["chain_id"] == "agora-devnet"
    base = devnet["_base"]
    assert [n["name"] for n in devnet["nodes"]] == ["v0", "v1", "v2", "v3"]
    for index, node in enumerate(devnet["nodes"]):
        assert set(node) == {"name", "rpc", "p2p", "pid", "home"}
        assert node["rpc"] == f"http://127.0.0.1:{base + 2 * index}"
        assert node["p2p"] == f"127.0.0.1:{base + 2 * index + 1}"
        assert is_node_process(node["pid"], Path(node["home"]))
    roles = {a["name"]: a["role"] for a in devnet["accounts"]}
    assert roles["acme"] == roles["bazaar"] == "merchant"
    assert roles["alice"] == "shopper"
    for account in devnet["accounts"]:
        assert set(account) == {"name", "address", "role", "balance"}
        assert account["address"].startswith("agora1")
    assert (Path(devnet["keyring"]) / "test" / "alice.json").is_file()


def test_demo_merchants_are_approved_on_a_new_devnet(devnet: dict[str, Any]) -> None:
    layout = load_layout(devnet["_root"])
    keyring = Keyring(layout.keyring, "test")
    rpc = devnet["nodes"][0]["rpc"]

    async def simulate(signer: str, body: TxBody) -> str:
        keypair = keyring.keypair(signer)
        async with RpcClient(rpc) as client:
            account = await client.call("state_getAccount",
                                        address=to_text(address_of(keypair.public_key)))
            tx = sign_tx(keypair, layout.chain_id, int(account["pending_nonce"]), body)
            try:
                await client.call("tx_simulate", tx=tx.raw.hex())
            except RpcCallError as exc:
                return exc.reason
        return "ok"

    for merchant in ("acme", "bazaar"):
        address = from_text(keyring.show(merchant).address)
        # Another approve vote no longer applies: the merchant is approved already.
        vote = MerchantVote(merchant=address, action="approve")
        assert asyncio.run(simulate("v3", vote)) == "merchant_state"
        # A suspend vote applies only to an approved merchant.
        assert asyncio.run(simulate("v3", MerchantVote(merchant=address,
                                                       action="suspend"))) == "ok"


def test_status_reports_every_node_and_agreement(devnet: dict[str, Any]) -> None:
    status = _status(devnet)
    assert [n["name"] for n in status["nodes"]] == ["v0", "v1", "v2", "v3"]
    for node in status["nodes"]:
        assert node["alive"] is True
        assert node["height"] >= 1
        assert node["peers"] == VALIDATORS - 1
        assert node["mempool_txs"] >= 0
        assert len(node["latest_block_hash"]) == 64
    agreement = status["agreement"]
    assert agreement["agree"] is True
    assert agreement["height"] >= 1
    assert set(agreement["hashes"]) == {"v0", "v1", "v2", "v3"}
    text = agora("devnet", "status", *_home(devnet)).stdout
    assert "agreement: yes" in text


def test_up_twice_is_refused(devnet: dict[str, Any]) -> None:
    line = one_error_line(agora("devnet", "up", "--detach", *_home(devnet), code=1))
    assert line.startswith("error: already_running: ")
    assert "v0 pid" in line


def test_logs_of_one_node_and_unknown_node(devnet: dict[str, Any]) -> None:
    out = agora("devnet", "logs", "v0", "--lines", "3", *_home(devnet)).stdout
    assert len(out.splitlines()) == 3
    out = agora("devnet", "logs", "--lines", "1", *_home(devnet)).stdout
    assert sorted(line.split(" | ")[0] for line in out.splitlines()) == ["v0", "v1", "v2", "v3"]
    line = one_error_line(agora("devnet", "logs", "v9", *_home(devnet), code=1))
    assert line.startswith("error: not_found: ")


def test_stop_and_start_one_node(devnet: dict[str, Any]) -> None:
    stopped = agora_json("devnet", "stop", "v3", *_home(devnet))
    assert stopped["outcome"] == "stopped"
    assert not pid_path(Path(devnet["nodes"][3]["home"])).exists()
    status = _status(devnet)
    assert [n["alive"] for n in status["nodes"]] == [True, True, True, False]
    again = agora_json("devnet", "stop", "v3", *_home(devnet))
    assert again["outcome"] == "not_running"
    # Three of four keep making blocks.
    height = status["agreement"]["height"]
    _wait_status(devnet, lambda s: s["agreement"]["height"] > height + 1)
    started = agora_json("devnet", "start", "v3", *_home(devnet))
    assert started["name"] == "v3"
    assert is_node_process(started["pid"], Path(started["home"]))
    line = one_error_line(agora("devnet", "start", "v3", *_home(devnet), code=1))
    assert line.startswith("error: already_running: v3")
    # v3 catches up and agrees with the others.
    _wait_status(devnet, lambda s: s["agreement"]["agree"] is True
                 and s["nodes"][3]["height"] is not None
                 and s["nodes"][3]["height"] >= s["nodes"][0]["height"] - 1
                 and s["agreement"]["height"] > height + 1)


def test_stale_pid_file_is_detected_and_replaced(devnet: dict[str, Any]) -> None:
    agora("devnet", "stop", "v2", *_home(devnet))
    home = Path(devnet["nodes"][2]["home"])
    # A live process that is not v2 (this test runner): it must be reported, never signalled.
    pid_path(home).write_text(f"{os.getpid()}\n")
    status = _status(devnet)
    assert status["nodes"][2]["alive"] is False
    assert status["nodes"][2]["stale"] is True
    assert "stale pid" in agora("devnet", "status", *_home(devnet)).stdout
    started = agora_json("devnet", "start", "v2", *_home(devnet))
    assert started["pid"] != os.getpid()
    assert int(pid_path(home).read_text()) == started["pid"]


def test_down_then_foreground_up_resumes_the_chain_and_stops_on_ctrl_c(
    devnet: dict[str, Any],
) -> None:
    before = _status(devnet)["agreement"]
    downed = agora_json("devnet", "down", *_home(devnet))
    assert {n["outcome"] for n in downed["nodes"]} == {"stopped"}
    for node in devnet["nodes"]:
        assert not pid_path(Path(node["home"])).exists()
    # A crash would leave stale PID files: a PID that is surely not running.
    pid_path(Path(devnet["nodes"][1]["home"])).write_text("4194304\n")
    process = subprocess.Popen([str(AGORA), "devnet", "up", *_home(devnet)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
    try:
        out = _read_until(process, "Ctrl-C stops every node", timeout_s=30)
        assert "resumed" in out
        status = _status(devnet)
        assert status["agreement"]["agree"] is True
        assert status["agreement"]["height"] > before["height"]
        same = agora_json("devnet", "status", *_home(devnet))
        pids = [n["pid"] for n in same["nodes"]]
        assert all(p is not None for p in pids)
        _check_block(devnet, before["height"], before["hashes"]["v0"])
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert "stale pid file (pid 4194304" in stderr
    assert "stopped 4 node(s)" in stdout
    for node, pid in zip(devnet["nodes"], pids, strict=True):
        assert not is_node_process(pid, Path(node["home"]))


def _read_until(process: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    """Read the process's stdout line by line until `marker` appears."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"no {marker!r} in: {''.join(seen)}")


def _check_block(devnet: dict[str, Any], height: int, block_hash: str) -> None:
    """The block at `height` is still `block_hash` on v0 (the same chain was resumed)."""
    status = agora_json("query", "block", str(height), "--node", devnet["nodes"][0]["rpc"])
    assert status["header"]["hash"] == block_hash


def test_reset_needs_yes_when_not_interactive_then_deletes(devnet: dict[str, Any]) -> None:
    root: Path = devnet["_root"]
    line = one_error_line(agora("devnet", "reset", *_home(devnet), code=1))
    assert line.startswith("error: confirmation_required: ")
    assert root.is_dir()
    out = agora_json("devnet", "reset", "--yes", *_home(devnet))
    assert out["deleted"] == str(root)
    assert not root.exists()
    line = one_error_line(agora("devnet", "status", *_home(devnet), code=1))
    assert line.startswith("error: not_found: no devnet at ")


def test_up_with_a_port_taken_is_refused_naming_the_port(devnet_root: Path) -> None:
    base = free_base_port(VALIDATORS)
    with socket.socket() as holder:
        # SO_REUSEADDR as free_base_port probes: a connection of an earlier devnet in
        # TIME_WAIT on this port must not stop the holder from listening on it.
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", base + 3))
        holder.listen()
        result = agora("devnet", "up", "--detach", "--home", str(devnet_root),
                       "--base-port", str(base), code=1)
    line = one_error_line(result)
    assert line.startswith(f"error: port_in_use: port {base + 3} (v1 p2p)")
    assert not (devnet_root / "devnet.json").exists()


def test_reset_refuses_a_directory_that_is_not_a_devnet(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    line = one_error_line(agora("devnet", "reset", "--yes", "--home", str(tmp_path), code=1))
    assert line.startswith("error: not_a_devnet: ")
    assert (tmp_path / "precious.txt").exists()
    line = one_error_line(agora("devnet", "up", "--detach", "--home", str(tmp_path), code=1))
    assert line.startswith("error: not_a_devnet: ")
