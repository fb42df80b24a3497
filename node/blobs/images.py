"""Which image a blob is, from its bytes alone: PNG, JPEG, WebP or GIF, with its size.

`sniff(data)` parses the format's header (never trusting a Content-Type or a file name)
and returns an `ImageInfo` with the content type the node serves the blob with, or raises
`BlobError(blob_not_image)` naming what is wrong. The checks are those of a header, not a
decoder: the signature, the header's own length and checksum where the format has one,
dimensions from 1 to MAX_IMAGE_SIDE_PIXELS, and for PNG and GIF the trailer that ends a
complete file. The node serves a blob with `X-Content-Type-Options: nosniff`, so a browser
uses the checked type and never guesses another (an HTML page hidden in a picture).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from node.blobs.errors import BlobError, BlobErrorCode
from node.blobs.limits import MAX_IMAGE_SIDE_PIXELS, MAX_JPEG_SEGMENTS_COUNT, MIN_BLOB_BYTES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IHDR_CHUNK = b"\x00\x00\x00\x0dIHDR"  # its length (13) and type
PNG_IHDR_CHUNK_BYTES = 25  # length, type, 13 bytes of data, CRC
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
PNG_BIT_DEPTHS = {1, 2, 4, 8, 16}
PNG_COLOUR_TYPES = {0, 2, 3, 4, 6}
GIF_SIGNATURES = (b"GIF87a", b"GIF89a")
GIF_TRAILER = 0x3B
JPEG_SOI = b"\xff\xd8\xff"
# Start-of-frame markers (C4 is DHT, C8 reserved, CC DAC: not frames).
JPEG_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB,
                              0xCD, 0xCE, 0xCF})
# Markers with no length field: TEM and the restart markers.
JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
JPEG_SOS = 0xDA
JPEG_EOI = 0xD9


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """A checked image: the content type it is served with, and its size in pixels."""

    content_type: str
    width: int
    height: int


def _refuse(what: str) -> BlobError:
    return BlobError(BlobErrorCode.BLOB_NOT_IMAGE, what)


def _sized(content_type: str, width: int, height: int) -> ImageInfo:
    if not (1 <= width <= MAX_IMAGE_SIDE_PIXELS and 1 <= height <= MAX_IMAGE_SIDE_PIXELS):
        raise _refuse(f"{content_type} of {width}x{height} pixels: each side must be "
                      f"1..{MAX_IMAGE_SIDE_PIXELS}")
    return ImageInfo(content_type, width, height)


def sniff(data: bytes) -> ImageInfo:
    """The image `data` is; raises BlobError(blob_not_image) if it is none of ours."""
    if len(data) < MIN_BLOB_BYTES:
        raise _refuse(f"{len(data)} bytes is shorter than any image header")
    if data.startswith(PNG_SIGNATURE):
        return _png(data)
    if data.startswith(JPEG_SOI):
        return _jpeg(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    if data[:6] in GIF_SIGNATURES:
        return _gif(data)
    raise _refuse("the bytes start with no PNG, JPEG, WebP or GIF signature")


def _png(data: bytes) -> ImageInfo:
    # The first chunk is IHDR: length 13, type, 13 bytes of data, CRC over type and data.
    header = data[len(PNG_SIGNATURE):len(PNG_SIGNATURE) + PNG_IHDR_CHUNK_BYTES]
    if len(header) < PNG_IHDR_CHUNK_BYTES or not header.startswith(PNG_IHDR_CHUNK):
        raise _refuse("PNG without an IHDR chunk first")
    width, height, depth, colour = struct.unpack(">IIBB", header[8:18])
    (crc,) = struct.unpack(">I", header[21:25])
    if zlib.crc32(header[4:21]) != crc:
        raise _refuse("PNG IHDR checksum is wrong")
    if depth not in PNG_BIT_DEPTHS or colour not in PNG_COLOUR_TYPES:
        raise _refuse(f"PNG bit depth {depth} / colour type {colour} is invalid")
    if not data.endswith(PNG_IEND):
        raise _refuse("PNG does not end with its IEND chunk (truncated)")
    return _sized("image/png", width, height)


def _jpeg(data: bytes) -> ImageInfo:
    """Walk the segments after SOI up to the first start-of-frame header."""
    at = 2
    for _ in range(MAX_JPEG_SEGMENTS_COUNT):
        if at + 4 > len(data) or data[at] != 0xFF:
            raise _refuse("JPEG segment does not start with a marker")
        while at < len(data) and data[at] == 0xFF:  # fill bytes before a marker
            at += 1
        if at >= len(data):
            break
        marker = data[at]
        at += 1
        if marker in JPEG_STANDALONE:
            continue
        if marker in (JPEG_SOS, JPEG_EOI) or at + 2 > len(data):
            break
        (length,) = struct.unpack(">H", data[at:at + 2])
        if length < 2 or at + length > len(data):
            raise _refuse("JPEG segment length runs past the end")
        if marker in JPEG_SOF_MARKERS:
            if length < 8:
                raise _refuse("JPEG frame header is too short")
            height, width = struct.unpack(">HH", data[at + 3:at + 7])
            return _sized("image/jpeg", width, height)
        at += length
    raise _refuse("JPEG has no frame header before its image data")


def _webp(data: bytes) -> ImageInfo:
    (riff_bytes,) = struct.unpack("<I", data[4:8])
    if riff_bytes + 8 != len(data):
        raise _refuse(f"WebP RIFF size {riff_bytes} does not match {len(data)} bytes")
    chunk, body = data[12:16], data[20:]
    if chunk == b"VP8X" and len(body) >= 10:
        width = 1 + int.from_bytes(body[4:7], "little")
        height = 1 + int.from_bytes(body[7:10], "little")
        return _sized("image/webp", width, height)
    if chunk == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
        bits = int.from_bytes(body[1:5], "little")
        return _sized("image/webp", 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF))
    if chunk == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", body[6:10])
        return _sized("image/webp", width & 0x3FFF, height & 0x3FFF)
    raise _refuse("WebP without a valid VP8, VP8L or VP8X header")


def _gif(data: bytes) -> ImageInfo:
    width, height = struct.unpack("<HH", data[6:10])
    if data[-1] != GIF_TRAILER:
        raise _refuse("GIF does not end with its trailer (truncated)")
    return _sized("image/gif", width, height)
