"""Profiles with selective disclosure: public fields, and private fields sealed one by one
to the recipients the owner picks.

A `profile_set` is a whole new version of the sender's profile: the public fields (display
name, an avatar's content hash, a bio) in clear, and the private fields by name, each with
its sealed copies: one per recipient, each a sealed box to that recipient's key (as the
delivery details of a purchase are), so a recipient opens only the copies made for it and
nobody else (another merchant, a validator, a node operator) opens any. The state machine
cannot read what is sealed; it checks the layout (field names sorted and unique, grants
sorted by (field, recipient) and unique, every field with at least one recipient and at
most MAX_FIELD_RECIPIENTS) and the limits, and keeps the current version in state with the
height and transaction of every version.

A new version can add or remove recipients, but what was disclosed cannot be taken back:
the old versions stay in the blocks (their transactions are found through
`profile_versions`), and a recipient may have kept what it opened.

State growth without fees: each account holds one current profile (at most one
transaction's bytes) and a small record per version; an account sets at most one version
per block and MAX_PROFILE_VERSIONS_PER_EPOCH per epoch, and only an account that holds the
reserve acts at all, so fresh keys cost a reserve each.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from commerce.address import ADDRESS_BYTES, to_text
from commerce.errors import ErrorCode, ValidationError
from commerce.limits import (
    AVATAR_HASH_BYTES,
    MAX_BIO_CHARS,
    MAX_FIELD_NAME_CHARS,
    MAX_FIELD_RECIPIENTS,
    MAX_NAME_CHARS,
    MAX_PROFILE_FIELDS,
    MAX_PROFILE_GRANTS,
    MAX_PROFILE_SEALED_BYTES,
    MAX_PROFILE_VERSIONS_PER_EPOCH,
    SEALED_OVERHEAD_BYTES,
)
from commerce.machine import ChainContext, Event, register_handler
from commerce.profiles_schema import (
    ProfileRecord,
    ProfileVersionRecord,
    SocialRecord,
    profile_key,
    profile_version_key,
    social_key,
)
from commerce.queries import Item, Page, _page
from commerce.schema import AddressField, load
from commerce.state import Overlay, StateReader
from commerce.tx import Transaction, TxBody, register_body

FIELD_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0," + str(MAX_FIELD_NAME_CHARS - 1) + r"}$"
FieldName = Annotated[str, Field(pattern=FIELD_NAME_PATTERN)]
Sealed = Annotated[bytes, Field(min_length=SEALED_OVERHEAD_BYTES + 1,
                                max_length=MAX_PROFILE_SEALED_BYTES)]
FieldIndex = Annotated[int, Field(ge=0, lt=MAX_PROFILE_FIELDS)]


def get_profile(view: StateReader | Overlay, account: bytes) -> ProfileRecord | None:
    """An account's current profile, or None."""
    return load(view, ProfileRecord, profile_key(account))


@register_body
class ProfileSet(TxBody):
    """A new version of the sender's profile, replacing `version` (0 for the first).

    `fields` are the private field names (sorted, unique); grant `i` is the copy of field
    `grant_field[i]` sealed to account `grant_to[i]`, `grant_sealed[i]` the sealed bytes;
    grants are sorted by (field, recipient), one per pair.
    """

    TYPE = "profile_set"
    version: Annotated[int, Field(ge=0, le=2**32 - 2)]
    display_name: Annotated[str, Field(max_length=MAX_NAME_CHARS)]
    avatar: Annotated[bytes, Field(max_length=AVATAR_HASH_BYTES)]
    bio: Annotated[str, Field(max_length=MAX_BIO_CHARS)]
    fields: Annotated[list[FieldName], Field(max_length=MAX_PROFILE_FIELDS)]
    grant_field: Annotated[list[FieldIndex], Field(max_length=MAX_PROFILE_GRANTS)]
    grant_to: Annotated[list[AddressField], Field(max_length=MAX_PROFILE_GRANTS)]
    grant_sealed: Annotated[list[Sealed], Field(max_length=MAX_PROFILE_GRANTS)]


def check_layout(body: ProfileSet) -> None:
    """Raise field_invalid (avatar), profile_layout or too_many_recipients unless the
    private fields and grants are in their one canonical layout."""
    if len(body.avatar) not in (0, AVATAR_HASH_BYTES):
        raise ValidationError(ErrorCode.FIELD_INVALID,
                              f"profile_set.avatar: a content hash of {AVATAR_HASH_BYTES} "
                              "bytes, or empty")
    fields, grant_field, grant_to = body.fields, body.grant_field, body.grant_to
    if any(a >= b for a, b in zip(fields, fields[1:], strict=False)):
        raise ValidationError(ErrorCode.PROFILE_LAYOUT, "field names must be sorted and unique")
    if not len(grant_field) == len(grant_to) == len(body.grant_sealed):
        raise ValidationError(ErrorCode.PROFILE_LAYOUT,
                              "grant_field, grant_to and grant_sealed differ in length")
    pairs = list(zip(grant_field, grant_to, strict=True))
    if any(a >= b for a, b in zip(pairs, pairs[1:], strict=False)):
        raise ValidationError(ErrorCode.PROFILE_LAYOUT,
                              "grants must be sorted by (field, recipient), one per pair")
    counts = [0] * len(fields)
    for index in grant_field:
        if index >= len(fields):
            raise ValidationError(ErrorCode.PROFILE_LAYOUT, f"a grant names field {index} of "
                                  f"{len(fields)}")
        counts[index] += 1
    for name, count in zip(fields, counts, strict=True):
        if count == 0:
            raise ValidationError(ErrorCode.PROFILE_LAYOUT, f"field {name!r} has no recipient")
        if count > MAX_FIELD_RECIPIENTS:
            raise ValidationError(ErrorCode.TOO_MANY_RECIPIENTS, f"field {name!r} is sealed to "
                                  f"{count} recipients, at most {MAX_FIELD_RECIPIENTS}")


def apply_profile_set(ctx: ChainContext, view: Overlay, tx: Transaction,
                      body: ProfileSet) -> list[Event]:
    """Refuses field_invalid (avatar), profile_layout, too_many_recipients,
    profile_version (not the current version), profile_rate (a version in this block
    already, or MAX_PROFILE_VERSIONS_PER_EPOCH this epoch)."""
    check_layout(body)
    sender = tx.sender_address
    current = get_profile(view, sender)
    current_version = 0 if current is None else current.version
    if body.version != current_version:
        raise ValidationError(ErrorCode.PROFILE_VERSION, f"the profile is at version "
                              f"{current_version}, not {body.version}")
    epoch = ctx.height // ctx.params.epoch_blocks
    epoch_versions = 0
    if current is not None:
        if current.height == ctx.height:
            raise ValidationError(ErrorCode.PROFILE_RATE, "one profile version per block")
        if current.epoch == epoch:
            epoch_versions = current.epoch_versions
    if epoch_versions >= MAX_PROFILE_VERSIONS_PER_EPOCH:
        raise ValidationError(ErrorCode.PROFILE_RATE, f"at most {MAX_PROFILE_VERSIONS_PER_EPOCH}"
                              " profile versions per epoch")
    version = current_version + 1
    record = ProfileRecord(version, ctx.height, body.display_name, body.avatar, body.bio,
                           list(body.fields), list(body.grant_field), list(body.grant_to),
                           list(body.grant_sealed), epoch, epoch_versions + 1)
    view.put(profile_key(sender), record.to_bytes())
    view.put(profile_version_key(sender, version),
             ProfileVersionRecord(ctx.height, tx.tx_id).to_bytes())
    recipients = sorted({to for to in body.grant_to if to != sender})
    assert len(recipients) <= MAX_PROFILE_GRANTS
    return [Event("profile_set", (sender, *recipients),
                  (version, len(body.fields), len(body.grant_to)))]


register_handler(ProfileSet)(apply_profile_set)


# Reads (JSON-ready, as commerce.queries).

def _grants(record: ProfileRecord) -> list[Item]:
    return [{"field": record.fields[index], "to": to_text(to), "sealed": sealed.hex()}
            for index, to, sealed in zip(record.grant_field, record.grant_to,
                                         record.grant_sealed, strict=True)]


def profile(reader: StateReader, account: bytes) -> Item | None:
    """An account's current profile: public fields, and each private field's recipients
    with the sealed copies (opaque but to their recipients); None if it never set one."""
    record = get_profile(reader, account)
    if record is None:
        return None
    social = load(reader, SocialRecord, social_key(account)) or SocialRecord()
    grants = _grants(record)
    return {
        "address": to_text(account), "version": record.version, "height": record.height,
        "display_name": record.display_name, "avatar": record.avatar.hex(),
        "bio": record.bio,
        "fields": [{"name": name, "recipients": [g["to"] for g in grants if g["field"] == name]}
                   for name in record.fields],
        "grants": grants, "following": social.following, "followers": social.followers,
    }


def disclosed(reader: StateReader, owner: bytes, recipient: bytes) -> Item | None:
    """The private fields of `owner`'s current profile sealed to `recipient`: names and
    sealed copies (only `recipient`'s key opens them); None if `owner` has no profile."""
    assert len(recipient) == ADDRESS_BYTES
    record = get_profile(reader, owner)
    if record is None:
        return None
    fields = [{"name": record.fields[index], "sealed": sealed.hex()}
              for index, to, sealed in zip(record.grant_field, record.grant_to,
                                           record.grant_sealed, strict=True)
              if to == recipient]
    return {"owner": to_text(owner), "recipient": to_text(recipient),
            "version": record.version, "height": record.height, "fields": fields}


def profile_versions(reader: StateReader, account: bytes, *, cursor: str | None = None,
                     limit: int = 50) -> Page:
    """Every version of an account's profile, oldest first: its height and transaction
    (`tx_get` returns the version's whole body, sealed copies included)."""
    prefix = profile_version_key(account, 0)[:-4]

    def item(key: bytes, value: bytes) -> Item:
        record = ProfileVersionRecord.from_bytes(value)
        return {"version": int.from_bytes(key[len(prefix):], "big"), "height": record.height,
                "tx": record.tx_id.hex()}

    return _page(reader, prefix, cursor, limit, item)


def profile_summary(record: ProfileRecord) -> dict[str, Any]:
    """The public part of a profile (for lists that show who an account is)."""
    return {"display_name": record.display_name, "avatar": record.avatar.hex()}
