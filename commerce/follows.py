"""Follows: an account follows merchants and other accounts, to read their feed.

A follow is two keys (the follower's index and the followed account's follower index) and
two counters; an unfollow deletes the keys. Each costs the same few writes whoever is
followed: a merchant with a million followers is a million follow transactions, each by
its own follower, never one transaction writing a million keys (the feed is merged at
read time, commerce/feeds.py). An account follows at most MAX_FOLLOWING accounts; only
an account that holds the reserve (or a merchant) can be followed, so a follower cannot
fill state with follows of unfunded addresses.
"""

from __future__ import annotations

from commerce.address import to_text
from commerce.errors import ErrorCode, ValidationError
from commerce.ledger import holds_reserve
from commerce.limits import MAX_FOLLOWING
from commerce.machine import ChainContext, Event, register_handler
from commerce.profiles import get_profile
from commerce.profiles_schema import SocialRecord, follow_key, follower_key, social_key
from commerce.queries import Item, Page, _page
from commerce.schema import AddressField, load, merchant_key, read_u64, u64
from commerce.state import Overlay, StateReader
from commerce.tx import Transaction, TxBody, register_body


def get_social(view: StateReader | Overlay, account: bytes) -> SocialRecord:
    """An account's follow counts and feed length (zeros when absent)."""
    return load(view, SocialRecord, social_key(account)) or SocialRecord()


def put_social(view: Overlay, account: bytes, record: SocialRecord) -> None:
    """Store an account's follow counts and feed length."""
    assert 0 <= record.following <= MAX_FOLLOWING, "follows stay within their cap"
    assert record.followers >= 0 and record.feed_entries >= 0
    view.put(social_key(account), record.to_bytes())


@register_body
class Follow(TxBody):
    """Follow `account` (a merchant or any account that holds the reserve)."""

    TYPE = "follow"
    account: AddressField


@register_body
class Unfollow(TxBody):
    """Stop following `account`."""

    TYPE = "unfollow"
    account: AddressField


def apply_follow(ctx: ChainContext, view: Overlay, tx: Transaction, body: Follow) -> list[Event]:
    """Refuses self_follow, not_found (neither a merchant nor an account with the reserve),
    already_following, follow_limit."""
    sender, followed = tx.sender_address, body.account
    if followed == sender:
        raise ValidationError(ErrorCode.SELF_FOLLOW, "an account cannot follow itself")
    if view.get(merchant_key(followed)) is None and \
            not holds_reserve(view, followed, ctx.params.account_reserve_minor):
        raise ValidationError(ErrorCode.NOT_FOUND, f"no merchant or funded account "
                              f"{to_text(followed)}")
    key = follow_key(sender, followed)
    if view.get(key) is not None:
        raise ValidationError(ErrorCode.ALREADY_FOLLOWING, f"already following "
                              f"{to_text(followed)}")
    mine = get_social(view, sender)
    if mine.following >= MAX_FOLLOWING:
        raise ValidationError(ErrorCode.FOLLOW_LIMIT, f"an account follows at most "
                              f"{MAX_FOLLOWING} accounts")
    view.put(key, u64(ctx.height))
    view.put(follower_key(followed, sender), b"")
    mine.following += 1
    put_social(view, sender, mine)
    theirs = get_social(view, followed)
    theirs.followers += 1
    put_social(view, followed, theirs)
    return [Event("follow", (sender, followed), (mine.following,))]


register_handler(Follow)(apply_follow)


def apply_unfollow(ctx: ChainContext, view: Overlay, tx: Transaction,
                   body: Unfollow) -> list[Event]:
    """Refuses not_following."""
    sender, followed = tx.sender_address, body.account
    key = follow_key(sender, followed)
    if view.get(key) is None:
        raise ValidationError(ErrorCode.NOT_FOLLOWING, f"not following {to_text(followed)}")
    view.delete(key)
    view.delete(follower_key(followed, sender))
    mine = get_social(view, sender)
    theirs = get_social(view, followed)
    assert mine.following > 0 and theirs.followers > 0, "a follow is counted on both sides"
    mine.following -= 1
    put_social(view, sender, mine)
    theirs.followers -= 1
    put_social(view, followed, theirs)
    return [Event("unfollow", (sender, followed), (mine.following,))]


register_handler(Unfollow)(apply_unfollow)


def followed_by(reader: StateReader, account: bytes) -> list[bytes]:
    """Every account `account` follows, in address order (at most MAX_FOLLOWING)."""
    prefix = follow_key(account, b"")
    out = [key[len(prefix):] for key, _ in reader.iterate(prefix)]
    assert len(out) <= MAX_FOLLOWING, "follows stay within their cap"
    return out


def following(reader: StateReader, account: bytes, *, cursor: str | None = None,
              limit: int = 50) -> Page:
    """The accounts `account` follows, in address order, with the height of each follow."""
    prefix = follow_key(account, b"")

    def item(key: bytes, value: bytes) -> Item:
        return {"address": to_text(key[len(prefix):]), "height": read_u64(value)}

    return _page(reader, prefix, cursor, limit, item)


def followers(reader: StateReader, account: bytes, *, cursor: str | None = None,
              limit: int = 50) -> Page:
    """The accounts that follow `account`, in address order."""
    prefix = follower_key(account, b"")

    def item(key: bytes, value: bytes) -> Item:
        return {"address": to_text(key[len(prefix):])}

    return _page(reader, prefix, cursor, limit, item)


def social(reader: StateReader, account: bytes) -> Item:
    """An account's follow counts, feed length and profile version (0: none)."""
    record = get_social(reader, account)
    current = get_profile(reader, account)
    return {"address": to_text(account), "following": record.following,
            "followers": record.followers, "feed_entries": record.feed_entries,
            "profile_version": 0 if current is None else current.version}
