"""A pre-signed mixed workload of every transaction type, for `agora bench state` and the
devnet benchmark (`agora bench`).

Ids (listings, orders, shares, polls) are counters assigned at execution, so the workload is
built in stages: `next_setup()` returns the transactions of the next setup stage, the caller
finalizes them and hands back the new ids with `record(ids)` (receipt.events[0].data[0], in
the stage's order; None where a type issues no id). Stage by stage the setup registers and
approves merchants, lists items, opens polls, shares listings and places orders that it
drives into every state the measured part needs (paid, shipped, completed, reviewed,
disputed), and sets up group buying and promotions (a team offer on each listing, a flash
sale and a coupon campaign per merchant, teams one join short of full). `timed(count)`
then signs `count` transactions in realistic proportions
(`MIX_PER_MILLE`) whose only dependencies on other accounts are setup records already
finalized, so they succeed in any interleaving of accounts: each account's transactions
are in nonce order, and a block may mix them freely. When a pool runs out (no paid order
left to ship) the draw becomes a transfer.

Large state (`agora bench --state-accounts N --state-listings M`): `idle_accounts` funded
accounts that never send (addresses from `idle_address`, no keys) receive the measured
transfers (recipients drawn over every account in state, not only near the sender), and
`state_listings` listings in all are in state when the clock starts: after the stages
above, the merchants create the missing ones in extra stages of at most
`BALLAST_PER_MERCHANT` per merchant (inside the mempool's nonce window); they join the pool
that purchases, comments and shares draw from.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nacl.bindings import crypto_box, crypto_sign_ed25519_pk_to_curve25519
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey

import commerce  # noqa: F401  (registers every type)
from commerce import orders
from commerce.address import address_of
from commerce.encoding import sha256
from commerce.follows import Follow, Unfollow
from commerce.keys import Keypair
from commerce.limits import MAX_COUPONS_PER_ACCOUNT, MAX_OPEN_TEAMS_PER_ACCOUNT
from commerce.listings import ListingCreate, ListingDelist, ListingUpdate
from commerce.media import ListingMediaSet
from commerce.merchants import MerchantRegister, MerchantVote
from commerce.polls import PollCreate, PollVote
from commerce.profiles import ProfileSet
from commerce.promotions import CampaignCreate, CouponPurchase, FlashSaleSet
from commerce.reviews import Review, ReviewReply
from commerce.rewards import RewardClaim
from commerce.social import Comment, Share
from commerce.teams import TeamJoin, TeamOfferSet, TeamOpen
from commerce.transfer import Transfer
from commerce.tx import Transaction, TxBody, sign_tx

# Proportions of the measured part, per mille (they sum to 1000). Shopping and social
# actions dominate; governance and dispute handling are rare.
MIX_PER_MILLE: dict[str, int] = {
    "transfer": 160, "purchase": 150, "purchase_referral": 100, "share": 80, "comment": 120,
    "listing_update": 32, "listing_media_set": 8, "listing_create": 10, "order_ship": 60,
    "order_confirm": 60,
    "review": 40, "reward_claim": 20, "poll_vote": 25, "poll_create": 3, "review_reply": 10,
    "order_cancel": 5, "order_refund": 5, "order_dispute": 5, "dispute_vote": 3,
    "listing_delist": 2, "merchant_register": 2, "merchant_vote": 5,
    # Group buying and promotions (issue 23): a join fills a setup team (two orders).
    "team_open": 15, "team_join": 20, "coupon_purchase": 20, "flash_sale_set": 2,
    "campaign_create": 3,
    # Profiles and follows (issue 23): a shopper follows a merchant or a friend, leaves one
    # it followed in the setup, or sets its profile (one private field, sealed to itself
    # and a merchant).
    "follow": 20, "unfollow": 5, "profile_set": 10,
}
assert sum(MIX_PER_MILLE.values()) == 1000, "the mix is per mille"
TRANSFERS_ONLY: dict[str, int] = {"transfer": 1000}
MIXES: dict[str, dict[str, int]] = {"all": MIX_PER_MILLE, "transfers": TRANSFERS_ONLY}

# Setup orders are placed for these measured actions; the value is the state they need.
ORDER_DESTINIES: dict[str, str] = {
    "order_ship": "paid", "order_cancel": "paid", "order_refund": "paid",
    "order_confirm": "shipped", "order_dispute": "shipped", "review": "completed",
    "review_reply": "reviewed", "dispute_vote": "disputed",
}
LISTINGS_PER_MERCHANT = 10
SHARES_PER_MERCHANT = 4
POLL_CLOSE_HEIGHT = 900_000  # far ahead; genesis poll_max_blocks must allow it
POOL_MARGIN = 1.1  # setup records per expected measured use
BALLAST_PER_MERCHANT = 1_000  # listings per merchant per extra setup stage
SHOP_STOCK = 1_000_000_000
UNIT = 1_000_000
# Group buying and promotions: every setup listing gets a team offer of two seats; the
# setup opens at most SETUP_TEAMS_MAX teams for the measured joins (within a height's team
# deadlines); each merchant funds a campaign of COUPON_DISCOUNT_MINOR coupons.
TEAM_SIZE = 2
TEAM_WINDOW_BLOCKS = 900_000
SETUP_TEAMS_MAX = 900
COUPON_DISCOUNT_MINOR = UNIT // 10
CAMPAIGN_BUDGET_MINOR = 10_000 * UNIT
CAMPAIGNS_PER_MERCHANT_MAX = 15  # below MAX_OPEN_CAMPAIGNS_PER_MERCHANT
FLASH_STOCK = 100_000_000
# Follows: one measured follow in FRIEND_FOLLOW_EVERY is of another shopper (a friend), the
# others of a merchant. A profile's private field is sealed to its owner and a merchant.
FRIEND_FOLLOW_EVERY = 4
PROFILE_ADDRESS = b"12 Market Street, Springfield, 4021; ring twice, parcel box by the door"

# Genesis parameters the workload needs: an epoch cap that never stops rewards (a claim
# of nothing is refused), and the default poll window.
GENESIS_PARAMS: dict[str, Any] = {"reward_epoch_cap_minor": 10**15, "poll_max_blocks": 1_000_000}


def created_id(event_data: Sequence[Any] | None) -> int | None:
    """The id a setup transaction created, for `record`: the first field of its first
    event's data, if an integer (None for a type that issues no id)."""
    first = event_data[0] if event_data else None
    return first if isinstance(first, int) and not isinstance(first, bool) else None


def idle_address(index: int) -> bytes:
    """The address of the `index`-th idle account of a large-state bench (no key: it
    receives, never sends)."""
    return sha256(b"agora-bench-idle" + index.to_bytes(8, "big"))[:20]


@dataclass
class _Order:
    order_id: int
    buyer: int
    merchant: int
    destiny: str


@dataclass
class _Pools:
    shop: list[tuple[int, int, int]] = field(default_factory=list)  # (listing, merchant, price)
    update: list[list[int]] = field(default_factory=list)  # [listing, merchant, version]
    delist: list[tuple[int, int]] = field(default_factory=list)  # (listing, merchant)
    polls: list[int] = field(default_factory=list)
    shares: list[tuple[int, int, int]] = field(default_factory=list)  # (share, sharer, shop i)
    orders: dict[str, list[_Order]] = field(default_factory=dict)
    claimers: list[int] = field(default_factory=list)
    pending_merchants: list[int] = field(default_factory=list)
    teams: list[tuple[int, int]] = field(default_factory=list)  # (team, opener)
    campaigns: list[tuple[int, int]] = field(default_factory=list)  # (campaign, merchant)
    campaign_counts: dict[int, int] = field(default_factory=dict)  # merchant -> campaigns
    teams_opened: dict[int, int] = field(default_factory=dict)  # shopper -> teams opened
    follows: list[tuple[int, bytes]] = field(default_factory=list)  # (follower, followed)


class MixedWorkload:
    """Signs a mixed workload for `shoppers` and `merchants` (funded in genesis) on a chain
    of `validators` (their keys sign approvals and dispute votes).

    Call `next_setup()` / `record(ids)` until `next_setup()` returns None, then `timed(n)`.
    `timed_hint` sizes the setup pools for about that many measured transactions.
    """

    def __init__(self, *, chain_id: str, validators: Sequence[Keypair],
                 shoppers: Sequence[Keypair], merchants: Sequence[Keypair],
                 timed_hint: int, seed: int = 7,
                 mix: Mapping[str, int] = MIX_PER_MILLE, idle_accounts: int = 0,
                 state_listings: int = 0) -> None:
        assert validators, "the chain has validators"
        assert set(mix) <= set(MIX_PER_MILLE), "the mix names known kinds"
        assert sum(mix.values()) == 1000, "the mix is per mille"
        assert len(shoppers) >= 4, "a mixed workload needs at least 4 shoppers"
        assert merchants, "a mixed workload needs merchants"
        self.chain_id = chain_id
        self.validators = list(validators)
        self.shoppers = list(shoppers)
        self.merchants = list(merchants)
        self.rng = random.Random(seed)
        self.nonces: dict[bytes, int] = {}
        self.pools = _Pools()
        self.timed_hint = max(1, timed_hint)
        self.mix = dict(mix)
        self.needed_votes = len(validators) * 2 // 3 + 1
        self.idle_accounts = idle_accounts
        self.state_listings = state_listings
        self.listings_created = 0  # by the setup stages so far
        self._ballast_left: int | None = None
        self._stage = 0
        self._pending: list[Any] = []  # what each tx of the current stage will create
        self._used_shares: set[tuple[int, int]] = set()
        self._poll_votes: set[tuple[int, int]] = set()
        self._following: set[tuple[int, bytes]] = set()  # (shopper, followed) now
        self._profiled: set[int] = set()  # shoppers that set a profile
        self._addresses = {id(k): address_of(k.public_key) for k in
                           [*validators, *shoppers, *merchants]}

    # Signing.

    def _sign(self, key: Keypair, body: TxBody) -> Transaction:
        nonce = self.nonces.get(key.public_key, 0)
        self.nonces[key.public_key] = nonce + 1
        return sign_tx(key, self.chain_id, nonce, body)

    def _addr(self, key: Keypair) -> bytes:
        return self._addresses[id(key)]

    def _pool_size(self, kind: str) -> int:
        return int(self.timed_hint * self.mix.get(kind, 0) / 1000 * POOL_MARGIN) + 1

    # Setup.

    def next_setup(self) -> list[Transaction] | None:
        """The next setup stage's transactions (finalize them, then `record`), or None."""
        stages = self._stages()
        while self._stage < len(stages):
            built = stages[self._stage]()
            self._stage += 1
            if built:
                return self._begin(built)
        built = self._stage_ballast()
        return self._begin(built) if built else None

    def _stages(self) -> tuple[Callable[[], list[tuple[Transaction, Any]]], ...]:
        return (self._stage_register, self._stage_approve, self._stage_list,
                self._stage_share, self._stage_order, self._stage_ship, self._stage_settle,
                self._stage_review, self._stage_promote, self._stage_teams,
                self._stage_follow)

    def _begin(self, built: list[tuple[Transaction, Any]]) -> list[Transaction]:
        self._pending = [what for _, what in built]
        return [tx for tx, _ in built]

    def record(self, ids: Sequence[int | None]) -> None:
        """The new ids of the stage `next_setup` returned last, in its order."""
        assert len(ids) == len(self._pending), "one id (or None) per setup transaction"
        for new_id, what in zip(ids, self._pending, strict=True):
            if what is None:
                continue
            kind = what[0]
            assert isinstance(new_id, int), f"{kind} creates an id"
            if kind == "shop":
                self.pools.shop.append((new_id, what[1], what[2]))
            elif kind == "update":
                self.pools.update.append([new_id, what[1], 1])
            elif kind == "delist":
                self.pools.delist.append((new_id, what[1]))
            elif kind == "poll":
                self.pools.polls.append(new_id)
            elif kind == "share":
                self.pools.shares.append((new_id, what[1], what[2]))
            elif kind == "team":
                self.pools.teams.append((new_id, what[1]))
            elif kind == "campaign":
                self.pools.campaigns.append((new_id, what[1]))
            elif kind == "order":
                self.pools.orders.setdefault(what[3], []).append(
                    _Order(new_id, what[1], what[2], what[3]))
        self._pending = []

    def _stage_register(self) -> list[tuple[Transaction, Any]]:
        out = [(self._sign(m, MerchantRegister(name=f"shop {i}", profile="bench merchant")),
                None) for i, m in enumerate(self.merchants)]
        # Shoppers that apply to become merchants; validators approve them while measured.
        count = min(len(self.shoppers) // 4, self._pool_size("merchant_vote")
                    // self.needed_votes + 1)
        for i in range(count):
            shopper = len(self.shoppers) - 1 - i
            self.pools.pending_merchants.append(shopper)
            out.append((self._sign(self.shoppers[shopper],
                                   MerchantRegister(name=f"applicant {i}", profile="")), None))
        return out

    def _stage_approve(self) -> list[tuple[Transaction, Any]]:
        return [(self._sign(v, MerchantVote(merchant=self._addr(m), action="approve")), None)
                for m in self.merchants for v in self.validators[:self.needed_votes]]

    def _stage_list(self) -> list[tuple[Transaction, Any]]:
        out: list[tuple[Transaction, Any]] = []
        updates = (self._pool_size("listing_update")
                   + self._pool_size("listing_media_set")) // 8 + 1
        delists = self._pool_size("listing_delist")
        for i, merchant in enumerate(self.merchants):
            for j in range(LISTINGS_PER_MERCHANT):
                price = (1 + self.rng.randrange(50)) * UNIT
                out.append((self._sign(merchant, _listing(f"item {i}.{j}", price)),
                            ("shop", i, price)))
            out.append((self._sign(merchant, _poll(f"next product of shop {i}?")),
                        ("poll",)))
        for n in range(updates):
            i = n % len(self.merchants)
            out.append((self._sign(self.merchants[i], _listing(f"draft {n}", UNIT)),
                        ("update", i)))
        for n in range(delists):
            i = n % len(self.merchants)
            out.append((self._sign(self.merchants[i], _listing(f"old {n}", UNIT)),
                        ("delist", i)))
        self.listings_created += sum(1 for _, what in out if what[0] != "poll")
        return out

    def _stage_ballast(self) -> list[tuple[Transaction, Any]]:
        """Listings up to `state_listings` in all, at most BALLAST_PER_MERCHANT per merchant
        per stage; they join the shopping pool."""
        if self._ballast_left is None:
            self._ballast_left = max(0, self.state_listings - self.listings_created)
        count = min(self._ballast_left, BALLAST_PER_MERCHANT * len(self.merchants))
        self._ballast_left -= count
        self.listings_created += count
        out: list[tuple[Transaction, Any]] = []
        for n in range(count):
            i = n % len(self.merchants)
            price = (1 + self.rng.randrange(50)) * UNIT
            out.append((self._sign(self.merchants[i], _listing(f"stock {i}.{n}", price)),
                        ("shop", i, price)))
        return out

    def _stage_share(self) -> list[tuple[Transaction, Any]]:
        out: list[tuple[Transaction, Any]] = []
        for _ in range(len(self.merchants) * SHARES_PER_MERCHANT):
            shop_index = self.rng.randrange(len(self.pools.shop))
            sharer = self.rng.randrange(len(self.shoppers))
            if (sharer, shop_index) in self._used_shares:
                continue
            self._used_shares.add((sharer, shop_index))
            listing = self.pools.shop[shop_index][0]
            out.append((self._sign(self.shoppers[sharer], Share(listing=listing)),
                        ("share", sharer, shop_index)))
        return out

    def _stage_order(self) -> list[tuple[Transaction, Any]]:
        out: list[tuple[Transaction, Any]] = []
        for action, _state in ORDER_DESTINIES.items():
            for _ in range(self._pool_size(action)):
                buyer = self.rng.randrange(len(self.shoppers))
                listing, merchant, _price = self.rng.choice(self.pools.shop)
                body = orders.Purchase(listing=listing, version=1, quantity=1, share=0)
                out.append((self._sign(self.shoppers[buyer], body),
                            ("order", buyer, merchant, action)))
        return out

    def _orders_for(self, *actions: str) -> list[_Order]:
        return [o for a in actions for o in self.pools.orders.get(a, [])]

    def _stage_ship(self) -> list[tuple[Transaction, Any]]:
        shipped = self._orders_for("order_confirm", "order_dispute", "review", "review_reply",
                                   "dispute_vote")
        return [(self._sign(self.merchants[o.merchant], orders.OrderShip(order=o.order_id)), None)
                for o in shipped]

    def _stage_settle(self) -> list[tuple[Transaction, Any]]:
        out: list[tuple[Transaction, Any]] = []
        for o in self._orders_for("review", "review_reply"):
            out.append((self._sign(self.shoppers[o.buyer], orders.OrderConfirm(order=o.order_id)),
                        None))
            self.pools.claimers.append(o.buyer)
        for o in self._orders_for("dispute_vote"):
            out.append((self._sign(self.shoppers[o.buyer],
                                   orders.OrderDispute(order=o.order_id, reason="late")), None))
        self.pools.claimers = sorted(set(self.pools.claimers))
        return out

    def _stage_review(self) -> list[tuple[Transaction, Any]]:
        return [(self._sign(self.shoppers[o.buyer], Review(order=o.order_id, rating=5,
                                                           text="as described")), None)
                for o in self._orders_for("review_reply")]

    def _stage_promote(self) -> list[tuple[Transaction, Any]]:
        """A team offer on every setup listing, a flash sale on each merchant's second one,
        and a campaign of each merchant."""
        out: list[tuple[Transaction, Any]] = []
        for listing, merchant, price in self.pools.shop:
            out.append((self._sign(self.merchants[merchant], TeamOfferSet(
                listing=listing, size=TEAM_SIZE, price=max(1, price * 9 // 10), quantity=1,
                window_blocks=TEAM_WINDOW_BLOCKS)), None))
        for i, merchant in enumerate(self.merchants):
            listing, _, price = self._listings_of(i)[1]
            out.append((self._sign(merchant, _flash(listing, price)), None))
            out.append((self._sign(merchant, self._campaign(i)), ("campaign", i)))
        return out

    def _stage_teams(self) -> list[tuple[Transaction, Any]]:
        """Teams with one seat left for the measured joins."""
        out: list[tuple[Transaction, Any]] = []
        for _ in range(min(SETUP_TEAMS_MAX, self._pool_size("team_join"))):
            opener = self._team_opener()
            if opener is None:
                break
            listing = self.rng.choice(self.pools.shop)[0]
            out.append((self._sign(self.shoppers[opener], TeamOpen(listing=listing, version=1)),
                        ("team", opener)))
        return out

    def _stage_follow(self) -> list[tuple[Transaction, Any]]:
        """Follows of merchants for the measured unfollows."""
        out: list[tuple[Transaction, Any]] = []
        for _ in range(self._pool_size("unfollow")):
            built = self._follow()
            if built is None:
                break
            out.append((built, None))
        return out

    def _follow(self) -> Transaction | None:
        """A follow of a merchant (or, one in FRIEND_FOLLOW_EVERY, of another shopper) not
        followed yet by that shopper; None when eight draws found none."""
        for _ in range(8):
            shopper = self._shopper()
            if self.rng.randrange(FRIEND_FOLLOW_EVERY) == 0:
                friend = (shopper + 1 + self.rng.randrange(len(self.shoppers) - 1)) \
                    % len(self.shoppers)
                followed = self._addr(self.shoppers[friend])
            else:
                followed = self._addr(self.rng.choice(self.merchants))
            if (shopper, followed) not in self._following:
                self._following.add((shopper, followed))
                self.pools.follows.append((shopper, followed))
                return self._sign(self.shoppers[shopper], Follow(account=followed))
        return None

    def _team_opener(self) -> int | None:
        """A shopper below the open-team cap, counting every team it ever opened (a join
        that fills one may execute after the shopper's next opening); None when all are."""
        for _ in range(8):
            shopper = self._shopper()
            opened = self.pools.teams_opened.get(shopper, 0)
            if opened < MAX_OPEN_TEAMS_PER_ACCOUNT:
                self.pools.teams_opened[shopper] = opened + 1
                return shopper
        return None

    def _listings_of(self, merchant: int) -> list[tuple[int, int, int]]:
        return [entry for entry in self.pools.shop[:len(self.merchants) * LISTINGS_PER_MERCHANT]
                if entry[1] == merchant]

    def _campaign(self, merchant: int) -> CampaignCreate:
        count = self.pools.campaign_counts.get(merchant, 0)
        self.pools.campaign_counts[merchant] = count + 1
        return CampaignCreate(
            listing=0, discount_fixed=COUPON_DISCOUNT_MINOR, discount_bps=0, discount_cap=0,
            min_spend=0, per_account=MAX_COUPONS_PER_ACCOUNT, total_count=10_000_000,
            start_height=0, end_height=POLL_CLOSE_HEIGHT + count * len(self.merchants)
            + merchant, budget=CAMPAIGN_BUDGET_MINOR)

    # The measured part.

    def timed(self, count: int) -> list[Transaction]:
        """`count` signed transactions in the proportions of the mix (MIX_PER_MILLE by
        default)."""
        assert self._stage >= len(self._stages()) and not self._ballast_left, \
            "finish the setup stages first"
        kinds = list(self.mix)
        weights = [self.mix[k] for k in kinds]
        draws = self.rng.choices(kinds, weights, k=count)
        return [self._timed_one(kind) for kind in draws]

    def _timed_one(self, kind: str) -> Transaction:
        built = (self._t_order_action(kind) if kind in ORDER_ACTIONS
                 else getattr(self, f"_t_{kind}")())
        return built if built is not None else self._t_transfer()

    def _shopper(self) -> int:
        return self.rng.randrange(len(self.shoppers))

    def _t_transfer(self) -> Transaction:
        i = self._shopper()
        if self.idle_accounts:
            # Any account in state: nearly always an idle one (cold, read from LevelDB).
            pick = self.rng.randrange(self.idle_accounts + len(self.shoppers) - 1)
            to = (idle_address(pick - len(self.shoppers) + 1)
                  if pick >= len(self.shoppers) - 1
                  else self._addr(self.shoppers[(i + 1 + pick) % len(self.shoppers)]))
            return self._sign(self.shoppers[i],
                              Transfer(to=to, amount=1 + self.rng.randrange(UNIT)))
        step = 1 + self.rng.randrange(min(50, len(self.shoppers) - 1))  # never to itself
        to = self._addr(self.shoppers[(i + step) % len(self.shoppers)])
        return self._sign(self.shoppers[i], Transfer(to=to, amount=1 + self.rng.randrange(UNIT)))

    def _t_purchase(self) -> Transaction | None:
        listing, _merchant, _price = self.rng.choice(self.pools.shop)
        body = orders.Purchase(listing=listing, version=1, quantity=1 + self.rng.randrange(2),
                               share=0)
        return self._sign(self.shoppers[self._shopper()], body)

    def _t_purchase_referral(self) -> Transaction | None:
        if not self.pools.shares:
            return None
        share, sharer, shop_index = self.rng.choice(self.pools.shares)
        buyer = self._shopper()
        if buyer == sharer:
            buyer = (buyer + 1) % len(self.shoppers)
        listing = self.pools.shop[shop_index][0]
        body = orders.Purchase(listing=listing, version=1, quantity=1, share=share)
        return self._sign(self.shoppers[buyer], body)

    def _t_share(self) -> Transaction | None:
        for _ in range(8):
            shop_index = self.rng.randrange(len(self.pools.shop))
            sharer = self._shopper()
            if (sharer, shop_index) not in self._used_shares:
                self._used_shares.add((sharer, shop_index))
                listing = self.pools.shop[shop_index][0]
                return self._sign(self.shoppers[sharer], Share(listing=listing))
        return None

    def _t_comment(self) -> Transaction:
        listing = self.rng.choice(self.pools.shop)[0]
        text = self.rng.choice(COMMENTS)
        return self._sign(self.shoppers[self._shopper()],
                          Comment(listing=listing, parent=0, text=text))

    def _next_edit(self) -> tuple[int, int, int] | None:
        """A listing of the update pool to edit: (listing, merchant, its current version),
        the version counted as taken; None when the pool is empty."""
        if not self.pools.update:
            return None
        entry = self.rng.choice(self.pools.update)
        listing, merchant, version = entry
        entry[2] = version + 1
        return listing, merchant, version

    def _t_listing_update(self) -> Transaction | None:
        edit = self._next_edit()
        if edit is None:
            return None
        listing, merchant, version = edit
        fields = _listing_fields(f"draft {listing} v{version + 1}", (1 + version) * UNIT)
        return self._sign(self.merchants[merchant],
                          ListingUpdate(listing=listing, version=version, **fields))

    def _t_listing_media_set(self) -> Transaction | None:
        edit = self._next_edit()
        if edit is None:
            return None
        listing, merchant, version = edit
        picture = hashlib.sha256(b"picture %d v%d" % (listing, version + 1)).digest()
        return self._sign(self.merchants[merchant],
                          ListingMediaSet(listing=listing, version=version, media=[picture]))

    def _t_listing_create(self) -> Transaction:
        merchant = self.rng.randrange(len(self.merchants))
        return self._sign(self.merchants[merchant], _listing("new item", 3 * UNIT))

    def _t_listing_delist(self) -> Transaction | None:
        if not self.pools.delist:
            return None
        listing, merchant = self.pools.delist.pop()
        return self._sign(self.merchants[merchant], ListingDelist(listing=listing))

    def _t_order_action(self, action: str) -> Transaction | None:
        """`action` on the next setup order kept for it, signed by the order's merchant or
        buyer (`ORDER_ACTIONS`); None when none is left."""
        pool = self.pools.orders.get(action)
        if not pool:
            return None
        order = pool.pop()
        merchant_signs, body_of = ORDER_ACTIONS[action]
        signer = self.merchants[order.merchant] if merchant_signs else self.shoppers[order.buyer]
        return self._sign(signer, body_of(self, order.order_id))

    def _t_dispute_vote(self) -> Transaction | None:
        pool = self.pools.orders.get("dispute_vote")
        if not pool:
            return None
        o = pool.pop()
        voter = self.validators[self.rng.randrange(len(self.validators))]
        return self._sign(voter, orders.DisputeVote(order=o.order_id, decision="release"))

    def _t_reward_claim(self) -> Transaction | None:
        if not self.pools.claimers:
            return None
        return self._sign(self.shoppers[self.pools.claimers.pop()], RewardClaim())

    def _t_poll_vote(self) -> Transaction | None:
        for _ in range(8):
            poll = self.rng.choice(self.pools.polls)
            voter = self._shopper()
            if (poll, voter) not in self._poll_votes:
                self._poll_votes.add((poll, voter))
                body = PollVote(poll=poll, option=self.rng.randrange(3))
                return self._sign(self.shoppers[voter], body)
        return None

    def _t_team_open(self) -> Transaction | None:
        opener = self._team_opener()
        if opener is None:
            return None
        listing = self.rng.choice(self.pools.shop[:len(self.merchants) * LISTINGS_PER_MERCHANT])
        return self._sign(self.shoppers[opener], TeamOpen(listing=listing[0], version=1))

    def _t_team_join(self) -> Transaction | None:
        if not self.pools.teams:
            return None
        team, opener = self.pools.teams.pop()
        joiner = (opener + 1 + self.rng.randrange(len(self.shoppers) - 1)) % len(self.shoppers)
        return self._sign(self.shoppers[joiner], TeamJoin(team=team))

    def _t_coupon_purchase(self) -> Transaction | None:
        if not self.pools.campaigns:
            return None
        campaign, merchant = self.rng.choice(self.pools.campaigns)
        listing = self.rng.choice(self._listings_of(merchant))[0]
        return self._sign(self.shoppers[self._shopper()], CouponPurchase(
            listing=listing, version=1, quantity=1, campaign=campaign))

    def _t_flash_sale_set(self) -> Transaction:
        merchant = self.rng.randrange(len(self.merchants))
        listing, _, price = self.rng.choice(self._listings_of(merchant))
        return self._sign(self.merchants[merchant], _flash(listing, price))

    def _t_campaign_create(self) -> Transaction | None:
        merchant = self.rng.randrange(len(self.merchants))
        if self.pools.campaign_counts.get(merchant, 0) >= CAMPAIGNS_PER_MERCHANT_MAX:
            return None
        return self._sign(self.merchants[merchant], self._campaign(merchant))

    def _t_follow(self) -> Transaction | None:
        return self._follow()

    def _t_unfollow(self) -> Transaction | None:
        """An unfollow of a follow the setup (or an earlier measured follow) made."""
        if not self.pools.follows:
            return None
        shopper, followed = self.pools.follows.pop(0)
        self._following.discard((shopper, followed))
        return self._sign(self.shoppers[shopper], Unfollow(account=followed))

    def _t_profile_set(self) -> Transaction | None:
        """A shopper's first profile (each shopper once: one version per block), its
        delivery address sealed to itself and to a merchant."""
        for _ in range(8):
            shopper = self._shopper()
            if shopper not in self._profiled:
                self._profiled.add(shopper)
                return self._sign(self.shoppers[shopper], self._profile(shopper))
        return None

    def _profile(self, shopper: int) -> ProfileSet:
        owner = self.shoppers[shopper]
        merchant = self.rng.choice(self.merchants)
        grants = sorted((self._addr(key), key.public_key) for key in (owner, merchant))
        return ProfileSet(
            version=0, display_name=f"shopper {shopper}",
            avatar=hashlib.sha256(b"avatar %d" % shopper).digest(), bio="Likes mugs.",
            fields=["address"], grant_field=[0] * len(grants),
            grant_to=[address for address, _ in grants],
            grant_sealed=[_sealed(public_key, PROFILE_ADDRESS, self.rng)
                          for _, public_key in grants])

    def _t_poll_create(self) -> Transaction:
        merchant = self.rng.randrange(len(self.merchants))
        return self._sign(self.merchants[merchant], _poll("what should we stock?"))

    def _t_merchant_register(self) -> Transaction | None:
        # Shoppers from the front apply; the setup's applicants are at the back.
        applicant = self._applicants = getattr(self, "_applicants", -1) + 1
        if applicant >= len(self.shoppers) // 2:
            return None
        body = MerchantRegister(name=f"new shop {applicant}", profile="")
        return self._sign(self.shoppers[applicant], body)

    def _t_merchant_vote(self) -> Transaction | None:
        pool = self.pools.pending_merchants
        if not pool:
            return None
        # One validator's vote per draw; the applicant leaves the pool once approved.
        applicant = pool[-1]
        votes = self._vote_count = getattr(self, "_vote_count", 0) + 1
        voter = self.validators[(votes - 1) % self.needed_votes]
        if votes % self.needed_votes == 0:
            pool.pop()
        return self._sign(voter, MerchantVote(merchant=self._addr(self.shoppers[applicant]),
                                              action="approve"))


COMMENTS = (
    "Does it come in red?", "Bought two, both great.", "Shipping took a week.",
    "Is the price per unit?", "Love it!", "Smaller than it looks in the photo.",
)

# The measured actions on a setup order: whether its merchant signs (else its buyer), and
# the body for the order's id (a review draws its rating, then its text).
ORDER_ACTIONS: dict[str, tuple[bool, Callable[[MixedWorkload, int], TxBody]]] = {
    "order_ship": (True, lambda w, order: orders.OrderShip(order=order)),
    "order_refund": (True, lambda w, order: orders.OrderRefund(order=order)),
    "order_cancel": (False, lambda w, order: orders.OrderCancel(order=order)),
    "order_confirm": (False, lambda w, order: orders.OrderConfirm(order=order)),
    "order_dispute": (False, lambda w, order: orders.OrderDispute(order=order,
                                                                  reason="never arrived")),
    "review": (False, lambda w, order: Review(order=order, rating=1 + w.rng.randrange(5),
                                              text=w.rng.choice(COMMENTS))),
    "review_reply": (True, lambda w, order: ReviewReply(order=order, text="thanks!")),
}


def _listing_fields(title: str, price: int) -> dict[str, Any]:
    return {"title": title, "description": "A sturdy, well made thing. " * 4,
            "category": "kitchen", "price": price, "stock": SHOP_STOCK,
            "media": [bytes(32)], "referral_bps": 1_000}


def _listing(title: str, price: int) -> ListingCreate:
    return ListingCreate(**_listing_fields(title, price))


def _poll(question: str) -> PollCreate:
    return PollCreate(question=question, options=["more mugs", "more toys", "more books"],
                      scope="merchant", listing=0, buyers_only=False,
                      close_height=POLL_CLOSE_HEIGHT)


def _sealed(ed25519_public_key: bytes, plaintext: bytes, rng: random.Random) -> bytes:
    """A sealed box (as `commerce.keys.seal` makes, the recipient opens it with
    `Keypair.unseal`) whose ephemeral key comes from `rng`: the workload stays
    deterministic."""
    recipient = crypto_sign_ed25519_pk_to_curve25519(ed25519_public_key)
    ephemeral = PrivateKey(rng.randbytes(32))
    ephemeral_public = bytes(ephemeral.public_key)
    nonce = blake2b(ephemeral_public + recipient, digest_size=24, encoder=RawEncoder)
    return ephemeral_public + crypto_box(plaintext, nonce, recipient, bytes(ephemeral))


def _flash(listing: int, price: int) -> FlashSaleSet:
    return FlashSaleSet(listing=listing, price=max(1, price // 2), stock=FLASH_STOCK,
                        start_height=0, end_height=POLL_CLOSE_HEIGHT)
