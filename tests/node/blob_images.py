"""Small, valid images of each format the blob store takes, built byte by byte.

`png(w, h, seed)` is a complete PNG (IHDR, one zlib IDAT, IEND) whose pixels vary with
`seed`, so two seeds give two blobs; `jpeg`, `webp` and `gif` give well-formed headers
and trailers of their formats (what `node.blobs.images.sniff` checks).
"""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data))


def png(width: int = 4, height: int = 3, seed: int = 0, pad_bytes: int = 0) -> bytes:
    """A truecolour PNG; `pad_bytes` of a private ancillary chunk make it as large as asked."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = bytes([0]) + bytes((seed + x) % 256 for x in range(width * 3))
    extra = _chunk(b"agRa", bytes(pad_bytes)) if pad_bytes else b""
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + extra
            + _chunk(b"IDAT", zlib.compress(row * height)) + _chunk(b"IEND", b""))


def jpeg(width: int = 8, height: int = 6) -> bytes:
    """SOI, an APP0 (JFIF) segment, a baseline frame header, SOS, data, EOI."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda" + struct.pack(">H", 8) + b"\x01\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app0 + sof + sos + b"\x12\x34" + b"\xff\xd9"


def webp(width: int = 5, height: int = 7) -> bytes:
    """A lossless (VP8L) WebP header in a RIFF container of the right size."""
    bits = (width - 1) | ((height - 1) << 14)
    payload = b"\x2f" + bits.to_bytes(4, "little") + b"\x00" * 3
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def gif(width: int = 2, height: int = 2) -> bytes:
    """GIF89a: the logical screen, a 2-colour table, one image, the trailer."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + image + b"\x3b"
