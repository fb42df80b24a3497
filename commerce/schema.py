"""The commerce state layout: every key prefix, key builder and record form in one place.

Records are msgpack arrays (integers, bytes, text, lists; never maps or floats) packed by
`pack` and read by the `*_load` functions of each record class. Every record kind has its
own two-byte prefix under ``c`` (the ledger owns ``A`` and ``Z``), and the prefixes are
prefix-free, so an iteration over one never sees another. Identifiers of listings, orders,
shares, comments and polls are counters starting at 1 (shown as plain integers, short
enough to type and to carry in a referral link); keys hold them as 8 big-endian bytes, so
index order is creation order.

This module only describes state; the rules live in the modules of each transaction type.
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Annotated, Any, Self, TypeVar, cast

import msgpack  # type: ignore[import-untyped,unused-ignore]
from pydantic import Field

from commerce.address import ADDRESS_BYTES
from commerce.encoding import pack_plain
from commerce.limits import MAX_RECORD_ID, MEDIA_HASH_BYTES
from commerce.state import Overlay, StateReader

# Field types shared by transaction bodies.
RecordId = Annotated[int, Field(ge=1, le=MAX_RECORD_ID)]
AddressField = Annotated[bytes, Field(min_length=20, max_length=20)]

# Prefixes (two bytes each; none is a prefix of another).
P_COUNTER = b"cn"  # + kind (1)                      -> last id issued (8 BE)
P_MERCHANT = b"cm"  # + merchant (20)                -> MerchantRecord
P_MERCHANT_VOTE = b"cv"  # + merchant + round (4) + validator (20) -> b""
P_LISTING = b"cl"  # + listing (8)                   -> ListingRecord
P_VERSION = b"cV"  # + listing (8) + version (4)     -> VersionRecord
P_BY_MERCHANT = b"ci"  # + merchant (20) + listing (8)  -> b""
P_BY_CATEGORY = b"ck"  # + category + 0x00 + listing (8) -> b""
P_SHARE = b"cs"  # + share (8)                       -> ShareRecord
P_SHARE_OF = b"cS"  # + sharer (20) + listing (8)    -> share id (8 BE)
P_COMMENT = b"cc"  # + comment (8)                   -> CommentRecord
P_COMMENTS_OF = b"cC"  # + listing (8) + comment (8) -> b""
P_ORDER = b"co"  # + order (8)                       -> OrderRecord
P_ORDERS_OF_BUYER = b"cb"  # + buyer (20) + order (8)   -> b""
P_ORDERS_OF_MERCHANT = b"cB"  # + merchant (20) + order (8) -> b""
P_DISPUTE_VOTE = b"cd"  # + order (8) + validator (20) -> decision (1 byte)
P_TIMER = b"ct"  # + due height (8) + slot (4)       -> order id (8 BE)
P_TIMER_COUNT = b"cT"  # + due height (8)            -> slots used (8 BE)
P_BUYER_OF = b"cu"  # + merchant (20) + buyer (20)   -> completed orders (8 BE)
P_REVIEW = b"cr"  # + order (8)                      -> ReviewRecord
P_REVIEWS_OF = b"cR"  # + listing (8) + order (8)    -> b""
P_POLL = b"cp"  # + poll (8)                         -> PollRecord
P_POLL_VOTE = b"cP"  # + poll (8) + voter (20)       -> option (8 BE)
P_REWARD = b"cw"  # + account (20)                   -> RewardRecord
P_EPOCH = b"ce"  # + epoch (8)                       -> granted in the epoch (8 BE)
P_REWARDED = b"cx"  # + action kind (1) + action id (8) -> RewardedRecord
# Governance (commerce/governance_state.py, docs/GOVERNANCE.md).
P_GOV_SETS = b"cg"  # + seq (8)                      -> ValidatorSetRecord (set history)
P_GOV_PARAMS = b"cG"  # + seq (8)                    -> ParamsRecord (parameter history)
P_PROPOSAL = b"cj"  # + proposal (8)                 -> ProposalRecord
P_PROPOSAL_VOTE = b"cJ"  # + proposal (8) + validator (20) -> vote (1 byte: 1 yes, 0 no)
P_GOV_SUMMARY = b"cq"  # (the whole key)            -> GovernanceSummary
P_PROPOSAL_OPEN = b"cQ"  # + expiry height (8) + proposal (8) -> proposer (20)
# Group buying and promotions (records and sub-keys in commerce/teams_schema.py).
P_TEAM_OFFER = b"ca"  # + listing (8)                -> TeamOfferRecord
P_TEAM = b"cA"  # + team (8)                         -> TeamRecord
P_TEAM_INDEX = b"ch"  # + kind (1) + ...             -> team indexes and deadlines
P_CAMPAIGN = b"cz"  # + campaign (8)                 -> CampaignRecord
P_CAMPAIGN_INDEX = b"cZ"  # + kind (1) + ...         -> campaign indexes, uses, deadlines
P_FLASH_SALE = b"cH"  # + listing (8)                -> FlashSaleRecord
P_MEDIA_REF = b"cM"  # + media sha256 (32) + listing (8) + version (4) -> b""
# Profiles, follows and feeds (records and keys in commerce/profiles_schema.py).
P_PROFILE = b"cy"  # + account (20)                  -> ProfileRecord (the current version)
P_PROFILE_VERSION = b"cY"  # + account (20) + version (4) -> ProfileVersionRecord
P_FOLLOW = b"cf"  # + follower (20) + followed (20)  -> height followed (8 BE)
P_FOLLOWER = b"cF"  # + followed (20) + follower (20) -> b""
P_FEED = b"cE"  # + author (20) + sequence (8)      -> FeedEntryRecord
P_SOCIAL = b"cK"  # + account (20)                   -> SocialRecord

ALL_PREFIXES: tuple[bytes, ...] = (
    P_COUNTER, P_MERCHANT, P_MERCHANT_VOTE, P_LISTING, P_VERSION, P_BY_MERCHANT,
    P_BY_CATEGORY, P_SHARE, P_SHARE_OF, P_COMMENT, P_COMMENTS_OF, P_ORDER, P_ORDERS_OF_BUYER,
    P_ORDERS_OF_MERCHANT, P_DISPUTE_VOTE, P_TIMER, P_TIMER_COUNT, P_BUYER_OF, P_REVIEW,
    P_REVIEWS_OF, P_POLL, P_POLL_VOTE, P_REWARD, P_EPOCH, P_REWARDED,
    P_GOV_SETS, P_GOV_PARAMS, P_PROPOSAL, P_PROPOSAL_VOTE, P_GOV_SUMMARY, P_PROPOSAL_OPEN,
    P_TEAM_OFFER, P_TEAM, P_TEAM_INDEX, P_CAMPAIGN, P_CAMPAIGN_INDEX, P_FLASH_SALE,
    P_MEDIA_REF, P_PROFILE, P_PROFILE_VERSION, P_FOLLOW, P_FOLLOWER, P_FEED, P_SOCIAL,
)
assert len(set(ALL_PREFIXES)) == len(ALL_PREFIXES), "prefixes are distinct"
assert all(len(p) == 2 and p[:1] == b"c" for p in ALL_PREFIXES), "commerce prefixes are c?"

# Counter kinds.
COUNTER_LISTING = b"l"
COUNTER_ORDER = b"o"
COUNTER_SHARE = b"s"
COUNTER_COMMENT = b"c"
COUNTER_POLL = b"p"
COUNTER_PROPOSAL = b"g"
COUNTER_TEAM = b"a"
COUNTER_CAMPAIGN = b"z"
COUNTER_FEED = b"e"  # feed entries, one sequence for the chain (their merge order)

# Reward action kinds (the first byte of a P_REWARDED key).
ACTION_PURCHASE = b"p"  # id: the completed order
ACTION_REVIEW = b"r"  # id: the reviewed order
ACTION_SHARE = b"s"  # id: the share that converted
ACTION_COMMENT = b"c"  # id: the comment
ACTION_KINDS = (ACTION_PURCHASE, ACTION_REVIEW, ACTION_SHARE, ACTION_COMMENT)


def pack(value: list[Any]) -> bytes:
    """The msgpack bytes of a record array."""
    return pack_plain(value)


def unpack(data: bytes) -> list[Any]:
    """The array of a stored record."""
    value = msgpack.unpackb(data, raw=False, use_list=True)
    assert isinstance(value, list), "records are arrays"
    return value


_unpackb = msgpack.unpackb
_U64_PACK = struct.Struct(">Q").pack
_U32_PACK = struct.Struct(">I").pack
_U64_UNPACK = struct.Struct(">Q").unpack


# u64(value): 8 big-endian bytes (ids, heights, counts in keys and small values);
# u32(value): 4 (versions and timer slots in keys). struct.error outside the range. Plain
# aliases of the struct packers: keys are built several times per transaction.
u64: Callable[[int], bytes] = _U64_PACK
u32: Callable[[int], bytes] = _U32_PACK


def read_u64(data: bytes) -> int:
    """The integer of 8 big-endian bytes."""
    assert len(data) == 8, "u64 values are 8 bytes"
    value: int = _U64_UNPACK(data)[0]
    return value


def get_u64(view: StateReader | Overlay, key: bytes) -> int:
    """The 8-byte integer stored at `key`, 0 when absent (struct.error if not 8 bytes)."""
    raw = view.get(key)
    if raw is None:
        return 0
    value: int = _U64_UNPACK(raw)[0]
    return value


def next_id(view: Overlay, kind: bytes) -> int:
    """Issue the next identifier of `kind` (1, 2, ...)."""
    key = P_COUNTER + kind
    value = get_u64(view, key) + 1
    assert value <= MAX_RECORD_ID, "identifier space exhausted"
    view.put(key, u64(value))
    return value


class Record:
    """Base of state records: a slots dataclass stored as the array of its fields."""

    __slots__ = ()

    def to_bytes(self) -> bytes:
        """The stored form (the fields in slot order, as a msgpack array)."""
        getter = _FIELD_GETTERS.get(type(self))
        if getter is None:
            getter = _field_getter(type(self))
        return pack_plain(getter(self))

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Read the stored form back."""
        return cls(*_unpackb(data))


_FIELD_GETTERS: dict[type[Any], Callable[[Any], tuple[Any, ...]]] = {}


def _field_getter(cls: type[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving a record's fields in slot order as a tuple (msgpack packs a tuple
    as the same array as a list), built once per record class."""
    names: tuple[str, ...] = cls.__slots__
    getter: Callable[[Any], tuple[Any, ...]]
    if len(names) == 1:
        single = operator.attrgetter(names[0])

        def getter(record: Any) -> tuple[Any, ...]:
            return (single(record),)
    else:
        getter = cast(Callable[[Any], tuple[Any, ...]], operator.attrgetter(*names))
    _FIELD_GETTERS[cls] = getter
    return getter


_Record = TypeVar("_Record", bound=Record)


def load(view: StateReader | Overlay, cls: type[_Record], key: bytes) -> _Record | None:
    """The record of type `cls` at `key`, or None."""
    raw = view.get(key)
    return None if raw is None else cls.from_bytes(raw)


class MerchantStatus(IntEnum):
    """A merchant's standing, stored as its integer value (votes move it: see
    commerce/merchants.py)."""

    PENDING = 0
    APPROVED = 1
    SUSPENDED = 2


MERCHANT_STATUS_NAMES = {status.value: status.name.lower() for status in MerchantStatus}


@dataclass(slots=True)
class MerchantRecord(Record):
    """A merchant: its key (buyers seal delivery details to it), profile and standing.

    `round` counts status changes; validator votes are per round, so votes for approval
    never count towards a later suspension. `votes` is the current round's count.
    """

    public_key: bytes
    name: str
    profile: str
    status: int
    round: int
    votes: int
    registered_height: int
    status_height: int
    listings_count: int = 0
    orders_completed: int = 0
    rating_sum: int = 0
    rating_count: int = 0


@dataclass(slots=True)
class ListingRecord(Record):
    """A listing's current state; its versions hold what was offered at each update."""

    merchant: bytes
    version: int
    active: bool
    stock: int
    created_height: int
    category: str
    sold_quantity: int = 0
    rating_sum: int = 0
    rating_count: int = 0


@dataclass(slots=True)
class VersionRecord(Record):
    """One version of a listing, kept for ever; an order names the version it bought."""

    title: str
    description: str
    category: str
    price: int
    stock: int
    media: list[bytes]
    referral_bps: int
    height: int


@dataclass(slots=True)
class ShareRecord(Record):
    """A share of a listing: its id is what a referral link carries."""

    listing: int
    sharer: bytes
    height: int
    orders_completed: int = 0
    commission_earned: int = 0


@dataclass(slots=True)
class CommentRecord(Record):
    """A comment on a listing; `parent` 0 is top level, `depth` 0 at the top."""

    listing: int
    author: bytes
    parent: int
    depth: int
    text: str
    height: int
    replies: int = 0


class OrderStatus(IntEnum):
    """Where an order is in its life cycle, stored as its integer value (the moves between
    them are the table in commerce/lifecycle.py)."""

    PAID = 1
    SHIPPED = 2
    DISPUTED = 3
    COMPLETED = 4
    REFUNDED = 5
    CANCELLED = 6


ORDER_STATUS_NAMES = {status.value: status.name.lower() for status in OrderStatus}

# Dispute decisions.
DECISION_RELEASE = 1
DECISION_REFUND = 2


@dataclass(slots=True)
class OrderRecord(Record):
    """An order and its escrow. `total` sits in escrow while the order is open.

    `timer_due` is the height at which the end-of-block step acts on the open order
    (0 once closed): auto-refund when unshipped, auto-release when shipped, the default
    resolution when disputed. So every open order has a scheduled way out.
    """

    buyer: bytes
    merchant: bytes
    listing: int
    version: int
    quantity: int
    unit_price: int
    total: int
    share: int
    sharer: bytes
    referral_bps: int
    status: int
    created_height: int
    delivery: bytes
    shipped_height: int = 0
    tracking: bytes = b""
    dispute_reason: str = ""
    votes_release: int = 0
    votes_refund: int = 0
    timer_due: int = 0
    closed_height: int = 0
    commission: int = 0


@dataclass(slots=True)
class ReviewRecord(Record):
    """A buyer's review of a completed order, and the merchant's one reply."""

    listing: int
    merchant: bytes
    author: bytes
    rating: int
    text: str
    height: int
    reply: str = ""
    reply_height: int = 0


@dataclass(slots=True)
class PollRecord(Record):
    """A poll: `merchant` is empty for a marketplace poll by a validator."""

    creator: bytes
    merchant: bytes
    listing: int
    question: str
    options: list[str]
    buyers_only: bool
    close_height: int
    created_height: int
    tallies: list[int] = field(default_factory=list)
    voters: int = 0


@dataclass(slots=True)
class RewardRecord(Record):
    """An account's rewards: accrued (not yet minted) and claimed, its comment quota, its
    completed purchases as a buyer and the comment allowance they earned (base units that
    comment rewards may still draw), and what it was granted in `grant_epoch`."""

    accrued: int = 0
    claimed: int = 0
    comment_epoch: int = 0
    comment_count: int = 0
    purchases: int = 0
    comment_allowance: int = 0
    grant_epoch: int = 0
    grant_epoch_total: int = 0


@dataclass(slots=True)
class RewardedRecord(Record):
    """The marker of a rewarded action: who got how much in which epoch (written once)."""

    account: bytes
    amount: int
    epoch: int
    height: int


# Key builders.
def merchant_key(merchant: bytes) -> bytes:
    """Key of a merchant record."""
    assert len(merchant) == ADDRESS_BYTES
    return P_MERCHANT + merchant


def merchant_vote_key(merchant: bytes, round_: int, validator: bytes) -> bytes:
    """Key of a validator's vote in a merchant's current round."""
    return P_MERCHANT_VOTE + merchant + u32(round_) + validator


def listing_key(listing: int) -> bytes:
    """Key of a listing's current record."""
    return P_LISTING + u64(listing)


def version_key(listing: int, version: int) -> bytes:
    """Key of one version of a listing."""
    return P_VERSION + u64(listing) + u32(version)


def by_merchant_key(merchant: bytes, listing: int) -> bytes:
    """Index entry: a merchant's listing."""
    return P_BY_MERCHANT + merchant + u64(listing)


def by_category_key(category: str, listing: int) -> bytes:
    """Index entry: a listing in a category (categories never contain a zero byte)."""
    return P_BY_CATEGORY + category.encode() + b"\x00" + u64(listing)


def share_key(share: int) -> bytes:
    """Key of a share."""
    return P_SHARE + u64(share)


def share_of_key(sharer: bytes, listing: int) -> bytes:
    """Key of an account's one share of a listing."""
    return P_SHARE_OF + sharer + u64(listing)


def comment_key(comment: int) -> bytes:
    """Key of a comment."""
    return P_COMMENT + u64(comment)


def comments_of_key(listing: int, comment: int) -> bytes:
    """Index entry: a comment on a listing."""
    return P_COMMENTS_OF + u64(listing) + u64(comment)


def order_key(order: int) -> bytes:
    """Key of an order."""
    return P_ORDER + u64(order)


def orders_of_buyer_key(buyer: bytes, order: int) -> bytes:
    """Index entry: a buyer's order."""
    return P_ORDERS_OF_BUYER + buyer + u64(order)


def orders_of_merchant_key(merchant: bytes, order: int) -> bytes:
    """Index entry: a merchant's order."""
    return P_ORDERS_OF_MERCHANT + merchant + u64(order)


def dispute_vote_key(order: int, validator: bytes) -> bytes:
    """Key of a validator's vote on an order's dispute."""
    return P_DISPUTE_VOTE + u64(order) + validator


def timer_key(due_height: int, slot: int) -> bytes:
    """Key of the `slot`-th timer due at `due_height`."""
    return P_TIMER + u64(due_height) + u32(slot)


def timer_count_key(due_height: int) -> bytes:
    """Key of the number of timers scheduled at `due_height`."""
    return P_TIMER_COUNT + u64(due_height)


def buyer_of_key(merchant: bytes, buyer: bytes) -> bytes:
    """Key of the count of a buyer's completed orders from a merchant."""
    return P_BUYER_OF + merchant + buyer


def review_key(order: int) -> bytes:
    """Key of an order's review."""
    return P_REVIEW + u64(order)


def reviews_of_key(listing: int, order: int) -> bytes:
    """Index entry: a review of a listing."""
    return P_REVIEWS_OF + u64(listing) + u64(order)


def poll_key(poll: int) -> bytes:
    """Key of a poll."""
    return P_POLL + u64(poll)


def poll_vote_key(poll: int, voter: bytes) -> bytes:
    """Key of an account's vote in a poll."""
    return P_POLL_VOTE + u64(poll) + voter


def reward_key(account: bytes) -> bytes:
    """Key of an account's reward record."""
    return P_REWARD + account


def epoch_key(epoch: int) -> bytes:
    """Key of the total granted in an epoch."""
    return P_EPOCH + u64(epoch)


def rewarded_key(kind: bytes, action: int) -> bytes:
    """Key of the marker of a rewarded action."""
    assert kind in ACTION_KINDS
    return P_REWARDED + kind + u64(action)


def media_ref_key(media: bytes, listing: int, version: int) -> bytes:
    """Index entry: a listing version whose media include the blob `media` (its SHA-256)."""
    assert len(media) == MEDIA_HASH_BYTES, "media are SHA-256 digests"
    return P_MEDIA_REF + media + u64(listing) + u32(version)
