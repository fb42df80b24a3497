"""The sealed notes of an order round-trip through real CLI processes: the buyer buys through
the referral link as `tx share` printed it, the merchant opens the delivery details, ships
with a tracking note sealed to the buyer's key found on the chain, and the buyer opens it."""

from __future__ import annotations

import pytest

from tests.cli_e2e.conftest import Shell

pytestmark = pytest.mark.e2e


def test_order_notes_open_with_the_right_key_only(shell: Shell) -> None:
    listing = shell.tx("listing-create", "acme", "--title", "Teapot", "--price", "3",
                       "--stock", "4")["listing"]
    shared = shell.tx("share", "alice", "--listing", str(listing))
    link = shared["referral_link"]
    assert link == f"agora://listing/{listing}?share={shared['share']}"
    order = shell.tx("purchase", "carol", "--share", link, "--delivery",
                     "Carol, 9 Elm Rd")["order"]
    placed = shell.ok("query", "order", str(order))
    assert placed["listing"] == listing and placed["share"] == shared["share"]

    opened = shell.ok("order", "open-delivery", str(order), "--from", "acme", *shell.keyring)
    assert opened["delivery"] == "Carol, 9 Elm Rd"
    wrong = shell.run("order", "open-delivery", str(order), "--from", "carol", *shell.keyring)
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error: field_invalid: the delivery of order "), wrong.stderr

    shell.tx("order-ship", "acme", "--order", str(order), "--tracking", "UPS 1Z999")
    tracked = shell.ok("order", "open-tracking", str(order), "--from", "carol", *shell.keyring)
    assert tracked["tracking"] == "UPS 1Z999"
    text = shell.run("order", "open-tracking", str(order), "--from", "carol", *shell.keyring)
    assert (text.returncode, text.stdout) == (0, "UPS 1Z999\n"), text.stderr


def test_purchase_with_web_form_of_the_link_buys_that_listing(shell: Shell) -> None:
    listing = shell.tx("listing-create", "bazaar", "--title", "Lamp", "--price", "1",
                       "--stock", "2")["listing"]
    share = shell.tx("share", "alice", "--listing", str(listing))["share"]
    order = shell.tx("purchase", "bob", "--share",
                     f"https://shop.example/listing/{listing}?share={share}")["order"]
    placed = shell.ok("query", "order", str(order))
    assert (placed["listing"], placed["share"]) == (listing, share)


def test_poll_create_prints_the_absolute_close_height(shell: Shell) -> None:
    height = shell.ok("query", "status")["height"]
    created = shell.tx("poll-create", "acme", "--question", "Colour?", "--option", "red",
                       "--option", "blue", "--close-in", "50")
    stored = shell.ok("query", "poll", str(created["poll"]))["close_height"]
    assert created["close_height"] == stored
    assert height + 50 <= stored <= created["height"] + 50
