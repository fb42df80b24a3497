"""Fixtures that run real `agora` node processes on loopback for the end-to-end tests.

Method: homes are made by the real CLI (`agora init`) or by `devnet.layout.create_layout`,
their config.toml is rewritten with free ports, and each node runs as `agora start --home H`
in its own process group with its log in the home. Every process started here is recorded;
teardown sends SIGTERM, then SIGKILL after a grace period, to each one still alive (also when
a test or a fixture failed), and a failed test prints the last log lines of every node.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import commerce  # noqa: F401  (registers transaction types)
from client.keyring import Keyring
from commerce.address import from_text
from commerce.keys import Keypair
from commerce.transfer import Transfer
from commerce.tx import Transaction, sign_tx
from devnet.layout import Layout, create_layout
from node.config import load_config, write_config
from node.home import load_node_key

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
AGORA = str(BIN / "agora")
STOP_GRACE_S = 10.0
LOG_TAIL_LINES = 40
UNIT = 1_000_000  # base units per token (6 decimal places)

pytestmark = pytest.mark.e2e

_RUNNING: list[NodeProcess] = []  # every process started in this session, for teardown


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that were free a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def rpc_call(url: str, method: str, timeout_s: float = 5.0, **params: Any) -> Any:
    """A blocking JSON-RPC call (for fixtures); the result, or RuntimeError with the error."""
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
    request = urllib.request.Request(url, data=body.encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


@dataclass(eq=False)
class NodeProcess:
    """One `agora start` process of a home; restartable."""

    name: str
    home: Path
    rpc_port: int
    p2p_port: int
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    log_paths: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start `agora start --home` with its log in the home (one file per start)."""
        assert not self.running, f"{self.name} is already running"
        self.starts += 1
        log_path = self.home / f"node-{self.starts}.log"
        self.log_paths.append(log_path)
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [AGORA, "start", "--home", str(self.home), "--log-format", "text"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=ROOT, start_new_session=True,
            )
        _RUNNING.append(self)

    def wait_ready(self, min_height: int = 1, timeout_s: float = 30.0) -> dict[str, Any]:
        """Wait until RPC answers and the head is at `min_height`; node_status."""
        deadline = time.monotonic() + timeout_s
        last: Any = None
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited with {self.proc and self.proc.returncode}"
                                   f":\n{self.log_tail()}")
            try:
                status = rpc_call(self.url, "node_status", timeout_s=2.0)
                if status["height"] >= min_height:
                    return status  # type: ignore[no-any-return]
                last = status
            except (OSError, RuntimeError, ValueError) as exc:
                last = exc
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout_s}s ({last!r}):\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, grace_s: float = STOP_GRACE_S) -> int | None:
        """Signal the process group, SIGKILL after `grace_s`; the exit code."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=grace_s)
        return proc.returncode

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.log_paths if p.exists())

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def stop_all(nodes: list[NodeProcess]) -> None:
    """SIGTERM every running node at once, then wait and SIGKILL the stragglers."""
    for node in nodes:
        if node.running:
            assert node.proc is not None
            try:
                os.killpg(node.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for node in nodes:
        node.stop()


@pytest.fixture(scope="session", autouse=True)
def _reap_every_node() -> Iterator[None]:
    """Whatever happened, no node process outlives the session."""
    yield
    stop_all(_RUNNING)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _dump_logs_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a failed test, print the last log lines of every node started so far."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        seen: set[int] = set()
        for node in _RUNNING:
            if id(node) in seen:
                continue
            seen.add(id(node))
            state = "running" if node.running else f"exited {node.proc and node.proc.returncode}"
            print(f"----- {node.name} ({node.home}, {state}) last log lines -----")
            print(node.log_tail())


def set_ports(home: Path, rpc_port: int, p2p_port: int, peers: list[str] | None = None,
              **sections: dict[str, Any]) -> None:
    """Rewrite a home's config.toml with these ports (and peers, and section overrides)."""
    config = load_config(home / "config" / "config.toml")
    update: dict[str, Any] = {
        "rpc": config.rpc.model_copy(update={"listen": f"127.0.0.1:{rpc_port}"}),
        "p2p": config.p2p.model_copy(update={
            "listen": f"127.0.0.1:{p2p_port}",
            **({"persistent_peers": peers} if peers is not None else {})}),
    }
    for name, values in sections.items():
        update[name] = getattr(config, name).model_copy(update=values)
    write_config(home / "config" / "config.toml", config.model_copy(update=update))
    load_config(home / "config" / "config.toml")  # still valid


# A single validator made by the CLI.


@dataclass
class SingleNode:
    """A one-validator chain started with `agora init` and `agora start`."""

    node: NodeProcess
    chain_id: str
    validator: Keypair  # its account is funded by the genesis `agora init` wrote

    def transfer(self, to: bytes, amount: int, nonce: int, *, key: Keypair | None = None,
                 chain_id: str | None = None) -> Transaction:
        """A signed transfer from the validator's account (or from `key`)."""
        return sign_tx(key or self.validator, chain_id or self.chain_id, nonce,
                       Transfer(to=to, amount=amount))


SINGLE_MEMPOOL = {"max_txs": 64, "max_per_account": 16, "nonce_window": 32}


@pytest.fixture(scope="session")
def single_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SingleNode]:
    """`agora init --home H`, free ports and small mempool limits in config.toml, then
    `agora start --home H`; stopped with SIGTERM at the end of the session."""
    home = tmp_path_factory.mktemp("single") / "home"
    done = subprocess.run([AGORA, "init", "--home", str(home), "--chain-id", "e2e-single",
                           "--output", "json"], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    rpc_port, p2p_port = free_ports(2)
    set_ports(home, rpc_port, p2p_port, mempool=SINGLE_MEMPOOL)
    node = NodeProcess("single", home, rpc_port, p2p_port)
    node.start()
    try:
        node.wait_ready(min_height=1)
        yield SingleNode(node, info["chain_id"], load_node_key(home / "config" /
                                                               "node_key.json"))
    finally:
        node.stop()


# A four-validator chain from the devnet layout.


@dataclass
class Chain4:
    """Four validator processes of one devnet layout, with its test keyring."""

    layout: Layout
    nodes: list[NodeProcess]
    keyring: Keyring

    @property
    def chain_id(self) -> str:
        return self.layout.chain_id

    def keypair(self, name: str) -> Keypair:
        return self.keyring.keypair(name, passphrase=None)

    def address(self, name: str) -> bytes:
        for account in self.layout.accounts:
            if account["name"] == name:
                return from_text(account["address"])
        raise KeyError(name)

    def address_text(self, name: str) -> str:
        return next(a["address"] for a in self.layout.accounts if a["name"] == name)


def start_chain(root: Path, validators: int = 4) -> Chain4:
    """Write a devnet layout under `root` with free ports and start every validator."""
    layout = create_layout(root, validators=validators, base_port=40000)
    ports = free_ports(2 * validators)
    nodes = [NodeProcess(spec.name, Path(spec.home), ports[2 * i], ports[2 * i + 1])
             for i, spec in enumerate(layout.nodes)]
    for spec, node in zip(layout.nodes, nodes, strict=True):
        peers = [f"{o.public_key}@127.0.0.1:{n.p2p_port}"
                 for o, n in zip(layout.nodes, nodes, strict=True) if o is not spec]
        set_ports(node.home, node.rpc_port, node.p2p_port, peers)
        spec.rpc_port, spec.p2p_port = node.rpc_port, node.p2p_port
    layout.save()
    for node in nodes:
        node.start()
    return Chain4(layout, nodes, Keyring(Path(layout.keyring), "test"))


@contextlib.contextmanager
def running_chain(root: Path) -> Iterator[Chain4]:
    """`start_chain(root)` once all four make blocks; every node stopped afterwards."""
    chain = start_chain(root)
    try:
        for node in chain.nodes:
            node.wait_ready(min_height=2, timeout_s=45)
        yield chain
    finally:
        stop_all(chain.nodes)


@pytest.fixture(scope="module")
def chain4(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain4]:
    """A 4-validator loopback chain shared by one module's tests; all four make blocks."""
    with running_chain(tmp_path_factory.mktemp("chain4")) as chain:
        yield chain
