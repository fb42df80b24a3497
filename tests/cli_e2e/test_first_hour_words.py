"""What issue 24 asked of the text a user reads: the `test` keyring warning on every command
that opens one (and only when it succeeds), the amount a reward claim minted, how a
merchant's status was voted in, and the token symbol the node reports."""

from __future__ import annotations

import re

import pytest

from tests.cli_e2e.conftest import Shell

pytestmark = pytest.mark.e2e


def test_test_keyring_warning_on_success_only(shell: Shell) -> None:
    read = shell.run("query", "account", "bob", *shell.keyring)
    assert read.returncode == 0, read.stderr
    assert read.stderr.count("UNENCRYPTED") == 1, read.stderr
    missing = shell.run("query", "account", "nobody", *shell.keyring)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: key_not_found: ") and \
        missing.stderr.count("\n") == 1, missing.stderr


def test_reward_claim_text_shows_the_amount_claimed(shell: Shell) -> None:
    listing = shell.tx("listing-create", "bazaar", "--title", "Kite", "--price", "2",
                       "--stock", "3")["listing"]
    order = shell.tx("purchase", "carol", "--listing", str(listing))["order"]
    shell.tx("order-ship", "bazaar", "--order", str(order))
    shell.tx("order-confirm", "carol", "--order", str(order))
    claimed = shell.run("tx", "reward-claim", "--from", "carol", *shell.keyring)
    assert claimed.returncode == 0, claimed.stderr
    assert re.search(r"^claimed\s+\d+(\.\d+)? AGR$", claimed.stdout, re.M), claimed.stdout


def test_query_merchant_text_says_how_it_was_approved(shell: Shell) -> None:
    shown = shell.run("query", "merchant", "acme", *shell.keyring)
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"^votes\s+0 to suspend so far; approved by 1 vote at height \d+$",
                     shown.stdout, re.M), shown.stdout
    assert shell.ok("query", "merchant", "acme", *shell.keyring)["votes"] == 0


def test_node_status_names_the_token_symbol(shell: Shell) -> None:
    assert shell.ok("query", "status")["token_symbol"] == "AGR"
