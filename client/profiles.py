"""Profiles with selective disclosure on the client side: seal, disclose, revoke, open.

The chain keeps a profile's private fields only as sealed copies, one per (field,
recipient); this module makes and opens them. A copy's plaintext is the canonical array
``[PROFILE_SEAL_DOMAIN, owner address, field name, value]``, so a copy opened by its
recipient says whose field it is and which one: a copy moved to another field or another
profile is refused when opened. The owner's client seals every field to the owner's own
key as well (`ProfileDraft.set_field`), which is how it later discloses the field to
someone new without keeping the value anywhere but on chain.

    draft = ProfileDraft.from_json(rpc.call("state_getProfile", address=me) or None)
    draft.set_field(keypair, "address", "1 Main St, Springfield")
    draft.disclose(keypair, "address", merchant_public_key)   # e.g. the merchant of an order
    wallet.submit(draft.body())                                # one profile_set: a new version
    ...
    opened = open_disclosed(merchant_keypair, rpc.call("state_getDisclosed", owner=...,
                                                       recipient=merchant_address))

Delivery details at purchase come from a disclosed field without changing the `purchase`
body: `delivery_from_profile` opens the owner's copy of the field and seals its value to
the merchant's key as the purchase's `delivery`, exactly as typed details would be.
What was disclosed cannot be taken back: `revoke` makes a version without the copy, but
the versions before it stay in the blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from client.rpc import RpcCallError
from client.wallet import Receipt, Wallet
from commerce.address import address_of, from_text, to_text
from commerce.encoding import decode, encode
from commerce.errors import ErrorCode, ValidationError
from commerce.follows import Follow, Unfollow
from commerce.keys import Keypair, seal
from commerce.limits import MAX_FIELD_VALUE_BYTES, MAX_PROFILE_SEALED_BYTES
from commerce.profiles import ProfileSet

PROFILE_SEAL_DOMAIN = "agora/profile/v1"


def seal_field(owner: bytes, name: str, value: str, recipient_public_key: bytes) -> bytes:
    """A copy of private field `name` of `owner`'s profile sealed to one recipient's key."""
    raw = value.encode()
    if len(raw) > MAX_FIELD_VALUE_BYTES:
        raise ValidationError(ErrorCode.FIELD_TOO_LONG, f"field {name!r} is {len(raw)} bytes, "
                              f"at most {MAX_FIELD_VALUE_BYTES}")
    sealed = seal(recipient_public_key, encode([PROFILE_SEAL_DOMAIN, owner, name, raw]))
    assert len(sealed) <= MAX_PROFILE_SEALED_BYTES, "the envelope fits its limit"
    return sealed


def open_field(keypair: Keypair, owner: bytes, name: str, sealed: bytes) -> str:
    """Open a copy of field `name` of `owner`'s profile with `keypair`; raises
    ValidationError(field_invalid) if it is not sealed to this key or is another field's."""
    plain = keypair.unseal(sealed)
    try:
        domain, owner_in, name_in, raw = decode(plain)
    except (ValidationError, ValueError, TypeError) as exc:
        raise ValidationError(ErrorCode.FIELD_INVALID, "not a profile field copy") from exc
    if domain != PROFILE_SEAL_DOMAIN or owner_in != owner or name_in != name \
            or not isinstance(raw, bytes):
        raise ValidationError(ErrorCode.FIELD_INVALID,
                              f"the copy is not field {name!r} of {to_text(owner)}")
    return raw.decode("utf-8", "replace")


def open_disclosed(keypair: Keypair, disclosed: dict[str, Any]) -> dict[str, str]:
    """The values of the fields in a `state_getDisclosed` answer, opened with `keypair`."""
    owner = from_text(str(disclosed["owner"]))
    return {str(item["name"]): open_field(keypair, owner, str(item["name"]),
                                          bytes.fromhex(str(item["sealed"])))
            for item in disclosed.get("fields", [])}


@dataclass
class ProfileDraft:
    """The next version of a profile, built from the current one (`from_json`), edited, and
    turned into a `profile_set` body (`body`). Grants map (field, recipient) to its copy."""

    version: int = 0
    display_name: str = ""
    avatar: bytes = b""
    bio: str = ""
    grants: dict[tuple[str, bytes], bytes] = field(default_factory=dict)

    @classmethod
    def from_json(cls, current: dict[str, Any] | None) -> ProfileDraft:
        """A draft of the version after `current` (a `state_getProfile` answer, or None)."""
        if not current:
            return cls()
        grants: dict[tuple[str, bytes], bytes] = {
            (str(g["field"]), bytes(from_text(str(g["to"])))): bytes.fromhex(str(g["sealed"]))
            for g in current.get("grants", [])}
        return cls(int(current["version"]), str(current["display_name"]),
                   bytes.fromhex(str(current["avatar"])), str(current["bio"]), grants)

    def fields(self) -> list[str]:
        """The private field names, sorted."""
        return sorted({name for name, _ in self.grants})

    def recipients(self, name: str) -> list[bytes]:
        """The addresses field `name` is sealed to, sorted."""
        return sorted(to for field_name, to in self.grants if field_name == name)

    def set_field(self, owner: Keypair, name: str, value: str,
                  recipient_keys: list[bytes] | None = None) -> None:
        """Set field `name` to `value`, sealed to the owner and to each key given; the
        field's earlier copies are dropped from the new version."""
        self.remove_field(name)
        me = address_of(owner.public_key)
        for key in [owner.public_key, *(recipient_keys or [])]:
            self.grants[(name, address_of(key))] = seal_field(me, name, value, key)

    def remove_field(self, name: str) -> None:
        """Drop field `name` and every copy of it from the new version."""
        for key in [key for key in self.grants if key[0] == name]:
            del self.grants[key]

    def own_value(self, owner: Keypair, name: str) -> str:
        """The value of field `name`, opened from the owner's own copy."""
        me = address_of(owner.public_key)
        sealed = self.grants.get((name, me))
        if sealed is None:
            raise ValidationError(ErrorCode.NOT_FOUND, f"the profile has no field {name!r} "
                                  "sealed to its owner")
        return open_field(owner, me, name, sealed)

    def disclose(self, owner: Keypair, name: str, recipient_public_key: bytes) -> None:
        """Seal field `name` to one more recipient (from the owner's own copy)."""
        value = self.own_value(owner, name)
        me = address_of(owner.public_key)
        self.grants[(name, address_of(recipient_public_key))] = seal_field(
            me, name, value, recipient_public_key)

    def revoke(self, name: str, recipient: bytes) -> None:
        """Leave recipient's copy of field `name` out of the new version (what it was
        given before stays in the old versions on chain)."""
        if self.grants.pop((name, recipient), None) is None:
            raise ValidationError(ErrorCode.NOT_FOUND, f"field {name!r} is not disclosed to "
                                  f"{to_text(recipient)}")

    def body(self) -> ProfileSet:
        """The `profile_set` of this draft, in its canonical layout."""
        names = self.fields()
        index = {name: position for position, name in enumerate(names)}
        pairs = sorted((index[name], to) for name, to in self.grants)
        return ProfileSet(version=self.version, display_name=self.display_name,
                          avatar=self.avatar, bio=self.bio, fields=names,
                          grant_field=[i for i, _ in pairs], grant_to=[to for _, to in pairs],
                          grant_sealed=[self.grants[(names[i], to)] for i, to in pairs])


def delivery_from_profile(owner: Keypair, current: dict[str, Any], name: str,
                          merchant_public_key: bytes) -> bytes:
    """A purchase's `delivery`: field `name` of the owner's profile (`current`, a
    `state_getProfile` answer), sealed to the merchant's key as typed details would be."""
    value = ProfileDraft.from_json(current).own_value(owner, name)
    return seal(merchant_public_key, value.encode())


class Profiles:
    """Profiles, disclosure, follows and feeds of one account, over a blocking `Wallet`:
    the helpers `agora tx profile-*`, `agora profile open` and `agora tx follow` use, for
    programs. Every change is one finalized transaction (its `Receipt` is returned)."""

    def __init__(self, wallet: Wallet) -> None:
        self.wallet = wallet
        self.node = wallet.rpc

    def current(self, address: str | None = None) -> dict[str, Any] | None:
        """The current profile of `address` (default: the wallet's), or None."""
        try:
            found: dict[str, Any] = self.node.call(
                "state_getProfile", address=address or self.wallet.address)
        except RpcCallError as exc:
            if exc.reason != "not_found":
                raise
            return None
        return found

    def draft(self) -> ProfileDraft:
        """A draft of the wallet's next profile version."""
        return ProfileDraft.from_json(self.current())

    def set(self, *, display_name: str | None = None, avatar: bytes | None = None,
            bio: str | None = None, fields: dict[str, str] | None = None,
            to: list[bytes] | None = None) -> Receipt:
        """A new version: the public fields given, and each of `fields` sealed to the owner
        and to each public key of `to` (the fields not named stay as they are)."""
        draft = self.draft()
        draft.display_name = draft.display_name if display_name is None else display_name
        draft.avatar = draft.avatar if avatar is None else avatar
        draft.bio = draft.bio if bio is None else bio
        for name, value in (fields or {}).items():
            draft.set_field(self.wallet.keypair, name, value, to)
        return self.wallet.submit(draft.body())

    def disclose(self, name: str, recipient_public_key: bytes) -> Receipt:
        """A new version with field `name` sealed to one more recipient."""
        draft = self.draft()
        draft.disclose(self.wallet.keypair, name, recipient_public_key)
        return self.wallet.submit(draft.body())

    def disclose_to_merchant_of(self, name: str, order: int) -> Receipt:
        """`disclose` to the merchant of `order`."""
        merchant = self.node.merchant(str(self.node.order(order)["merchant"]))
        return self.disclose(name, bytes.fromhex(str(merchant["public_key"])))

    def revoke(self, name: str, recipient: str) -> Receipt:
        """A new version without `recipient`'s copy of field `name` (what it was given
        stays in the versions before)."""
        draft = self.draft()
        draft.revoke(name, from_text(recipient))
        return self.wallet.submit(draft.body())

    def open_from(self, owner: str) -> dict[str, str]:
        """The private fields of `owner`'s profile disclosed to the wallet's key, opened."""
        disclosed = self.node.call("state_getDisclosed", owner=owner,
                                   recipient=self.wallet.address)
        return open_disclosed(self.wallet.keypair, disclosed)

    def delivery(self, name: str, merchant_public_key: bytes) -> bytes:
        """A purchase's `delivery` from field `name` of the wallet's profile."""
        current = self.current()
        if current is None:
            raise ValidationError(ErrorCode.NOT_FOUND, "the account has no profile")
        return delivery_from_profile(self.wallet.keypair, current, name, merchant_public_key)

    def follow(self, address: str) -> Receipt:
        """Follow `address` (a merchant or a funded account)."""
        return self.wallet.submit(Follow(account=from_text(address)))

    def unfollow(self, address: str) -> Receipt:
        """Stop following `address`."""
        return self.wallet.submit(Unfollow(account=from_text(address)))

    def feed(self, *, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        """A page of the wallet's feed, newest first (pass `next` back as `cursor`)."""
        params: dict[str, Any] = {"address": self.wallet.address, "limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        page: dict[str, Any] = self.node.call("state_getFeed", **params)
        return page
