"""The blob endpoints of the RPC server: PUT and GET `/blobs/<sha256 hex>`.

PUT stores an image a merchant uploads. Its headers authenticate it before a byte of the
body is read: `X-Agora-Key` (the merchant's public key, hex), `X-Agora-Timestamp` (unix
milliseconds) and `X-Agora-Signature` (hex) over `commerce.media.upload_signing_bytes`
(chain id, the name, `Content-Length`, the timestamp). Refused, in this order: a bad name
(`blob_bad_name`), headers missing or a signature that does not verify
(`blob_unauthorized`), a timestamp more than UPLOAD_CLOCK_SKEW_MS from the node's clock
(`blob_stale`), a key that is not an approved merchant's (`blob_not_merchant`), a size
over MAX_BLOB_BYTES (`blob_too_large`), too many uploads in flight on the node or of this
merchant (`blob_busy`), the merchant's quota (`blob_quota`), bytes that hash to another
name or a body that did not arrive within UPLOAD_BODY_TIMEOUT_MS (`blob_hash_mismatch`),
bytes that are not an image (`blob_not_image`). A blob held already answers 200 at once,
a new one 201; both with the blob's JSON description. Replaying a captured upload can only
store the same bytes again within the skew window, which is idempotent.

GET answers the bytes with the content type found by `node.blobs.images`, an ETag (the
name), `Cache-Control: public, max-age=31536000, immutable` (a name is its content), and
`X-Content-Type-Options: nosniff`; `If-None-Match` with the ETag answers 304. A blob not
held but named by a finalized listing version is fetched from peers first (waiting up to
GET_FETCH_WAIT_MS); otherwise 404 `blob_not_found`. Errors are JSON:
``{"error": {"code": -32177, "reason": "blob_not_found", "message": "..."}}``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from base.limits import DIGEST_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES
from commerce.address import address_of, to_text
from commerce.keys import verify
from commerce.media import is_referenced, upload_signing_bytes
from commerce.merchants import get_merchant
from commerce.schema import MerchantStatus
from commerce.state import StateReader
from node.blobs.errors import HTTP_STATUS, BlobError, BlobErrorCode
from node.blobs.fetcher import BlobFetcher
from node.blobs.images import sniff
from node.blobs.limits import (
    GET_FETCH_WAIT_MS,
    MAX_BLOB_BYTES,
    MAX_MERCHANT_BLOB_BYTES,
    MAX_MERCHANT_UPLOADS_IN_FLIGHT_COUNT,
    MAX_UPLOAD_HEADER_CHARS,
    MAX_UPLOADS_IN_FLIGHT_COUNT,
    MIN_BLOB_BYTES,
    UPLOAD_BODY_TIMEOUT_MS,
    UPLOAD_CLOCK_SKEW_MS,
)
from node.blobs.store import BlobRecord, BlobSource, BlobStore, blob_name
from node.logs import get_logger, log

HEADER_KEY = "X-Agora-Key"
HEADER_TIMESTAMP = "X-Agora-Timestamp"
HEADER_SIGNATURE = "X-Agora-Signature"
UPLOAD_HEADERS = (HEADER_KEY, HEADER_TIMESTAMP, HEADER_SIGNATURE)
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
BLOB_PATH = "/blobs/{name}"
READ_CHUNK_BYTES = 64 * 1024

_log = get_logger("blobs")


def parse_name(text: str) -> bytes:
    """The 32-byte name of a blob from its 64 lowercase hex digits; raises
    BlobError(blob_bad_name)."""
    if len(text) != 2 * DIGEST_BYTES or text != text.lower():
        raise BlobError(BlobErrorCode.BLOB_BAD_NAME, "a blob name is 64 lowercase hex digits")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise BlobError(BlobErrorCode.BLOB_BAD_NAME,
                        "a blob name is 64 lowercase hex digits") from None


def describe(name: bytes, record: BlobRecord) -> dict[str, Any]:
    """The JSON description of a held blob (upload answers, `media_getBlob`)."""
    return {"sha256": name.hex(), "url": f"/blobs/{name.hex()}", "bytes": record.size_bytes,
            "content_type": record.content_type, "width": record.width,
            "height": record.height, "owner": to_text(record.owner) if record.owner else None,
            "stored_ms": record.stored_ms, "source": record.source.name.lower()}


def error_response(error: BlobError) -> web.Response:
    """The JSON error answer of a refusal, with its HTTP status."""
    code = error.code
    assert isinstance(code, BlobErrorCode), "blob endpoints refuse with blob codes"
    body = {"error": {"code": code.rpc_code, "reason": code.reason, "message": error.message}}
    return web.Response(status=HTTP_STATUS[code], text=json.dumps(body),
                        content_type="application/json")


@dataclass
class BlobRoutes:
    """The handlers, over the node's blob store, finalized state and fetcher."""

    store: BlobStore
    chain_id: str
    state: Callable[[], StateReader]
    fetcher: BlobFetcher
    clock_ms: Callable[[], int] = field(default=lambda: time.time_ns() // 1_000_000)
    on_count: Callable[[str], None] = field(default=lambda outcome: None)
    counters: dict[str, int] = field(default_factory=dict)
    _uploads_in_flight: int = 0
    _uploads_by: dict[bytes, int] = field(default_factory=dict)

    def add_to(self, app: web.Application) -> None:
        """Add PUT and GET (with HEAD) `/blobs/{name}` to `app` (before it starts)."""
        app.router.add_put(BLOB_PATH, self.put_blob)
        app.router.add_get(BLOB_PATH, self.get_blob)

    def _count(self, outcome: str) -> None:
        self.counters[outcome] = self.counters.get(outcome, 0) + 1
        self.on_count(outcome)

    async def put_blob(self, request: web.Request) -> web.StreamResponse:
        """Store an uploaded image (see the module docstring for the checks)."""
        try:
            name = parse_name(request.match_info["name"])
            owner, size = self._authorize(request, name)
            record = self.store.record(name)
            if record is not None:
                self._count("duplicate")
                return web.json_response(describe(name, record), status=200)
            mine = self._uploads_by.get(owner, 0)
            if self._uploads_in_flight >= MAX_UPLOADS_IN_FLIGHT_COUNT \
                    or mine >= MAX_MERCHANT_UPLOADS_IN_FLIGHT_COUNT:
                raise BlobError(BlobErrorCode.BLOB_BUSY,
                                f"{self._uploads_in_flight} uploads in flight, {mine} of "
                                f"this merchant; retry later")
            self._uploads_in_flight += 1
            self._uploads_by[owner] = mine + 1
            try:
                record = await self._receive(request, name, owner, size)
            finally:
                self._uploads_in_flight -= 1
                left = self._uploads_by.pop(owner) - 1
                if left:
                    self._uploads_by[owner] = left
        except BlobError as exc:
            self._count(exc.code.reason)
            return error_response(exc)
        self._count("stored")
        log(_log, logging.INFO, "blob_uploaded", blob=name.hex(), owner=to_text(owner),
            bytes=size, content_type=record.content_type)
        return web.json_response(describe(name, record), status=201)

    def _authorize(self, request: web.Request, name: bytes) -> tuple[bytes, int]:
        """The uploading merchant's address and the signed size; raises BlobError."""
        values = [request.headers.get(header, "") for header in UPLOAD_HEADERS]
        if not all(values) or any(len(v) > MAX_UPLOAD_HEADER_CHARS for v in values):
            raise BlobError(BlobErrorCode.BLOB_UNAUTHORIZED,
                            f"an upload needs the headers {', '.join(UPLOAD_HEADERS)}")
        size = request.content_length
        if size is None:
            raise BlobError(BlobErrorCode.BLOB_UNAUTHORIZED,
                            "an upload needs a Content-Length (its size is signed)")
        try:
            key = bytes.fromhex(values[0])
            timestamp_ms = int(values[1])
            signature = bytes.fromhex(values[2])
        except ValueError:
            raise BlobError(BlobErrorCode.BLOB_UNAUTHORIZED,
                            "key and signature are hex, the timestamp an integer") from None
        if len(key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES \
                or timestamp_ms < 0:
            raise BlobError(BlobErrorCode.BLOB_UNAUTHORIZED,
                            "the key is 32 bytes, the signature 64, the timestamp >= 0")
        message = upload_signing_bytes(self.chain_id, name, size, timestamp_ms)
        if not verify(key, message, signature):
            raise BlobError(BlobErrorCode.BLOB_UNAUTHORIZED,
                            "the signature does not verify for the key")
        skew_ms = abs(self.clock_ms() - timestamp_ms)
        if skew_ms > UPLOAD_CLOCK_SKEW_MS:
            raise BlobError(BlobErrorCode.BLOB_STALE,
                            f"the timestamp is {skew_ms} ms from the node's clock "
                            f"(at most {UPLOAD_CLOCK_SKEW_MS})")
        owner = address_of(key)
        merchant = get_merchant(self.state(), owner)
        if merchant is None or merchant.status != MerchantStatus.APPROVED \
                or merchant.public_key != key:
            raise BlobError(BlobErrorCode.BLOB_NOT_MERCHANT,
                            f"{to_text(owner)} is not an approved merchant")
        if size > MAX_BLOB_BYTES:
            raise BlobError(BlobErrorCode.BLOB_TOO_LARGE,
                            f"{size} bytes is over the limit of {MAX_BLOB_BYTES}")
        if size < MIN_BLOB_BYTES:
            raise BlobError(BlobErrorCode.BLOB_NOT_IMAGE,
                            f"{size} bytes is shorter than any image")
        return owner, size

    async def _receive(self, request: web.Request, name: bytes, owner: bytes,
                       size: int) -> BlobRecord:
        used = self.store.usage_bytes(owner)
        if used + size > MAX_MERCHANT_BLOB_BYTES:
            raise BlobError(BlobErrorCode.BLOB_QUOTA,
                            f"{used} + {size} bytes is over the quota of "
                            f"{MAX_MERCHANT_BLOB_BYTES}")
        try:
            data = await asyncio.wait_for(_read_body(request, size),
                                          UPLOAD_BODY_TIMEOUT_MS / 1000)
        except TimeoutError:
            raise BlobError(BlobErrorCode.BLOB_HASH_MISMATCH,
                            f"the body did not arrive within {UPLOAD_BODY_TIMEOUT_MS} ms"
                            ) from None
        if len(data) != size or blob_name(data) != name:
            raise BlobError(BlobErrorCode.BLOB_HASH_MISMATCH,
                            f"the {len(data)} bytes sent do not hash to {name.hex()}")
        info = sniff(data)
        # The synced write of up to MAX_BLOB_BYTES runs off the event loop.
        return await asyncio.to_thread(functools.partial(
            self.store.put, name, data, info, owner, self.clock_ms(), BlobSource.UPLOAD,
            quota_bytes=MAX_MERCHANT_BLOB_BYTES))

    async def get_blob(self, request: web.Request) -> web.StreamResponse:
        """Serve a blob (HEAD too), fetching a referenced one from peers first."""
        try:
            name = parse_name(request.match_info["name"])
        except BlobError as exc:
            return error_response(exc)
        etag = f'"{name.hex()}"'
        found = await asyncio.to_thread(self.store.get, name)
        if found is None and is_referenced(self.state(), name):
            if await self.fetcher.fetch(name, GET_FETCH_WAIT_MS / 1000):
                found = await asyncio.to_thread(self.store.get, name)
        if found is None:
            self._count("get_missing")
            return error_response(BlobError(BlobErrorCode.BLOB_NOT_FOUND,
                                            f"no blob {name.hex()} here"))
        record, data = found
        headers = {"ETag": etag, "Cache-Control": CACHE_IMMUTABLE,
                   "X-Content-Type-Options": "nosniff",
                   "Content-Security-Policy": "default-src 'none'"}
        tags = _etags(request.headers.get("If-None-Match", ""))
        if etag in tags or "*" in tags:
            return web.Response(status=304, headers=headers)
        self._count("get_served")
        return web.Response(status=200, body=data, content_type=record.content_type,
                            headers=headers)


async def _read_body(request: web.Request, size: int) -> bytes:
    """At most `size` + 1 bytes of the body (one more shows a body longer than signed)."""
    body = bytearray()
    async for chunk in request.content.iter_chunked(READ_CHUNK_BYTES):
        body += chunk
        if len(body) > size:
            break
    return bytes(body)


def _etags(header: str) -> list[str]:
    """The entity tags of an If-None-Match header (weak ones compared by their value)."""
    if header.strip() == "*":
        return ["*"]
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]
