"""The shop's invariants hold under any sequence of transactions, valid or not.

Method: a hypothesis RuleBasedStateMachine drives every transaction type from 4 validators,
8 users and 2 fresh keys that start with nothing (ids and senders drawn from small ranges,
so many are refused) over many
blocks with short timers and epochs. Each transaction is applied to the open block's
overlay; a refused one must leave it untouched. Each block is then re-executed from
scratch with `execute_block`, once with every transaction (proposer mode) and once with
only the accepted ones (validator mode): both must give the same write set and root. After
every step the invariants of issue 4 are checked on the state, and those of the reserve
(issue 19): only accounts holding the reserve act (validators excepted) or earn, a balance
that reached the reserve never falls below it, each account's grants in an epoch stay
within its cap, and comment and share rewards go only to buyers. Governance (issue 21):
validators propose, vote on and withdraw set and parameter changes (parameters the other
invariants do not read, and the epoch length); the open-proposal count, the ordered set
history, the activation delay and growing epoch numbers hold, and the set in force decides
who acts as a validator. Group buying and
promotions (issue 23) add teams opened, joined, filled and expired, coupon campaigns created,
used, refunded, ended and closed, and flash sales, with their invariants: genesis + minted =
balances + order escrow + team escrow + campaign budgets; no team member pays more than the
team price; an unfilled team refunds every member exactly; a campaign never pays more than
its budget; reserved stock is never sold twice (a listing's stock is conserved).
Profiles and follows
(issue 23): profiles are re-versioned (stale versions, recipients added and removed, rate
limits hit), follows come and go; the current profile's version counts its version records,
whose heights rise; follow indexes mirror each other and their counts; each author's feed
is a gapless sequence whose chain-wide numbers rise; a feed page is the followed authors'
entries newest first, and its pages together are the whole feed once.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from commerce import feeds, governance_state, orders, teams
from commerce.address import address_of
from commerce.errors import ValidationError
from commerce.follows import Follow, Unfollow
from commerce.governance import (
    ValidatorPropose,
    ValidatorVote,
    ValidatorWithdraw,
    rotation_message,
)
from commerce.keys import Keypair
from commerce.ledger import POOL_CAMPAIGNS, POOL_TEAM_ESCROW, get_account, get_pool, get_supply
from commerce.lifecycle import OPEN_ORDER_STATUSES
from commerce.limits import MAX_FOLLOWING, MAX_PROFILE_VERSIONS_PER_EPOCH
from commerce.listings import (
    ListingCreate,
    ListingDelist,
    ListingUpdate,
    get_listing,
    get_version,
)
from commerce.machine import ChainContext, apply_tx, execute_block
from commerce.media import ListingMediaSet
from commerce.merchants import MerchantRegister, MerchantVote
from commerce.polls import PollCreate, PollVote
from commerce.pricing import get_campaign
from commerce.profiles import ProfileSet, get_profile
from commerce.profiles_schema import (
    FeedEntryRecord,
    ProfileRecord,
    ProfileVersionRecord,
    SocialRecord,
)
from commerce.promotions import CampaignClose, CampaignCreate, CouponPurchase, FlashSaleSet
from commerce.reviews import Review, ReviewReply
from commerce.rewards import RewardClaim
from commerce.schema import (
    ACTION_COMMENT,
    ACTION_SHARE,
    COUNTER_CAMPAIGN,
    COUNTER_COMMENT,
    COUNTER_FEED,
    COUNTER_LISTING,
    COUNTER_ORDER,
    COUNTER_POLL,
    COUNTER_SHARE,
    COUNTER_TEAM,
    P_CAMPAIGN,
    P_COUNTER,
    P_EPOCH,
    P_FEED,
    P_FOLLOW,
    P_FOLLOWER,
    P_LISTING,
    P_MEDIA_REF,
    P_ORDER,
    P_PROFILE,
    P_PROFILE_VERSION,
    P_REVIEW,
    P_REWARD,
    P_REWARDED,
    P_SOCIAL,
    P_TEAM,
    P_VERSION,
    ListingRecord,
    OrderRecord,
    OrderStatus,
    ReviewRecord,
    RewardedRecord,
    RewardRecord,
    VersionRecord,
    get_u64,
    media_ref_key,
    read_u64,
    timer_count_key,
    timer_key,
)
from commerce.social import Comment, Share
from commerce.state import Overlay
from commerce.teams import TeamJoin, TeamOfferSet, TeamOpen
from commerce.teams_schema import (
    CampaignRecord,
    CampaignStatus,
    OrderDiscountRecord,
    TeamRecord,
    TeamStatus,
    order_discount_key,
)
from commerce.transfer import Transfer
from commerce.tx import Transaction, TxBody
from tests.commerce.shop import CHAIN_ID, Shop, addr, keypair

PARAMS = {
    "order_auto_release_blocks": 4,
    "order_ship_timeout_blocks": 7,
    "dispute_timeout_blocks": 5,
    "epoch_blocks": 6,
    "reward_purchase_minor": 1_000,
    "reward_review_minor": 500,
    "reward_share_minor": 300,
    "reward_comment_minor": 100,
    "reward_epoch_cap_minor": 2_500,
    "reward_comment_limit": 2,
    "max_referral_bps": 4_000,
    "poll_max_blocks": 12,
    "account_reserve_minor": 1_000_000,
    "reward_price_bps": 1_000,
    "reward_account_epoch_cap_minor": 1_200,
}
RESERVE = PARAMS["account_reserve_minor"]
N_KEYS = 14  # 4 validators, 8 users, then 2 fresh keys (not in genesis)
key_index = st.integers(0, N_KEYS - 1)
# Merchant hopefuls: validator 3 and users 0-2 (keys 3-6), so votes pile up on a few.
merchant_index = st.one_of(st.integers(3, 6), key_index)
CATEGORIES = ("kitchen", "books", "toys")
TEAM_WINDOW_MAX = 6  # the longest team window and campaign the rules below draw
CAMPAIGN_BLOCKS_MAX = 10 + 3
SETUP_CAMPAIGN_END = 30
STATS: dict[str, int] = {}  # accepted types and refusal reasons (to tune the rules)


class ShopMachine(RuleBasedStateMachine):
    """Random transactions against one in-memory chain; see the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.shop = Shop(n_validators=4, n_users=8, **PARAMS)
        fresh = [keypair("fresh", i) for i in range(N_KEYS - len(self.shop.validators)
                                                    - len(self.shop.users))]
        self.keys: list[Keypair] = self.shop.validators + self.shop.users + fresh
        self.by_address = {addr(k): k for k in self.keys}
        self.markers: dict[bytes, bytes] = {}
        self.reserve_holders: set[bytes] = set()
        self._open_block()
        self._setup()

    def _setup(self) -> None:
        """Two approved merchants (validator 3 and user 0) with two listings each."""
        for merchant in (self.keys[3], self.keys[4]):
            assert self._send(merchant, MerchantRegister(name="m", profile=""))
            for voter in self.keys[:3]:
                assert self._send(voter, MerchantVote(merchant=addr(merchant), action="approve"))
            for price in (150_000, 3_000_000):
                assert self._send(merchant, ListingCreate(
                    title="seed", description="", category="kitchen", price=price, stock=8,
                    media=[], referral_bps=2_500))
            # Group buying and promotions from the start: a team offer on the cheap seed,
            # and a coupon campaign of each merchant.
            cheap = self._count(COUNTER_LISTING) - 1
            assert self._send(merchant, TeamOfferSet(listing=cheap, size=2, price=100_000,
                                                     quantity=1, window_blocks=3))
            assert self._send(merchant, CampaignCreate(
                listing=0, discount_fixed=20_000, discount_bps=0, discount_cap=0,
                min_spend=0, per_account=2, total_count=6, start_height=0,
                end_height=SETUP_CAMPAIGN_END, budget=100_000))
        self._finish_block()

    # Block plumbing.

    def _open_block(self) -> None:
        self.view = Overlay(self.shop.state)
        self.ctx = ChainContext.at(self.shop.state, self.shop.genesis, self.shop.height + 1)
        self.all_txs: list[Transaction] = []
        self.kept: list[Transaction] = []

    def _send(self, key: Keypair, body: TxBody) -> bool:
        nonce = get_account(self.view, addr(key)).nonce
        tx = self.shop.sign(key, body, nonce=nonce)
        before = dict(self.view.writes)
        self.all_txs.append(tx)
        could_act = (get_account(self.view, addr(key)).balance >= RESERVE
                     or key.public_key in self.ctx.validators)
        try:
            apply_tx(self.ctx, self.view, tx)
            assert could_act, "only an account holding the reserve (or a validator) acts"
        except ValidationError as exc:
            assert self.view.writes == before, f"refused {body.TYPE} changed the state"
            STATS[f"{body.TYPE}:{exc.reason}"] = STATS.get(f"{body.TYPE}:{exc.reason}", 0) + 1
            return False
        STATS[body.TYPE] = STATS.get(body.TYPE, 0) + 1
        self.kept.append(tx)
        return True

    def _finish_block(self) -> None:
        shop = self.shop
        proposed = execute_block(shop.state, self.ctx, shop.root, self.all_txs,
                                 drop_invalid=True)
        assert [t.tx_id for t in proposed.txs] == [t.tx_id for t in self.kept]
        validated = execute_block(shop.state, self.ctx, shop.root, self.kept,
                                  drop_invalid=False)
        assert validated.state_root == proposed.state_root, "refused txs changed the root"
        assert validated.writes == proposed.writes
        for event in proposed.end_events:
            if event.kind == "team_expired":  # every member refunded exactly what it paid
                team = teams.get_team(self.view, int(event.data[0]))
                assert team is not None and team.status == TeamStatus.OPEN
                assert event.data[1] == team.paid_each * len(team.members)
                assert set(event.addresses[:-1]) == set(team.members)
        shop.state.apply(proposed.writes)
        shop.root = proposed.state_root
        shop.height += 1
        self._open_block()

    # Helpers that pick mostly-sensible targets.

    def _count(self, kind: bytes) -> int:
        return get_u64(self.view, P_COUNTER + kind)

    def _order(self, order_id: int) -> OrderRecord | None:
        return orders.get_order(self.view, order_id)

    def _pick(self, kind: bytes, raw: int) -> int:
        """An id among those issued; the next one (unknown) for raw 0."""
        count = self._count(kind)
        return count + 1 if raw == 0 or count == 0 else 1 + (raw - 1) % count

    def _key_of(self, address: bytes, fallback: int) -> Keypair:
        return self.by_address.get(address, self.keys[fallback])

    def _listing_signer(self, smart: bool, sender: int,
                        listing: int) -> tuple[int, ListingRecord | None, Keypair]:
        """A listing among those issued, its record, and who signs for it: `smart`, its
        merchant (when it exists); else the sender."""
        listing = self._pick(COUNTER_LISTING, listing)
        record = get_listing(self.view, listing)
        key = self.keys[sender]
        if smart and record is not None:
            key = self._key_of(record.merchant, sender)
        return listing, record, key

    def _listing_edit(self, smart: bool, sender: int, listing: int,
                      drift: int) -> tuple[int, Keypair, int]:
        """The listing, signer and version of an edit: `smart`, its merchant's key and its
        current version; else the sender's key and the version off by `drift`."""
        listing, record, key = self._listing_signer(smart, sender, listing)
        version = 1
        if record is not None:
            version = max(1, record.version + (0 if smart else drift))
        return listing, key, version

    # Rules: merchants and listings.

    @rule(sender=merchant_index)
    def register(self, sender: int) -> None:
        self._send(self.keys[sender], MerchantRegister(name=f"m{sender}", profile=""))

    @rule(voter=st.integers(0, 4), merchant=merchant_index,
          action=st.sampled_from(["approve", "approve", "suspend", "reinstate"]))
    def merchant_vote(self, voter: int, merchant: int, action: str) -> None:
        body = MerchantVote(merchant=addr(self.keys[merchant]), action=action)  # type: ignore[arg-type]
        self._send(self.keys[voter], body)

    @rule(sender=merchant_index, price=st.integers(1, 400_000), stock=st.integers(0, 4),
          bps=st.integers(0, 5_000), category=st.sampled_from(CATEGORIES))
    def listing_create(self, sender: int, price: int, stock: int, bps: int,
                       category: str) -> None:
        self._send(self.keys[sender], ListingCreate(
            title=f"item {price}", description="", category=category, price=price,
            stock=stock, media=[], referral_bps=bps))

    @rule(smart=st.booleans(), sender=key_index, listing=st.integers(0, 12),
          drift=st.integers(-1, 1), price=st.integers(1, 400_000), stock=st.integers(0, 4),
          category=st.sampled_from(CATEGORIES))
    def listing_update(self, smart: bool, sender: int, listing: int, drift: int, price: int,
                       stock: int, category: str) -> None:
        listing, key, version = self._listing_edit(smart, sender, listing, drift)
        self._send(key, ListingUpdate(
            listing=listing, version=version, title="updated", description="d",
            category=category, price=price, stock=stock, media=[], referral_bps=stock * 500))

    @rule(smart=st.booleans(), sender=key_index, listing=st.integers(0, 12))
    def listing_delist(self, smart: bool, sender: int, listing: int) -> None:
        listing, _, key = self._listing_signer(smart, sender, listing)
        self._send(key, ListingDelist(listing=listing))

    # Rules: social.

    @rule(sender=key_index, listing=st.integers(0, 12))
    def share(self, sender: int, listing: int) -> None:
        listing = self._pick(COUNTER_LISTING, listing)
        self._send(self.keys[sender], Share(listing=listing))

    @rule(sender=key_index, listing=st.integers(0, 12),
          parent=st.one_of(st.just(0), st.integers(1, 20)))
    def comment(self, sender: int, listing: int, parent: int) -> None:
        listing = self._pick(COUNTER_LISTING, listing)
        parent = self._pick(COUNTER_COMMENT, parent) if parent else 0
        self._send(self.keys[sender], Comment(listing=listing, parent=parent, text="c"))

    # Rules: purchases and the order life cycle.

    @rule(sender=key_index, listing=st.integers(0, 12), stale=st.booleans(),
          quantity=st.integers(1, 3), share=st.one_of(st.just(0), st.integers(1, 8)),
          sealed=st.booleans())
    def purchase(self, sender: int, listing: int, stale: bool, quantity: int, share: int,
                 sealed: bool) -> None:
        listing = self._pick(COUNTER_LISTING, listing)
        share = self._pick(COUNTER_SHARE, share) if share else 0
        record = get_listing(self.view, listing)
        version = 1 if record is None or stale else record.version
        self._send(self.keys[sender], orders.Purchase(
            listing=listing, version=version, quantity=quantity, share=share,
            delivery=b"\x01" * 60 if sealed else b""))

    @rule(smart=st.booleans(), sender=key_index, order=st.integers(0, 30),
          action=st.sampled_from(["ship", "confirm", "cancel", "refund", "dispute"]))
    def order_action(self, smart: bool, sender: int, order: int, action: str) -> None:
        order = self._pick(COUNTER_ORDER, order)
        record = self._order(order)
        key = self.keys[sender]
        if smart and record is not None:
            party = record.merchant if action in ("ship", "refund") else record.buyer
            key = self._key_of(party, sender)
        body: TxBody
        if action == "ship":
            body = orders.OrderShip(order=order, tracking=b"")
        elif action == "confirm":
            body = orders.OrderConfirm(order=order)
        elif action == "cancel":
            body = orders.OrderCancel(order=order)
        elif action == "refund":
            body = orders.OrderRefund(order=order)
        else:
            body = orders.OrderDispute(order=order, reason="late")
        self._send(key, body)

    @rule(order=st.integers(1, 30), choice=st.integers(0, 3))
    def push_order(self, order: int, choice: int) -> None:
        """The right party takes the next step of an order (so life cycles complete)."""
        order = self._pick(COUNTER_ORDER, order)
        record = self._order(order)
        if record is None:
            return
        buyer = self._key_of(record.buyer, 0)
        merchant = self._key_of(record.merchant, 0)
        if record.status == OrderStatus.PAID:
            self._send(merchant, orders.OrderShip(order=order, tracking=b""))
        elif record.status == OrderStatus.SHIPPED:
            body: TxBody = (orders.OrderDispute(order=order, reason="") if choice == 0
                            else orders.OrderConfirm(order=order))
            self._send(buyer, body)
        elif record.status == OrderStatus.DISPUTED:
            decision = "release" if choice % 2 else "refund"
            self._send(self.keys[choice], orders.DisputeVote(order=order, decision=decision))  # type: ignore[arg-type]
        elif record.status == OrderStatus.COMPLETED and choice == 3:
            self._send(merchant, ReviewReply(order=order, text="thank you"))
        elif record.status == OrderStatus.COMPLETED:
            self._send(buyer, Review(order=order, rating=1 + choice, text=""))

    @rule(voter=st.integers(0, 4), order=st.integers(0, 30),
          decision=st.sampled_from(["release", "refund"]))
    def dispute_vote(self, voter: int, order: int, decision: str) -> None:
        order = self._pick(COUNTER_ORDER, order)
        self._send(self.keys[voter], orders.DisputeVote(order=order, decision=decision))  # type: ignore[arg-type]

    # Rules: reviews, polls, rewards, transfers.

    @rule(smart=st.booleans(), sender=key_index, order=st.integers(0, 30),
          rating=st.integers(1, 5), reply=st.booleans())
    def review(self, smart: bool, sender: int, order: int, rating: int, reply: bool) -> None:
        order = self._pick(COUNTER_ORDER, order)
        record = self._order(order)
        key = self.keys[sender]
        if smart and record is not None:
            key = self._key_of(record.merchant if reply else record.buyer, sender)
        body: TxBody = ReviewReply(order=order, text="thanks") if reply else Review(
            order=order, rating=rating, text="ok")
        self._send(key, body)

    @rule(sender=merchant_index, marketplace=st.booleans(), buyers_only=st.booleans(),
          close=st.integers(0, 14))
    def poll_create(self, sender: int, marketplace: bool, buyers_only: bool,
                    close: int) -> None:
        self._send(self.keys[sender], PollCreate(
            question="q?", options=["a", "b", "c"],
            scope="marketplace" if marketplace else "merchant", listing=0,
            buyers_only=buyers_only, close_height=self.ctx.height + close or 1))

    @rule(sender=key_index, poll=st.integers(0, 6), option=st.integers(0, 3))
    def poll_vote(self, sender: int, poll: int, option: int) -> None:
        poll = self._pick(COUNTER_POLL, poll)
        self._send(self.keys[sender], PollVote(poll=poll, option=option))

    @rule(smart=st.booleans(), sender=key_index)
    def reward_claim(self, smart: bool, sender: int) -> None:
        """`smart`: the first account from `sender` on with something accrued claims."""
        key = self.keys[sender]
        if smart:
            for offset in range(N_KEYS):
                candidate = self.keys[(sender + offset) % N_KEYS]
                raw = self.view.get(P_REWARD + addr(candidate))
                if raw is not None and RewardRecord.from_bytes(raw).accrued > 0:
                    key = candidate
                    break
        self._send(key, RewardClaim())

    @rule(sender=key_index, to=key_index, amount=st.integers(1, 2_000_000_000))
    def transfer(self, sender: int, to: int, amount: int) -> None:
        self._send(self.keys[sender], Transfer(to=addr(self.keys[to]), amount=amount, memo=""))

    @rule(sender=key_index, fresh=st.integers(12, N_KEYS - 1), extra=st.integers(-1, 2))
    def fund_fresh(self, sender: int, fresh: int, extra: int) -> None:
        """About the reserve to a fresh key (one unit short is refused while it has none)."""
        self._send(self.keys[sender], Transfer(to=addr(self.keys[fresh]),
                                               amount=RESERVE + extra, memo=""))

    # Rules: governance (parameters the invariants above do not read).

    @rule(sender=key_index, kind=st.sampled_from(["add", "remove", "rotate_key", "set_param"]),
          subject=key_index, value=st.integers(0, 20))
    def governance_propose(self, sender: int, kind: str, subject: int, value: int) -> None:
        key, other = self.keys[sender], self.keys[subject]
        if kind == "add":
            body = ValidatorPropose(kind="add", key=other.public_key, name=f"k{subject}",
                                    p2p_address="10.0.0.1:26656")
        elif kind == "remove":
            body = ValidatorPropose(kind="remove", key=other.public_key)
        elif kind == "rotate_key":
            signature = other.sign(rotation_message(CHAIN_ID, key.public_key, other.public_key))
            body = ValidatorPropose(kind="rotate_key", key=other.public_key, signature=signature)
        else:
            param = ("poll_max_blocks", "reward_comment_limit", "max_referral_bps",
                     "epoch_blocks")[value % 4]
            body = ValidatorPropose(kind="set_param", param=param, value=1 + value * 7)
        self._send(key, body)

    @rule(voter=key_index, proposal=st.integers(0, 8), yes=st.booleans())
    def governance_vote(self, voter: int, proposal: int, yes: bool) -> None:
        proposal = self._pick(b"g", proposal)
        self._send(self.keys[voter], ValidatorVote(proposal=proposal,
                                                   vote="yes" if yes else "no"))

    @rule(sender=key_index, proposal=st.integers(0, 8))
    def governance_withdraw(self, sender: int, proposal: int) -> None:
        proposal = self._pick(b"g", proposal)
        self._send(self.keys[sender], ValidatorWithdraw(proposal=proposal))
    # Rules: group buying.

    @rule(smart=st.booleans(), sender=key_index, listing=st.integers(0, 12),
          size=st.integers(2, 3), price=st.integers(1, 400_000),
          quantity=st.sampled_from([1, 1, 2]), window=st.integers(1, 6))
    def team_offer_set(self, smart: bool, sender: int, listing: int, size: int, price: int,
                       quantity: int, window: int) -> None:
        listing, record, key = self._listing_signer(smart, sender, listing)
        if smart and record is not None:
            version = get_version(self.view, listing, record.version)
            assert version is not None
            price = 1 + price % version.price  # at most the listing's price
        self._send(key, TeamOfferSet(listing=listing, size=size, price=price,
                                     quantity=quantity, window_blocks=window))

    def _listings_where(self, keep: Callable[[int, ListingRecord], bool]) -> list[int]:
        found = []
        for key, raw in self.view.iterate(P_LISTING):
            listing = read_u64(key[len(P_LISTING):])
            if keep(listing, ListingRecord.from_bytes(raw)):
                found.append(listing)
        return found

    @rule(smart=st.booleans(), sender=key_index, listing=st.integers(0, 12),
          share=st.one_of(st.just(0), st.integers(1, 8)))
    def team_open(self, smart: bool, sender: int, listing: int, share: int) -> None:
        offered = self._listings_where(
            lambda listing, _: teams.get_team_offer(self.view, listing) is not None)
        if smart and offered:
            listing = offered[listing % len(offered)]
        else:
            listing = self._pick(COUNTER_LISTING, listing)
        share = self._pick(COUNTER_SHARE, share) if share else 0
        record = get_listing(self.view, listing)
        version = 1 if record is None else record.version
        self._send(self.keys[sender], TeamOpen(listing=listing, version=version, share=share))

    @rule(smart=st.booleans(), sender=key_index, team=st.integers(0, 10),
          share=st.one_of(st.just(0), st.integers(1, 8)))
    def team_join(self, smart: bool, sender: int, team: int, share: int) -> None:
        open_teams = [read_u64(key[len(P_TEAM):]) for key, raw in self.view.iterate(P_TEAM)
                      if TeamRecord.from_bytes(raw).status == TeamStatus.OPEN]
        if smart and open_teams:
            team = open_teams[team % len(open_teams)]
        else:
            team = self._pick(COUNTER_TEAM, team)
        share = self._pick(COUNTER_SHARE, share) if share else 0
        self._send(self.keys[sender], TeamJoin(team=team, share=share))

    # Rules: promotions.

    @rule(sender=st.one_of(st.sampled_from([3, 4]), merchant_index),
          listing=st.integers(0, 12), fixed=st.booleans(),
          amount=st.integers(1, 200_000), bps=st.integers(1, 10_000),
          min_spend=st.integers(0, 300_000), per_account=st.integers(1, 2),
          total=st.integers(1, 4), start=st.integers(-2, 3), length=st.integers(1, 10),
          budget=st.integers(1, 500_000))
    def campaign_create(self, sender: int, listing: int, fixed: bool, amount: int, bps: int,
                        min_spend: int, per_account: int, total: int, start: int,
                        length: int, budget: int) -> None:
        listing = self._pick(COUNTER_LISTING, listing) if listing else 0
        first = max(0, self.ctx.height + start)
        self._send(self.keys[sender], CampaignCreate(
            listing=listing, discount_fixed=amount if fixed else 0,
            discount_bps=0 if fixed else bps, discount_cap=0 if fixed else amount,
            min_spend=min_spend, per_account=per_account, total_count=total,
            start_height=first, end_height=first + length, budget=budget))

    @rule(smart=st.booleans(), sender=key_index, campaign=st.integers(0, 8))
    def campaign_close(self, smart: bool, sender: int, campaign: int) -> None:
        campaign = self._pick(COUNTER_CAMPAIGN, campaign)
        record = get_campaign(self.view, campaign)
        key = self.keys[sender]
        if smart and record is not None:
            key = self._key_of(record.merchant, sender)
        self._send(key, CampaignClose(campaign=campaign))

    @rule(smart=st.booleans(), sender=key_index, listing=st.integers(0, 12),
          campaign=st.integers(0, 8), quantity=st.integers(1, 3))
    def coupon_purchase(self, smart: bool, sender: int, listing: int, campaign: int,
                        quantity: int) -> None:
        campaign = self._pick(COUNTER_CAMPAIGN, campaign)
        record = get_campaign(self.view, campaign)
        if smart and record is not None:  # a listing the coupon applies to
            merchant = record.merchant
            mine = self._listings_where(lambda _, found: found.merchant == merchant)
            listing = record.listing or (mine[listing % len(mine)] if mine else listing)
        else:
            listing = self._pick(COUNTER_LISTING, listing)
        found = get_listing(self.view, listing)
        version = 1 if found is None else found.version
        self._send(self.keys[sender], CouponPurchase(
            listing=listing, version=version, quantity=quantity, campaign=campaign))

    @rule(smart=st.booleans(), sender=key_index, listing=st.integers(0, 12),
          price=st.integers(1, 300_000), stock=st.integers(0, 4), start=st.integers(-2, 3),
          length=st.integers(1, 8))
    def flash_sale_set(self, smart: bool, sender: int, listing: int, price: int, stock: int,
                       start: int, length: int) -> None:
        listing, _, key = self._listing_signer(smart, sender, listing)
        first = max(0, self.ctx.height + start)
        self._send(key, FlashSaleSet(listing=listing, price=price, stock=stock,
                                     start_height=first, end_height=first + length))
    # Rules: profiles and follows (issue 23).

    @rule(sender=key_index, smart=st.booleans(), drift=st.integers(-1, 1),
          fields=st.sets(st.sampled_from(["address", "email", "phone"])),
          recipients=st.lists(key_index, max_size=3), shuffled=st.booleans())
    def profile_set(self, sender: int, smart: bool, drift: int, fields: set[str],
                    recipients: list[int], shuffled: bool) -> None:
        """A new version: each field sealed to the owner and the recipients (fake sealed
        bytes: the chain never opens them); `shuffled` breaks the canonical layout."""
        key = self.keys[sender]
        current = get_profile(self.view, addr(key))
        version = (0 if current is None else current.version) + (0 if smart else drift)
        names = sorted(fields)
        to = sorted({addr(key), *(addr(self.keys[r]) for r in recipients)})
        pairs = [(index, address) for index in range(len(names)) for address in to]
        if shuffled:
            pairs.reverse()
        self._send(key, ProfileSet(
            version=max(0, version), display_name=f"user {sender}", avatar=b"", bio="",
            fields=names, grant_field=[i for i, _ in pairs], grant_to=[a for _, a in pairs],
            grant_sealed=[bytes([i]) * 60 for i, _ in pairs]))

    @rule(sender=key_index, whom=key_index, stop=st.booleans())
    def follow(self, sender: int, whom: int, stop: bool) -> None:
        """`stop`: unfollow, mostly one of the sender's follows."""
        account = addr(self.keys[whom])
        if stop:
            prefix = P_FOLLOW + addr(self.keys[sender])
            follows = [key[len(prefix):] for key, _ in self.view.iterate(prefix)]
            if follows and whom % 4:
                account = follows[whom % len(follows)]
        body: TxBody = Unfollow(account=account) if stop else Follow(account=account)
        self._send(self.keys[sender], body)
    @rule(smart=st.booleans(), sender=key_index, listing=st.integers(0, 12),
          drift=st.integers(-1, 1), pictures=st.lists(st.integers(0, 3), max_size=3))
    def listing_media_set(self, smart: bool, sender: int, listing: int, drift: int,
                          pictures: list[int]) -> None:
        listing, key, version = self._listing_edit(smart, sender, listing, drift)
        # Four possible pictures, so lists repeat (media_duplicate) and recur (unchanged).
        self._send(key, ListingMediaSet(listing=listing, version=version,
                                        media=[bytes([n]) * 32 for n in pictures]))

    @rule()
    def end_block(self) -> None:
        self._finish_block()

    @precondition(lambda self: not self.all_txs)
    @rule(blocks=st.integers(1, 6))
    def empty_blocks(self, blocks: int) -> None:
        for _ in range(blocks):
            self._finish_block()

    # Invariants (on the open block's view, so mid-block states are checked too).

    @invariant()
    def supply_identity_and_no_negative(self) -> None:
        view = self.view
        supply = get_supply(view)
        balances = 0
        for key, _raw in view.iterate(b"A"):
            balance = get_account(view, key[1:]).balance
            assert balance >= 0
            balances += balance
        assert supply.total == supply.genesis + supply.minted
        team_escrow = get_pool(view, POOL_TEAM_ESCROW)
        budgets = get_pool(view, POOL_CAMPAIGNS)
        assert supply.total == balances + supply.escrow + team_escrow + budgets
        escrow = 0
        for _key, raw in view.iterate(P_ORDER):
            record = OrderRecord.from_bytes(raw)
            if record.status in OPEN_ORDER_STATUSES:
                escrow += record.total
        assert escrow == supply.escrow, "escrow is exactly the open orders' payments"
        for _, raw in view.iterate(P_LISTING):
            assert ListingRecord.from_bytes(raw).stock >= 0

    @invariant()
    def teams_hold_their_escrow_and_members_pay_the_team_price(self) -> None:
        view = self.view
        held = 0
        for _, raw in view.iterate(P_TEAM):
            team = TeamRecord.from_bytes(raw)
            assert len(set(team.members)) == len(team.members), "one place per account"
            assert team.merchant not in team.members, "no merchant in its own team"
            version = get_version(view, team.listing, team.version)
            assert version is not None and team.price <= version.price
            if team.status == TeamStatus.OPEN:
                held += team.paid_each * len(team.members)
                assert len(team.members) < team.size
            elif team.status == TeamStatus.FILLED:
                assert len(team.members) == team.size
                for index, member in enumerate(team.members):
                    order = orders.get_order(view, team.first_order + index)
                    assert order is not None and order.buyer == member
                    assert order.total == team.paid_each, "a member pays the team price"
                    assert order.unit_price == team.price
        assert held == get_pool(view, POOL_TEAM_ESCROW), "team escrow is the open teams'"

    @invariant()
    def campaigns_never_pay_more_than_their_budget(self) -> None:
        view = self.view
        locked = 0
        paid: dict[int, int] = {}
        for key, raw in view.iterate(P_ORDER):
            order_id = read_u64(key[len(P_ORDER):])
            found = view.get(order_discount_key(order_id))
            if found is None:
                continue
            discount = OrderDiscountRecord.from_bytes(found)
            status = OrderRecord.from_bytes(raw).status
            if status not in (OrderStatus.REFUNDED, OrderStatus.CANCELLED):
                paid[discount.campaign] = paid.get(discount.campaign, 0) + discount.discount
        for key, raw in view.iterate(P_CAMPAIGN):
            record = CampaignRecord.from_bytes(raw)
            campaign_id = read_u64(key[len(P_CAMPAIGN):])
            assert 0 <= record.paid_out <= record.funded
            assert record.paid_out + record.budget + record.returned == record.funded
            assert record.paid_out == paid.get(campaign_id, 0), "discounts are the paid out"
            assert record.used_count <= record.total_count
            if record.status == CampaignStatus.OPEN:
                locked += record.budget
            else:
                assert record.budget == 0, "an ended campaign returned what was left"
        assert locked == budgets_of(view), "the campaign pool is the open budgets"

    @invariant()
    def reserved_stock_is_never_sold_twice(self) -> None:
        """A listing never updated keeps its stock: what is in stock, reserved by open
        teams, and held by orders that took units adds up to the stock it was created
        with."""
        view = self.view
        used: dict[int, int] = {}
        for _, raw in view.iterate(P_TEAM):
            team = TeamRecord.from_bytes(raw)
            if team.status == TeamStatus.OPEN:
                used[team.listing] = used.get(team.listing, 0) + team.reserved
        for _, raw in view.iterate(P_ORDER):
            order = OrderRecord.from_bytes(raw)
            returned = order.status in (OrderStatus.REFUNDED, OrderStatus.CANCELLED) \
                and order.shipped_height == 0
            if not returned:
                used[order.listing] = used.get(order.listing, 0) + order.quantity
        for key, raw in view.iterate(P_LISTING):
            listing = ListingRecord.from_bytes(raw)
            if listing.version != 1:
                continue  # an update sets the stock afresh
            listing_id = read_u64(key[len(P_LISTING):])
            first = get_version(view, listing_id, 1)
            assert first is not None
            assert listing.stock + used.get(listing_id, 0) == first.stock

    @invariant()
    def reviews_belong_to_completed_orders_of_their_author(self) -> None:
        for key, raw in self.view.iterate(P_REVIEW):
            record = ReviewRecord.from_bytes(raw)
            order = orders.get_order(self.view, read_u64(key[len(P_REVIEW):]))
            assert order is not None
            assert order.status == OrderStatus.COMPLETED
            assert order.buyer == record.author

    @invariant()
    def rewards_once_and_within_the_epoch_cap(self) -> None:
        view = self.view
        per_account: dict[bytes, int] = {}
        per_epoch: dict[int, int] = {}
        for key, raw in view.iterate(P_REWARDED):
            if key in self.markers:
                assert self.markers[key] == raw, "a reward marker never changes"
            self.markers[key] = raw
            marker = RewardedRecord.from_bytes(raw)
            per_account[marker.account] = per_account.get(marker.account, 0) + marker.amount
            per_epoch[marker.epoch] = per_epoch.get(marker.epoch, 0) + marker.amount
        cap = self.shop.params.reward_epoch_cap_minor
        for epoch, total in per_epoch.items():
            assert total <= cap
            assert get_u64(view, P_EPOCH + epoch.to_bytes(8, "big")) == total
        claimed = 0
        for key, raw in view.iterate(P_REWARD):
            record = RewardRecord.from_bytes(raw)
            assert record.accrued + record.claimed == per_account.get(key[len(P_REWARD):], 0)
            claimed += record.claimed
        assert claimed == get_supply(view).minted, "minting happens only by claims"

    @invariant()
    def the_reserve_is_locked_and_only_its_holders_earn(self) -> None:
        view = self.view
        holders = {key[1:] for key, _ in view.iterate(b"A")
                   if get_account(view, key[1:]).balance >= RESERVE}
        assert self.reserve_holders <= holders, "a balance that held the reserve keeps it"
        self.reserve_holders = holders
        account_cap = self.shop.params.reward_account_epoch_cap_minor
        per_account_epoch: dict[tuple[bytes, int], int] = {}
        for key, raw in view.iterate(P_REWARDED):
            marker = RewardedRecord.from_bytes(raw)
            assert marker.account in holders, "only accounts holding the reserve earn"
            slot = (marker.account, marker.epoch)
            per_account_epoch[slot] = per_account_epoch.get(slot, 0) + marker.amount
            if key[len(P_REWARDED):len(P_REWARDED) + 1] in (ACTION_COMMENT, ACTION_SHARE):
                raw_record = view.get(P_REWARD + marker.account)
                assert raw_record is not None, "a rewarded account has a reward record"
                assert RewardRecord.from_bytes(raw_record).purchases > 0, (
                    "comment and share rewards go to buyers only")
        assert all(total <= account_cap for total in per_account_epoch.values())

    @invariant()
    def every_open_order_has_a_live_timer(self) -> None:
        view = self.view
        height = self.ctx.height
        for key, raw in view.iterate(P_ORDER):
            record = OrderRecord.from_bytes(raw)
            if record.status not in OPEN_ORDER_STATUSES:
                assert record.timer_due == 0
                continue
            # The block being built runs its own timers at its end, so a due height equal
            # to it still lies ahead.
            assert record.timer_due >= height, "an open order's timer lies ahead"
            order_id = read_u64(key[len(P_ORDER):])
            slots = get_u64(view, timer_count_key(record.timer_due))
            found = any(view.get(timer_key(record.timer_due, s)) == order_id.to_bytes(8, "big")
                        for s in range(slots))
            assert found, f"order {order_id} has no scheduled way out"

    @invariant()
    def governance_is_counted_ordered_and_delayed(self) -> None:
        view = self.view
        opened = list(governance_state.open_proposals(view))
        assert governance_state.get_summary(view).open_count == len(opened), \
            "open proposals are counted"
        for _, proposal, proposer in opened:
            record = governance_state.get_proposal(view, proposal)
            assert record is not None and record.status == governance_state.ProposalStatus.OPEN
            assert address_of(record.proposer) == proposer
        heights = []
        for record in governance_state.set_history(view):
            keys = [item[1] for item in record.validators]
            assert 4 <= len(keys) <= 100 and len(set(keys)) == len(keys)
            heights.append(record.activation_height)
            for proposal in record.proposals:
                passed = governance_state.get_proposal(view, proposal)
                assert (passed is not None
                        and passed.status == governance_state.ProposalStatus.PASSED)
                assert record.activation_height >= passed.closed_height + 2
        assert heights == sorted(set(heights)), "the set history is strictly ordered"
        assert len(self.ctx.validators) >= 4
        # Epochs only grow with the height, also across a change of their length.
        markers = sorted((RewardedRecord.from_bytes(raw).height, RewardedRecord.from_bytes(
            raw).epoch) for _, raw in view.iterate(P_REWARDED))
        assert [epoch for _, epoch in markers] == sorted(epoch for _, epoch in markers)
    def profiles_count_their_versions(self) -> None:
        view = self.view
        for key, raw in view.iterate(P_PROFILE):
            account = key[len(P_PROFILE):]
            record = ProfileRecord.from_bytes(raw)
            heights = [ProfileVersionRecord.from_bytes(value).height
                       for _, value in view.iterate(P_PROFILE_VERSION + account)]
            assert len(heights) == record.version, "one version record per version"
            assert heights == sorted(set(heights)), "one version per block, heights rise"
            assert heights[-1] == record.height
            assert 1 <= record.epoch_versions <= MAX_PROFILE_VERSIONS_PER_EPOCH
            assert len(record.grant_to) == len(record.grant_field) == len(record.grant_sealed)

    @invariant()
    def follows_mirror_and_count(self) -> None:
        view = self.view
        following: dict[bytes, int] = {}
        followers: dict[bytes, int] = {}
        pairs = set()
        for key, _ in view.iterate(P_FOLLOW):
            follower, followed = key[2:22], key[22:42]
            assert follower != followed, "nobody follows itself"
            pairs.add((follower, followed))
            following[follower] = following.get(follower, 0) + 1
            followers[followed] = followers.get(followed, 0) + 1
        assert pairs == {(key[22:42], key[2:22]) for key, _ in view.iterate(P_FOLLOWER)}
        for key, raw in view.iterate(P_SOCIAL):
            account, record = key[2:], SocialRecord.from_bytes(raw)
            assert record.following == following.get(account, 0) <= MAX_FOLLOWING
            assert record.followers == followers.get(account, 0)

    @invariant()
    def feeds_are_gapless_sequences_merged_newest_first(self) -> None:
        view = self.view
        by_author: dict[bytes, list[int]] = {}
        numbers: list[int] = []
        for key, raw in view.iterate(P_FEED):
            entry = FeedEntryRecord.from_bytes(raw)
            assert entry.kind in feeds.FEED_KINDS
            sequence = by_author.setdefault(key[2:22], [])
            assert read_u64(key[22:]) == len(sequence) + 1, "an author's sequence has no gap"
            assert not sequence or sequence[-1] < entry.entry, "numbers rise in a sequence"
            sequence.append(entry.entry)
            numbers.append(entry.entry)
        assert len(set(numbers)) == len(numbers) == self._count(COUNTER_FEED)
        for author, sequence in by_author.items():
            raw = view.get(P_SOCIAL + author)
            assert raw is not None and SocialRecord.from_bytes(raw).feed_entries == len(sequence)
        for reader in self.keys[5:6]:
            followed = [key[22:42] for key, _ in view.iterate(P_FOLLOW + addr(reader))]
            expected = sorted((n for a in followed for n in by_author.get(a, [])),
                              reverse=True)
            seen: list[int] = []
            cursor = None
            for _ in range(len(expected) + 1):
                page = feeds.feed(view, addr(reader), cursor=cursor, limit=3)
                seen.extend(item["entry"] for item in page["items"])
                cursor = page["next"]
                if cursor is None:
                    break
            assert seen == expected, "feed pages are the followed entries once, newest first"
    def media_index_is_exactly_the_versions_media(self) -> None:
        view = self.view
        named = set()
        for key, raw in view.iterate(P_VERSION):
            listing, version = read_u64(key[2:10]), int.from_bytes(key[10:14], "big")
            media = VersionRecord.from_bytes(raw).media
            assert len(set(media)) == len(media), "a version names each picture once"
            named.update(media_ref_key(m, listing, version) for m in media)
        assert {key for key, _ in view.iterate(P_MEDIA_REF)} == named

    def teardown(self) -> None:
        # Drain: with nobody acting, every open order reaches release or refund.
        if self.all_txs:
            self._finish_block()
        longest = max(PARAMS["order_ship_timeout_blocks"], PARAMS["order_auto_release_blocks"],
                      PARAMS["dispute_timeout_blocks"], TEAM_WINDOW_MAX, CAMPAIGN_BLOCKS_MAX)
        for _ in range(max(longest, SETUP_CAMPAIGN_END - self.shop.height) + 1):
            self._finish_block()
        assert get_supply(self.shop.state).escrow == 0
        # Every team filled or expired, every campaign ended or closed: nothing locked.
        assert get_pool(self.shop.state, POOL_TEAM_ESCROW) == 0
        assert get_pool(self.shop.state, POOL_CAMPAIGNS) == 0
        for _, raw in self.shop.state.iterate(P_ORDER):
            assert OrderRecord.from_bytes(raw).status not in OPEN_ORDER_STATUSES


def budgets_of(view: Overlay) -> int:
    """What the campaign pool holds."""
    return get_pool(view, POOL_CAMPAIGNS)


ShopMachine.TestCase.settings = settings(
    max_examples=120, stateful_step_count=120, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestShopMachine = ShopMachine.TestCase
