"""`state_*` JSON-RPC methods: reads of the shop's state at the latest finalized block.

Each method validates its params, calls one function of `commerce.queries` (or the ledger)
on the store's state, and renders amounts with their `_decimal` siblings. Lists are pages
``{"items": [...], "next": cursor | null}``; pass `next` back as `cursor`. The methods are
rows of `STATE_READS` (name, params, summary, query, what a miss names), except
`state_getAccount`, which also reads the mempool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from commerce import ledger, queries
from commerce.address import from_text, to_text
from commerce.state import StateReader
from node.chain import Chain
from node.errors import NodeError, NodeErrorCode
from node.rpc.jsonrpc import Registry
from node.rpc.params import (
    AddressParams,
    IdParams,
    ListingPageParams,
    ListingParams,
    ListingsParams,
    ListingVersionsParams,
    MerchantsParams,
    OrderParams,
    OrdersParams,
    PageParams,
    Params,
    PollsParams,
)
from node.rpc.render import json_value

Page = dict[str, Any]
"""The paging keywords of a list query: ``cursor`` and ``limit`` (capped by the node)."""
Query = Callable[[StateReader, Any, Page], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class StateRead:
    """One `state_*` method: `query(state, params, page)` answers, None is a miss that
    `NodeError(not_found)` reports as "no <missing(params)>"."""

    name: str
    params: type[Params]
    summary: str
    query: Query
    missing: Callable[[Any], str]


def _addr(text: str | None) -> bytes | None:
    return None if text is None else from_text(text)


def _listing_missing(params: ListingParams) -> str:
    return f"listing {params.id}" + (f" version {params.version}" if params.version else "")


STATE_READS: tuple[StateRead, ...] = (
    StateRead("state_getSupply", Params, "Total supply and its parts",
              lambda state, p, page: queries.supply(state), lambda p: "supply"),
    StateRead("state_getRewards", AddressParams, "Accrued and claimed rewards",
              lambda state, p, page: queries.rewards(state, from_text(p.address)),
              lambda p: "rewards"),
    StateRead("state_getMerchant", AddressParams, "A merchant",
              lambda state, p, page: queries.merchant(state, from_text(p.address)),
              lambda p: f"merchant {p.address}"),
    StateRead("state_listMerchants", MerchantsParams, "Merchants",
              lambda state, p, page: queries.merchants(state, status=p.status, **page),
              lambda p: "merchants"),
    StateRead("state_getListing", ListingParams, "A listing, any version",
              lambda state, p, page: queries.listing(state, p.id, p.version),
              _listing_missing),
    StateRead("state_listListingVersions", ListingVersionsParams, "Every version of a listing",
              lambda state, p, page: queries.listing_versions(state, p.id, **page),
              lambda p: "versions"),
    StateRead("state_listListings", ListingsParams, "Listings",
              lambda state, p, page: queries.listings(
                  state, merchant=_addr(p.merchant), category=p.category, text=p.text,
                  active_only=p.active_only, **page),
              lambda p: "listings"),
    StateRead("state_getOrder", IdParams, "An order",
              lambda state, p, page: queries.order(state, p.id), lambda p: f"order {p.id}"),
    StateRead("state_listOrders", OrdersParams, "Orders of a buyer or merchant",
              lambda state, p, page: queries.orders(
                  state, buyer=_addr(p.buyer), merchant=_addr(p.merchant), status=p.status,
                  **page),
              lambda p: "orders"),
    StateRead("state_getReview", OrderParams, "The review of an order",
              lambda state, p, page: queries.review(state, p.order),
              lambda p: f"review of order {p.order}"),
    StateRead("state_listReviews", ListingPageParams, "Reviews of a listing",
              lambda state, p, page: queries.reviews(state, p.listing, **page),
              lambda p: "reviews"),
    StateRead("state_getComment", IdParams, "A comment",
              lambda state, p, page: queries.comment(state, p.id), lambda p: f"comment {p.id}"),
    StateRead("state_listComments", ListingPageParams, "Comments on a listing",
              lambda state, p, page: queries.comments(state, p.listing, **page),
              lambda p: "comments"),
    StateRead("state_getShare", IdParams, "A share",
              lambda state, p, page: queries.share(state, p.id), lambda p: f"share {p.id}"),
    StateRead("state_getPoll", IdParams, "A poll",
              lambda state, p, page: queries.poll(state, p.id), lambda p: f"poll {p.id}"),
    StateRead("state_listPolls", PollsParams, "Polls",
              lambda state, p, page: queries.polls(state, open_at=p.open_at, **page),
              lambda p: "polls"),
)


def register_state_methods(registry: Registry, chain: Chain, page_items_max: int,
                           extra: tuple[StateRead, ...] = ()) -> None:
    """Register the `state_*` methods over `chain`'s state on `registry`, the reads of
    `STATE_READS` and then `extra` (the reads of later areas, from their own modules); a
    page holds at most `page_items_max` items whatever `limit` asks."""

    def state() -> StateReader:
        return chain.store.state

    async def get_account(params: AddressParams) -> dict[str, Any]:
        """An account's balance, its next nonce, and the next nonce counting its pending
        transactions."""
        address = from_text(params.address)
        account = ledger.get_account(state(), address)
        rendered: dict[str, Any] = json_value({"balance": account.balance})
        return {"address": to_text(address), **rendered, "nonce": account.nonce,
                "pending_nonce": chain.mempool.pending_nonce(address)}

    registry.add("state_getAccount", get_account, params=AddressParams,
                 summary="An account's balance and nonces")
    register_state_reads(registry, chain, page_items_max, STATE_READS + extra)


def register_state_reads(registry: Registry, chain: Chain, page_items_max: int,
                         reads: tuple[StateRead, ...]) -> None:
    """Register each of `reads` as a method over `chain`'s state (a module of another
    area's reads, e.g. `profile_methods`, calls this with its own table)."""

    def handler(read: StateRead) -> Callable[[Any], Any]:
        async def answer(params: Any) -> dict[str, Any]:
            page: Page = {}
            if isinstance(params, PageParams):
                page = {"cursor": params.cursor, "limit": min(params.limit, page_items_max)}
            item = read.query(chain.store.state, params, page)
            if item is None:
                raise NodeError(NodeErrorCode.NOT_FOUND, f"no {read.missing(params)}")
            rendered: dict[str, Any] = json_value(item)
            return rendered

        return answer

    for read in reads:
        registry.add(read.name, handler(read), params=read.params, summary=read.summary)
