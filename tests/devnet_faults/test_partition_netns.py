"""A network partition that heals, between separate network stacks (Linux namespaces).

v0 and v1 run in this host's namespace, v2 and v3 each in a namespace of their own; all
four stacks hang off one bridge (in a fourth namespace) through veth pairs, and every node
dials the others at their bridge addresses. Taking a bridge port down cuts a real link:
  - v3's port: a 1-3 split; the three go on, v3 (alone, timing out views) catches up after
    the link returns;
  - the host's port: a 2-2 split ({v0, v1} | {v2, v3}); neither side has a quorum, both
    halt without forking, and the chain resumes by itself once the link returns.
Needs root and `ip netns` (skipped otherwise; tests/devnet_faults/test_faults.py covers a
partition by SIGSTOP everywhere).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devnet import processes
from devnet.layout import create_layout
from tests.devnet.conftest import free_base_port
from tests.devnet_faults.conftest import FAST_CONSENSUS, TIMINGS, VALIDATORS, Devnet, _live

pytestmark = pytest.mark.e2e


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def _netns_usable() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    name = f"agprobe{os.getpid()}"
    try:
        _ip("netns", "add", name)
        subprocess.run(["ip", "netns", "exec", name, "true"], check=True, timeout=10,
                       capture_output=True)
        return True
    except (subprocess.SubprocessError, OSError):
        return False
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


class Topology:
    """Three namespaces on a bridge; `cut(port)` / `heal(port)` with port 'h', 'a' or 'b'."""

    def __init__(self) -> None:
        tag = f"{os.getpid() % 10000:04d}{random.randrange(100):02d}"
        self.tag = tag
        self.prefix = f"10.{random.randrange(200, 250)}.{random.randrange(1, 250)}"
        self.bridge_ns = f"agbr{tag}"
        self.ns = {"a": f"aga{tag}", "b": f"agb{tag}"}
        self.host_if = f"agh{tag}"
        self.addr = {"h": f"{self.prefix}.1", "a": f"{self.prefix}.2", "b": f"{self.prefix}.3"}

    def port(self, side: str) -> str:
        return f"ag{side}{self.tag}p"

    def create(self) -> None:
        br = self.bridge_ns
        _ip("netns", "add", br)
        _ip("-n", br, "link", "add", "br0", "type", "bridge")
        _ip("-n", br, "link", "set", "br0", "up")
        _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.port("h"))
        _ip("link", "set", self.port("h"), "netns", br)
        _ip("-n", br, "link", "set", self.port("h"), "master", "br0", "up")
        _ip("addr", "add", f"{self.addr['h']}/24", "dev", self.host_if)
        _ip("link", "set", self.host_if, "up")
        for side, ns in self.ns.items():
            inner = f"ag{side}{self.tag}"
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("link", "add", inner, "type", "veth", "peer", "name", self.port(side))
            _ip("link", "set", inner, "netns", ns)
            _ip("link", "set", self.port(side), "netns", br)
            _ip("-n", br, "link", "set", self.port(side), "master", "br0", "up")
            _ip("-n", ns, "addr", "add", f"{self.addr[side]}/24", "dev", inner)
            _ip("-n", ns, "link", "set", inner, "up")

    def cut(self, side: str) -> None:
        _ip("-n", self.bridge_ns, "link", "set", self.port(side), "down")

    def heal(self, side: str) -> None:
        _ip("-n", self.bridge_ns, "link", "set", self.port(side), "up")

    def destroy(self) -> None:
        for ns in (*self.ns.values(), self.bridge_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, check=False)


@pytest.fixture(scope="module")
def split_net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Devnet, Topology]]:
    if not _netns_usable():
        pytest.skip("needs root and ip netns (the SIGSTOP partition test covers the rest)")
    topo = Topology()
    root = tmp_path_factory.mktemp("netns") / "net"
    net: Devnet | None = None
    mp = pytest.MonkeyPatch()
    try:
        topo.create()
        sides = ["h", "h", "a", "b"]
        layout = create_layout(root, validators=VALIDATORS, base_port=free_base_port(VALIDATORS),
                               consensus=FAST_CONSENSUS, listen_host="0.0.0.0",
                               peer_hosts=[topo.addr[s] for s in sides])
        net = Devnet(layout)
        _live.append(net)
        ns_of = {str(Path(spec.home).resolve()): topo.ns[s]
                 for spec, s in zip(layout.nodes, sides, strict=True) if s != "h"}
        plain = processes.node_command

        def in_namespace(home: Path) -> list[str]:
            ns = ns_of.get(str(home.resolve()))
            return plain(home) if ns is None else ["ip", "netns", "exec", ns, *plain(home)]

        mp.setattr(processes, "node_command", in_namespace)
        for spec, side in zip(layout.nodes, sides, strict=True):
            net.urls[spec.name] = f"http://{topo.addr[side] if side != 'h' else '127.0.0.1'}:" \
                                  f"{spec.rpc_port}"
            processes.spawn_node(spec.name, Path(spec.home))
        net.wait_synced(timeout_s=30)
        yield net, topo
    finally:
        mp.undo()
        if net is not None:
            net.stop_all()
            _live.remove(net)
        topo.destroy()


def test_link_cut_minority_catches_up_after_heal(split_net: tuple[Devnet, Topology]) -> None:
    net, topo = split_net
    majority = ["v0", "v1", "v2"]
    topo.cut("b")
    try:
        cut = max(net.heights(majority).values())
        net.wait_heights(majority, cut + 10, 20, "the three to go on without v3")
        time.sleep(1.0)  # v3 times out alone and starts view changes nobody answers
    finally:
        topo.heal("b")
    target = max(net.heights(majority).values())
    healed = time.monotonic()
    net.wait(lambda: net.height("v3") >= target, 30, "v3 to catch up after the link returns")
    TIMINGS[f"netns 1-3 split: minority catch-up after heal ({target - cut} blocks)"] = (
        time.monotonic() - healed)
    net.wait_synced()
    net.assert_no_fork()


def test_two_two_split_halts_without_fork_and_resumes(split_net: tuple[Devnet, Topology]) -> None:
    net, topo = split_net
    net.wait_synced()
    topo.cut("h")
    try:
        time.sleep(1.0)
        halted = net.heights(["v0", "v1"])
        time.sleep(4.0)  # both halves time out and try view changes without a quorum
        assert net.heights(["v0", "v1"]) == halted, "a half without quorum made blocks"
        net.assert_no_fork(["v0", "v1"])
    finally:
        topo.heal("h")
    healed = time.monotonic()
    top = max(halted.values())
    net.wait_heights(net.names, top + 2, 30, "the chain to resume after the split heals")
    TIMINGS["netns 2-2 split: heal -> blocks again on all four"] = time.monotonic() - healed
    net.wait_synced()
    net.assert_no_fork()
