"""Goal: bytes from outside the blob store never raise anything but its own refusals: an
upload's content checked by `sniff` is an image with sane dimensions or
`BlobError(blob_not_image)`; a peer's `blobs` request or reply decodes to its one form or
raises `BlobWireError`, and a request is answered from a real store without changing it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import settings as Settings
from hypothesis import strategies as st

from node.blobs import wire
from node.blobs.errors import BlobError, BlobErrorCode
from node.blobs.images import sniff
from node.blobs.limits import MAX_IMAGE_SIDE_PIXELS
from node.blobs.store import BlobSource, BlobStore, blob_name
from tests.node.blob_images import gif, jpeg, png, webp

from .mutate import TIERS, fuzz_bytes, mutated_bytes, pack

IMAGES = [png(), jpeg(), webp(), gif(), png(300, 2, seed=9)]


@pytest.mark.parametrize("tier", TIERS)
def test_sniff_any_bytes_is_an_image_or_blob_not_image(tier: Settings) -> None:
    @tier
    @given(st.one_of(st.binary(max_size=256), mutated_bytes(IMAGES)))
    @example(b"\xff\xd8\xff" + b"\xff" * 64)
    @example(b"\xff\xd8\xff\xe0\x00\x02" * 20)
    @example(b"RIFF\x00\x00\x00\x00WEBPVP8X" + b"\xff" * 20)
    def check(data: bytes) -> None:
        try:
            info = sniff(data)
        except BlobError as exc:
            assert exc.code is BlobErrorCode.BLOB_NOT_IMAGE
            assert "\n" not in exc.message
            return
        assert info.content_type in ("image/png", "image/jpeg", "image/webp", "image/gif")
        assert 1 <= info.width <= MAX_IMAGE_SIDE_PIXELS
        assert 1 <= info.height <= MAX_IMAGE_SIDE_PIXELS

    check()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlobStore]:
    opened = BlobStore(Path(tmp_path_factory.mktemp("blobs")) / "b")
    for data in IMAGES:
        opened.put(blob_name(data), data, sniff(data), b"\x01" * 20, 0, BlobSource.UPLOAD)
    yield opened
    opened.close()


@pytest.mark.parametrize("tier", TIERS)
async def test_blob_request_any_bytes_is_answered_or_refused_store_unchanged(
        tier: Settings, store: BlobStore) -> None:
    server = wire.BlobServer(store)
    requests = [wire.encode_request(blob_name(data)) for data in IMAGES]
    seen: list[bytes] = []

    @tier
    @given(fuzz_bytes(requests, max_size=96))
    @example(pack([b"\x00" * 31]))
    @example(pack([b"\x00" * 32, 1]))
    def check(data: bytes) -> None:
        try:
            seen.append(wire.decode_request(data))
        except wire.BlobWireError:
            return

    check()
    for name in seen[:50]:  # every decoded request is answered with one of the three forms
        status, data = wire.decode_reply(await server.serve(b"p" * 32, wire.encode_request(name)))
        assert status in (wire.STATUS_FOUND, wire.STATUS_MISSING, wire.STATUS_BUSY)
        assert status != wire.STATUS_FOUND or blob_name(data) == name
    assert all(store.get(blob_name(data)) is not None for data in IMAGES)


@pytest.mark.parametrize("tier", TIERS)
def test_blob_reply_any_bytes_decodes_to_its_form_or_raises(tier: Settings) -> None:
    replies = [wire.encode_reply(wire.STATUS_FOUND, IMAGES[0]),
               wire.encode_reply(wire.STATUS_MISSING), wire.encode_reply(wire.STATUS_BUSY)]

    @tier
    @given(fuzz_bytes(replies, max_size=512))
    @example(pack([wire.STATUS_FOUND, ""]))
    @example(pack([True, b"x"]))
    def check(data: bytes) -> None:
        try:
            status, blob = wire.decode_reply(data)
        except wire.BlobWireError:
            return
        assert status in (wire.STATUS_FOUND, wire.STATUS_MISSING, wire.STATUS_BUSY)
        assert type(blob) is bytes
        assert (status == wire.STATUS_FOUND) == bool(blob)

    check()
