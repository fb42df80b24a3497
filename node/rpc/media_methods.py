"""`media_*` JSON-RPC methods: listing pictures, as the chain names them and as this node
holds them.

`media_getListingMedia` gives a listing version's media hashes in display order, each with
its URL on this node (`/blobs/<sha256>`) and whether this node holds it yet (with its
checked content type and size when it does); `media_listReferences` pages the listing
versions that name a blob (the chain's `cM` index); `media_getBlob` describes a blob this
node holds. The bytes themselves are served over plain HTTP (`GET /blobs/<sha256>`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from commerce.media import is_referenced, listing_media, media_refs
from node.blobs.http import describe
from node.blobs.store import BlobStore
from node.chain import Chain
from node.errors import NodeError, NodeErrorCode
from node.rpc.jsonrpc import Registry
from node.rpc.params import Cursor, Hash, Id, Limit, PageParams, Params


class ListingMediaParams(Params):
    """A listing, at its current version or at `version`."""

    id: Id
    version: Id | None = None


class BlobParams(Params):
    """A blob by its SHA-256 (64 hex digits)."""

    sha256: Hash


class BlobReferencesParams(PageParams):
    """The listing versions naming a blob, a page at a time."""

    sha256: Hash
    cursor: Cursor | None = None
    limit: Limit = 50


def register_media_methods(registry: Registry, chain: Chain,
                           store: Callable[[], BlobStore | None], page_items_max: int) -> None:
    """Register the `media_*` methods over `chain`'s finalized state and the node's blob
    store (`store()` is None on a node without one: nothing is held)."""

    def held(name: bytes) -> dict[str, Any]:
        blobs = store()
        record = None if blobs is None or blobs.closed else blobs.record(name)
        if record is None:
            return {"sha256": name.hex(), "url": f"/blobs/{name.hex()}", "stored": False}
        return {**describe(name, record), "stored": True}

    async def get_listing_media(params: ListingMediaParams) -> dict[str, Any]:
        """A listing version's media, each with its URL here and whether it is held."""
        found = listing_media(chain.store.state, params.id, params.version)
        if found is None:
            missing = f"listing {params.id}" + (
                f" version {params.version}" if params.version else "")
            raise NodeError(NodeErrorCode.NOT_FOUND, f"no {missing}")
        found["media"] = [held(bytes.fromhex(text)) for text in found["media"]]
        return found

    async def list_references(params: BlobReferencesParams) -> dict[str, Any]:
        """The listing versions naming a blob, in listing then version order."""
        return media_refs(chain.store.state, bytes.fromhex(params.sha256),
                          cursor=params.cursor, limit=min(params.limit, page_items_max))

    async def get_blob(params: BlobParams) -> dict[str, Any]:
        """A blob held by this node, and whether a listing version names it."""
        name = bytes.fromhex(params.sha256)
        item = held(name)
        if not item["stored"]:
            raise NodeError(NodeErrorCode.NOT_FOUND, f"no blob {params.sha256} on this node")
        item["referenced"] = is_referenced(chain.store.state, name)
        return item

    registry.add("media_getListingMedia", get_listing_media, params=ListingMediaParams,
                 summary="A listing version's pictures and whether this node holds them")
    registry.add("media_listReferences", list_references, params=BlobReferencesParams,
                 summary="The listing versions that name a blob")
    registry.add("media_getBlob", get_blob, params=BlobParams,
                 summary="A blob this node holds: type, size, owner, source")
