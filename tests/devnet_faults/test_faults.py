"""Fault tests on one real 4-validator devnet (processes, LevelDB, P2P on loopback).

The devnet (package fixture `net`, fast consensus timers) is shared: each test breaks it in
one way, checks what must hold, and leaves it healthy (all four nodes running and in sync)
for the next. Order in this file: the shop story first (the balances it checks assume a
fresh chain), then the faults. Observed times go to `TIMINGS` and the terminal summary.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from client.keyring import Keyring
from client.rpc import RpcCallError, RpcClient, RpcClientError
from commerce.address import address_of, from_text, to_text
from commerce.keys import Keypair
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from devnet.processes import is_node_process, log_path, spawn_node
from node.config import parse_config, write_config
from node.home import NodeHome, write_node_key
from tests.devnet.conftest import agora, free_base_port
from tests.devnet_faults.conftest import (
    TIMINGS,
    Devnet,
    call,
    call_answered,
    run,
    run_all,
    spawn_home,
)

pytestmark = pytest.mark.e2e

UNIT = 1_000_000


def _accounts(net: Devnet) -> dict[str, dict[str, str]]:
    return {a["name"]: a for a in net.layout.accounts}


# --- a. the shop story, checked on every node --------------------------------------------


def test_shop_story_checked_on_every_node(net: Devnet) -> None:
    result = agora("devnet", "demo", "--home", str(net.root), "--output", "json")
    story = json.loads(result.stdout)
    assert story["check"]["ok"], story["check"]
    assert [s["type"] for s in story["steps"]] == [
        "listing_create", "listing_create", "share", "purchase", "order_ship",
        "order_confirm", "review", "review_reply", "reward_claim",
        "poll_create", "poll_vote", "poll_vote",
        # Group buying and a coupon (issue 23, devnet/demo_teams.py): a team of two filled
        # through alice's link, both orders shipped and confirmed, a team left unfilled
        # (refunded at its deadline by the end-of-block step, not a transaction), then a
        # coupon bought, shipped and confirmed, and its campaign closed.
        "team_offer_set", "team_open", "team_join", "order_ship", "order_ship",
        "order_confirm", "order_confirm", "team_open", "campaign_create",
        "coupon_purchase", "order_ship", "order_confirm", "campaign_close"]
    assert story["delivery_opened"].startswith("Bob Builder")
    net.wait_synced()
    last = max(s["height"] for s in story["steps"])
    net.wait_heights(net.names, last, 10)
    accounts = _accounts(net)
    before = {b["name"]: b["before"] for b in story["balances"]}
    after = {b["name"]: b["after"] for b in story["balances"]}
    total, commission = story["total_paid"], story["commission"]
    assert total == 120 * UNIT and commission == total * 1_000 // 10_000
    # Alice has no completed purchase of her own, so her share earns no reward (issue 19).
    purchase_reward, review_reward = UNIT, UNIT // 2
    # The group-buying chapter (devnet/demo_teams.py) on the same one-unit listing: bob and
    # carol each pay the team price (5/6 of it), carol through alice's link (alice earns
    # the commission); carol's unfilled team is refunded in full; bob buys one more with a
    # coupon: he pays the price less the discount, acme gets the full price from escrow and
    # its closed campaign gives back all of its budget but the discount.
    team_price, discount = total * 5 // 6, story["teams"]["discount"]
    team_commission = team_price * 1_000 // 10_000
    expected = {
        "alice": before["alice"] + commission + team_commission,
        "bob": before["bob"] - total + purchase_reward + review_reward - team_price
        - (total - discount),
        "carol": before["carol"] - team_price,
        "acme": before["acme"] + total - commission + 2 * team_price - team_commission
        + total - discount,
    }
    assert after == expected
    genesis_total = sum(int(a["balance"]) * UNIT for a in net.layout.accounts)

    async def read(url: str) -> dict[str, Any]:
        async with RpcClient(url, timeout_s=5) as c:
            out: dict[str, Any] = {
                name: (await c.call("state_getAccount", address=accounts[name]["address"]))
                for name in accounts}
            out["_supply"] = await c.call("state_getSupply")
            out["_order"] = await c.call("state_getOrder", id=story["order"])
            out["_review"] = await c.call("state_getReview", order=story["order"])
            out["_share"] = await c.call("state_getShare", id=story["share"])
            out["_poll"] = await c.call("state_getPoll", id=story["poll"])
            out["_merchant"] = await c.call("state_getMerchant",
                                            address=accounts["acme"]["address"])
            for name in ("alice", "bob", "carol"):
                out[f"_rewards_{name}"] = await c.call("state_getRewards",
                                                       address=accounts[name]["address"])
            return out

    views = run_all(read(net.urls[n]) for n in net.names)
    for name, view in zip(net.names, views, strict=True):
        where = f"on {name}"
        for account, balance in expected.items():
            assert view[account]["balance"] == balance, (where, account)
        supply = view["_supply"]
        assert supply["escrow"] == 0, where  # every order of the story is closed
        assert supply["minted"] == story["check"]["minted"] == UNIT + UNIT // 2, where
        assert supply["genesis"] == genesis_total, where
        assert supply["total"] == supply["genesis"] + supply["minted"], where
        # Nothing else moved tokens: the accounts of the genesis hold the whole supply.
        assert sum(view[a]["balance"] for a in accounts) == supply["total"], where
        order = view["_order"]
        assert order["status"] == "completed" and order["commission"] == commission, where
        assert order["buyer"] == accounts["bob"]["address"], where
        assert order["sharer"] == accounts["alice"]["address"], where
        review = view["_review"]
        assert review["author"] == accounts["bob"]["address"] and review["rating"] == 5, where
        assert review["reply"], where
        share = view["_share"]
        assert share["sharer"] == accounts["alice"]["address"], where
        # Alice's share also brought carol's team order (the group-buying chapter).
        assert share["commission_earned"] == commission + team_commission
        assert share["orders_completed"] == 2
        assert view["_rewards_bob"]["claimed"] == purchase_reward + review_reward, where
        # His team order and coupon order completed after his claim (issue 23 chapter).
        assert view["_rewards_bob"]["accrued"] == 2 * purchase_reward, where
        assert view["_rewards_alice"]["claimed"] == 0, where
        assert view["_rewards_carol"]["claimed"] == 0, where
        assert view["_poll"]["tallies"] == [1, 0, 1], where
        # The shop story's order, the two team orders and the coupon order.
        assert view["_merchant"]["orders_completed"] == 4, where
        assert view["_merchant"]["rating"]["count"] == 1, where
    assert all(v == views[0] for v in views), "the nodes answer differently"


# --- c. a backup killed and restarted after the others moved on --------------------------


def test_backup_sigkill_restart_catches_up(net: Devnet) -> None:
    net.wait_synced()
    primary = net.primary()
    backup = next(n for n in reversed(net.names) if n != primary)
    others = [n for n in net.names if n != backup]
    net.kill(backup, signal.SIGKILL)
    killed_at = max(net.heights(others).values())
    net.wait_heights(others, killed_at + 15, 20, "the other three to move on")
    net.start(backup)
    target, took = net.catch_up(backup, others)
    TIMINGS[f"backup catch-up ({target - killed_at} blocks behind)"] = took


# --- b. the primary killed while transactions flow ---------------------------------------


class Submitter(threading.Thread):
    """Sends transfers of 1 base unit to alice from one key to one node, without waiting;
    records the ids the node admitted (ok) and the refusals."""

    def __init__(self, net: Devnet, sender: str, node: str) -> None:
        super().__init__(daemon=True)
        self.net, self.node = net, node
        self.key = Keyring(net.layout.keyring, "test").keypair(sender)
        self.to = from_text(_accounts(net)["alice"]["address"])
        self.admitted: list[str] = []
        self.refused: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        url = self.net.urls[self.node]
        address = to_text(address_of(self.key.public_key))
        async with RpcClient(url, timeout_s=5) as client:
            nonce = int((await client.call("state_getAccount", address=address))["pending_nonce"])
            while not self.stop.is_set():
                tx = sign_tx(self.key, self.net.layout.chain_id, nonce,
                             Transfer(to=self.to, amount=1, memo=f"flow {nonce}"))
                try:
                    await client.call("tx_submit", tx=tx.raw.hex())
                except RpcCallError as exc:
                    self.refused.append(exc.reason)
                except RpcClientError as exc:
                    self.refused.append(f"transport: {exc}")
                else:
                    self.admitted.append(tx.tx_id.hex())
                    nonce += 1
                await asyncio.sleep(0.03)


def test_primary_sigkill_view_change_and_no_admitted_tx_lost(net: Devnet) -> None:
    net.wait_synced()
    before = net.status(net.names[0])
    assert before is not None
    view0, changes0 = int(before["view"]), int(before["view_changes"])
    primary = net.primary()
    survivors = [n for n in net.names if n != primary]
    # Each sender talks to one surviving node (the primary's own mempool dies with it).
    submitters = [Submitter(net, sender, node)
                  for sender, node in zip(("carol", "bazaar"), survivors[:2], strict=True)]
    for s in submitters:
        s.start()
    try:
        time.sleep(1.0)
        height_at_kill = max(net.heights(survivors).values())
        net.kill(primary, signal.SIGKILL)
        killed = time.monotonic()
        seen: dict[str, float] = {}

        def progressed() -> bool:
            statuses = net.statuses(survivors)
            live = [s for s in statuses.values() if s is not None]
            now = time.monotonic() - killed
            if "view" not in seen and any(int(s["view"]) > view0 for s in live):
                seen["view"] = now
                seen["height_at_view"] = max(int(s["height"]) for s in live)
            return "view" in seen and any(
                int(s["height"]) > max(seen["height_at_view"], height_at_kill) for s in live)

        net.wait(progressed, 10, "a view change and a new block within 10 s", interval_s=0.05)
        TIMINGS["view change (primary SIGKILL -> new view seen)"] = seen["view"]
        TIMINGS["primary SIGKILL -> next block in the new view"] = time.monotonic() - killed
        time.sleep(1.5)  # transactions keep flowing in the new view
    finally:
        for s in submitters:
            s.stop.set()
        for s in submitters:
            s.join(10)
    after = net.statuses(survivors)
    for name, status in after.items():
        assert status is not None, name
        assert int(status["view"]) > view0 and int(status["view_changes"]) > changes0, status
    admitted = [tx for s in submitters for tx in s.admitted]
    assert len(admitted) > 20, [s.refused[:5] for s in submitters]

    def all_finalized() -> bool:
        async def check(url: str) -> bool:
            async with RpcClient(url, timeout_s=5) as c:
                for tx in admitted:
                    try:
                        found = await c.call("chain_getTransaction", id=tx)
                    except RpcClientError:
                        return False
                    if found["status"] != "finalized":
                        return False
            return True
        return all(run_all(check(net.urls[n]) for n in survivors))

    net.wait(all_finalized, 20, f"all {len(admitted)} admitted transactions finalized",
             interval_s=0.5)
    net.start(primary)
    net.wait_synced()
    net.assert_no_fork()


# --- d. more than f validators stopped: halt without fork, resume -------------------------


def test_two_of_four_stopped_halts_without_fork_and_resumes(net: Devnet) -> None:
    net.wait_synced()
    down = net.names[1:3]
    survivors = [n for n in net.names if n not in down]
    for name in down:
        net.kill(name, signal.SIGKILL)
    # Events, not sleeps: once every survivor has started a view change (a block in flight
    # has landed by then) the heights are taken; each survivor then starts another view
    # change (timed out again: another chance to make a block) and the heights stay put.
    def views() -> dict[str, int]:
        return {n: (-1 if s is None else int(s["view_changes"]))
                for n, s in net.statuses(survivors).items()}

    start = views()
    net.wait(lambda: all(v > start[n] for n, v in views().items()), 30,
             "every survivor to try a view change")
    halted = net.heights(survivors)
    tried = views()
    net.wait(lambda: all(v > tried[n] for n, v in views().items()), 30,
             "every survivor to try another view change")
    assert net.heights(survivors) == halted, "the chain moved on with 2 of 4 validators"
    assert min(halted.values()) >= 1
    net.assert_no_fork(survivors)
    top = max(halted.values())
    net.start(down[0])
    restarted = time.monotonic()
    three = [*survivors, down[0]]
    net.wait_heights(three, top + 2, 30, "the chain to resume with 3 of 4")
    TIMINGS["halt -> blocks again after a 3rd validator returned"] = time.monotonic() - restarted
    net.start(down[1])
    net.wait_synced()
    net.assert_no_fork()


# --- e. a wiped data directory re-syncs, verifying certificates ---------------------------


def test_wiped_data_dir_resyncs_verifying_certificates(net: Devnet) -> None:
    net.wait_synced()
    victim = next(n for n in reversed(net.names) if n != net.primary())
    net.stop(victim)
    data = net.home(victim) / "data"
    shutil.rmtree(data)
    data.mkdir()
    others = [n for n in net.names if n != victim]
    target = max(net.heights(others).values())
    # The clock starts before the process does: `net.start` returns once RPC answers, and
    # by then a short chain may already be synced.
    started = time.monotonic()
    net.start(victim)
    rpc_up = time.monotonic() - started
    net.wait(lambda: net.height(victim) >= target, 60, f"{victim} to re-sync to {target}")
    TIMINGS[f"wiped node re-sync ({target} blocks), from start"] = time.monotonic() - started
    TIMINGS["wiped node start -> RPC answers"] = rpc_up
    net.wait_synced()
    common = net.assert_no_fork()
    step = max(1, common // 100)
    net.verify_certificates(victim, list(range(1, common + 1, step)) + [common])


# --- f. a foreign key and a tampered genesis are refused ----------------------------------


def _peer_ids(net: Devnet, names: list[str]) -> dict[str, set[str]]:
    """Each node's peers; a node that does not answer fails the test (an empty answer
    would make "no outsider became a peer" pass vacuously)."""
    answers = run_all(call_answered(net.urls[n], "node_peers") for n in names)
    return {n: {p["id"] for p in a} for n, a in zip(names, answers, strict=True)}


def _intruder_home(net: Devnet, home: Path, key: Keypair, genesis_text: str) -> tuple[str, int]:
    """A home whose config dials every validator; (its RPC URL, its P2P port)."""
    base = free_base_port(1)
    home_obj = NodeHome(home)
    home_obj.config_dir.mkdir(parents=True)
    home_obj.data_dir.mkdir()
    peers = [f"{s.public_key}@127.0.0.1:{s.p2p_port}" for s in net.layout.nodes]
    config = parse_config({
        "node": {"moniker": home.name, "log_format": "text", "log_level": "info"},
        "p2p": {"listen": f"127.0.0.1:{base + 1}", "persistent_peers": peers},
        "rpc": {"listen": f"127.0.0.1:{base}"},
    }, source=str(home))
    write_config(home_obj.config_file, config)
    home_obj.genesis_file.write_text(genesis_text, encoding="utf-8")
    write_node_key(home_obj.node_key_file, key)
    return f"http://127.0.0.1:{base}", base + 1


def _tampered(genesis_text: str) -> str:
    document = json.loads(genesis_text)
    document["accounts"][0]["balance"] = str(int(document["accounts"][0]["balance"]) + 1) \
        if isinstance(document["accounts"][0]["balance"], str) \
        else document["accounts"][0]["balance"] + 1
    return json.dumps(document, indent=2) + "\n"


def _exited(pid: int, home: Path, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not is_node_process(pid, home):
            return True
        time.sleep(0.1)
    return False


def test_foreign_key_and_tampered_genesis_refused(net: Devnet, tmp_path: Path) -> None:
    net.wait_synced()
    genesis_text = (net.home("v0") / "config" / "genesis.json").read_text(encoding="utf-8")
    validators = list(net.names)
    known = {s.public_key for s in net.layout.nodes}

    # A node whose key is not in the genesis: the validators never take it as a peer.
    stranger = Keypair.generate()
    x_home = tmp_path / "stranger"
    x_url, _ = _intruder_home(net, x_home, stranger, genesis_text)
    spawn_home(net, x_home, "stranger")
    # Tampered genesis, same chain id, empty data dir: it starts, but nobody talks to it.
    t_home = tmp_path / "tampered"
    t_url, _ = _intruder_home(net, t_home, Keypair.generate(), _tampered(genesis_text))
    spawn_home(net, t_home, "tampered")
    # Both start (they answer RPC); then for 4 s nobody takes them as a peer.
    net.wait(lambda: all(run(call(url, "node_status")) is not None for url in (x_url, t_url)),
             30, "the stranger and the tampered node to answer RPC", interval_s=0.2)
    deadline = time.monotonic() + 4.0
    while time.monotonic() < deadline:
        for name, peers in _peer_ids(net, validators).items():
            assert peers <= known, f"{name} took an outsider as a peer: {peers - known}"
        for name, url in (("stranger", x_url), ("tampered", t_url)):
            status = run(call_answered(url, "node_status"))
            assert int(status["peers"]) == 0, (name, status)
        time.sleep(0.3)
    for name, peers in _peer_ids(net, validators).items():
        assert stranger.public_key.hex() not in peers, name

    # A validator whose genesis is tampered but whose data is the real chain's: it refuses
    # to start (wrong_chain_data).
    victim = validators[-1]
    genesis_file = net.home(victim) / "config" / "genesis.json"
    net.stop(victim)
    pid = 0
    try:
        genesis_file.write_text(_tampered(genesis_text), encoding="utf-8")
        mark = log_path(net.home(victim)).stat().st_size
        pid = spawn_node(victim, net.home(victim))
        assert _exited(pid, net.home(victim), 30), f"{victim} started on a tampered genesis"
        with log_path(net.home(victim)).open("rb") as handle:
            handle.seek(mark)
            tail = handle.read().decode("utf-8", "replace")
        assert "wrong_chain_data" in tail, tail[-2000:]
    finally:
        genesis_file.write_text(genesis_text, encoding="utf-8")
        if pid and is_node_process(pid, net.home(victim)):
            os.kill(pid, signal.SIGKILL)  # never leave a node we started behind
            _exited(pid, net.home(victim), 5)
    net.start(victim)
    net.wait_synced()
    net.assert_no_fork()


# --- g. a partition that heals (SIGSTOP: the node stops answering anyone) -----------------


def test_partitioned_node_sigstop_heals_and_catches_up(net: Devnet) -> None:
    net.wait_synced()
    isolated = next(n for n in reversed(net.names) if n != net.primary())
    others = [n for n in net.names if n != isolated]
    pid = net.pid(isolated)
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        cut = max(net.heights(others).values())
        net.wait_heights(others, cut + 10, 20, "the majority to go on without the minority")
    finally:
        os.kill(pid, signal.SIGCONT)
    target, took = net.catch_up(isolated, others)
    TIMINGS[f"SIGSTOP partition: minority catch-up ({target - cut} blocks)"] = took


@pytest.fixture(autouse=True)
def _leave_all_running(net: Devnet) -> Iterator[None]:
    """After each test, restart any validator a failed test left stopped (so one failure
    does not cascade into the next tests)."""
    yield
    for name in net.names:
        pid = net.pid(name)
        if pid is not None and net.alive(name):
            os.kill(pid, signal.SIGCONT)
        elif not net.alive(name):
            net.start(name)
