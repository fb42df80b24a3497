"""The whole shop through the real `agora` CLI on a real 4-validator devnet.

Method: `agora devnet up --detach` in a temporary directory on a free port range (approved
merchants acme and bazaar, shoppers alice, bob and carol in a test keyring), then every step
is a separate `agora tx ...` or `agora query ...` process with `--output json`, as a user's
script would run them; the JSON is checked against the amounts the story implies. Errors are
checked as a user sees them: one line on stderr, exit code 1, no traceback. Teardown runs
`agora devnet down` and kills any node process the devnet reported that is still alive.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.cli_e2e.conftest import AGORA, COMMAND_TIMEOUT_S, free_base_port, running_devnet

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
UNIT = 1_000_000


class Cli:
    """Runs `agora` against one devnet node with its test keyring."""

    def __init__(self, home: Path, node: str, accounts: dict[str, str]) -> None:
        self.home = home
        self.node = node
        self.address = accounts  # key name -> agora1... as `devnet up` reported them
        self.keyring = ["--keyring-backend", "test", "--keyring-dir", str(home / "keyring")]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
        return subprocess.run([AGORA, *args], capture_output=True, text=True, cwd=ROOT,
                              env=env, timeout=COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL)

    def ok(self, *args: str) -> Any:
        done = self.run(*args, "--output", "json")
        assert done.returncode == 0, f"agora {' '.join(args)} failed: {done.stderr}"
        return json.loads(done.stdout)

    def tx(self, kind: str, sender: str, *args: str) -> Any:
        result = self.ok("tx", kind, "--from", sender, *args, *self.keyring, "--node", self.node)
        assert result["status"] == "finalized", result
        return result

    def query(self, thing: str, *args: str, keys: bool = False) -> Any:
        return self.ok("query", thing, *args, "--node", self.node,
                       *(self.keyring if keys else []))

    def fails(self, *args: str) -> str:
        """Run a command that must fail; its one stderr line."""
        done = self.run(*args)
        assert done.returncode == 1, f"exit {done.returncode}: {done.stdout} {done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr
        assert done.stdout == "", done.stdout
        lines = done.stderr.strip().splitlines()
        errors = [line for line in lines if line.startswith("error: ")]
        assert len(errors) == 1, f"not one error line: {done.stderr!r}"
        return errors[0]


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    with running_devnet(tmp_path_factory.mktemp("cli-e2e"), validators=4) as started:
        yield Cli(started.devnet, started.node, started.accounts)


def parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run independent CLI calls at once (separate processes); their results in order."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_shop_story_through_the_cli_adds_up(cli: Cli) -> None:
    address = cli.address
    assert cli.ok("keys", "show", "alice", *cli.keyring)["address"] == address["alice"]
    bob_before, alice_before = (int(a["balance"]) for a in parallel(
        partial(cli.query, "account", "bob", keys=True),
        partial(cli.query, "account", address["alice"])))

    # Each sender's transactions run in order; different senders' run at once.
    created = cli.tx("listing-create", "acme", "--title", "Hand-thrown mug", "--price", "12.5",
                     "--stock", "10", "--category", "kitchen", "--referral-bps", "1000")
    listing = created["listing"]
    shared = cli.tx("share", "alice", "--listing", str(listing))
    share = shared["share"]
    assert shared["referral_link"] == f"agora://listing/{listing}?share={share}"
    bought = cli.tx("purchase", "bob", "--listing", str(listing), "--quantity", "2",
                    "--share", str(share), "--delivery", "Bob, 1 Main St, Springfield")
    order = bought["order"]
    assert cli.query("order", str(order))["status"] == "paid"
    cli.tx("order-ship", "acme", "--order", str(order))
    cli.tx("order-confirm", "bob", "--order", str(order))
    cli.tx("review", "bob", "--order", str(order), "--rating", "5", "--text", "Lovely glaze")
    _, _, commented, _ = parallel(
        partial(cli.tx, "review-reply", "acme", "--order", str(order), "--text", "Thank you!"),
        partial(cli.tx, "reward-claim", "bob"),
        partial(cli.tx, "comment", "alice", "--listing", str(listing), "--text", "Blue too?"),
        partial(cli.tx, "transfer", "carol", "--to", "alice", "--amount", "2.5",
                "--memo", "thanks"))
    polled = cli.tx("poll-create", "acme", "--question", "Next glaze?", "--option", "blue",
                    "--option", "green", "--close-in", "500")
    poll = polled["poll"]
    parallel(partial(cli.tx, "poll-vote", "bob", "--poll", str(poll), "--option", "1"),
             partial(cli.tx, "poll-vote", "carol", "--poll", str(poll), "--option", "1"))

    (placed, share_row, review, reviews, rewards, tallied, polls, comments, comment, bob,
     alice, listed, listings, versions, orders, merchant, merchants, transaction, block,
     certificate, validators, chain_params, status, peers, supply) = parallel(
        partial(cli.query, "order", str(order)),
        partial(cli.query, "share", str(share)),
        partial(cli.query, "review", str(order)),
        partial(cli.query, "reviews", str(listing)),
        partial(cli.query, "rewards", "bob", keys=True),
        partial(cli.query, "poll", str(poll)),
        partial(cli.query, "polls"),
        partial(cli.query, "comments", str(listing)),
        partial(cli.query, "comment", str(commented["comment"])),
        partial(cli.query, "account", "bob", keys=True),
        partial(cli.query, "account", address["alice"]),
        partial(cli.query, "listing", str(listing)),
        partial(cli.query, "listings", "--merchant", "acme", keys=True),
        partial(cli.query, "listing-versions", str(listing)),
        partial(cli.query, "orders", "--buyer", "bob", keys=True),
        partial(cli.query, "merchant", "acme", keys=True),
        partial(cli.query, "merchants"),
        partial(cli.query, "tx", bought["id"]),
        partial(cli.query, "block", str(bought["height"])),
        partial(cli.query, "certificate", str(bought["height"])),
        partial(cli.query, "validators"),
        partial(cli.query, "params"),
        partial(cli.query, "status"),
        partial(cli.query, "peers"),
        partial(cli.query, "supply"))

    assert placed["status"] == "completed"
    assert placed["total"] == 25 * UNIT and placed["total_decimal"] == "25"
    assert placed["commission"] == 25 * UNIT // 10 and placed["commission_decimal"] == "2.5"
    assert placed["delivery"] and "Springfield" not in json.dumps(placed)  # sealed
    assert share_row["commission_earned_decimal"] == "2.5"
    assert (review["rating"], review["text"], review["reply"]) == (5, "Lovely glaze",
                                                                   "Thank you!")
    assert [r["order"] for r in reviews["items"]] == [order]
    assert rewards["accrued"] == 0 and rewards["claimed_decimal"] == "1.5"  # purchase + review
    assert tallied["tallies"] == [0, 2] and tallied["voters"] == 2
    assert poll in [p["id"] for p in polls["items"]]
    assert [c["text"] for c in comments["items"]] == ["Blue too?"]
    assert comment["author"] == address["alice"]

    assert int(bob["balance"]) == bob_before - 25 * UNIT + 1_500_000
    assert bob["balance_decimal"] == _decimal(bob_before - 25 * UNIT + 1_500_000)
    assert int(alice["balance"]) == alice_before + 2_500_000 + 2_500_000  # commission + gift
    assert listed["stock"] == 8 and listed["price_decimal"] == "12.5"
    assert listing in [i["id"] for i in listings["items"]]
    assert [v["version"] for v in versions["items"]] == [1]
    assert order in [o["id"] for o in orders["items"]]
    assert merchant["status"] == "approved" and merchant["orders_completed"] >= 1
    assert {"acme", "bazaar"} <= {m["name"] for m in merchants["items"]}

    assert transaction["status"] == "finalized" and transaction["height"] == bought["height"]
    assert bought["id"] in [t["id"] for t in block["txs"]]
    assert certificate["certificate"]
    assert len(validators) == 4
    assert chain_params["height"] >= bought["height"] and chain_params["since_height"] == 1
    assert chain_params["params"]["max_block_txs"] >= 1
    assert chain_params["params"]["account_reserve_minor_decimal"]
    assert status["height"] >= bought["height"]
    assert len(peers) == 3
    assert supply["total"] == supply["genesis"] + supply["minted"]


def _decimal(minor: int) -> str:
    whole, fraction = divmod(minor, UNIT)
    return f"{whole}.{fraction:06d}".rstrip("0").rstrip(".") if fraction else str(whole)


def test_cli_bad_address_is_one_line_exit_1(cli: Cli) -> None:
    line = cli.fails("tx", "transfer", "--from", "alice", "--to",
                     "agora1cmu2x4xlkzcvlxcq3qefl3jlsxz446gtlnxs5x", "--amount", "1",
                     *cli.keyring, "--node", cli.node)
    assert line.startswith("error: bad_address: "), line
    line = cli.fails("query", "account", "agora1notanaddress", "--node", cli.node)
    assert line.startswith("error: bad_address: "), line


def test_cli_unknown_key_name_is_key_not_found(cli: Cli) -> None:
    line = cli.fails("tx", "transfer", "--from", "nobody", "--to", "bob", "--amount", "1",
                     *cli.keyring, "--node", cli.node)
    assert line.startswith("error: key_not_found: "), line
    assert "nobody" in line


def test_cli_purchase_of_delisted_listing_is_listing_inactive(cli: Cli) -> None:
    created = cli.tx("listing-create", "bazaar", "--title", "Old lamp", "--price", "3",
                     "--stock", "1")
    listing = str(created["listing"])
    cli.tx("listing-delist", "bazaar", "--listing", listing)
    assert cli.query("listing", listing)["active"] is False
    line = cli.fails("tx", "purchase", "--from", "carol", "--listing", listing,
                     *cli.keyring, "--node", cli.node)
    assert line.startswith("error: listing_inactive: "), line


def test_cli_unreachable_node_is_one_line(cli: Cli) -> None:
    line = cli.fails("query", "status", "--node", f"http://127.0.0.1:{free_base_port(1)}")
    assert line.startswith("error: node_unreachable: "), line


def test_listing_picture_uploaded_to_one_node_is_served_by_every_node(
        cli: Cli, tmp_path: Path) -> None:
    """Issue 23 item 5: acme uploads a picture to v0 (`agora media upload`), a new listing
    version names it (`agora tx listing-media`), and every validator then serves the same
    bytes at GET /blobs/<sha256> (fetched from its peers over P2P), with the checked type
    and immutable cache headers; `agora media get` from another node saves the same bytes."""
    import time
    import urllib.request

    from devnet.layout import load_layout
    from tests.node.blob_images import png

    picture = png(32, 24, seed=99)
    path = tmp_path / "mug.png"
    path.write_bytes(picture)
    line = cli.fails("media", "upload", str(path), "--from", "alice", *cli.keyring,
                     "--node", cli.node)
    assert line.startswith("error: blob_not_merchant: "), line
    uploaded = cli.ok("media", "upload", str(path), "--from", "acme", *cli.keyring,
                      "--node", cli.node)
    sha = uploaded[0]["sha256"]
    assert uploaded[0]["content_type"] == "image/png"
    listing = str(cli.tx("listing-create", "acme", "--title", "Pictured mug", "--price", "5",
                         "--stock", "3")["listing"])
    set_media = cli.tx("listing-media", "acme", "--listing", listing, "--media", sha)
    assert [e["kind"] for e in set_media["events"]] == ["listing_media_set"]
    nodes = [{"name": spec.name, "rpc": spec.rpc_url} for spec in load_layout(cli.home).nodes]
    assert len(nodes) == 4
    for node in nodes:
        url = f"{node['rpc'].rstrip('/')}/blobs/{sha}"
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    body, headers = response.read(), response.headers
                break
            except OSError:  # 404 until the node has finalized the version
                assert time.monotonic() < deadline, f"{node['name']} never served {sha}"
                time.sleep(0.2)
        assert body == picture, node["name"]
        assert headers["Content-Type"] == "image/png"
        assert "immutable" in headers["Cache-Control"]
        assert headers["ETag"] == f'"{sha}"'
    other = nodes[-1]["rpc"]
    shown = cli.ok("media", "show", listing, "--node", other)
    assert [(m["sha256"], m["stored"]) for m in shown["media"]] == [(sha, True)]
    saved = cli.ok("media", "get", sha, "--out", str(tmp_path / "copy.png"), "--node", other)
    assert saved["bytes"] == len(picture)
    assert (tmp_path / "copy.png").read_bytes() == picture
