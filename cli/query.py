"""`agora query <thing>`: read chain state over JSON-RPC, as text or `--output json`."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

import typer

from cli.chain_client import NodeOption, node_url, resolve_address, rpc
from cli.common import (
    HomeOption,
    OutputFormat,
    OutputOption,
    emit,
    handle_errors,
    print_fields,
    print_table,
    subcommands,
)
from cli.keys import BackendOption, KeyringBackend, KeyringDirOption
from commerce.address import to_text
from commerce.schema import MERCHANT_STATUS_NAMES, ORDER_STATUS_NAMES

MerchantStatus = StrEnum("MerchantStatus", {n: n for n in MERCHANT_STATUS_NAMES.values()})
OrderStatus = StrEnum("OrderStatus", {n: n for n in ORDER_STATUS_NAMES.values()})

app = subcommands("query", "Read chain state from a node.")


def _cell(item: dict[str, Any], key: str) -> Any:
    """An item's field for a table: amounts as decimals, ratings as stars."""
    if f"{key}_decimal" in item:
        return item[f"{key}_decimal"]
    value = item.get(key)
    if key == "rating" and isinstance(value, dict):
        average = int(value["average_x100"])
        return f"{average // 100}.{average % 100:02d} ({value['count']})" if value["count"] else "-"
    return value


def _fields(output: OutputFormat, item: dict[str, Any]) -> None:
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

    emit(output, item, text)


@app.command("status")
@handle_errors
def status(*, node: NodeOption = None, home: HomeOption = None,
           output: OutputOption = OutputFormat.text) -> None:
    """The node's chain, height, view, peers and mempool."""
    _fields(output, rpc(node_url(node, home), "node_status"))


@app.command("peers")
@handle_errors
def peers(*, node: NodeOption = None, home: HomeOption = None,
          output: OutputOption = OutputFormat.text) -> None:
    """The node's connected peers."""
    rows = rpc(node_url(node, home), "node_peers")
    emit(output, rows, lambda: print_table(rows, [
        ("id", "ID"), ("address", "ADDRESS"), ("direction", "DIRECTION"),
        ("messages_in", "MSGS IN"), ("messages_out", "MSGS OUT")]))


@app.command("account")
@handle_errors
def account(
    address: Annotated[str, typer.Argument(help="agora1... address or a key name.")],
    *,
    keyring_dir: KeyringDirOption = None,
    keyring_backend: BackendOption = KeyringBackend.file,
    node: NodeOption = None,
    home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """An account's balance and nonce."""
    resolved = resolve_address(address, keyring_dir, keyring_backend, home)
    result = rpc(node_url(node, home), "state_getAccount", address=to_text(resolved))
    emit(output, result, lambda: print_fields({
        "address": result["address"], "balance": result["balance_decimal"],
        "nonce": result["nonce"], "pending nonce": result["pending_nonce"]}))


@app.command("supply")
@handle_errors
def supply(*, node: NodeOption = None, home: HomeOption = None,
           output: OutputOption = OutputFormat.text) -> None:
    """Total supply and its parts (genesis, minted, escrow)."""
    result = rpc(node_url(node, home), "state_getSupply")
    emit(output, result, lambda: print_fields({
        name: result[f"{name}_decimal"] for name in ("total", "genesis", "minted", "escrow")}))


@app.command("block")
@handle_errors
def block(
    height: Annotated[int | None, typer.Argument(min=1, help="Height [default: latest].")] = None,
    *,
    node: NodeOption = None,
    home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """A block by height (latest by default)."""
    params: dict[str, Any] = {} if height is None else {"height": height}
    result = rpc(node_url(node, home), "chain_getBlock", **params)

    def text() -> None:
        print_fields({**result["header"], "txs": result["tx_count"]})
        if result["txs"]:
            print_table([{"id": t["id"], "type": t["type"], "sender": t["sender"],
                          "nonce": t["nonce"]} for t in result["txs"]],
                        [("id", "TX"), ("type", "TYPE"), ("sender", "SENDER"),
                         ("nonce", "NONCE")])

    emit(output, result, text)


TX_ID_RE = re.compile(r"^[0-9a-fA-F]{64}$")


def _tx_id(value: str) -> str:
    """A transaction id is 64 hex characters: anything else is a usage error (exit 2)."""
    if not TX_ID_RE.match(value):
        raise typer.BadParameter(f"{value!r} is not a transaction id (64 hex characters, as "
                                 "`agora tx` prints it)")
    return value.lower()


@app.command("tx")
@handle_errors
def tx(
    tx_id: Annotated[str, typer.Argument(help="Transaction id (64 hex characters).",
                                         metavar="TX_ID", callback=_tx_id)],
    *,
    node: NodeOption = None,
    home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """A transaction with its status, block and events."""
    result = rpc(node_url(node, home), "chain_getTransaction", id=tx_id)

    def text() -> None:
        fields: dict[str, Any] = {"id": result["tx"]["id"], "status": result["status"],
                                  "type": result["tx"]["type"],
                                  "sender": result["tx"]["sender"]}
        if "height" in result:
            fields["height"] = result["height"]
            fields["events"] = " ".join(e["kind"] for e in result["events"])
        print_fields(fields)

    emit(output, result, text)


@app.command("certificate")
@handle_errors
def certificate(
    height: Annotated[int, typer.Argument(min=1, help="Block height.")],
    *,
    node: NodeOption = None,
    home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """The commit certificate of a block."""
    _fields(output, rpc(node_url(node, home), "chain_getCertificate", height=height))


@app.command("validators")
@handle_errors
def validators(*, node: NodeOption = None, home: HomeOption = None,
               output: OutputOption = OutputFormat.text) -> None:
    """The validator set in primary rotation order."""
    rows = rpc(node_url(node, home), "chain_getValidators")
    emit(output, rows, lambda: print_table(rows, [
        ("index", "#"), ("name", "NAME"), ("address", "ADDRESS"), ("public_key", "PUBLIC KEY")]))


# --- the shop --------------------------------------------------------------------------

CursorOpt = Annotated[str | None, typer.Option(help="Continue after this cursor (from `next`).")]
LimitOpt = Annotated[int, typer.Option(min=1, max=200, help="At most this many items.")]


def _page(output: OutputFormat, page: dict[str, Any],
          columns: list[tuple[str, str]]) -> None:
    """Print a page of items as a table (and its `next` cursor), or as JSON."""

    def text() -> None:
        rows = [{key: _cell(item, key) for key, _ in columns} for item in page["items"]]
        print_table(rows, columns)
        if page.get("next"):
            typer.echo(f"more: --cursor {page['next']}")

    emit(output, page, text)


def _address_arg(text: str, keyring_dir: Any, backend: KeyringBackend, home: Any) -> str:
    return to_text(resolve_address(text, keyring_dir, backend, home))


@app.command("merchant")
@handle_errors
def merchant(
    address: Annotated[str, typer.Argument(help="agora1... address or a key name.")],
    *, keyring_dir: KeyringDirOption = None,
    keyring_backend: BackendOption = KeyringBackend.file,
    node: NodeOption = None, home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """A merchant: status, votes, listings, rating."""
    text = _address_arg(address, keyring_dir, keyring_backend, home)
    _fields(output, rpc(node_url(node, home), "state_getMerchant", address=text))


@app.command("merchants")
@handle_errors
def merchants(
    *, status: Annotated[MerchantStatus | None, typer.Option(
        help="pending, approved or suspended [default: any].", show_default=False)] = None,
    cursor: CursorOpt = None, limit: LimitOpt = 50,
    node: NodeOption = None, home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Merchants, optionally by status."""
    params: dict[str, Any] = {"limit": limit}
    if status:
        params["status"] = status.value
    if cursor:
        params["cursor"] = cursor
    _page(output, rpc(node_url(node, home), "state_listMerchants", **params),
          [("name", "NAME"), ("address", "ADDRESS"), ("status", "STATUS"),
           ("listings_count", "LISTINGS"), ("rating", "RATING")])


@app.command("listing")
@handle_errors
def listing(
    listing_id: Annotated[int, typer.Argument(min=1, help="Listing id.")],
    *, version: Annotated[int | None, typer.Option(min=1, help="An earlier version.")] = None,
    node: NodeOption = None, home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """A listing at its current version (or any earlier one)."""
    params: dict[str, Any] = {"id": listing_id}
    if version:
        params["version"] = version
    _fields(output, rpc(node_url(node, home), "state_getListing", **params))


@app.command("listing-versions")
@handle_errors
def listing_versions(
    listing_id: Annotated[int, typer.Argument(min=1, help="Listing id.")],
    *, cursor: CursorOpt = None, limit: LimitOpt = 50,
    node: NodeOption = None, home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Every version of a listing, oldest first."""
    params: dict[str, Any] = {"id": listing_id, "limit": limit}
    if cursor:
        params["cursor"] = cursor
    _page(output, rpc(node_url(node, home), "state_listListingVersions", **params),
          [("version", "VERSION"), ("title", "TITLE"), ("price", "PRICE"),
           ("referral_bps", "REF BPS"), ("version_height", "HEIGHT")])


@app.command("listings")
@handle_errors
def listings(
    *, merchant_filter: Annotated[str | None, typer.Option(
        "--merchant", help="Only this merchant's (address or key name).")] = None,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    text: Annotated[str | None, typer.Option(help="Only titles containing this.")] = None,
    active_only: Annotated[bool, typer.Option(help="Only listings on sale.")] = False,
    cursor: CursorOpt = None, limit: LimitOpt = 50,
    keyring_dir: KeyringDirOption = None,
    keyring_backend: BackendOption = KeyringBackend.file,
    node: NodeOption = None, home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Listings by merchant, category or title text."""
    params: dict[str, Any] = {"limit": limit, "active_only": active_only}
    if merchant_filter:
        params["merchant"] = _address_arg(merchant_filter, keyring_dir, keyring_backend, home)
    for key, value in (("category", category), ("text", text), ("cursor", cursor)):
        if value:
            params[key] = value
    _page(output, rpc(node_url(node, home), "state_listListings", **params),
          [("id", "ID"), ("title", "TITLE"), ("price", "PRICE"), ("stock", "STOCK"),
           ("category", "CATEGORY"), ("rating", "RATING"), ("active", "ACTIVE")])


@app.command("order")
@handle_errors
def order(
    order_id: Annotated[int, typer.Argument(min=1, help="Order id.")],
    *, node: NodeOption = None, home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """An order: status, escrowed total, commission, timer."""
    _fields(output, rpc(node_url(node, home), "state_getOrder", id=order_id))


@app.command("orders")
@handle_errors
def orders(
    *, buyer: Annotated[str | None, typer.Option(help="A buyer (address or key).")] = None,
    merchant_filter: Annotated[str | None, typer.Option(
        "--merchant", help="A merchant (address or key).")] = None,
    status: Annotated[OrderStatus | None, typer.Option(
        help="Only orders in this status [default: any].", show_default=False)] = None,
    cursor: CursorOpt = None, limit: LimitOpt = 50,
    keyring_dir: KeyringDirOption = None,
    keyring_backend: BackendOption = KeyringBackend.file,
    node: NodeOption = None, home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Orders of a buyer or of a merchant."""
    params: dict[str, Any] = {"limit": limit}
    if buyer:
        params["buyer"] = _address_arg(buyer, keyring_dir, keyring_backend, home)
    if merchant_filter:
        params["merchant"] = _address_arg(merchant_filter, keyring_dir, keyring_backend, home)
    for key, value in (("status", status.value if status else None), ("cursor", cursor)):
        if value:
            params[key] = value
    _page(output, rpc(node_url(node, home), "state_listOrders", **params),
          [("id", "ID"), ("listing", "LISTING"), ("quantity", "QTY"), ("total", "TOTAL"),
           ("status", "STATUS"), ("buyer", "BUYER")])


IdArg = Annotated[int, typer.Argument(min=1, help="The record's id.")]
ListingArg = Annotated[int, typer.Argument(min=1, help="Listing id.")]


def _listing_page(method: str, listing_id: int, cursor: str | None, limit: int, node: str | None,
                  home: Any, output: OutputFormat, columns: list[tuple[str, str]]) -> None:
    params: dict[str, Any] = {"listing": listing_id, "limit": limit}
    if cursor:
        params["cursor"] = cursor
    _page(output, rpc(node_url(node, home), method, **params), columns)


@app.command("reviews")
@handle_errors
def reviews(listing_id: ListingArg, *, cursor: CursorOpt = None, limit: LimitOpt = 50,
            node: NodeOption = None, home: HomeOption = None,
            output: OutputOption = OutputFormat.text) -> None:
    """Reviews of a listing (only by buyers of completed orders)."""
    _listing_page("state_listReviews", listing_id, cursor, limit, node, home, output, [
        ("order", "ORDER"), ("rating", "STARS"), ("author", "BUYER"), ("text", "TEXT"),
        ("reply", "REPLY")])


@app.command("comments")
@handle_errors
def comments(listing_id: ListingArg, *, cursor: CursorOpt = None, limit: LimitOpt = 50,
             node: NodeOption = None, home: HomeOption = None,
             output: OutputOption = OutputFormat.text) -> None:
    """Comments on a listing."""
    _listing_page("state_listComments", listing_id, cursor, limit, node, home, output, [
        ("id", "ID"), ("parent", "PARENT"), ("author", "AUTHOR"), ("text", "TEXT")])


@app.command("review")
@handle_errors
def review(order_id: Annotated[int, typer.Argument(min=1, help="Order id.")], *,
           node: NodeOption = None, home: HomeOption = None,
           output: OutputOption = OutputFormat.text) -> None:
    """The review of an order."""
    _fields(output, rpc(node_url(node, home), "state_getReview", order=order_id))


@app.command("comment")
@handle_errors
def comment(comment_id: IdArg, *, node: NodeOption = None, home: HomeOption = None,
            output: OutputOption = OutputFormat.text) -> None:
    """A comment."""
    _fields(output, rpc(node_url(node, home), "state_getComment", id=comment_id))


@app.command("share")
@handle_errors
def share(share_id: IdArg, *, node: NodeOption = None, home: HomeOption = None,
          output: OutputOption = OutputFormat.text) -> None:
    """A share: its listing, conversions and commission earned."""
    _fields(output, rpc(node_url(node, home), "state_getShare", id=share_id))


@app.command("poll")
@handle_errors
def poll(poll_id: IdArg, *, node: NodeOption = None, home: HomeOption = None,
         output: OutputOption = OutputFormat.text) -> None:
    """A poll with its tallies."""
    result = rpc(node_url(node, home), "state_getPoll", id=poll_id)

    def text() -> None:
        print_fields({k: v for k, v in result.items() if not isinstance(v, list)})
        print_table([{"option": i, "answer": answer, "votes": votes}
                     for i, (answer, votes) in enumerate(zip(result["options"],
                                                             result["tallies"], strict=True))],
                    [("option", "#"), ("answer", "ANSWER"), ("votes", "VOTES")])

    emit(output, result, text)


@app.command("polls")
@handle_errors
def polls(
    *, open_at: Annotated[int | None, typer.Option(
        min=0, help="Only polls still open at this height.")] = None,
    cursor: CursorOpt = None, limit: LimitOpt = 50,
    node: NodeOption = None, home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Community polls."""
    params: dict[str, Any] = {"limit": limit}
    if open_at is not None:
        params["open_at"] = open_at
    if cursor:
        params["cursor"] = cursor
    _page(output, rpc(node_url(node, home), "state_listPolls", **params),
          [("id", "ID"), ("question", "QUESTION"), ("close_height", "CLOSES"),
           ("voters", "VOTERS")])


@app.command("rewards")
@handle_errors
def rewards(
    address: Annotated[str, typer.Argument(help="agora1... address or a key name.")],
    *, keyring_dir: KeyringDirOption = None,
    keyring_backend: BackendOption = KeyringBackend.file,
    node: NodeOption = None, home: HomeOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """An account's accrued (claimable) and claimed rewards."""
    text = _address_arg(address, keyring_dir, keyring_backend, home)
    _fields(output, rpc(node_url(node, home), "state_getRewards", address=text))
