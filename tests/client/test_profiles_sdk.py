"""The SDK's `client.profiles.Profiles` against a real devnet: a shopper sets private fields
for a merchant, the merchant opens them, another merchant opens nothing, a purchase takes
its delivery details from the profile, and a follow shows the merchant's listing in the feed.

Method: the CLI tests' one-validator devnet (`shell`, real node processes), its test
keyring, and blocking `Wallet`s as a program would use them.
"""

from __future__ import annotations

from client import Keyring, SyncRpcClient, Wallet
from client.profiles import Profiles
from commerce.listings import ListingCreate
from commerce.orders import Purchase
from tests.cli_e2e.conftest import Shell


def test_sdk_profiles_disclose_open_deliver_and_feed(shell: Shell) -> None:
    url = shell.node if "://" in shell.node else f"http://{shell.node}"
    keyring = Keyring(shell.cwd / ".devnet" / "keyring", "test")
    with SyncRpcClient(url) as node:
        alice, acme, bazaar = (Wallet(node, keyring.keypair(name))
                               for name in ("alice", "acme", "bazaar"))
        mine = Profiles(alice)
        mine.set(display_name="Alice", fields={"address": "Alice, 3 Oak Lane"},
                 to=[acme.keypair.public_key])
        assert Profiles(acme).open_from(alice.address) == {"address": "Alice, 3 Oak Lane"}
        assert Profiles(bazaar).open_from(alice.address) == {}
        before = mine.current()
        assert before is not None and before["display_name"] == "Alice"

        listed = acme.submit(ListingCreate(
            title="Oak stool", description="", category="furniture", price=2_000_000,
            stock=2, media=[], referral_bps=0))
        listing = listed.created_id
        assert listing is not None
        bought = alice.submit(Purchase(
            listing=listing, version=1, quantity=1, share=0,
            delivery=mine.delivery("address", acme.keypair.public_key)))
        order = node.order(bought.created_id or 0)
        assert acme.keypair.unseal(bytes.fromhex(order["delivery"])) == b"Alice, 3 Oak Lane"

        mine.revoke("address", acme.address)
        assert Profiles(acme).open_from(alice.address) == {}
        mine.disclose_to_merchant_of("address", order["id"])
        assert Profiles(acme).open_from(alice.address) == {"address": "Alice, 3 Oak Lane"}

        mine.follow(acme.address)
        newest = mine.feed(limit=1)["items"]
        assert [(item["kind"], item["listing"]) for item in newest] == [("listing", listing)]
        mine.unfollow(acme.address)
        assert mine.feed()["items"] == []
