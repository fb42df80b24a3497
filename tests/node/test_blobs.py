"""The node's blob store for listing pictures: images checked by content, uploads signed
by approved merchants within size and quota, serving with cache headers, fetching from
peers (a lying peer blamed), and collection of uploads no listing version names.

Method: the real `BlobStore` (LevelDB in a temporary directory) and `BlobService` over the
state of an in-memory chain (`tests/commerce/shop.py`) with an approved merchant; the HTTP
endpoints through aiohttp's test server and the SDK's `client.blobs`; peers are other
blob stores answering through the real `blobs` codec and server.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from client.blobs import get_blob, upload_blob, upload_headers
from client.rpc import RpcCallError, RpcClient
from commerce.media import ListingMediaSet
from node.blobs import http as blob_http
from node.blobs.errors import BlobError, BlobErrorCode
from node.blobs.images import sniff
from node.blobs.limits import (
    BLOB_GRACE_MS,
    MAX_BLOB_BYTES,
    MAX_IMAGE_SIDE_PIXELS,
    UPLOAD_CLOCK_SKEW_MS,
)
from node.blobs.service import BlobService
from node.blobs.store import BlobSource, BlobStore, blob_name
from node.blobs.wire import (
    STATUS_BUSY,
    STATUS_FOUND,
    STATUS_MISSING,
    BlobServer,
    BlobWireError,
    decode_reply,
    encode_reply,
    encode_request,
)
from node.metrics import NodeMetrics
from tests.commerce.shop import CHAIN_ID, Shop, addr, approve, create_listing
from tests.node.blob_images import gif, jpeg, png, webp

NOW_MS = 1_800_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now_ms = NOW_MS

    def __call__(self) -> int:
        return self.now_ms


# Images.

@pytest.mark.parametrize("data, content_type", [
    (png(), "image/png"), (jpeg(), "image/jpeg"), (webp(), "image/webp"), (gif(), "image/gif"),
], ids=["png", "jpeg", "webp", "gif"])
def test_sniff_each_format_gives_its_type_and_size(data: bytes, content_type: str) -> None:
    info = sniff(data)
    assert info.content_type == content_type
    assert info.width >= 1 and info.height >= 1


def _spoiled_png_crc() -> bytes:
    data = bytearray(png())
    data[29] ^= 0xFF  # a byte of the IHDR checksum
    return bytes(data)


@pytest.mark.parametrize("data", [
    b"<html><script>alert(1)</script></html>", b"\x89PNG\r\n\x1a\n" + bytes(40),
    _spoiled_png_crc(), png()[:-12], png(width=0), png(width=MAX_IMAGE_SIDE_PIXELS + 1),
    jpeg()[:20], gif()[:-1], webp() + b"x", b"RIFF" + bytes(4) + b"WEBPVP8Z" + bytes(20),
    b"GIF89a", bytes(64),
], ids=["html", "png-no-ihdr", "png-crc", "png-truncated", "png-zero-width",
        "png-too-wide", "jpeg-truncated", "gif-no-trailer", "webp-riff-size",
        "webp-unknown-chunk", "gif-short", "zeros"])
def test_sniff_refuses_what_is_not_a_whole_image(data: bytes) -> None:
    with pytest.raises(BlobError) as info:
        sniff(data)
    assert info.value.code is BlobErrorCode.BLOB_NOT_IMAGE


def test_sniff_largest_side_is_accepted() -> None:
    assert sniff(png(width=MAX_IMAGE_SIDE_PIXELS, height=1)).width == MAX_IMAGE_SIDE_PIXELS


# Store.

def test_store_put_get_delete_counts_the_owner_usage(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = png(seed=1)
    name = blob_name(data)
    owner = b"\x01" * 20
    store.put(name, data, sniff(data), owner, NOW_MS, BlobSource.UPLOAD)
    assert store.usage_bytes(owner) == len(data)
    found = store.get(name)
    assert found is not None and found[1] == data
    assert found[0].content_type == "image/png"
    assert store.delete(name) and store.get(name) is None
    assert store.usage_bytes(owner) == 0
    store.close()


def test_store_survives_reopen(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = gif()
    store.put(blob_name(data), data, sniff(data), b"\x02" * 20, NOW_MS, BlobSource.FETCHED)
    store.close()
    again = BlobStore(tmp_path / "blobs")
    assert again.get(blob_name(data)) is not None
    assert again.usage_bytes(b"\x02" * 20) == len(data)
    again.close()


def test_store_damaged_bytes_are_never_served_and_are_dropped(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = png(seed=2)
    name = blob_name(data)
    store.put(name, data, sniff(data), b"\x01" * 20, NOW_MS, BlobSource.UPLOAD)
    store.db.put(b"d" + name, data[:-1] + b"\x00")  # a damaged disk
    assert store.get(name) is None
    assert not store.has(name) and store.usage_bytes(b"\x01" * 20) == 0
    store.close()


# The HTTP endpoints, through the SDK.

class World:
    """A chain with an approved merchant (users[0]) and a blob service over its state."""

    def __init__(self, tmp_path: Path) -> None:
        self.shop = Shop()
        approve(self.shop, self.shop.users[0])
        self.merchant = self.shop.users[0]
        self.clock = Clock()
        self.service = BlobService(tmp_path, CHAIN_ID, lambda: self.shop.state, NodeMetrics(),
                                   clock_ms=self.clock)
        self.blamed: list[tuple[bytes, str, bool]] = []


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[World, RpcClient]]:
    w = World(tmp_path)
    app = web.Application()
    w.service.add_routes(app)
    server = TestServer(app)
    await server.start_server()
    w.service.fetcher.start()
    client = RpcClient(str(server.make_url("/")), timeout_s=10)
    try:
        yield w, client
    finally:
        await client.close()
        await server.close()
        await w.service.stop()


async def _upload_raw(client: RpcClient, data: bytes, headers: dict[str, str],
                      name: str | None = None) -> tuple[int, Any]:
    url = f"{client.url.rstrip('/')}/blobs/{name or blob_name(data).hex()}"
    async with client.session.put(url, data=data, headers=headers) as response:
        return response.status, await response.json()


async def test_upload_by_merchant_is_stored_and_served(world: tuple[World, RpcClient]) -> None:
    w, client = world
    data = png(seed=3)
    blob = await upload_blob(client, w.merchant, CHAIN_ID, data, timestamp_ms=NOW_MS)
    assert blob["sha256"] == blob_name(data).hex()
    assert blob["content_type"] == "image/png" and blob["bytes"] == len(data)
    assert blob["source"] == "upload"
    body, content_type = await get_blob(client, blob["sha256"])
    assert body == data and content_type == "image/png"
    again = await upload_blob(client, w.merchant, CHAIN_ID, data, timestamp_ms=NOW_MS)
    assert again == blob, "a second upload of the same bytes is the same blob"
    text = w.service.metrics.render()
    for outcome in ("stored", "duplicate", "get_served"):
        assert f'agora_blob_requests_total{{outcome="{outcome}"}} 1' in text, outcome


async def test_get_has_immutable_cache_headers_etag_and_304(
        world: tuple[World, RpcClient]) -> None:
    w, client = world
    data = jpeg()
    blob = await upload_blob(client, w.merchant, CHAIN_ID, data, timestamp_ms=NOW_MS)
    url = f"{client.url.rstrip('/')}{blob['url']}"
    async with client.session.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["ETag"] == f'"{blob["sha256"]}"'
        assert "immutable" in response.headers["Cache-Control"]
        assert "max-age=31536000" in response.headers["Cache-Control"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    async with client.session.get(url, headers={"If-None-Match": f'"{blob["sha256"]}"'}) as r:
        assert r.status == 304
    async with client.session.head(url) as r:
        assert r.status == 200 and int(r.headers["Content-Length"]) == len(data)


async def test_get_unknown_blob_is_404_and_bad_name_400(world: tuple[World, RpcClient]) -> None:
    _, client = world
    with pytest.raises(RpcCallError) as info:
        await get_blob(client, "ab" * 32)
    assert info.value.reason == "blob_not_found" and info.value.code == -32177
    with pytest.raises(RpcCallError) as bad:
        await get_blob(client, "AB" * 32)
    assert bad.value.reason == "blob_bad_name"


async def test_upload_refusals(world: tuple[World, RpcClient]) -> None:
    w, client = world
    data = png(seed=4)
    stranger = w.shop.users[1]

    async def refused(key: Any, body: bytes, *, ts: int = NOW_MS, name: str | None = None,
                      headers: dict[str, str] | None = None) -> tuple[int, str]:
        sent = headers if headers is not None else upload_headers(key, CHAIN_ID, body, ts)
        status, answer = await _upload_raw(client, body, sent, name)
        return status, answer["error"]["reason"]

    assert await refused(stranger, data) == (403, "blob_not_merchant")
    assert await refused(w.merchant, data, ts=NOW_MS - UPLOAD_CLOCK_SKEW_MS - 1) == \
        (401, "blob_stale")
    assert await refused(w.merchant, data, headers={}) == (401, "blob_unauthorized")
    forged = upload_headers(w.merchant, CHAIN_ID, data, NOW_MS)
    forged["X-Agora-Signature"] = stranger.sign(b"x").hex()
    assert await refused(w.merchant, data, headers=forged) == (401, "blob_unauthorized")
    other_chain = upload_headers(w.merchant, "other", data, NOW_MS)
    assert await refused(w.merchant, data, headers=other_chain) == (401, "blob_unauthorized")
    # Signed under another name: the body does not hash to the name in the path.
    other = png(seed=5)
    wrong = upload_headers(w.merchant, CHAIN_ID, data, NOW_MS)
    wrong["X-Agora-Signature"] = w.merchant.sign(blob_http.upload_signing_bytes(
        CHAIN_ID, blob_name(other), len(data), NOW_MS)).hex()
    assert await refused(w.merchant, data, headers=wrong, name=blob_name(other).hex()) == \
        (400, "blob_hash_mismatch")
    text = b"<svg onload=alert(1)>" + b" " * 40
    assert await refused(w.merchant, text) == (415, "blob_not_image")
    assert await refused(w.merchant, data, name="zz" * 32) == (400, "blob_bad_name")
    assert not w.service.store.has(blob_name(data))


async def test_upload_clock_skew_boundary(world: tuple[World, RpcClient]) -> None:
    w, client = world
    data = png(seed=6)
    blob = await upload_blob(client, w.merchant, CHAIN_ID, data,
                             timestamp_ms=NOW_MS + UPLOAD_CLOCK_SKEW_MS)
    assert blob["bytes"] == len(data), "exactly the skew is accepted"


async def test_upload_size_limit_boundary(world: tuple[World, RpcClient]) -> None:
    w, client = world
    base = len(png(pad_bytes=0))
    at_limit = png(pad_bytes=MAX_BLOB_BYTES - base - 12)
    assert len(at_limit) == MAX_BLOB_BYTES
    blob = await upload_blob(client, w.merchant, CHAIN_ID, at_limit, timestamp_ms=NOW_MS)
    assert blob["bytes"] == MAX_BLOB_BYTES
    over = png(pad_bytes=MAX_BLOB_BYTES - base - 11)
    with pytest.raises(RpcCallError) as info:
        await upload_blob(client, w.merchant, CHAIN_ID, over, timestamp_ms=NOW_MS)
    assert info.value.reason == "blob_too_large" and info.value.code == -32173


async def test_upload_over_the_merchant_quota_is_refused(
        world: tuple[World, RpcClient], monkeypatch: pytest.MonkeyPatch) -> None:
    w, client = world
    first, second = png(seed=7), png(seed=8)
    monkeypatch.setattr(blob_http, "MAX_MERCHANT_BLOB_BYTES", len(first) + len(second) - 1)
    await upload_blob(client, w.merchant, CHAIN_ID, first, timestamp_ms=NOW_MS)
    with pytest.raises(RpcCallError) as info:
        await upload_blob(client, w.merchant, CHAIN_ID, second, timestamp_ms=NOW_MS)
    assert info.value.reason == "blob_quota"
    # Collecting the first gives its bytes back to the quota.
    w.clock.now_ms += BLOB_GRACE_MS
    assert w.service.collect() == 1
    w.clock.now_ms = NOW_MS
    await upload_blob(client, w.merchant, CHAIN_ID, second, timestamp_ms=NOW_MS)


async def test_upload_busy_when_too_many_in_flight(
        world: tuple[World, RpcClient]) -> None:
    w, client = world
    w.service.routes._uploads_in_flight = blob_http.MAX_UPLOADS_IN_FLIGHT_COUNT
    with pytest.raises(RpcCallError) as info:
        await upload_blob(client, w.merchant, CHAIN_ID, gif(), timestamp_ms=NOW_MS)
    assert info.value.reason == "blob_busy"
    w.service.routes._uploads_in_flight = 0
    # One merchant's slow uploads cannot take every slot.
    w.service.routes._uploads_by[addr(w.merchant)] = 2
    with pytest.raises(RpcCallError) as mine:
        await upload_blob(client, w.merchant, CHAIN_ID, gif(), timestamp_ms=NOW_MS)
    assert mine.value.reason == "blob_busy"
    w.service.routes._uploads_by.clear()
    assert (await upload_blob(client, w.merchant, CHAIN_ID, gif(),
                              timestamp_ms=NOW_MS))["bytes"] == len(gif())


# Collection.

def _put(store: BlobStore, data: bytes, stored_ms: int,
         source: BlobSource = BlobSource.UPLOAD) -> bytes:
    name = blob_name(data)
    store.put(name, data, sniff(data), b"\x01" * 20, stored_ms, source)
    return name


def test_collect_deletes_only_old_unreferenced_uploads(tmp_path: Path) -> None:
    w = World(tmp_path)
    store = w.service.store
    old_orphan = _put(store, png(seed=10), NOW_MS - BLOB_GRACE_MS)
    young_orphan = _put(store, png(seed=11), NOW_MS - BLOB_GRACE_MS + 1)
    referenced = _put(store, png(seed=12), NOW_MS - 10 * BLOB_GRACE_MS)
    fetched = _put(store, png(seed=13), NOW_MS - 10 * BLOB_GRACE_MS, BlobSource.FETCHED)
    create_listing(w.shop, w.merchant, media=[referenced])
    assert w.service.collect() == 1
    assert not store.has(old_orphan)
    assert store.has(young_orphan) and store.has(referenced) and store.has(fetched)
    store.close()


def test_collect_is_bounded_and_resumes_where_it_stopped(tmp_path: Path) -> None:
    w = World(tmp_path)
    store = w.service.store
    names = [_put(store, png(seed=20 + i), NOW_MS - BLOB_GRACE_MS) for i in range(5)]
    assert w.service.collect(scan_max=2) == 2
    assert w.service.collect(scan_max=2) == 2
    assert w.service.collect(scan_max=2) == 1
    assert not any(store.has(name) for name in names)
    store.close()


def test_a_blob_named_by_media_set_is_kept(tmp_path: Path) -> None:
    w = World(tmp_path)
    name = _put(w.service.store, webp(), NOW_MS - BLOB_GRACE_MS)
    listing = create_listing(w.shop, w.merchant, media=[])
    w.shop.do(w.merchant, ListingMediaSet(listing=listing, version=1, media=[name]))
    assert w.service.collect() == 0 and w.service.store.has(name)
    w.service.store.close()


# Replication: the wire and the fetcher.

def test_wire_replies_round_trip_and_malformed_ones_are_refused() -> None:
    assert decode_reply(encode_reply(STATUS_FOUND, b"abc")) == (STATUS_FOUND, b"abc")
    assert decode_reply(encode_reply(STATUS_MISSING)) == (STATUS_MISSING, b"")
    from base.codec import encode
    for bad in (b"\xc1", encode([1]), encode([STATUS_FOUND, b""]), encode([9, b""]),
                encode([STATUS_MISSING, b"x"]), encode(["1", b"x"])):
        with pytest.raises(BlobWireError):
            decode_reply(bad)


async def test_server_answers_found_missing_and_busy_per_peer(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "b")
    name = _put(store, png(seed=30), NOW_MS)
    times = [0.0]
    server = BlobServer(store, clock_s=lambda: times[0])
    found = decode_reply(await server.serve(b"p" * 32, encode_request(name)))
    assert found[0] == STATUS_FOUND and blob_name(found[1]) == name
    assert decode_reply(await server.serve(b"p" * 32, encode_request(b"\x00" * 32)))[0] == \
        STATUS_MISSING
    server._peers[b"p" * 32].in_flight = 99
    assert decode_reply(await server.serve(b"p" * 32, encode_request(name)))[0] == STATUS_BUSY
    assert decode_reply(await server.serve(b"q" * 32, encode_request(name)))[0] == STATUS_FOUND
    with pytest.raises(BlobWireError):
        await server.serve(b"q" * 32, b"\x91\xc4\x01\x00")
    store.close()


class Peers:
    """Peers of a fetcher: each answers from its own function; blames are recorded."""

    def __init__(self, answers: dict[bytes, Any]) -> None:
        self.answers = answers
        self.asked: list[bytes] = []
        self.blamed: list[tuple[bytes, str, bool]] = []

    def ids(self) -> list[bytes]:
        return list(self.answers)

    async def request(self, peer: bytes, kind: str, payload: bytes, timeout_s: float) -> bytes:
        assert kind == "blobs"
        self.asked.append(peer)
        answer: bytes = await self.answers[peer](payload)
        return answer

    def blame(self, peer: bytes, reason: str, lie: bool) -> None:
        self.blamed.append((peer, reason, lie))


async def test_get_of_a_referenced_blob_fetches_it_and_blames_a_lying_peer(
        tmp_path: Path) -> None:
    w = World(tmp_path / "here")
    honest_store = BlobStore(tmp_path / "honest")
    data = png(seed=40)
    name = _put(honest_store, data, NOW_MS)
    create_listing(w.shop, w.merchant, media=[name])
    honest = BlobServer(honest_store)

    async def liar(payload: bytes) -> bytes:
        return encode_reply(STATUS_FOUND, png(seed=41))  # bytes of another name

    async def garbage(payload: bytes) -> bytes:
        return b"\x00\x01"

    async def truthful(payload: bytes) -> bytes:
        return await honest.serve(b"me" * 16, payload)

    peers = Peers({b"L" * 32: liar, b"G" * 32: garbage, b"H" * 32: truthful})
    fetcher = w.service.fetcher
    fetcher.peers, fetcher.request, fetcher.blame = peers.ids, peers.request, peers.blame
    app = web.Application()
    w.service.add_routes(app)
    server = TestServer(app)
    await server.start_server()
    fetcher.start()
    client = RpcClient(str(server.make_url("/")), timeout_s=10)
    try:
        body, content_type = await get_blob(client, name.hex())
    finally:
        await client.close()
        await server.close()
        await w.service.stop()
        honest_store.close()
    assert body == data and content_type == "image/png"
    assert peers.asked == [b"L" * 32, b"G" * 32, b"H" * 32]
    assert peers.blamed == [(b"L" * 32, "blob_hash_mismatch", True),
                            (b"G" * 32, "blob_reply_malformed", True)]


async def test_finalized_listing_media_are_fetched_and_unreferenced_never(
        tmp_path: Path) -> None:
    w = World(tmp_path / "here")
    source = BlobStore(tmp_path / "source")
    data = gif()
    name = _put(source, data, NOW_MS)
    orphan = _put(source, png(seed=50), NOW_MS)
    server = BlobServer(source)

    async def answer(payload: bytes) -> bytes:
        return await server.serve(b"me" * 16, payload)

    peers = Peers({b"S" * 32: answer})
    fetcher = w.service.fetcher
    fetcher.peers, fetcher.request, fetcher.blame = peers.ids, peers.request, peers.blame
    fetcher.start()
    try:
        w.shop.block([w.shop.sign(w.merchant, _listing_with([name]))])
        from commerce.block import Block, BlockHeader, tx_root
        txs = [w.shop.sign(w.merchant, _listing_with([name]), nonce=0)]
        block = Block(BlockHeader(CHAIN_ID, 1, bytes(32), tx_root(txs), bytes(32), bytes(32),
                                  0, bytes(32)), tuple(txs))
        assert w.service.on_finalized(block) == 1
        assert await fetcher.fetch(name, 5.0)
        record = w.service.store.record(name)
        assert record is not None and record.source is BlobSource.FETCHED
        assert record.owner == addr(w.merchant)
        # Only what a version names is asked for: the peer's other blob is never fetched.
        assert peers.asked == [b"S" * 32]
        assert not w.service.store.has(orphan)
    finally:
        await w.service.stop()
        source.close()
    assert peers.blamed == []


def _listing_with(media: list[bytes]) -> Any:
    from tests.commerce.shop import listing_body
    return listing_body(media=media)


def test_blob_name_is_sha256() -> None:
    assert blob_name(b"abc") == hashlib.sha256(b"abc").digest()


def test_errors_doc_lists_the_blob_codes_in_table_order() -> None:
    from tests.foundation.test_errors import _doc_tables

    documented = _doc_tables()["node.blobs.errors.BlobErrorCode"]
    assert documented == {code.reason: (code.rpc_code, code.meaning) for code in BlobErrorCode}
    assert list(documented) == [code.reason for code in BlobErrorCode]


# The JSON-RPC reads.

async def test_media_rpc_reads_listing_media_references_and_blobs(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from node.errors import NodeError
    from node.rpc.jsonrpc import Registry
    from node.rpc.media_methods import register_media_methods

    w = World(tmp_path)
    held, absent = png(seed=60), gif()
    held_name = _put(w.service.store, held, NOW_MS)
    listing = create_listing(w.shop, w.merchant, media=[held_name, blob_name(absent)])
    registry = Registry()
    chain = SimpleNamespace(store=SimpleNamespace(state=w.shop.state))
    register_media_methods(registry, chain, lambda: w.service.store, 1)  # type: ignore[arg-type]
    specs = {spec.name: spec for spec in registry}

    async def call(name: str, **params: Any) -> Any:
        spec = specs[name]
        return await spec.handler(spec.params.model_validate(params))

    media = await call("media_getListingMedia", id=listing)
    assert [m["stored"] for m in media["media"]] == [True, False]
    assert media["media"][0]["content_type"] == "image/png"
    assert media["media"][1]["url"] == f"/blobs/{blob_name(absent).hex()}"
    create_listing(w.shop, w.merchant, media=[held_name])
    page = await call("media_listReferences", sha256=held_name.hex(), limit=50)
    assert page["items"] == [{"listing": listing, "version": 1}], "the node caps the page"
    rest = await call("media_listReferences", sha256=held_name.hex(), cursor=page["next"])
    assert rest["items"] == [{"listing": listing + 1, "version": 1}]
    blob = await call("media_getBlob", sha256=held_name.hex())
    assert blob["referenced"] is True and blob["source"] == "upload"
    for name, params in (("media_getBlob", {"sha256": blob_name(absent).hex()}),
                         ("media_getListingMedia", {"id": listing + 9})):
        with pytest.raises(NodeError) as info:
            await call(name, **params)
        assert info.value.reason == "not_found"
    w.service.store.close()


async def test_a_blob_no_peer_has_is_retried_with_growing_waits(tmp_path: Path) -> None:
    from node.blobs.limits import FETCH_RETRY_BASE_S, MAX_FETCH_ATTEMPTS_COUNT

    w = World(tmp_path / "here")
    source = BlobStore(tmp_path / "source")
    server = BlobServer(source)
    data = webp()
    name = blob_name(data)

    async def answer(payload: bytes) -> bytes:
        return await server.serve(b"me" * 16, payload)

    peers = Peers({b"S" * 32: answer})
    now = [0.0]
    fetcher = w.service.fetcher
    fetcher.peers, fetcher.request, fetcher.blame = peers.ids, peers.request, peers.blame
    fetcher.clock_s = lambda: now[0]
    fetcher.start()
    try:
        assert not await fetcher.fetch(name, 5.0), "no peer has it yet"
        assert fetcher.retry_due() == 0, "not before its wait"
        now[0] += FETCH_RETRY_BASE_S
        assert fetcher.retry_due() == 1
        assert not await fetcher.fetch(name, 5.0)  # joins the retried round, which fails
        now[0] += FETCH_RETRY_BASE_S * 4 - 1
        assert fetcher.retry_due() == 0, "the second wait is 4 times longer"
        _put(source, data, NOW_MS)  # the uploader's node now has it
        now[0] += 1
        assert fetcher.retry_due() == 1
        assert await fetcher.fetch(name, 5.0)
        assert w.service.store.has(name) and fetcher._retries == {}
        assert fetcher.counters["retried"] == 2
        # A blob that never turns up is given up after the last round.
        missing = blob_name(png(seed=77))
        for _ in range(MAX_FETCH_ATTEMPTS_COUNT):
            now[0] += FETCH_RETRY_BASE_S * 4 ** MAX_FETCH_ATTEMPTS_COUNT
            fetcher.retry_due()
            await fetcher.fetch(missing, 5.0)
        assert fetcher.counters["given_up"] == 1 and missing not in fetcher._retries
    finally:
        await w.service.stop()
        source.close()


def test_store_quota_is_checked_under_the_write_lock(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    first, second = png(seed=80), png(seed=81)
    owner = b"\x03" * 20
    store.put(blob_name(first), first, sniff(first), owner, NOW_MS, BlobSource.UPLOAD,
              quota_bytes=len(first) + len(second))
    with pytest.raises(BlobError) as info:
        store.put(blob_name(second), second, sniff(second), owner, NOW_MS, BlobSource.UPLOAD,
                  quota_bytes=len(first) + len(second) - 1)
    assert info.value.code is BlobErrorCode.BLOB_QUOTA
    assert store.usage_bytes(owner) == len(first) and not store.has(blob_name(second))
    store.close()
