"""The validator set changed by vote on a real devnet (`agora devnet add-validator`,
`remove-validator`, `rotate-key`): real node processes, each on its own devnet (the shared
fault devnet keeps its four validators).

One test (about 20 s) runs the real `agora devnet` commands: bad input first (one line
each), then 4 -> add a fifth -> remove an original -> rotate a key with transfers flowing
all the time, and checks that the chain never stalls longer than a view change, every node
agrees on every block, certificates after the removal carry no signature of the removed
key, and a node wiped and re-synced from genesis ends at the same state root.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from client.keyring import Keyring
from client.rpc import RpcClient
from client.wallet import AsyncWallet
from commerce.address import from_text
from commerce.transfer import Transfer
from consensus.messages import decode_certificate, verify_certificate
from devnet.layout import load_layout
from devnet.processes import process_state
from tests.devnet.conftest import agora, one_error_line
from tests.devnet_faults.conftest import (
    FAST_CONSENSUS,
    TIMINGS,
    Devnet,
    _live,
    call_answered,
    make_devnet,
    run,
)

pytestmark = pytest.mark.e2e

GENESIS = {"governance_activation_blocks": 2, "governance_expiry_blocks": 200}
# The longest a block may take with a view change on the way: the view-change timer at its
# cap plus the suspicion timeout, with room for a loaded 2-core machine.
MAX_GAP_S = (FAST_CONSENSUS["view_change_timeout_max_ms"]
             + FAST_CONSENSUS["view_change_timeout_ms"]) / 1000 + 3.0


def _own_devnet(root: Path) -> Iterator[Devnet]:
    net = make_devnet(root, genesis_params=GENESIS)
    try:
        yield net
    finally:
        layout = load_layout(root)
        known = {h.resolve() for h in net.extra_homes}
        net.extra_homes += [Path(s.home) for s in layout.nodes
                            if s.name not in net.names and Path(s.home).resolve() not in known]
        net.stop_all()
        if net in _live:
            _live.remove(net)


def _follow(net: Devnet) -> None:
    """Take up the nodes devnet.json names now (added ones are stopped with the devnet)."""
    net.layout = load_layout(net.root)
    current = {spec.name for spec in net.layout.nodes}
    for name in [n for n in net.names if n not in current]:  # removed: kept for cleanup
        net.extra_homes.append(net.root / "nodes" / name)
        net.names.remove(name)
    for spec in net.layout.nodes:
        net.urls[spec.name] = spec.rpc_url
        if spec.name not in net.names:
            net.names.append(spec.name)
            net.extra_homes.append(Path(spec.home))


def _signers(net: Devnet, name: str, height: int) -> set[str]:
    """The keys (hex) that signed the certificate node `name` stores for `height`."""
    block = run(call_answered(net.urls[name], "chain_getBlock", height=height,
                              full_txs=False))
    validators = run(call_answered(net.urls[name], "chain_getValidators", height=height))
    keys = [str(v["public_key"]) for v in validators]
    cert = decode_certificate(bytes.fromhex(block["certificate"]))
    return {keys[index] for index, _ in cert.signatures}


def _agora_json(net: Devnet, *args: str) -> dict[str, Any]:
    result = agora("devnet", *args, "--home", str(net.root), "--output", "json",
                   timeout_s=150)
    answer: dict[str, Any] = json.loads(result.stdout)
    _follow(net)
    return answer


def _bad_input(net: Devnet) -> None:
    """Bad input gets one clear line and changes nothing."""
    home = str(net.root)
    bad = one_error_line(agora("devnet", "add-validator", "--name", "v0", "--home", home,
                               code=1))
    assert "taken" in bad, bad
    bad = one_error_line(agora("devnet", "add-validator", "--name", "a b", "--home", home,
                               code=1))
    assert "letters, digits" in bad, bad
    bad = one_error_line(agora("devnet", "remove-validator", "nobody", "--home", home, code=1))
    assert "nobody" in bad, bad
    bad = one_error_line(agora("devnet", "remove-validator", "v1", "--home", home, code=1))
    assert "below 4" in bad, bad
    bad = one_error_line(agora("devnet", "rotate-key", "nobody", "--home", home, code=1))
    assert "nobody" in bad, bad
    assert [s.name for s in load_layout(net.root).nodes] == ["v0", "v1", "v2", "v3"]


class _Traffic:
    """Transfers alice -> bob, one after another, each waiting for finality, until stopped."""

    def __init__(self, net: Devnet) -> None:
        self.net = net
        self.sent = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        run(self._loop())

    async def _loop(self) -> None:
        keyring = Keyring(self.net.layout.keyring, "test")
        bob = from_text(keyring.show("bob").address)
        urls = [self.net.urls["v2"], self.net.urls["v3"]]
        turn = 0
        while not self._stop.is_set():
            url = urls[turn % len(urls)]
            turn += 1
            try:
                async with RpcClient(url, timeout_s=20) as rpc:
                    wallet = AsyncWallet(rpc, keyring.keypair("alice"),
                                         chain_id=self.net.layout.chain_id)
                    await wallet.submit(Transfer(to=bob, amount=1), timeout_ms=15_000)
                    self.sent += 1
            except Exception as exc:  # noqa: BLE001 - a refused transfer is recorded
                self.errors.append(repr(exc))
                time.sleep(0.2)


def _max_gap_s(net: Devnet, name: str, start: int, end: int) -> tuple[float, int]:
    """The longest time between consecutive block timestamps in start..end on `name`."""
    stamps = []
    for height in range(start, end + 1):
        block = run(call_answered(net.urls[name], "chain_getBlock", height=height,
                                  full_txs=False))
        stamps.append(int(block["header"]["timestamp_ms"]))
    pairs = zip(stamps[:-1], stamps[1:], strict=True)
    gaps = [(b - a, start + i + 1) for i, (a, b) in enumerate(pairs)]
    gap, at = max(gaps)
    return gap / 1000, at


@pytest.fixture
def gov_net(tmp_path: Path) -> Iterator[Devnet]:
    yield from _own_devnet(tmp_path / "gov")


def test_add_remove_rotate_with_traffic(gov_net: Devnet) -> None:
    net = gov_net
    _bad_input(net)
    start = max(net.heights().values())
    v0_key = net.layout.node("v0").public_key
    v1_key = net.layout.node("v1").public_key
    with _Traffic(net) as traffic:
        added = _agora_json(net, "add-validator")
        assert added["name"] == "v4" and added["public_key"] in _signers(
            net, "v4", added["first_signed_height"])
        assert added["first_signed_height"] >= added["activation_height"] > \
            added["passed_height"]
        removed = _agora_json(net, "remove-validator", "v0")
        assert not process_state("v0", net.root / "nodes" / "v0").alive
        rotated = _agora_json(net, "rotate-key", "v1")
        assert rotated["public_key"] != v1_key
        assert rotated["public_key"] in _signers(net, "v1", rotated["first_signed_height"])
        net.wait_heights(["v1", "v2", "v3", "v4"], rotated["first_signed_height"] + 3, 30)
    assert traffic.sent >= 10, (traffic.sent, traffic.errors[-3:])
    live = ["v1", "v2", "v3", "v4"]
    end = net.wait_synced(live)
    common = net.assert_no_fork(live)
    gap, at = _max_gap_s(net, "v2", max(1, start), common)
    TIMINGS["reconfiguration: longest gap between blocks (s)"] = gap
    assert gap <= MAX_GAP_S, f"the chain stopped {gap} s before height {at}"
    TIMINGS["add-validator: passing vote to first signature (blocks, not s)"] = \
        added["blocks_to_first_vote"]
    TIMINGS["add-validator: passing vote to first signature"] = added["seconds_to_first_vote"]
    TIMINGS["rotate-key: passing vote to the new key's first signature"] = \
        rotated["seconds_to_first_vote"]
    # The removed key signs nothing from its removal on, and each certificate checks against
    # the set in force at its height (the removed node's votes do not count).
    chain_id = net.layout.chain_id.encode()
    for height in range(removed["activation_height"], end + 1):
        assert v0_key not in _signers(net, "v2", height), height
    for height in range(max(1, start), end + 1, 3):
        validators = run(call_answered(net.urls["v2"], "chain_getValidators", height=height))
        cert = run(call_answered(net.urls["v2"], "chain_getCertificate", height=height))
        verify_certificate(bytes.fromhex(cert["certificate"]), height,
                           bytes.fromhex(cert["block_hash"]),
                           [bytes.fromhex(v["public_key"]) for v in validators], chain_id)
    names = [v["name"] for v in run(call_answered(net.urls["v2"], "chain_getValidators"))]
    assert names == ["v1", "v2", "v3", "v4"], names
    # A node wiped and re-synced from genesis follows every change to the same state root.
    net.stop("v3")
    shutil.rmtree(net.home("v3") / "data")
    (net.home("v3") / "data").mkdir()
    net.start("v3")
    target = max(net.heights(["v2", "v4"]).values())
    net.wait(lambda: net.height("v3") >= target, 90, f"v3 to re-sync to {target}")
    blocks = {n: run(call_answered(net.urls[n], "chain_getBlock", height=target,
                                   full_txs=False)) for n in ["v2", "v3", "v4"]}
    roots = {n: block["header"]["state_root"] for n, block in blocks.items()}
    assert len(set(roots.values())) == 1, roots
