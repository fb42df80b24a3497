"""The profile, follow and feed reads over JSON-RPC: what a client sees after a profile is
set with a field disclosed to one account and that account follows its owner.

Method: the in-process node of conftest.py (one validator, funded); a second account is
funded with a transfer; transactions are submitted with `wait="commit"` and read back
through the `state_*` methods of `node.rpc.profile_methods`.
"""

from __future__ import annotations

from client.profiles import ProfileDraft, open_disclosed
from client.rpc import RpcCallError
from commerce.address import address_of, to_text
from commerce.follows import Follow
from commerce.keys import Keypair
from commerce.tx import sign_tx
from tests.rpc_methods.conftest import CHAIN_ID, UNIT, Running
from tests.rpc_methods.test_methods import expect


async def _submit(running: Running, key: Keypair, nonce: int, body: object) -> None:
    tx = sign_tx(key, CHAIN_ID, nonce, body)  # type: ignore[arg-type]
    done = await running.client.call("tx_submit", tx=tx.raw.hex(), wait="commit",
                                     timeout_ms=10_000)
    assert done["status"] == "finalized", done


async def test_profile_disclosed_field_opens_for_its_recipient_over_rpc(
    running: Running,
) -> None:
    await running.wait_height(1)
    friend = Keypair.generate()
    friend_address = to_text(address_of(friend.public_key))
    await _submit(running, running.key, 0, running.transfer(
        address_of(friend.public_key), 5 * UNIT, 0).body)
    await expect(running, "not_found", "state_getProfile", address=running.address)
    draft = ProfileDraft(display_name="Validator One", bio="Runs a node")
    draft.set_field(running.key, "contact", "ops@example.org", [friend.public_key])
    await _submit(running, running.key, 1, draft.body())
    await _submit(running, friend, 0, Follow(account=address_of(running.key.public_key)))

    profile = await running.client.call("state_getProfile", address=running.address)
    assert (profile["version"], profile["display_name"], profile["bio"]) == (
        1, "Validator One", "Runs a node")
    recipients = sorted([address_of(running.key.public_key), address_of(friend.public_key)])
    assert profile["fields"] == [{"name": "contact",
                                  "recipients": [to_text(a) for a in recipients]}]
    assert profile["followers"] == 1
    disclosed = await running.client.call("state_getDisclosed", owner=running.address,
                                          recipient=friend_address)
    assert open_disclosed(friend, disclosed) == {"contact": "ops@example.org"}
    versions = await running.client.call("state_listProfileVersions", address=running.address)
    assert [item["version"] for item in versions["items"]] == [1]
    found = await running.client.call("chain_getTransaction", id=versions["items"][0]["tx"])
    assert found["tx"]["type"] == "profile_set"

    social = await running.client.call("state_getSocial", address=friend_address)
    assert (social["following"], social["followers"], social["profile_version"]) == (1, 0, 0)
    following = await running.client.call("state_listFollowing", address=friend_address)
    assert [item["address"] for item in following["items"]] == [running.address]
    fans = await running.client.call("state_listFollowers", address=running.address)
    assert fans == {"items": [{"address": friend_address}], "next": None}
    feed = await running.client.call("state_getFeed", address=friend_address, limit=10)
    assert feed == {"items": [], "next": None}
    await expect(running, "field_invalid", "state_getFeed", address=friend_address,
                 cursor="not-a-cursor")
    activity = await running.client.call("state_listActivity", address=running.address)
    assert activity["items"] == []


async def test_profile_reads_refuse_bad_params(running: Running) -> None:
    error: RpcCallError = await expect(running, "bad_address", "state_getDisclosed",
                                       owner="agora1xyz", recipient=running.address)
    assert "owner" in str(error) or "address" in str(error)
    await expect(running, "invalid_params", "state_getFeed", address=running.address, limit=0)
