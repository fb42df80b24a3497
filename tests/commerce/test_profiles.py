"""Profiles with selective disclosure: every rule and refusal of `profile_set`, and that
each recipient opens only the copies sealed to it while nobody else opens any.

Method: a 4-validator chain in memory (shop.py) with two approved merchants; profiles are
built with the client's `ProfileDraft` (as the CLI builds them) and read back through the
read API (`commerce.profiles`).
"""

from __future__ import annotations

from typing import Any

import pytest

from client.profiles import (
    ProfileDraft,
    delivery_from_profile,
    open_disclosed,
    open_field,
    seal_field,
)
from commerce import follows, profiles
from commerce.address import to_text
from commerce.errors import ErrorCode, ValidationError
from commerce.keys import Keypair
from commerce.limits import (
    MAX_FIELD_RECIPIENTS,
    MAX_FIELD_VALUE_BYTES,
    MAX_PROFILE_SEALED_BYTES,
    MAX_PROFILE_VERSIONS_PER_EPOCH,
)
from commerce.orders import OrderShip, get_order
from commerce.profiles import ProfileSet
from commerce.tx import sign_tx
from tests.commerce.shop import CHAIN_ID, Shop, addr, approve, buy, create_listing, keypair


@pytest.fixture
def shop() -> Shop:
    shop = Shop(n_users=8)
    approve(shop, shop.users[0], "Acme")
    approve(shop, shop.users[1], "Bolt")
    return shop


def _current(shop: Shop, key: Keypair) -> dict[str, Any] | None:
    return profiles.profile(shop.state, addr(key))


def _set(shop: Shop, owner: Keypair, draft: ProfileDraft) -> None:
    shop.do(owner, draft.body())


def _body(**fields: Any) -> ProfileSet:
    values: dict[str, Any] = {"version": 0, "display_name": "Ann", "avatar": b"", "bio": "",
                              "fields": [], "grant_field": [], "grant_to": [],
                              "grant_sealed": []}
    values.update(fields)
    return ProfileSet(**values)


def test_profile_set_public_fields_and_versions(shop: Shop) -> None:
    owner = shop.users[3]
    shop.do(owner, _body(display_name="Ann", avatar=bytes(range(32)), bio="Reads a lot"))
    first = _current(shop, owner)
    assert first is not None and first["version"] == 1 and first["display_name"] == "Ann"
    assert first["avatar"] == bytes(range(32)).hex() and first["bio"] == "Reads a lot"
    shop.refuse(ErrorCode.PROFILE_VERSION, owner, _body(version=0))
    shop.refuse(ErrorCode.PROFILE_VERSION, owner, _body(version=2))
    shop.do(owner, _body(version=1, display_name="Ann B."))
    second = _current(shop, owner)
    assert second is not None and second["version"] == 2 and second["display_name"] == "Ann B."
    versions = profiles.profile_versions(shop.state, addr(owner))["items"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["height"] < versions[1]["height"]
    assert profiles.profile(shop.state, addr(shop.users[4])) is None


def test_social_after_profile_sets_answers_the_current_profile_version(shop: Shop) -> None:
    owner = shop.users[3]
    assert follows.social(shop.state, addr(owner))["profile_version"] == 0  # no profile
    shop.do(owner, _body())
    assert follows.social(shop.state, addr(owner))["profile_version"] == 1
    shop.do(owner, _body(version=1, display_name="Ann B."))
    assert follows.social(shop.state, addr(owner))["profile_version"] == 2


def test_profile_set_one_version_per_block(shop: Shop) -> None:
    owner = shop.users[3]
    first = shop.sign(owner, _body())
    second = sign_tx(owner, CHAIN_ID, first.nonce + 1, _body(version=1))
    result = shop.block([first, second])
    assert len(result.txs) == 1
    assert [rejection.code for _, rejection in result.rejected] == [ErrorCode.PROFILE_RATE]


def test_profile_set_versions_per_epoch_capped_then_reset(shop: Shop) -> None:
    owner = shop.users[3]
    epoch_blocks = shop.params.epoch_blocks
    shop.advance(epoch_blocks - shop.height % epoch_blocks)  # the start of an epoch
    for version in range(MAX_PROFILE_VERSIONS_PER_EPOCH):
        shop.do(owner, _body(version=version))
    shop.refuse(ErrorCode.PROFILE_RATE, owner, _body(version=MAX_PROFILE_VERSIONS_PER_EPOCH))
    shop.advance(epoch_blocks - shop.height % epoch_blocks)
    shop.do(owner, _body(version=MAX_PROFILE_VERSIONS_PER_EPOCH))


def test_profile_set_layout_refusals(shop: Shop) -> None:
    owner = shop.users[3]
    a, b = addr(shop.users[0]), addr(shop.users[1])
    sealed = bytes(60)
    refuse = shop.refuse
    refuse(ErrorCode.FIELD_INVALID, owner, _body(avatar=bytes(31)))
    refuse(ErrorCode.PROFILE_LAYOUT, owner, _body(fields=["phone", "address"], grant_field=[0, 1],
                                                  grant_to=[a, a], grant_sealed=[sealed] * 2))
    refuse(ErrorCode.PROFILE_LAYOUT, owner, _body(fields=["phone", "phone"], grant_field=[0, 1],
                                                  grant_to=[a, a], grant_sealed=[sealed] * 2))
    refuse(ErrorCode.PROFILE_LAYOUT, owner, _body(fields=["phone"], grant_field=[0, 0],
                                                  grant_to=[b, a], grant_sealed=[sealed] * 2)
           if a < b else _body(fields=["phone"], grant_field=[0, 0], grant_to=[a, b],
                               grant_sealed=[sealed] * 2))
    refuse(ErrorCode.PROFILE_LAYOUT, owner, _body(fields=["phone"], grant_field=[0, 0],
                                                  grant_to=[a, a], grant_sealed=[sealed] * 2))
    refuse(ErrorCode.PROFILE_LAYOUT, owner, _body(fields=["phone"], grant_field=[1],
                                                  grant_to=[a], grant_sealed=[sealed]))
    refuse(ErrorCode.PROFILE_LAYOUT, owner, _body(fields=["address", "phone"], grant_field=[0],
                                                  grant_to=[a], grant_sealed=[sealed]))
    refuse(ErrorCode.PROFILE_LAYOUT, owner, _body(fields=["phone"], grant_field=[0],
                                                  grant_to=[a], grant_sealed=[]))
    many = sorted(addr(keypair("many", i)) for i in range(MAX_FIELD_RECIPIENTS + 1))
    refuse(ErrorCode.TOO_MANY_RECIPIENTS, owner, _body(
        fields=["phone"], grant_field=[0] * len(many), grant_to=many,
        grant_sealed=[sealed] * len(many)))
    shop.do(owner, _body(fields=["phone"], grant_field=[0] * MAX_FIELD_RECIPIENTS,
                         grant_to=many[:-1], grant_sealed=[sealed] * MAX_FIELD_RECIPIENTS))


def test_profile_set_body_limits_are_exact() -> None:
    a = bytes(20)
    ok = _body(fields=["x"], grant_field=[0], grant_to=[a],
               grant_sealed=[bytes(MAX_PROFILE_SEALED_BYTES)])
    assert len(ok.grant_sealed[0]) == MAX_PROFILE_SEALED_BYTES
    with pytest.raises(Exception, match="at most 400"):
        _body(fields=["x"], grant_field=[0], grant_to=[a],
              grant_sealed=[bytes(MAX_PROFILE_SEALED_BYTES + 1)])
    with pytest.raises(Exception, match="pattern"):
        _body(fields=["Bad name"])
    with pytest.raises(ValidationError) as info:
        seal_field(a, "x", "é" * (MAX_FIELD_VALUE_BYTES // 2 + 1), keypair("r", 1).public_key)
    assert info.value.code == ErrorCode.FIELD_TOO_LONG
    seal_field(a, "x", "é" * (MAX_FIELD_VALUE_BYTES // 2), keypair("r", 1).public_key)


def test_sealed_fields_each_recipient_opens_only_its_own(shop: Shop) -> None:
    owner, acme, bolt = shop.users[3], shop.users[0], shop.users[1]
    validator, stranger = shop.validators[0], shop.users[5]
    draft = ProfileDraft()
    draft.set_field(owner, "address", "1 Main St", [acme.public_key])
    draft.set_field(owner, "phone", "+1 555 0100", [bolt.public_key])
    draft.set_field(owner, "email", "ann@example.org", [acme.public_key, bolt.public_key])
    _set(shop, owner, draft)
    me = addr(owner)
    to_acme = profiles.disclosed(shop.state, me, addr(acme))
    to_bolt = profiles.disclosed(shop.state, me, addr(bolt))
    assert to_acme is not None and to_bolt is not None
    assert open_disclosed(acme, to_acme) == {"address": "1 Main St", "email": "ann@example.org"}
    assert open_disclosed(bolt, to_bolt) == {"email": "ann@example.org",
                                             "phone": "+1 555 0100"}
    assert open_disclosed(owner, profiles.disclosed(shop.state, me, me) or {}) == {
        "address": "1 Main St", "email": "ann@example.org", "phone": "+1 555 0100"}
    nothing = profiles.disclosed(shop.state, me, addr(stranger))
    assert nothing is not None and nothing["fields"] == []
    # Every copy on chain: only its own recipient opens it; no other key (another merchant,
    # a validator, a stranger) opens any.
    current = _current(shop, owner)
    assert current is not None and len(current["grants"]) == 7
    keys = {addr(k): k for k in (owner, acme, bolt, validator, stranger)}
    for grant in current["grants"]:
        sealed = bytes.fromhex(grant["sealed"])
        for address, key in keys.items():
            if to_text(address) == grant["to"]:
                assert open_field(key, me, grant["field"], sealed)
            else:
                with pytest.raises(ValidationError):
                    key.unseal(sealed)


def test_open_field_refuses_a_copy_moved_to_another_field_or_owner(shop: Shop) -> None:
    owner, acme = shop.users[3], shop.users[0]
    sealed = seal_field(addr(owner), "address", "1 Main St", acme.public_key)
    assert open_field(acme, addr(owner), "address", sealed) == "1 Main St"
    for owner_as, name_as in ((addr(owner), "phone"), (addr(shop.users[4]), "address")):
        with pytest.raises(ValidationError) as info:
            open_field(acme, owner_as, name_as, sealed)
        assert info.value.code == ErrorCode.FIELD_INVALID


def test_new_version_adds_and_removes_recipients_old_versions_stay(shop: Shop) -> None:
    owner, acme, bolt = shop.users[3], shop.users[0], shop.users[1]
    draft = ProfileDraft()
    draft.set_field(owner, "address", "1 Main St", [acme.public_key])
    _set(shop, owner, draft)
    first_tx = profiles.profile_versions(shop.state, addr(owner))["items"][0]["tx"]
    draft = ProfileDraft.from_json(_current(shop, owner))
    draft.disclose(owner, "address", bolt.public_key)
    draft.revoke("address", addr(acme))
    _set(shop, owner, draft)
    current = _current(shop, owner)
    assert current is not None and current["version"] == 2
    assert current["fields"] == [{"name": "address", "recipients": [
        to_text(a) for a in sorted([addr(owner), addr(bolt)])]}]
    assert profiles.disclosed(shop.state, addr(owner), addr(acme))["fields"] == []  # type: ignore[index]
    assert open_disclosed(bolt, profiles.disclosed(shop.state, addr(owner), addr(bolt))
                          or {}) == {"address": "1 Main St"}
    # The first version is still on chain: its transaction is listed, and what it gave acme
    # cannot be taken back.
    versions = profiles.profile_versions(shop.state, addr(owner))["items"]
    assert versions[0]["tx"] == first_tx and len(versions) == 2
    with pytest.raises(ValidationError):
        draft.revoke("address", addr(acme))


def test_delivery_at_purchase_comes_from_a_profile_field(shop: Shop) -> None:
    owner, acme = shop.users[3], shop.users[0]
    draft = ProfileDraft()
    draft.set_field(owner, "address", "1 Main St, Springfield")
    _set(shop, owner, draft)
    listing = create_listing(shop, acme)
    current = _current(shop, owner)
    assert current is not None
    delivery = delivery_from_profile(owner, current, "address", acme.public_key)
    order = buy(shop, owner, listing, delivery=delivery)
    shop.do(acme, OrderShip(order=order))
    record = get_order(shop.state, order)
    assert record is not None
    assert acme.unseal(record.delivery) == b"1 Main St, Springfield"
    with pytest.raises(ValidationError):
        shop.users[1].unseal(record.delivery)
    with pytest.raises(ValidationError) as info:
        delivery_from_profile(owner, current, "phone", acme.public_key)
    assert info.value.code == ErrorCode.NOT_FOUND


def test_profile_set_event_names_the_recipients(shop: Shop) -> None:
    owner, acme = shop.users[3], shop.users[0]
    draft = ProfileDraft()
    draft.set_field(owner, "address", "x", [acme.public_key])
    events = shop.do(owner, draft.body())
    assert events[0].kind == "profile_set"
    assert events[0].addresses == (addr(owner), addr(acme))
    assert events[0].named() == {"version": 1, "fields": 1, "grants": 2}
