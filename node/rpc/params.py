"""The params models of the node's JSON-RPC methods, one pydantic model per shape.

`rpc.discover` publishes each model's JSON schema (its class name, docstring and fields), so
renaming a class or rewording a docstring here changes the OpenRPC document. Every model
refuses unknown fields; ids, limits and texts are bounded here, before any handler runs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from commerce.address import from_text
from commerce.limits import MAX_PAGE_ITEMS
from node.limits import DEFAULT_WAIT_MS, MAX_WAIT_MS
from node.limits import MAX_TX_HEX_CHARS as HEX_TX_MAX_CHARS

MAX_SUBMIT_BATCH = 1_000

HexTx = Annotated[str, Field(min_length=2, max_length=HEX_TX_MAX_CHARS)]
Hash = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE_ITEMS)]
Cursor = Annotated[str, Field(max_length=128)]


def _check_address(value: str) -> str:
    from_text(value)
    return value


AddressText = Annotated[str, Field(max_length=90), AfterValidator(_check_address)]


class Params(BaseModel):
    """Base of every params model: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


# `chain_*` and `tx_*`.


class BlockParams(Params):
    """`height` of the block, or omit for the latest."""

    height: Annotated[int, Field(ge=1)] | None = None
    full_txs: bool = True


class BlockHashParams(Params):
    """A block hash as 64 hex characters."""

    hash: Hash
    full_txs: bool = True


class HeightParams(Params):
    """A block height."""

    height: Annotated[int, Field(ge=1)]


class TxIdParams(Params):
    """A transaction id as 64 hex characters."""

    id: Hash


class SubmitParams(Params):
    """A signed transaction as hex; `wait: finalized` (or `commit`) answers once it is finalized."""

    tx: HexTx
    wait: Literal["none", "finalized", "commit"] = "none"
    timeout_ms: Annotated[int, Field(ge=1, le=MAX_WAIT_MS)] = DEFAULT_WAIT_MS


class SimulateParams(Params):
    """A signed transaction as hex, to run against the latest state without keeping it."""

    tx: HexTx


class SubmitBatchParams(Params):
    """Several signed transactions as hex, admitted in order (signatures checked in
    parallel); each gets its own id or error."""

    txs: Annotated[list[HexTx], Field(min_length=1, max_length=MAX_SUBMIT_BATCH)]


# `state_*`.


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


# Group buying and promotions (node/rpc/team_methods.py).


class ListingIdParams(Params):
    """A listing id (for its team offer or its flash sale)."""

    listing: Id


class AccountPageParams(PageParams):
    """Records of an account (the teams it has a place in)."""

    address: AddressText


class CampaignsParams(PageParams):
    """A merchant's coupon campaigns, optionally only the open ones."""

    merchant: AddressText
    open_only: bool = False
