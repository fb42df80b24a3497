"""`state_*` JSON-RPC methods: reads of the shop's state at the latest finalized block.

Each method validates its params, calls one function of `commerce.queries` (or the ledger)
on the store's state, and renders amounts with their `_decimal` siblings. Lists are pages
``{"items": [...], "next": cursor | null}``; pass `next` back as `cursor`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field

from commerce import ledger, queries
from commerce.address import from_text, to_text
from commerce.limits import MAX_PAGE_ITEMS
from node.api import Params
from node.errors import NodeError, NodeErrorCode
from node.render import json_value
from node.rpc import Registry

if TYPE_CHECKING:
    from node.service import Node

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE_ITEMS)]
Cursor = Annotated[str, Field(max_length=128)]


def _check_address(value: str) -> str:
    from_text(value)
    return value


AddressText = Annotated[str, Field(max_length=90), AfterValidator(_check_address)]


class AddressParams(Params):
    """An account address in its text form (agora1...)."""

    address: AddressText


class PageParams(Params):
    """Paging: at most `limit` items after `cursor`."""

    cursor: Cursor | None = None
    limit: Limit = 50


class MerchantsParams(PageParams):
    """Merchants, optionally by status."""

    status: Literal["pending", "approved", "suspended"] | None = None


class ListingParams(Params):
    """A listing by id, at its current version or at `version`."""

    id: Id
    version: Id | None = None


class ListingVersionsParams(PageParams):
    """Every version of a listing, oldest first."""

    id: Id


class ListingsParams(PageParams):
    """Listings filtered by merchant, category, or text in the title."""

    merchant: AddressText | None = None
    category: Annotated[str, Field(max_length=32)] | None = None
    text: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    active_only: bool = False


class IdParams(Params):
    """A record id."""

    id: Id


class OrdersParams(PageParams):
    """Orders of a buyer or of a merchant (one of them), optionally by status."""

    buyer: AddressText | None = None
    merchant: AddressText | None = None
    status: Annotated[str, Field(max_length=32)] | None = None


class ListingPageParams(PageParams):
    """Records attached to a listing (reviews, comments)."""

    listing: Id


class OrderParams(Params):
    """An order id (a review is stored under its order)."""

    order: Id


class PollsParams(PageParams):
    """Polls, optionally only those still open at height `open_at`."""

    open_at: Annotated[int, Field(ge=0)] | None = None


def _found(item: dict[str, Any] | None, what: str) -> dict[str, Any]:
    if item is None:
        raise NodeError(NodeErrorCode.NOT_FOUND, f"no {what}")
    rendered: dict[str, Any] = json_value(item)
    return rendered


def _addr(text: str | None) -> bytes | None:
    return None if text is None else from_text(text)


def register_state_methods(registry: Registry, node: Node) -> None:
    """Register the `state_*` methods of `node` on `registry`."""

    def state() -> Any:
        assert node.store is not None
        return node.store.state

    page_max = node.config.rpc.max_page_size

    def limit(value: int) -> int:
        return min(value, page_max)

    async def get_account(params: AddressParams) -> dict[str, Any]:
        """An account's balance, its next nonce, and the next nonce counting its pending
        transactions."""
        address = from_text(params.address)
        account = ledger.get_account(state(), address)
        assert node.mempool is not None
        rendered: dict[str, Any] = json_value({"balance": account.balance})
        return {"address": to_text(address), **rendered, "nonce": account.nonce,
                "pending_nonce": node.mempool.pending_nonce(address)}

    async def get_supply(params: Params) -> dict[str, Any]:
        """Total supply = genesis + minted; escrow is the part held for open orders."""
        return _found(queries.supply(state()), "supply")

    async def get_rewards(params: AddressParams) -> dict[str, Any]:
        """An account's accrued (claimable) and claimed rewards."""
        return _found(queries.rewards(state(), from_text(params.address)), "rewards")

    async def get_merchant(params: AddressParams) -> dict[str, Any]:
        """A merchant by address (any status)."""
        item = queries.merchant(state(), from_text(params.address))
        return _found(item, f"merchant {params.address}")

    async def list_merchants(params: MerchantsParams) -> dict[str, Any]:
        """Merchants in address order."""
        return _found(queries.merchants(state(), status=params.status, cursor=params.cursor,
                                        limit=limit(params.limit)), "merchants")

    async def get_listing(params: ListingParams) -> dict[str, Any]:
        """A listing at its current version or any earlier one."""
        item = queries.listing(state(), params.id, params.version)
        return _found(item, f"listing {params.id}"
                      + (f" version {params.version}" if params.version else ""))

    async def list_listing_versions(params: ListingVersionsParams) -> dict[str, Any]:
        """Every version of a listing, oldest first."""
        return _found(queries.listing_versions(state(), params.id, cursor=params.cursor,
                                               limit=limit(params.limit)), "versions")

    async def list_listings(params: ListingsParams) -> dict[str, Any]:
        """Listings by merchant, category or title text."""
        return _found(queries.listings(state(), merchant=_addr(params.merchant),
                                       category=params.category, text=params.text,
                                       active_only=params.active_only, cursor=params.cursor,
                                       limit=limit(params.limit)), "listings")

    async def get_order(params: IdParams) -> dict[str, Any]:
        """An order with its status, escrowed total, commission and timer."""
        return _found(queries.order(state(), params.id), f"order {params.id}")

    async def list_orders(params: OrdersParams) -> dict[str, Any]:
        """Orders of a buyer or a merchant."""
        return _found(queries.orders(state(), buyer=_addr(params.buyer),
                                     merchant=_addr(params.merchant), status=params.status,
                                     cursor=params.cursor, limit=limit(params.limit)),
                      "orders")

    async def get_review(params: OrderParams) -> dict[str, Any]:
        """The review of an order."""
        return _found(queries.review(state(), params.order), f"review of order {params.order}")

    async def list_reviews(params: ListingPageParams) -> dict[str, Any]:
        """Reviews of a listing."""
        return _found(queries.reviews(state(), params.listing, cursor=params.cursor,
                                      limit=limit(params.limit)), "reviews")

    async def get_comment(params: IdParams) -> dict[str, Any]:
        """A comment."""
        return _found(queries.comment(state(), params.id), f"comment {params.id}")

    async def list_comments(params: ListingPageParams) -> dict[str, Any]:
        """Comments on a listing."""
        return _found(queries.comments(state(), params.listing, cursor=params.cursor,
                                       limit=limit(params.limit)), "comments")

    async def get_share(params: IdParams) -> dict[str, Any]:
        """A share (what a referral link carries) with its conversions and commission."""
        return _found(queries.share(state(), params.id), f"share {params.id}")

    async def get_poll(params: IdParams) -> dict[str, Any]:
        """A poll with its tallies."""
        return _found(queries.poll(state(), params.id), f"poll {params.id}")

    async def list_polls(params: PollsParams) -> dict[str, Any]:
        """Polls, optionally those open at a height."""
        return _found(queries.polls(state(), open_at=params.open_at, cursor=params.cursor,
                                    limit=limit(params.limit)), "polls")

    methods: list[tuple[str, Callable[[Any], Awaitable[Any]], type[Params], str]] = [
        ("state_getAccount", get_account, AddressParams, "An account's balance and nonces"),
        ("state_getSupply", get_supply, Params, "Total supply and its parts"),
        ("state_getRewards", get_rewards, AddressParams, "Accrued and claimed rewards"),
        ("state_getMerchant", get_merchant, AddressParams, "A merchant"),
        ("state_listMerchants", list_merchants, MerchantsParams, "Merchants"),
        ("state_getListing", get_listing, ListingParams, "A listing, any version"),
        ("state_listListingVersions", list_listing_versions, ListingVersionsParams,
         "Every version of a listing"),
        ("state_listListings", list_listings, ListingsParams, "Listings"),
        ("state_getOrder", get_order, IdParams, "An order"),
        ("state_listOrders", list_orders, OrdersParams, "Orders of a buyer or merchant"),
        ("state_getReview", get_review, OrderParams, "The review of an order"),
        ("state_listReviews", list_reviews, ListingPageParams, "Reviews of a listing"),
        ("state_getComment", get_comment, IdParams, "A comment"),
        ("state_listComments", list_comments, ListingPageParams, "Comments on a listing"),
        ("state_getShare", get_share, IdParams, "A share"),
        ("state_getPoll", get_poll, IdParams, "A poll"),
        ("state_listPolls", list_polls, PollsParams, "Polls"),
    ]
    for name, handler, params, summary in methods:
        registry.add(name, handler, params=params, summary=summary)
