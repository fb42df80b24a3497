"""`agora devnet demo`: play a whole shop story against a running devnet and narrate it.

The merchant acme lists two products with a referral commission, the shopper alice shares
one, her friend bob buys through alice's link with delivery details sealed to acme's key
(acme's key opens them), acme ships, bob confirms (the escrow pays acme the price minus
alice's commission), bob reviews, acme replies, bob claims his purchase and review rewards
(alice claims a share reward only once she has a completed purchase of her own), acme
opens a poll and carol and bob vote; then the group-buying and coupon chapter
(devnet/demo_teams.py): a team filled through alice's link, an unfilled team refunded at its
deadline, a coupon used at checkout. Every transaction goes through the SDK's wallet
(`client.wallet`: JSON-RPC `tx_submit` waiting for finality), so each step reports the
height it was finalized at.

At the end the balances of alice, bob, carol and acme before and after are compared: their
deltas add up to the tokens minted by the claims of this run, and what the state machine
holds (escrow, team escrow, campaign budgets) is back where it started. The check is exact
when nothing else moves these accounts meanwhile.

Each run creates new listings, a new share, order and poll, so the demo can be replayed on
the same devnet. Nonces are read once per account (`pending_nonce`) and tracked by its wallet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from client.keyring import Keyring
from client.rpc import RpcCallError, RpcClient, RpcClientError
from client.wallet import AsyncWallet
from commerce.address import address_of, to_text
from commerce.amount import format_amount
from commerce.keys import Keypair, seal
from commerce.listings import ListingCreate
from commerce.orders import OrderConfirm, OrderShip, Purchase
from commerce.polls import PollCreate, PollVote
from commerce.reviews import Review, ReviewReply
from commerce.rewards import RewardClaim
from commerce.social import Share
from commerce.tx import TxBody
from devnet.demo_teams import TeamsOutcome, play_teams
from devnet.errors import DevnetError, DevnetErrorCode
from devnet.layout import Layout
from devnet.processes import fetch_status

SUBMIT_TIMEOUT_MS = 30_000
UNIT = 1_000_000
SHOPPERS = ("alice", "bob", "carol")
MERCHANT = "acme"
ACCOUNTS = (*SHOPPERS, MERCHANT)
POLL_BLOCKS = 1_000
DELIVERY = b"Bob Builder, 12 Harbour Road, Springfield 4021 - leave at the door"
TRACKING = b"parcel AG-2024-778812 via Demo Post"


@dataclass(frozen=True)
class Step:
    """One finalized transaction of the story."""

    number: int
    type: str
    actor: str
    tx_id: str
    height: int
    what: str

    def to_dict(self) -> dict[str, Any]:
        """The step as JSON."""
        return {"step": self.number, "type": self.type, "actor": self.actor, "tx": self.tx_id,
                "height": self.height, "what": self.what}

    def line(self) -> str:
        """`  3. share           tx 1a2b3c4d  h 17    alice: ...`."""
        return (f"{self.number:>3}. {self.type:<15} tx {self.tx_id[:8]}  h {self.height:<5} "
                f"{self.actor}: {self.what}")


@dataclass
class BalanceRow:
    """An account's balance before and after the story, in base units."""

    name: str
    address: str
    before: int
    after: int = 0

    @property
    def delta(self) -> int:
        """after - before."""
        return self.after - self.before

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON (base units, with decimal siblings)."""
        return {"name": self.name, "address": self.address, "before": self.before,
                "after": self.after, "delta": self.delta,
                "before_decimal": format_amount(self.before),
                "after_decimal": format_amount(self.after),
                "delta_decimal": format_amount(self.delta)}


@dataclass
class DemoResult:
    """What the story did and the final accounting."""

    chain_id: str
    node: str
    steps: list[Step] = field(default_factory=list)
    listings: list[int] = field(default_factory=list)
    share: int = 0
    referral_link: str = ""
    order: int = 0
    poll: int = 0
    total_paid: int = 0
    commission: int = 0
    delivery_opened: str = ""
    balances: list[BalanceRow] = field(default_factory=list)
    minted_before: int = 0
    minted_after: int = 0
    escrow_before: int = 0
    escrow_after: int = 0
    teams: TeamsOutcome = field(default_factory=TeamsOutcome)

    @property
    def minted(self) -> int:
        """Tokens minted during the story (by the reward claims)."""
        return self.minted_after - self.minted_before

    @property
    def sum_of_deltas(self) -> int:
        """The sum of the balance deltas of the demo accounts."""
        return sum(row.delta for row in self.balances)

    @property
    def adds_up(self) -> bool:
        """Sum of deltas = minted, and the escrow is back to its starting value."""
        return self.sum_of_deltas == self.minted and self.escrow_after == self.escrow_before

    def check_line(self) -> str:
        """The accounting check, in one line."""
        verdict = "OK" if self.adds_up else "MISMATCH"
        return (f"check {verdict}: sum of deltas {format_amount(self.sum_of_deltas)} = minted "
                f"by claims {format_amount(self.minted)}; escrow "
                f"{format_amount(self.escrow_before)} -> {format_amount(self.escrow_after)}")

    def to_dict(self) -> dict[str, Any]:
        """The `--output json` shape."""
        return {
            "chain_id": self.chain_id, "node": self.node,
            "steps": [s.to_dict() for s in self.steps],
            "listings": self.listings, "share": self.share,
            "referral_link": self.referral_link, "order": self.order, "poll": self.poll,
            "total_paid": self.total_paid, "commission": self.commission,
            "delivery_opened": self.delivery_opened,
            "balances": [b.to_dict() for b in self.balances],
            "teams": self.teams.to_dict(),
            "check": {"ok": self.adds_up, "sum_of_deltas": self.sum_of_deltas,
                      "minted": self.minted, "escrow_before": self.escrow_before,
                      "escrow_after": self.escrow_after},
        }


def run_demo(layout: Layout, report: Callable[[Step], None] | None = None) -> DemoResult:
    """Play the story on the devnet of `layout`; `report` is called after each step.

    Raises DevnetError(not_ready) when no node answers (the devnet is not running), when
    acme is not an approved merchant, or naming the step whose transaction was refused or
    not finalized in time.
    """
    return asyncio.run(_Demo(layout, report or (lambda step: None)).run())


async def live_node_url(layout: Layout) -> str:
    """The RPC URL of the first node that answers `node_status`; DevnetError(not_ready)
    when none does."""
    answers = await asyncio.gather(*(fetch_status(s.rpc_url) for s in layout.nodes))
    for spec, answer in zip(layout.nodes, answers, strict=True):
        if answer is not None:
            return spec.rpc_url
    raise DevnetError(DevnetErrorCode.NOT_READY,
                      f"the devnet at {layout.root} is not running (no node answers); start "
                      f"it with: agora devnet up --home {layout.root}")


def _held(supply: dict[str, Any]) -> int:
    """What the state machine holds: order escrow, team escrow and campaign budgets."""
    return int(supply["escrow"]) + int(supply["team_escrow"]) + int(supply["campaign_budget"])


class _Demo:
    def __init__(self, layout: Layout, report: Callable[[Step], None]) -> None:
        self.layout = layout
        self.report = report
        keyring = Keyring(layout.keyring, "test")
        known = {a["name"] for a in layout.accounts}
        missing = [name for name in ACCOUNTS if name not in known]
        if missing:
            raise DevnetError(DevnetErrorCode.NOT_READY,
                              f"the devnet at {layout.root} has no demo account(s) {missing}")
        self.keys: dict[str, Keypair] = {name: keyring.keypair(name) for name in ACCOUNTS}
        self.address = {name: to_text(address_of(k.public_key)) for name, k in self.keys.items()}
        self.wallets: dict[str, AsyncWallet] = {}
        self.rpc: RpcClient | None = None

    async def run(self) -> DemoResult:
        url = await live_node_url(self.layout)
        async with RpcClient(url, timeout_s=SUBMIT_TIMEOUT_MS / 1000 + 5) as rpc:
            self.rpc = rpc
            try:
                return await self._story(url)
            except RpcCallError as exc:
                raise DevnetError(DevnetErrorCode.NOT_READY, f"{url}: {exc}") from None
            except RpcClientError as exc:
                raise DevnetError(DevnetErrorCode.NOT_READY,
                                  f"lost the node at {url}: {exc}") from None

    async def call(self, method: str, **params: Any) -> Any:
        assert self.rpc is not None
        return await self.rpc.call(method, **params)

    async def send(self, actor: str, body: TxBody, what: str) -> tuple[int, Step]:
        """Submit `body` from `actor`, wait for finality, report the step; (first event's
        first datum or 0, step). `what` describes what happened, `{id}` standing for the
        new record's id."""
        try:
            receipt = await self.wallets[actor].submit(body, timeout_ms=SUBMIT_TIMEOUT_MS)
        except RpcCallError as exc:
            raise DevnetError(DevnetErrorCode.NOT_READY,
                              f"step {body.TYPE} by {actor} failed: {exc}") from None
        assert receipt.height is not None, "a finalized transaction has a height"
        record = receipt.created_id or 0
        step = Step(len(self.result.steps) + 1, body.TYPE, actor, receipt.tx_id,
                    receipt.height, what.replace("{id}", str(record)))
        self.result.steps.append(step)
        self.report(step)
        return record, step

    async def balances(self) -> dict[str, int]:
        answers = await asyncio.gather(*(
            self.call("state_getAccount", address=self.address[n]) for n in ACCOUNTS))
        return {n: int(a["balance"]) for n, a in zip(ACCOUNTS, answers, strict=True)}

    async def _story(self, url: str) -> DemoResult:
        self.result = result = DemoResult(self.layout.chain_id, url)
        merchant = await self._approved_merchant()
        accounts = await asyncio.gather(*(
            self.call("state_getAccount", address=self.address[n]) for n in ACCOUNTS))
        assert self.rpc is not None
        for name, account in zip(ACCOUNTS, accounts, strict=True):
            self.wallets[name] = AsyncWallet(self.rpc, self.keys[name],
                                             chain_id=self.layout.chain_id,
                                             nonce=int(account["pending_nonce"]))
            result.balances.append(BalanceRow(name, self.address[name], int(account["balance"])))
        supply = await self.call("state_getSupply")
        result.minted_before, result.escrow_before = int(supply["minted"]), _held(supply)

        price = 120 * UNIT
        products = [
            ("Handmade ceramic mug", "kitchen", price, 1_000),
            ("Linen tote bag", "bags", 45 * UNIT + UNIT // 2, 500),
        ]
        for title, category, amount, bps in products:
            listing, _ = await self.send(
                MERCHANT,
                ListingCreate(title=title, description=f"{title}, made by acme.",
                              category=category, price=amount, stock=25, media=[],
                              referral_bps=bps),
                f"listed {title!r} as listing {{id}} at {format_amount(amount)}, "
                f"sharers earn {bps / 100:g}%")
            result.listings.append(listing)
        mug = result.listings[0]

        result.share, _ = await self.send(
            "alice", Share(listing=mug),
            f"shared listing {mug}: agora://listing/{mug}?share={{id}}")
        result.referral_link = f"agora://listing/{mug}?share={result.share}"

        sealed = seal(bytes.fromhex(merchant["public_key"]), DELIVERY)
        result.order, _ = await self.send(
            "bob", Purchase(listing=mug, version=1, quantity=1, share=result.share,
                            delivery=sealed),
            f"bought 1 x listing {mug} through {result.referral_link} as order {{id}}; "
            f"{format_amount(price)} held in escrow, delivery sealed to acme")
        order = await self.call("state_getOrder", id=result.order)
        result.delivery_opened = self.keys[MERCHANT].unseal(
            bytes.fromhex(order["delivery"])).decode()
        result.total_paid = int(order["total"])

        bob_key = self.keys["bob"].public_key
        await self.send(
            MERCHANT, OrderShip(order=result.order, tracking=seal(bob_key, TRACKING)),
            f"opened the delivery note with its key ({result.delivery_opened!r}) "
            f"and shipped order {result.order}, tracking sealed to bob")
        commission = result.total_paid * int(order["referral_bps"]) // 10_000
        await self.send(
            "bob", OrderConfirm(order=result.order),
            f"confirmed order {result.order}: escrow released, "
            f"{format_amount(result.total_paid - commission)} to acme, "
            f"{format_amount(commission)} commission to alice")
        order = await self.call("state_getOrder", id=result.order)
        result.commission = int(order["commission"])

        await self.send(
            "bob", Review(order=result.order, rating=5, text="Lovely mug, fast delivery."),
            f"reviewed order {result.order}: 5/5 (permanent, buyer-only)")
        await self.send(
            MERCHANT, ReviewReply(order=result.order, text="Thank you, enjoy your coffee!"),
            f"replied to bob's review of order {result.order}")

        for claimant in ("bob", "alice"):
            rewards = await self.call("state_getRewards", address=self.address[claimant])
            accrued = int(rewards["accrued"])
            if accrued == 0:
                continue
            await self.send(claimant, RewardClaim(),
                            f"claimed {format_amount(accrued)} in rewards "
                            "(minted into the balance)")

        status = await self.call("node_status")
        close = int(status["height"]) + POLL_BLOCKS
        options = ["Mugs in more colours", "Matching plates", "Gift wrapping"]
        result.poll, _ = await self.send(
            MERCHANT,
            PollCreate(question="What should acme make next?", options=options,
                       scope="merchant", listing=0, buyers_only=False, close_height=close),
            f"opened poll {{id}}: 'What should acme make next?' (closes at {close})")
        voters = (("carol", 0), ("bob", 2))
        for voter, option in voters:
            await self.send(voter, PollVote(poll=result.poll, option=option),
                            f"voted {options[option]!r} in poll {result.poll}")

        result.teams = await play_teams(self.send, self.call, mug, result.share, price)

        after = await self.balances()
        for row in result.balances:
            row.after = after[row.name]
        supply = await self.call("state_getSupply")
        result.minted_after, result.escrow_after = int(supply["minted"]), _held(supply)
        return result

    async def _approved_merchant(self) -> dict[str, Any]:
        try:
            merchant: dict[str, Any] = await self.call("state_getMerchant",
                                                       address=self.address[MERCHANT])
        except RpcCallError as exc:
            if exc.reason != "not_found":
                raise
            merchant = {"status": "unregistered"}
        if merchant.get("status") != "approved":
            raise DevnetError(DevnetErrorCode.NOT_READY,
                              f"acme is {merchant.get('status')}, not an approved merchant "
                              "(the devnet approves it when `agora devnet up` creates the "
                              "chain)")
        return merchant

