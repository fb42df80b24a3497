"""`agora query <thing>`: read chain state over JSON-RPC, as text or `--output json`.

Each command is its own arguments and one call through the `NodeContext` that
`query_command` builds from the shared options (--node, --home, --output, and the keyring
options where an argument may be a key name).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

import typer

from cli.common import (
    OUTPUT_OPTIONS,
    OutputFormat,
    command_with,
    emit,
    print_fields,
    print_table,
    subcommands,
)
from cli.context import NAME_OPTIONS, NODE_OPTIONS, NodeContext
from commerce.address import to_text
from commerce.schema import MERCHANT_STATUS_NAMES, ORDER_STATUS_NAMES

MerchantStatus = StrEnum("MerchantStatus", {n: n for n in MERCHANT_STATUS_NAMES.values()})
OrderStatus = StrEnum("OrderStatus", {n: n for n in ORDER_STATUS_NAMES.values()})

app = subcommands("query", "Read chain state from a node.")

Columns = list[tuple[str, str]]
QueryRun = Callable[..., None]


def query_command(name: str, *, names: bool = False) -> Callable[[QueryRun], QueryRun]:
    """Register `run(node: NodeContext, <own arguments>)` as `agora query <name>`, adding
    --node, --home and --output (and the keyring options when an argument may be a key
    name)."""
    shared = (NAME_OPTIONS if names else []) + NODE_OPTIONS + OUTPUT_OPTIONS

    def register(run: QueryRun) -> QueryRun:
        app.command(name)(command_with(run, shared, NodeContext))
        return run

    return register


def _cell(item: dict[str, Any], key: str) -> Any:
    """An item's field for a table: amounts as decimals, ratings as stars."""
    if f"{key}_decimal" in item:
        return item[f"{key}_decimal"]
    value = item.get(key)
    if key == "rating" and isinstance(value, dict):
        average = int(value["average_x100"])
        return f"{average // 100}.{average % 100:02d} ({value['count']})" if value["count"] else "-"
    return value


def _fields(node: NodeContext, item: dict[str, Any]) -> None:
    """Print one record: scalars as aligned fields, amounts as decimals, ratings as
    stars; nested lists and maps only with --output json."""

    def text() -> None:
        flat: dict[str, Any] = {}
        for key, value in item.items():
            if key.endswith("_decimal") or isinstance(value, list):
                continue
            if isinstance(value, dict) and key != "rating":
                continue  # nested detail: see --output json
            flat[key] = _cell(item, key)
        print_fields(flat)

    emit(node.output, item, text)


def _table(node: NodeContext, rows: list[dict[str, Any]], columns: Columns) -> None:
    """Print rows as a table, or as JSON."""
    emit(node.output, rows, lambda: print_table(rows, columns))


def _page(node: NodeContext, page: dict[str, Any], columns: Columns) -> None:
    """Print a page of items as a table (and its `next` cursor), or as JSON."""

    def text() -> None:
        rows = [{key: _cell(item, key) for key, _ in columns} for item in page["items"]]
        print_table(rows, columns)
        if page.get("next"):
            typer.echo(f"more: --cursor {page['next']}")

    emit(node.output, page, text)


def _address_text(node: NodeContext, text: str | None) -> str | None:
    return None if text is None else to_text(node.address(text))


AddressArg = Annotated[str, typer.Argument(help="agora1... address or a key name.")]
IdArg = Annotated[int, typer.Argument(min=1, help="The record's id.")]
ListingArg = Annotated[int, typer.Argument(min=1, help="Listing id.")]
OrderArg = Annotated[int, typer.Argument(min=1, help="Order id.")]
CursorOpt = Annotated[str | None, typer.Option(help="Continue after this cursor (from `next`).")]
LimitOpt = Annotated[int, typer.Option(min=1, max=200, help="At most this many items.")]


@query_command("status")
def status(node: NodeContext) -> None:
    """The node's chain, height, view, peers and mempool."""
    _fields(node, node.call("node_status"))


@query_command("peers")
def peers(node: NodeContext) -> None:
    """The node's connected peers."""
    _table(node, node.call("node_peers"), [
        ("id", "ID"), ("address", "ADDRESS"), ("direction", "DIRECTION"),
        ("messages_in", "MSGS IN"), ("messages_out", "MSGS OUT")])


@query_command("account", names=True)
def account(node: NodeContext, address: AddressArg) -> None:
    """An account's balance and nonce."""
    result = node.call("state_getAccount", address=_address_text(node, address))
    emit(node.output, result, lambda: print_fields({
        "address": result["address"], "balance": result["balance_decimal"],
        "nonce": result["nonce"], "pending nonce": result["pending_nonce"]}))


@query_command("supply")
def supply(node: NodeContext) -> None:
    """Total supply and its parts (genesis, minted, escrow, team escrow, campaign budgets)."""
    result = node.call("state_getSupply")
    emit(node.output, result, lambda: print_fields({
        name: result[f"{name}_decimal"] for name in (
            "total", "genesis", "minted", "escrow", "team_escrow", "campaign_budget",
            "circulating")}))


@query_command("block")
def block(
    node: NodeContext,
    height: Annotated[int | None, typer.Argument(min=1, help="Height [default: latest].")] = None,
) -> None:
    """A block by height (latest by default)."""
    result = node.call("chain_getBlock", height=height)

    def text() -> None:
        print_fields({**result["header"], "txs": result["tx_count"]})
        if result["txs"]:
            print_table([{"id": t["id"], "type": t["type"], "sender": t["sender"],
                          "nonce": t["nonce"]} for t in result["txs"]],
                        [("id", "TX"), ("type", "TYPE"), ("sender", "SENDER"),
                         ("nonce", "NONCE")])

    emit(node.output, result, text)


TX_ID_RE = re.compile(r"^[0-9a-fA-F]{64}$")


def _tx_id(value: str) -> str:
    """A transaction id is 64 hex characters: anything else is a usage error (exit 2)."""
    if not TX_ID_RE.match(value):
        raise typer.BadParameter(f"{value!r} is not a transaction id (64 hex characters, as "
                                 "`agora tx` prints it)")
    return value.lower()


@query_command("tx")
def tx(
    node: NodeContext,
    tx_id: Annotated[str, typer.Argument(help="Transaction id (64 hex characters).",
                                         metavar="TX_ID", callback=_tx_id)],
) -> None:
    """A transaction with its status, block and events."""
    result = node.call("chain_getTransaction", id=tx_id)

    def text() -> None:
        fields: dict[str, Any] = {"id": result["tx"]["id"], "status": result["status"],
                                  "type": result["tx"]["type"],
                                  "sender": result["tx"]["sender"]}
        if "height" in result:
            fields["height"] = result["height"]
            fields["events"] = " ".join(e["kind"] for e in result["events"])
        print_fields(fields)

    emit(node.output, result, text)


@query_command("certificate")
def certificate(node: NodeContext,
                height: Annotated[int, typer.Argument(min=1, help="Block height.")]) -> None:
    """The commit certificate of a block."""
    _fields(node, node.call("chain_getCertificate", height=height))


@query_command("validators")
def validators(node: NodeContext, *, height: Annotated[int | None, typer.Option(
        min=1, help="The set in force at this height (up to the head + 2) "
                    "[default: the next block's].")] = None) -> None:
    """The validator set in primary rotation order."""
    _table(node, node.call("chain_getValidators", height=height), [
        ("index", "#"), ("name", "NAME"), ("address", "ADDRESS"), ("public_key", "PUBLIC KEY")])


@query_command("params")
def params(node: NodeContext, *, height: Annotated[int | None, typer.Option(
        min=1, help="The parameters in force at this height (up to the head) "
                    "[default: the head's].")] = None) -> None:
    """The chain parameters in force, since which height, and the proposals that set them.

    Amounts show in base units, as `set-param` takes them, with the decimal beside."""
    result = node.call("chain_getParams", height=height)

    def text() -> None:
        values = result["params"]
        shown = {key: f"{value} ({values[key + '_decimal']})" if key + "_decimal" in values
                 else value for key, value in values.items() if not key.endswith("_decimal")}
        proposals = ", ".join(str(p) for p in result["proposals"]) or None
        print_fields({"height": result["height"], "since_height": result["since_height"],
                      "proposals": proposals, **shown})

    emit(node.output, result, text)


# --- the shop --------------------------------------------------------------------------

# The vote that moves a merchant out of each status, and the word for having done it.
NEXT_ACTION = {"pending": "approve", "approved": "suspend", "suspended": "reinstate"}
DONE = {"approve": "approved", "suspend": "suspended", "reinstate": "reinstated"}


def _status_votes(node: NodeContext, merchant: dict[str, Any]) -> str | None:
    """How the merchant's current status was voted in (`approved by 3 votes at height 7`),
    read from the deciding vote's events; None for a pending merchant or when the block
    does not say."""
    height = int(merchant.get("status_height") or 0)
    if merchant.get("status") == "pending" or height < 1:
        return None
    txs = node.call("chain_getBlock", height=height)["txs"]
    for tx in reversed(txs):
        if tx["type"] != "merchant_vote" or tx["body"].get("merchant") != merchant["address"]:
            continue
        events = node.call("chain_getTransaction", id=tx["id"]).get("events", [])
        if any(event["kind"] == "merchant_status" for event in events):
            action, count = next(e["data"] for e in events if e["kind"] == "merchant_vote")
            votes = "1 vote" if count == 1 else f"{count} votes"
            return f"{DONE.get(action, action)} by {votes} at height {height}"
    return None


@query_command("merchant", names=True)
def merchant(node: NodeContext, address: AddressArg) -> None:
    """A merchant: status, votes, listings, rating."""
    item = node.call("state_getMerchant", address=_address_text(node, address))
    if node.output is not OutputFormat.json:
        decided = _status_votes(node, item)
        action = NEXT_ACTION.get(str(item["status"]), "")
        if decided is not None:
            item = {**item, "votes": f"{item['votes']} to {action} so far; {decided}"}
    _fields(node, item)


@query_command("merchants")
def merchants(
    node: NodeContext, *,
    status: Annotated[MerchantStatus | None, typer.Option(
        help="pending, approved or suspended [default: any].", show_default=False)] = None,
    cursor: CursorOpt = None, limit: LimitOpt = 50,
) -> None:
    """Merchants, optionally by status."""
    _page(node, node.call("state_listMerchants", limit=limit, cursor=cursor or None,
                          status=status.value if status else None),
          [("name", "NAME"), ("address", "ADDRESS"), ("status", "STATUS"),
           ("listings_count", "LISTINGS"), ("rating", "RATING")])


@query_command("listing")
def listing(
    node: NodeContext, listing_id: ListingArg, *,
    version: Annotated[int | None, typer.Option(min=1, help="An earlier version.")] = None,
) -> None:
    """A listing at its current version (or any earlier one)."""
    _fields(node, node.call("state_getListing", id=listing_id, version=version))


@query_command("listing-versions")
def listing_versions(node: NodeContext, listing_id: ListingArg, *, cursor: CursorOpt = None,
                     limit: LimitOpt = 50) -> None:
    """Every version of a listing, oldest first."""
    _page(node, node.call("state_listListingVersions", id=listing_id, limit=limit,
                          cursor=cursor or None),
          [("version", "VERSION"), ("title", "TITLE"), ("price", "PRICE"),
           ("referral_bps", "REF BPS"), ("version_height", "HEIGHT")])


@query_command("listings", names=True)
def listings(
    node: NodeContext, *,
    merchant_filter: Annotated[str | None, typer.Option(
        "--merchant", help="Only this merchant's (address or key name).")] = None,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    text: Annotated[str | None, typer.Option(help="Only titles containing this.")] = None,
    active_only: Annotated[bool, typer.Option(help="Only listings on sale.")] = False,
    cursor: CursorOpt = None, limit: LimitOpt = 50,
) -> None:
    """Listings by merchant, category or title text."""
    _page(node, node.call("state_listListings", limit=limit, active_only=active_only,
                          merchant=_address_text(node, merchant_filter or None),
                          category=category or None, text=text or None,
                          cursor=cursor or None),
          [("id", "ID"), ("title", "TITLE"), ("price", "PRICE"), ("stock", "STOCK"),
           ("category", "CATEGORY"), ("rating", "RATING"), ("active", "ACTIVE")])


@query_command("order")
def order(node: NodeContext, order_id: OrderArg) -> None:
    """An order: status, escrowed total, commission, timer."""
    _fields(node, node.call("state_getOrder", id=order_id))


@query_command("orders", names=True)
def orders(
    node: NodeContext, *,
    buyer: Annotated[str | None, typer.Option(help="A buyer (address or key).")] = None,
    merchant_filter: Annotated[str | None, typer.Option(
        "--merchant", help="A merchant (address or key).")] = None,
    status: Annotated[OrderStatus | None, typer.Option(
        help="Only orders in this status [default: any].", show_default=False)] = None,
    cursor: CursorOpt = None, limit: LimitOpt = 50,
) -> None:
    """Orders of a buyer or of a merchant."""
    _page(node, node.call("state_listOrders", limit=limit,
                          buyer=_address_text(node, buyer or None),
                          merchant=_address_text(node, merchant_filter or None),
                          status=status.value if status else None, cursor=cursor or None),
          [("id", "ID"), ("listing", "LISTING"), ("quantity", "QTY"), ("total", "TOTAL"),
           ("status", "STATUS"), ("buyer", "BUYER")])


@query_command("reviews")
def reviews(node: NodeContext, listing_id: ListingArg, *, cursor: CursorOpt = None,
            limit: LimitOpt = 50) -> None:
    """Reviews of a listing (only by buyers of completed orders)."""
    _page(node, node.call("state_listReviews", listing=listing_id, limit=limit,
                          cursor=cursor or None),
          [("order", "ORDER"), ("rating", "STARS"), ("author", "BUYER"), ("text", "TEXT"),
           ("reply", "REPLY")])


@query_command("comments")
def comments(node: NodeContext, listing_id: ListingArg, *, cursor: CursorOpt = None,
             limit: LimitOpt = 50) -> None:
    """Comments on a listing."""
    _page(node, node.call("state_listComments", listing=listing_id, limit=limit,
                          cursor=cursor or None),
          [("id", "ID"), ("parent", "PARENT"), ("author", "AUTHOR"), ("text", "TEXT")])


@query_command("review")
def review(node: NodeContext, order_id: OrderArg) -> None:
    """The review of an order."""
    _fields(node, node.call("state_getReview", order=order_id))


@query_command("comment")
def comment(node: NodeContext, comment_id: IdArg) -> None:
    """A comment."""
    _fields(node, node.call("state_getComment", id=comment_id))


@query_command("share")
def share(node: NodeContext, share_id: IdArg) -> None:
    """A share: its listing, conversions and commission earned."""
    _fields(node, node.call("state_getShare", id=share_id))


@query_command("poll")
def poll(node: NodeContext, poll_id: IdArg) -> None:
    """A poll with its tallies."""
    result = node.call("state_getPoll", id=poll_id)

    def text() -> None:
        print_fields({k: v for k, v in result.items() if not isinstance(v, list)})
        print_table([{"option": i, "answer": answer, "votes": votes}
                     for i, (answer, votes) in enumerate(zip(result["options"],
                                                             result["tallies"], strict=True))],
                    [("option", "#"), ("answer", "ANSWER"), ("votes", "VOTES")])

    emit(node.output, result, text)


@query_command("polls")
def polls(
    node: NodeContext, *,
    open_at: Annotated[int | None, typer.Option(
        min=0, help="Only polls still open at this height.")] = None,
    cursor: CursorOpt = None, limit: LimitOpt = 50,
) -> None:
    """Community polls."""
    _page(node, node.call("state_listPolls", limit=limit, open_at=open_at,
                          cursor=cursor or None),
          [("id", "ID"), ("question", "QUESTION"), ("close_height", "CLOSES"),
           ("voters", "VOTERS")])


@query_command("rewards", names=True)
def rewards(node: NodeContext, address: AddressArg) -> None:
    """An account's accrued (claimable) and claimed rewards."""
    _fields(node, node.call("state_getRewards", address=_address_text(node, address)))
