"""Session cryptography: transcript hash, key derivation and the per-direction frame cipher.

Pure functions and one small stateful object (`SessionCipher`); no I/O. The handshake
(`p2p.handshake`) produces a `SessionCipher`; the connection seals every outgoing frame and
opens every incoming one through it. AEAD is ChaCha20-Poly1305 (IETF, 12-byte nonce); the
nonce is 4 zero bytes and the frame's 64-bit big-endian counter, and each direction has its
own key, so a (key, nonce) pair is never reused. The counter travels in the clear and, with
the length prefix, is the AEAD's associated data, so a receiver tells a tampered frame
(`bad_frame_tag`) from an authentic one that was replayed or reordered.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from nacl.bindings import (
    crypto_aead_chacha20poly1305_ietf_decrypt,
    crypto_aead_chacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError

from base.codec import pack
from base.hashing import sha256
from base.limits import DIGEST_BYTES
from p2p.errors import P2PRemotePeerError, Reason
from p2p.limits import (
    AEAD_TAG_BYTES,
    FRAME_COUNTER_BYTES,
    FRAME_LENGTH_BYTES,
    MAX_FRAME_COUNTER,
    MAX_HKDF_OUTPUT_BYTES,
    MIN_FRAME_BYTES,
)
from p2p.limits import KEY_BYTES as KEY_BYTES

TRANSCRIPT_LABEL = b"agora-p2p/transcript"
SESSION_KEYS_LABEL = b"agora-p2p/session-keys"
INITIATOR_SIGN_LABEL = b"agora-p2p/initiator-signs"
RESPONDER_SIGN_LABEL = b"agora-p2p/responder-signs"
_HEADER = struct.Struct(">IQ")
assert _HEADER.size == FRAME_LENGTH_BYTES + FRAME_COUNTER_BYTES


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length_bytes: int) -> bytes:
    """HKDF-SHA256 (RFC 5869) extract-then-expand; `length_bytes` at most
    MAX_HKDF_OUTPUT_BYTES."""
    assert 0 < length_bytes <= MAX_HKDF_OUTPUT_BYTES, length_bytes
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm = b""
    block = b""
    counter = 1
    while len(okm) < length_bytes:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length_bytes]


def transcript_hash(
    *,
    version: int,
    chain_id: str,
    ephemeral_initiator: bytes,
    ephemeral_responder: bytes,
    identity_initiator: bytes,
    identity_responder: bytes,
    listen_port_initiator: int,
    listen_port_responder: int,
) -> bytes:
    """SHA-256 of the canonical handshake transcript that both identities sign."""
    for key in (ephemeral_initiator, ephemeral_responder, identity_initiator, identity_responder):
        assert len(key) == KEY_BYTES, len(key)
    return sha256(pack([
        TRANSCRIPT_LABEL, version, chain_id, ephemeral_initiator, ephemeral_responder,
        identity_initiator, identity_responder, listen_port_initiator, listen_port_responder,
    ]))


def session_keys(shared_secret: bytes, transcript: bytes) -> tuple[bytes, bytes]:
    """(initiator-to-responder key, responder-to-initiator key) from the X25519 secret."""
    assert len(shared_secret) == KEY_BYTES
    assert len(transcript) == DIGEST_BYTES
    okm = hkdf_sha256(shared_secret, transcript, SESSION_KEYS_LABEL, 2 * KEY_BYTES)
    return okm[:KEY_BYTES], okm[KEY_BYTES:]


def _nonce(counter: int) -> bytes:
    return b"\x00\x00\x00\x00" + counter.to_bytes(8, "big")


def parse_frame_header(header: bytes) -> tuple[int, int]:
    """(length, counter) of a 12-byte frame header; the caller checks the length limit."""
    assert len(header) == _HEADER.size
    length, counter = _HEADER.unpack(header)
    return int(length), int(counter)


class SessionCipher:
    """Seals outgoing and opens incoming frames of one connection, counting each direction.

    `seal` must be called in the order frames are written; `open_frame` in the order they
    are read. `open_frame` raises `P2PRemotePeerError` with `undersized_frame`,
    `bad_frame_tag`, `replayed_frame` or `reordered_frame`; after any error the connection
    must be closed (the cipher's state is no longer meaningful).
    """

    def __init__(self, send_key: bytes, recv_key: bytes) -> None:
        assert len(send_key) == KEY_BYTES
        assert len(recv_key) == KEY_BYTES
        assert send_key != recv_key
        self._send_key = send_key
        self._recv_key = recv_key
        self.send_counter = 0
        self.recv_counter = 0

    def seal(self, plaintext: bytes) -> bytes:
        """The complete frame (header + ciphertext) for `plaintext`; advances the counter."""
        counter = self.send_counter
        assert counter < MAX_FRAME_COUNTER, "send counter exhausted"
        length = FRAME_COUNTER_BYTES + len(plaintext) + AEAD_TAG_BYTES
        header = _HEADER.pack(length, counter)
        ciphertext = crypto_aead_chacha20poly1305_ietf_encrypt(
            plaintext, header, _nonce(counter), self._send_key
        )
        self.send_counter = counter + 1
        frame = header + ciphertext
        assert len(frame) == FRAME_LENGTH_BYTES + length
        return frame

    def open_frame(self, header: bytes, ciphertext: bytes) -> bytes:
        """The plaintext of a frame read as `header` (12 bytes) then `ciphertext`."""
        length, counter = parse_frame_header(header)
        if length < MIN_FRAME_BYTES:
            raise P2PRemotePeerError(Reason.UNDERSIZED_FRAME, f"length {length}")
        assert len(ciphertext) == length - FRAME_COUNTER_BYTES
        try:
            plaintext = crypto_aead_chacha20poly1305_ietf_decrypt(
                ciphertext, header, _nonce(counter), self._recv_key
            )
        except CryptoError as exc:
            raise P2PRemotePeerError(Reason.BAD_FRAME_TAG, f"counter {counter}") from exc
        if counter < self.recv_counter:
            raise P2PRemotePeerError(Reason.REPLAYED_FRAME, f"{counter} < {self.recv_counter}")
        if counter > self.recv_counter:
            raise P2PRemotePeerError(Reason.REORDERED_FRAME, f"{counter} > {self.recv_counter}")
        self.recv_counter = counter + 1
        return bytes(plaintext)
