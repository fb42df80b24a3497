"""`agora tx <type>`: build a transaction, sign it with a named key, submit it.

Every command takes `--from KEY` and the keyring options, `--node`, `--wait/--no-wait`
(default: wait until finalized), `--dry-run`, `--nonce` and `--output`. Each command below
declares only its own options and builds the transaction body; `tx_command` adds the shared
options, signs, submits and prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal, NoReturn

import pydantic
import typer

from base.limits import DIGEST_BYTES
from cli.chain_client import DryRunOption, NonceOption, WaitOption, build_and_send
from cli.common import (
    EXIT_USAGE,
    OUTPUT_OPTIONS,
    OutputFormat,
    command_with,
    emit,
    fail,
    print_fields,
    shared_options,
    subcommands,
)
from cli.context import SIGNER_OPTIONS, SigningContext
from cli.order import buyer_public_key
from cli.words import AMOUNT_FIELDS, tokens, validation_line
from client.profiles import delivery_from_profile
from commerce import orders
from commerce.address import address_of, to_text
from commerce.amount import parse_amount
from commerce.errors import AgoraError
from commerce.keys import seal
from commerce.listings import ListingCreate, ListingDelist, ListingUpdate
from commerce.merchants import MerchantRegister, MerchantVote
from commerce.polls import PollCreate, PollVote
from commerce.reviews import Review, ReviewReply
from commerce.rewards import RewardClaim
from commerce.social import Comment, Share
from commerce.transfer import Transfer
from commerce.tx import Transaction, TxBody

app = subcommands("tx", "Build, sign and submit transactions.")

REFERRAL_LINK = "agora://listing/{listing}?share={share}"
# A referral link as `tx share` prints it, or as the web app serves it from a node's address.
SHARE_LINK_RE = re.compile(r"^(?:agora://|https?://[^/?#]+/)listing/(\d+)\?share=(\d+)$")


class MerchantAction(StrEnum):
    """A validator's vote on a merchant."""

    approve = "approve"
    suspend = "suspend"
    reinstate = "reinstate"


# The merchant status each action applies to.
ACTION_APPLIES_TO = {"approve": "pending", "suspend": "approved", "reinstate": "suspended"}


class Decision(StrEnum):
    """A validator's vote on a disputed order."""

    release = "release"
    refund = "refund"


class PollScope(StrEnum):
    """Who a poll is for."""

    merchant = "merchant"
    marketplace = "marketplace"


def usage(message: str) -> NoReturn:
    """A bad combination of options found after parsing: one line, exit 2."""
    fail("usage", message, code=EXIT_USAGE)


def amount_option(option: str, text: str) -> int:
    """Tokens typed for `option` (`12.5`) in base units, or one line saying what is wrong."""
    if text.strip().startswith("-"):
        fail("bad_amount", f"{option} must be more than 0 (it is {text})")
    try:
        return parse_amount(text)
    except AgoraError as exc:
        if exc.reason == "bad_amount":
            fail("bad_amount", f"{option} {text!r} is not an amount in tokens like 12.5 "
                 "(at most 6 decimal places)")
        fail(exc.reason, f"{option} {text} is more than the largest amount")


def parse_share(text: str) -> tuple[int | None, int]:
    """(listing or None, share id) from a share number or a referral link."""
    text = text.strip()
    if text.isdigit():
        return None, int(text)
    match = SHARE_LINK_RE.match(text)
    if match is None:
        usage(f"--share {text!r} is neither a share number nor a referral link like "
              "agora://listing/3?share=2")
    return int(match.group(1)), int(match.group(2))


@dataclass
class Common(SigningContext):
    """What every `agora tx` command shares: the node, the signing key, and how to submit."""

    wait: bool = True
    dry_run: bool = False
    nonce: int | None = None


TX_OPTIONS = SIGNER_OPTIONS + shared_options(
    ("wait", WaitOption, True),
    ("dry_run", DryRunOption, False),
    ("nonce", NonceOption, None),
) + OUTPUT_OPTIONS

Builder = Callable[..., TxBody]
Describe = Callable[[dict[str, Any], Common], dict[str, Any]]


def build_body(build: Builder, opts: Common, options: dict[str, Any]) -> TxBody:
    """`build(opts, **options)`; a value the transaction model refuses is one line naming
    the option, amounts in tokens with the chain's symbol."""
    try:
        return build(opts, **options)
    except pydantic.ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors(include_url=False) if e.get("loc")}
        fail("bad_amount" if fields & AMOUNT_FIELDS else "field_invalid",
             validation_line(exc, opts.token_symbol))


def tx_command(name: str, describe: Describe | None = None) -> Callable[[Builder], Builder]:
    """Register `build(opts, *, <its options>) -> TxBody` as `agora tx <name>`, adding the
    shared options. `describe(result, opts)` adds fields to what is printed."""

    def decorate(build: Builder) -> Builder:
        def run(opts: Common, **options: Any) -> None:
            body = build_body(build, opts, options)
            tx, result = build_and_send(opts.url, opts.signer, body, wait=opts.wait,
                                        dry_run=opts.dry_run, nonce=opts.nonce)
            extra = describe(result, opts) if describe and not opts.dry_run else {}
            render_result(tx, result, opts.output, opts.dry_run, extra)

        command = command_with(run, TX_OPTIONS, Common, like=build)
        app.command(name)(command)
        if "-" in name:  # the transaction's own type name works too (merchant_register)
            app.command(name.replace("-", "_"), hidden=True)(command)
        return build

    return decorate


def render_result(tx: Transaction, result: dict[str, Any], output: OutputFormat,
                  dry_run: bool, extra: dict[str, Any]) -> None:
    """Print a submit or simulate result."""
    value = {**result, **extra, "type": tx.type, "nonce": tx.nonce}

    def text() -> None:
        fields: dict[str, Any] = {"type": tx.type, "id": tx.tx_id.hex(), "nonce": tx.nonce}
        if dry_run:
            fields["simulation"] = "ok (nothing submitted)"
        else:
            fields["status"] = result.get("status", "")
            if "height" in result:
                fields["height"] = result["height"]
        kinds = [str(event.get("kind")) for event in result.get("events", [])]
        if kinds:
            fields["events"] = " ".join(kinds)
        fields.update(extra)
        print_fields(fields)

    emit(output, value, text)


def _new_id(result: dict[str, Any]) -> int | None:
    """The record id a finalized transaction created (its first event's first datum)."""
    events = result.get("events") or []
    if not events or not events[0].get("data"):
        return None
    value = events[0]["data"][0]
    return value if isinstance(value, int) else None


# Shared option types.
ListingOpt = Annotated[int, typer.Option("--listing", min=1, help="Listing id.")]
OrderOpt = Annotated[int, typer.Option("--order", min=1, help="Order id.")]
TitleOpt = Annotated[str, typer.Option(help="Title (1-120 characters).")]
DescriptionOpt = Annotated[str, typer.Option(help="Description (up to 2000 characters).")]
CategoryOpt = Annotated[str, typer.Option(help="Category, e.g. books (a-z, 0-9, -).")]
PriceOpt = Annotated[str, typer.Option(help="Unit price in tokens, e.g. 12.5.")]
StockOpt = Annotated[int, typer.Option(min=0, help="Units in stock.")]
MediaOpt = Annotated[list[str] | None, typer.Option(
    "--media", help="SHA-256 of a picture or file, 64 hex characters (repeatable).")]
ReferralOpt = Annotated[int, typer.Option(
    "--referral-bps", min=0, max=5000, help="Commission to sharers in basis points (100 = 1%).")]


def _media(values: list[str] | None) -> list[bytes]:
    out = []
    for value in values or []:
        try:
            digest = bytes.fromhex(value)
        except ValueError:
            fail("field_invalid", f"--media {value!r} is not hex")
        if len(digest) != DIGEST_BYTES:
            fail("field_invalid", f"--media {value!r} is not 32 bytes")
        out.append(digest)
    return out


@tx_command("transfer")
def transfer(
    opts: Common, *,
    to: Annotated[str, typer.Option(help="Recipient: agora1... address or a key name.")],
    amount: Annotated[str, typer.Option(help="Amount in tokens, e.g. 12.5 (6 decimals).")],
    memo: Annotated[str, typer.Option(help="A short public note.")] = "",
) -> TxBody:
    """Send tokens to another account."""
    return Transfer(to=opts.address(to), amount=amount_option("--amount", amount), memo=memo)


@tx_command("merchant-register")
def merchant_register(
    opts: Common, *,
    name: Annotated[str, typer.Option(help="Shop name (1-64 characters).")],
    profile: Annotated[str, typer.Option(help="About the shop (up to 1024).")] = "",
) -> TxBody:
    """Apply to become a merchant (approved by more than 2/3 of the validators)."""
    return MerchantRegister(name=name, profile=profile)


@tx_command("merchant-vote")
def merchant_vote(
    opts: Common, *,
    merchant: Annotated[str, typer.Option(help="The merchant: address or key name.")],
    action: Annotated[MerchantAction, typer.Option(
        help="approve (a pending merchant), suspend (an approved one) or reinstate (a "
             "suspended one).")],
) -> TxBody:
    """A validator's vote on a merchant."""
    address = opts.address(merchant)
    status = str(opts.call("state_getMerchant", address=to_text(address))["status"])
    needed = ACTION_APPLIES_TO[action.value]
    if status != needed:
        fail("merchant_state", f"the merchant is {status}, and --action {action.value} "
             f"applies to a {needed} merchant")
    act: Literal["approve", "suspend", "reinstate"] = action.value  # type: ignore[assignment]
    return MerchantVote(merchant=address, action=act)


def _describe_new(kind: str) -> Describe:
    def describe(result: dict[str, Any], opts: Common) -> dict[str, Any]:
        new = _new_id(result)
        return {} if new is None else {kind: new}
    return describe


@tx_command("listing-create", _describe_new("listing"))
def listing_create(
    opts: Common, *, title: TitleOpt, price: PriceOpt, stock: StockOpt,
    category: CategoryOpt = "general", description: DescriptionOpt = "",
    media: MediaOpt = None, referral_bps: ReferralOpt = 0,
) -> TxBody:
    """List a product (approved merchants)."""
    return ListingCreate(title=title, description=description, category=category,
                         price=amount_option("--price", price), stock=stock, media=_media(media),
                         referral_bps=referral_bps)


@tx_command("listing-update")
def listing_update(
    opts: Common, *, listing: ListingOpt,
    title: Annotated[str | None, typer.Option(help="New title [default: unchanged].")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    category: Annotated[str | None, typer.Option(help="New category.")] = None,
    price: Annotated[str | None, typer.Option(help="New unit price in tokens.")] = None,
    stock: Annotated[int | None, typer.Option(min=0, help="New stock.")] = None,
    media: MediaOpt = None,
    referral_bps: Annotated[int | None, typer.Option(
        "--referral-bps", min=0, max=5000, help="New commission in basis points.")] = None,
) -> TxBody:
    """Publish a new version of a listing; options left out keep their current value."""
    current = opts.call("state_getListing", id=listing)
    return ListingUpdate(
        listing=listing, version=int(current["current_version"]),
        title=title if title is not None else current["title"],
        description=description if description is not None else current["description"],
        category=category if category is not None else current["category"],
        price=amount_option("--price", price) if price is not None else int(current["price"]),
        stock=stock if stock is not None else int(current["stock"]),
        media=_media(media) if media else [bytes.fromhex(m) for m in current["media"]],
        referral_bps=referral_bps if referral_bps is not None else int(current["referral_bps"]),
    )


@tx_command("listing-delist")
def listing_delist(opts: Common, *, listing: ListingOpt) -> TxBody:
    """Take a listing off sale for good."""
    return ListingDelist(listing=listing)


def _describe_share(result: dict[str, Any], opts: Common) -> dict[str, Any]:
    events = result.get("events") or []
    if not events:
        return {}
    share_id, listing = events[0]["data"][0], events[0]["data"][1]
    return {"share": share_id, "referral_link": REFERRAL_LINK.format(listing=listing,
                                                                     share=share_id)}


@tx_command("share", _describe_share)
def share(opts: Common, *, listing: ListingOpt) -> TxBody:
    """Share a listing; prints the referral link that earns you commission."""
    return Share(listing=listing)


@tx_command("comment", _describe_new("comment"))
def comment(
    opts: Common, *, listing: ListingOpt,
    text: Annotated[str, typer.Option(help="The comment (1-2000 characters).")],
    parent: Annotated[int, typer.Option(min=0, help="Comment id to reply to (0: none).")] = 0,
) -> TxBody:
    """Comment on a listing, or reply to a comment."""
    return Comment(listing=listing, parent=parent, text=text)


@tx_command("purchase", _describe_new("order"))
def purchase(
    opts: Common, *,
    listing: Annotated[int | None, typer.Option(
        "--listing", min=1, help="Listing id [default: the one in the --share link].",
        show_default=False)] = None,
    quantity: Annotated[int, typer.Option(min=1, help="Units to buy.")] = 1,
    share_link: Annotated[str, typer.Option(
        "--share", help="A referral link (agora://listing/3?share=2, or its http(s)://NODE/ "
        "form) or a share number (0: none).")] = "0",
    delivery: Annotated[str, typer.Option(
        help="Delivery details; sealed so only the merchant can read them.")] = "",
    version: Annotated[int | None, typer.Option(
        min=1, help="Listing version to buy [default: current].")] = None,
    delivery_field: Annotated[str, typer.Option(
        "--delivery-field", help="Take the delivery details from this private field of "
        "your profile (e.g. address), sealed so only the merchant can read them.")] = "",
) -> TxBody:
    """Buy: price x quantity goes into escrow until you confirm (or the timeout)."""
    linked, share_id = parse_share(share_link)
    if linked is not None and listing is not None and linked != listing:
        usage(f"the --share link is for listing {linked}, not --listing {listing}")
    listing = listing if listing is not None else linked
    if listing is None:
        usage("name the listing with --listing ID or a --share referral link")
    current = opts.call("state_getListing", id=listing)
    sealed = b""
    if delivery and delivery_field:
        usage("give --delivery or --delivery-field, not both")
    if delivery:
        merchant = opts.call("state_getMerchant", address=current["merchant"])
        sealed = seal(bytes.fromhex(merchant["public_key"]), delivery.encode())
    elif delivery_field:
        merchant = opts.call("state_getMerchant", address=current["merchant"])
        keypair = opts.signer.keypair()
        profile = opts.call("state_getProfile", address=to_text(address_of(keypair.public_key)))
        sealed = delivery_from_profile(keypair, profile, delivery_field,
                                       bytes.fromhex(merchant["public_key"]))
    return orders.Purchase(listing=listing, version=version or int(current["current_version"]),
                    quantity=quantity, share=share_id, delivery=sealed)


@tx_command("order-ship")
def order_ship(
    opts: Common, *, order: OrderOpt,
    tracking: Annotated[str, typer.Option(help="Tracking note, sealed to the buyer's key.")] = "",
    buyer_key: Annotated[str, typer.Option(
        help="The buyer's public key (hex) to seal --tracking to [default: read from the "
             "order's purchase on the chain].", show_default=False)] = "",
) -> TxBody:
    """Mark an order shipped (merchant); starts the auto-release timer. The buyer opens the
    tracking note with `agora order open-tracking`."""
    sealed = b""
    if tracking:
        if buyer_key:
            key = bytes.fromhex(buyer_key)
        else:
            key = buyer_public_key(opts.url, opts.call("state_getOrder", id=order))
        sealed = seal(key, tracking.encode())
    return orders.OrderShip(order=order, tracking=sealed)


@tx_command("order-confirm")
def order_confirm(opts: Common, *, order: OrderOpt) -> TxBody:
    """Confirm delivery (buyer): escrow goes to the merchant minus the sharer's commission."""
    return orders.OrderConfirm(order=order)


@tx_command("order-cancel")
def order_cancel(opts: Common, *, order: OrderOpt) -> TxBody:
    """Cancel an unshipped order (buyer or merchant): full refund, stock restored."""
    return orders.OrderCancel(order=order)


@tx_command("order-refund")
def order_refund(opts: Common, *, order: OrderOpt) -> TxBody:
    """Refund an order before release (merchant)."""
    return orders.OrderRefund(order=order)


@tx_command("order-dispute")
def order_dispute(
    opts: Common, *, order: OrderOpt,
    reason: Annotated[str, typer.Option(help="Why (up to 500 characters).")] = "",
) -> TxBody:
    """Dispute a shipped order (buyer): stops auto-release; validators decide."""
    return orders.OrderDispute(order=order, reason=reason)


@tx_command("dispute-vote")
def dispute_vote(
    opts: Common, *, order: OrderOpt,
    decision: Annotated[Decision, typer.Option(help="release or refund.")],
) -> TxBody:
    """A validator's vote on a disputed order."""
    choice: Literal["release", "refund"] = decision.value  # type: ignore[assignment]
    return orders.DisputeVote(order=order, decision=choice)


@tx_command("review")
def review(
    opts: Common, *, order: OrderOpt,
    rating: Annotated[int, typer.Option(min=1, max=5, help="1 to 5 stars.")],
    text: Annotated[str, typer.Option(help="The review (up to 2000 characters).")] = "",
) -> TxBody:
    """Review a completed order (its buyer, once, permanent)."""
    return Review(order=order, rating=rating, text=text)


@tx_command("review-reply")
def review_reply(
    opts: Common, *, order: OrderOpt,
    text: Annotated[str, typer.Option(help="The reply (1-2000 characters).")],
) -> TxBody:
    """Reply to the review of an order (its merchant, once)."""
    return ReviewReply(order=order, text=text)


def _describe_poll(result: dict[str, Any], opts: Common) -> dict[str, Any]:
    """The new poll's id and the absolute height it closes at (--close-in was counted from
    the latest height when the transaction was signed)."""
    poll = _new_id(result)
    if poll is None:
        return {}
    return {"poll": poll, "close_height": opts.call("state_getPoll", id=poll)["close_height"]}


@tx_command("poll-create", _describe_poll)
def poll_create(
    opts: Common, *,
    question: Annotated[str, typer.Option(help="The question (1-280 characters).")],
    option: Annotated[list[str], typer.Option(help="An answer (repeat: 2 to 10).")],
    close_in: Annotated[int, typer.Option(
        min=1, help="Blocks until the poll closes, counted from the latest height when the "
        "transaction is signed; the absolute close_height is printed.")] = 100,
    scope: Annotated[PollScope, typer.Option(help="merchant (about your products) or "
                                             "marketplace (validators).")] = PollScope.merchant,
    listing: Annotated[int, typer.Option(min=0, help="Listing it is about (0: none).")] = 0,
    buyers_only: Annotated[bool, typer.Option(help="Only your buyers may vote.")] = False,
) -> TxBody:
    """Open a community poll."""
    kind: Literal["merchant", "marketplace"] = scope.value  # type: ignore[assignment]
    height = int(opts.call("node_status")["height"])
    return PollCreate(question=question, options=option, scope=kind, listing=listing,
                      buyers_only=buyers_only, close_height=height + close_in)


@tx_command("poll-vote")
def poll_vote(
    opts: Common, *,
    poll: Annotated[int, typer.Option(min=1, help="Poll id.")],
    option: Annotated[int, typer.Option(min=0, help="Answer number, from 0.")],
) -> TxBody:
    """Vote in a poll (once)."""
    return PollVote(poll=poll, option=option)


def _describe_claim(result: dict[str, Any], opts: Common) -> dict[str, Any]:
    """The amount the claim minted, in tokens with the chain's symbol."""
    for event in result.get("events") or []:
        if event.get("kind") == "reward_claim":
            return {"claimed": tokens(int(event["data"][0]), opts.token_symbol)}
    return {}


@tx_command("reward-claim", _describe_claim)
def reward_claim(opts: Common) -> TxBody:
    """Mint the rewards your account has accrued into its balance."""
    return RewardClaim()
