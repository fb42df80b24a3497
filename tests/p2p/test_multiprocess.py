"""Networks of 2, 4 and 8 node processes on loopback deliver every broadcast exactly once.

Method: spawn `python -m p2p.demo` per node (node 0 first on a free port, the others dial
it and find each other by PEX), drive them over stdin, read their JSON-line events on
stdout from reader threads; kill one with SIGKILL, restart it on the same port, and check
delivery again. Every child is killed in `finally`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


class NodeProcess:
    def __init__(self, index: int, count: int, port: int = 0, peers: tuple[int, ...] = ()):
        args = [sys.executable, "-m", "p2p.demo", "--index", str(index), "--count",
                str(count), "--port", str(port)]
        for peer_port in peers:
            args += ["--peer", f"127.0.0.1:{peer_port}"]
        self.proc = subprocess.Popen(
            args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, bufsize=1,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        ready = self.wait_for(lambda e: e["event"] == "ready", 20)
        self.port: int = ready["port"]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.lock:
                self.events.append(json.loads(line))

    def wait_for(self, match: Any, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                for event in self.events:
                    if match(event):
                        return event
            if self.proc.poll() is not None:
                raise AssertionError(f"node exited with {self.proc.returncode}")
            time.sleep(0.02)
        raise AssertionError("event not seen in time")

    def command(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def connected(self) -> int:
        with self.lock:
            ups = Counter(e["peer"] for e in self.events if e["event"] == "up")
            downs = Counter(e["peer"] for e in self.events if e["event"] == "down")
        return sum(1 for peer in ups if ups[peer] > downs[peer])

    def deliveries(self) -> Counter[str]:
        with self.lock:
            return Counter(e["payload"] for e in self.events if e["event"] == "deliver")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def wait_until(predicate: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def exactly_once(nodes: list[NodeProcess], senders: dict[str, int]) -> bool:
    for index, node in enumerate(nodes):
        counts = node.deliveries()
        for payload, sender in senders.items():
            if counts[payload] != (0 if sender == index else 1):
                return False
    return True


@pytest.mark.parametrize("count", [2, 4, 8])
def test_processes_deliver_exactly_once_and_survive_a_kill(count: int) -> None:
    nodes: list[NodeProcess] = []
    try:
        nodes.append(NodeProcess(0, count))
        for i in range(1, count):
            nodes.append(NodeProcess(i, count, peers=(nodes[0].port,)))
        wait_until(lambda: all(n.connected() == count - 1 for n in nodes), 30)
        senders = {f"p{i}": i for i in range(count)}
        for i, node in enumerate(nodes):
            node.command(f"broadcast p{i}")
        wait_until(lambda: exactly_once(nodes, senders), 20)

        victim = count - 1
        port = nodes[victim].port
        nodes[victim].kill()
        wait_until(lambda: all(n.connected() == count - 2 for n in nodes[:victim]), 20)
        nodes[0].command("broadcast while-down")
        nodes[victim] = NodeProcess(victim, count, port=port, peers=(nodes[0].port,))
        wait_until(lambda: all(n.connected() == count - 1 for n in nodes), 30)
        nodes[victim].command("broadcast from-restarted")
        nodes[0].command("broadcast after-restart")
        after = {"from-restarted": victim, "after-restart": 0}
        wait_until(lambda: exactly_once(nodes, after), 20)
        time.sleep(0.3)
        assert exactly_once(nodes, after)
        assert exactly_once(nodes[:victim], senders)  # nothing delivered twice meanwhile
        assert all(n.deliveries()["while-down"] == 1 for n in nodes[1:victim])
    finally:
        for node in nodes:
            node.kill()
