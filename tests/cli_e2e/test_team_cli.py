"""Group buying and a coupon through the real `agora` CLI on a running devnet.

Method: the package's one-validator devnet (tests/cli_e2e/conftest.py, shared with the
other CLI tests, so this adds seconds): the merchant acme lists an item and gives it a team
offer; bob opens a team and gets the team link; carol joins through the link with alice's
referral link, and alice joins: three CLI accounts fill the team, and every member's
payment becomes a paid order at the team price. Then carol buys with a coupon of acme's
campaign. Every step is a separate `agora` process with `--output json`.
"""

from __future__ import annotations

import pytest

from tests.cli_e2e.conftest import Shell

pytestmark = pytest.mark.e2e

UNIT = 1_000_000


def balance(shell: Shell, name: str) -> int:
    return int(shell.ok("query", "account", shell.accounts[name])["balance"])


def test_team_of_three_filled_from_three_cli_accounts(shell: Shell) -> None:
    listing = shell.tx("listing-create", "acme", "--title", "Team teapot", "--price", "12",
                       "--stock", "10", "--referral-bps", "1000")["listing"]
    shell.tx("team-offer-set", "acme", "--listing", str(listing), "--size", "3", "--price",
             "9", "--window", "500")
    shared = shell.tx("share", "alice", "--listing", str(listing))
    before = {name: balance(shell, name) for name in ("alice", "bob", "carol")}

    opened = shell.tx("team-open", "bob", "--listing", str(listing), "--delivery", "Bob's")
    team, link = opened["team"], opened["team_link"]
    assert link == f"agora://team/{team}"
    listed = shell.ok("query", "teams", "--listing", str(listing))["items"]
    assert [(t["id"], t["seats_left"]) for t in listed] == [(team, 2)]
    assert shell.ok("query", "listing", str(listing))["stock"] == 7  # 3 reserved

    joined = shell.tx("team-join", "carol", "--team", link, "--share", shared["referral_link"])
    assert joined["seats_left"] == 1
    filled = shell.tx("team-join", "alice", "--team", link)
    assert filled["seats_left"] == 0
    orders = [int(o) for o in filled["orders"].split()]
    assert len(orders) == 3

    found = shell.ok("query", "team", str(team))
    assert found["status"] == "filled" and found["orders"] == orders
    members = [m["address"] for m in found["members"]]
    assert members == [shell.accounts[n] for n in ("bob", "carol", "alice")]
    for order, name in zip(orders, ("bob", "carol", "alice"), strict=True):
        placed = shell.ok("query", "order", str(order))
        assert (placed["status"], placed["buyer"], placed["total"]) == (
            "paid", shell.accounts[name], 9 * UNIT)
    assert shell.ok("query", "order", str(orders[1]))["sharer"] == shell.accounts["alice"]
    after = {name: balance(shell, name) for name in ("alice", "bob", "carol")}
    assert all(before[n] - after[n] == 9 * UNIT for n in before), (before, after)
    assert shell.ok("query", "teams", "--listing", str(listing))["items"] == []
    assert team in [t["id"] for t in shell.ok("query", "teams", "--account",
                                              shell.accounts["carol"])["items"]]
    supply = shell.ok("query", "supply")
    assert supply["team_escrow"] == 0
    assert supply["total"] == supply["circulating"] + supply["escrow"] \
        + supply["team_escrow"] + supply["campaign_budget"]

    # A coupon at checkout: acme funds a campaign, carol pays 12 - 2.
    campaign = shell.tx("campaign-create", "acme", "--discount", "2", "--budget", "10",
                        "--blocks", "500", "--listing", str(listing))["campaign"]
    carol = balance(shell, "carol")
    bought = shell.tx("coupon-purchase", "carol", "--listing", str(listing), "--campaign",
                      str(campaign))
    assert (bought["total"], bought["discount"]) == (12 * UNIT, 2 * UNIT)
    assert balance(shell, "carol") == carol - 10 * UNIT
    assert shell.ok("query", "campaign", str(campaign))["budget"] == 8 * UNIT
    closed = shell.tx("campaign-close", "acme", "--campaign", str(campaign))
    assert closed["status"] == "finalized"
    assert shell.ok("query", "supply")["campaign_budget"] == 0
