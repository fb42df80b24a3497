"""Profiles, disclosure and feeds through real CLI processes: a buyer sets a profile with
private fields, buys with the delivery details taken from one, discloses it to the
merchant of the order, who opens it with `agora profile open`; another merchant opens
nothing; a revoke leaves the merchant out of the next version; a follow fills the feed."""

from __future__ import annotations

from tests.cli_e2e.conftest import Shell


def test_profile_field_disclosed_to_the_merchant_of_an_order_opens_in_the_cli(
    shell: Shell,
) -> None:
    keyring = shell.keyring
    shell.tx("profile-set", "carol", "--name", "Carol", "--bio", "Maps and vases",
             "--field", "address=Carol, 9 Elm Rd", "--field", "phone=555 0100")
    shown = shell.ok("profile", "show", "carol", *keyring)
    assert (shown["display_name"], shown["bio"]) == ("Carol", "Maps and vases")
    assert [field["name"] for field in shown["fields"]] == ["address", "phone"]
    assert all(field["recipients"] == [shown["address"]] for field in shown["fields"])

    listing = shell.tx("listing-create", "acme", "--title", "Vase", "--price", "2",
                       "--stock", "3")["listing"]
    order = shell.tx("purchase", "carol", "--listing", str(listing), "--delivery-field",
                     "address")["order"]
    delivery = shell.ok("order", "open-delivery", str(order), "--from", "acme", *keyring)
    assert delivery["delivery"] == "Carol, 9 Elm Rd"

    shell.tx("profile-disclose", "carol", "--field", "address", "--order", str(order))
    opened = shell.ok("profile", "open", "carol", "--from", "acme", *keyring)
    assert opened["fields"] == {"address": "Carol, 9 Elm Rd"}
    assert shell.ok("profile", "open", "carol", "--from", "bazaar", *keyring)["fields"] == {}
    text = shell.run("profile", "open", "carol", "--from", "acme", *keyring)
    assert (text.returncode, text.stdout) == (0, "address  Carol, 9 Elm Rd\n"), text.stderr

    shell.tx("profile-revoke", "carol", "--field", "address", "--to", "acme")
    assert shell.ok("profile", "open", "carol", "--from", "acme", *keyring)["fields"] == {}
    versions = shell.ok("profile", "versions", "carol", *keyring)["items"]
    assert [item["version"] for item in versions] == [1, 2, 3]
    stale = shell.run("tx", "profile-revoke", "--from", "carol", "--field", "address",
                      "--to", "acme", *keyring)
    assert stale.returncode == 1
    assert stale.stderr.startswith("error: not_found: field 'address' is not disclosed to "), \
        stale.stderr

    shell.tx("follow", "carol", "--account", "acme")
    feed = shell.ok("profile", "feed", "carol", "--limit", "1", *keyring)
    assert [(item["kind"], item["listing"]) for item in feed["items"]] == [("listing", listing)]
    activity = shell.ok("profile", "activity", "acme", "--limit", "1", *keyring)["items"]
    assert activity == feed["items"]
    refused = shell.run("tx", "follow", "--from", "carol", "--account", "acme", *keyring)
    assert refused.returncode == 1 and refused.stderr.startswith("error: already_following:")
