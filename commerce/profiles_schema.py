"""The state layout of profiles, follows and feeds: records and key builders.

The prefixes are in commerce/schema.py (``cy cY cf cF cE cK``), like those of group buying
(commerce/teams_schema.py); this module holds what lives under them. The rules are in
commerce/profiles.py, follows.py and feeds.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from commerce.address import ADDRESS_BYTES
from commerce.schema import (
    P_FEED,
    P_FOLLOW,
    P_FOLLOWER,
    P_PROFILE,
    P_PROFILE_VERSION,
    P_SOCIAL,
    Record,
    u32,
    u64,
)


@dataclass(slots=True)
class ProfileRecord(Record):
    """An account's current profile version: public fields, the private field names, and
    the grants (field index, recipient, sealed copy) sorted by (field, recipient).
    `epoch` and `epoch_versions` count the versions set in the current epoch."""

    version: int
    height: int
    display_name: str
    avatar: bytes
    bio: str
    fields: list[str]
    grant_field: list[int]
    grant_to: list[bytes]
    grant_sealed: list[bytes]
    epoch: int = 0
    epoch_versions: int = 0


@dataclass(slots=True)
class ProfileVersionRecord(Record):
    """Where a profile version is on chain: its height and transaction (kept for ever)."""

    height: int
    tx_id: bytes


@dataclass(slots=True)
class FeedEntryRecord(Record):
    """One entry of an author's feed: `entry` is its chain-wide sequence (the merge order),
    `kind` one of feeds.FEED_KINDS' names; `ref` the version, order, share or team it is
    about; `value` a price or a rating; `previous` the old price of a price change."""

    entry: int
    kind: str
    height: int
    listing: int
    ref: int
    value: int = 0
    previous: int = 0


@dataclass(slots=True)
class SocialRecord(Record):
    """An account's follow counts and the length of its feed sequence."""

    following: int = 0
    followers: int = 0
    feed_entries: int = 0


def profile_key(account: bytes) -> bytes:
    """Key of an account's current profile."""
    assert len(account) == ADDRESS_BYTES
    return P_PROFILE + account


def profile_version_key(account: bytes, version: int) -> bytes:
    """Key of where one version of an account's profile is on chain."""
    return P_PROFILE_VERSION + account + u32(version)


def follow_key(follower: bytes, followed: bytes) -> bytes:
    """Key of a follow (the follower's index)."""
    return P_FOLLOW + follower + followed


def follower_key(followed: bytes, follower: bytes) -> bytes:
    """Index entry: a follower of an account."""
    return P_FOLLOWER + followed + follower


def feed_key(author: bytes, sequence: int) -> bytes:
    """Key of the `sequence`-th (1, 2, ...) entry of an author's feed."""
    assert len(author) == ADDRESS_BYTES
    return P_FEED + author + u64(sequence)


def social_key(account: bytes) -> bytes:
    """Key of an account's follow counts and feed length."""
    assert len(account) == ADDRESS_BYTES
    return P_SOCIAL + account
