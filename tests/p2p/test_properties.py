"""Property tests: frames and messages round-trip; any tampering is caught; caches stay bounded.

Method: hypothesis generates payloads, kinds, bit positions and id streams and checks the
sans-I/O pieces (`SessionCipher`, `messages`, `SeenCache`, `TokenBucket`, `BanList`).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p.banlist import BanList
from p2p.crypto import SessionCipher, hkdf_sha256, session_keys
from p2p.errors import P2PRemotePeerError, Reason
from p2p.limits import MAX_KIND_BYTES, P2PLimits
from p2p.messages import (
    Direct,
    Goodbye,
    Gossip,
    Message,
    PexResponse,
    Ping,
    Request,
    Response,
    decode,
    encode,
)
from p2p.ratelimit import TokenBucket
from p2p.seen import SeenCache

KEYS = session_keys(os.urandom(32), os.urandom(32))

kinds = st.text(min_size=1, max_size=8).filter(lambda k: 0 < len(k.encode()) <= MAX_KIND_BYTES)
payloads = st.binary(max_size=2048)
u64 = st.integers(min_value=0, max_value=2**64 - 1)
addresses = st.tuples(
    st.binary(min_size=32, max_size=32),
    st.sampled_from(["127.0.0.1", "10.0.0.2", "node-a.example"]),
    st.integers(min_value=1, max_value=65535),
)
messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(Ping, u64),
    st.builds(Gossip, kinds, payloads),
    st.builds(Direct, kinds, payloads),
    st.builds(Request, u64, kinds, payloads),
    st.builds(Response, u64, st.booleans(), payloads),
    st.builds(PexResponse, st.lists(addresses, max_size=5).map(tuple)),
    st.builds(Goodbye, st.text(max_size=20)),
)


def pair() -> tuple[SessionCipher, SessionCipher]:
    i2r, r2i = KEYS
    return SessionCipher(i2r, r2i), SessionCipher(r2i, i2r)


def split(frame: bytes) -> tuple[bytes, bytes]:
    return frame[:12], frame[12:]


@given(st.lists(payloads, min_size=1, max_size=10))
def test_frames_round_trip_in_order(plaintexts: list[bytes]) -> None:
    sender, receiver = pair()
    for plaintext in plaintexts:
        assert receiver.open_frame(*split(sender.seal(plaintext))) == plaintext
    assert receiver.recv_counter == len(plaintexts)


@given(payloads, st.data())
def test_frame_with_any_flipped_bit_is_rejected(plaintext: bytes, data: st.DataObject) -> None:
    sender, receiver = pair()
    frame = bytearray(sender.seal(plaintext))
    bit = data.draw(st.integers(min_value=4 * 8, max_value=len(frame) * 8 - 1))
    frame[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(P2PRemotePeerError) as error:
        receiver.open_frame(*split(bytes(frame)))
    assert error.value.reason in (Reason.BAD_FRAME_TAG, Reason.UNDERSIZED_FRAME)


@given(payloads)
def test_replayed_and_reordered_frames_are_named(plaintext: bytes) -> None:
    sender, receiver = pair()
    first, second = sender.seal(plaintext), sender.seal(plaintext)
    with pytest.raises(P2PRemotePeerError) as reordered:
        pair()[1].open_frame(*split(second))
    assert reordered.value.reason is Reason.REORDERED_FRAME
    receiver.open_frame(*split(first))
    with pytest.raises(P2PRemotePeerError) as replayed:
        receiver.open_frame(*split(first))
    assert replayed.value.reason is Reason.REPLAYED_FRAME


def test_frame_in_the_wrong_direction_is_rejected() -> None:
    sender, _ = pair()
    with pytest.raises(P2PRemotePeerError) as error:
        sender.open_frame(*split(sender.seal(b"echo")))
    assert error.value.reason is Reason.BAD_FRAME_TAG


@given(messages)
def test_messages_round_trip_canonically(message: Message) -> None:
    raw = encode(message)
    assert decode(raw, max_pex_addresses=64) == message


@given(st.binary(max_size=64))
def test_decode_of_random_bytes_accepts_only_canonical_messages(raw: bytes) -> None:
    try:
        message = decode(raw, max_pex_addresses=64)
    except P2PRemotePeerError as error:
        assert error.reason is Reason.BAD_MESSAGE
    else:
        assert encode(message) == raw


def test_pex_response_over_the_limit_is_a_bad_message() -> None:
    raw = encode(PexResponse(tuple((bytes(32), "h", 1) for _ in range(5))))
    with pytest.raises(P2PRemotePeerError):
        decode(raw, max_pex_addresses=4)


@given(st.integers(min_value=1, max_value=50), st.lists(st.binary(min_size=1, max_size=2)))
def test_seen_cache_never_exceeds_capacity_and_keeps_the_newest(
    capacity: int, ids: list[bytes]
) -> None:
    cache = SeenCache(capacity)
    for message_id in ids:
        cache.add(message_id)
        assert len(cache) <= capacity
        assert message_id in cache
    # Model: first-insertion order, oldest evicted; re-adding does not refresh.
    model: list[bytes] = []
    for message_id in ids:
        if message_id not in model:
            model.append(message_id)
            del model[:-capacity]
    assert all(message_id in cache for message_id in model)
    assert len(cache) == len(model)


@settings(max_examples=50)
@given(st.lists(st.floats(min_value=0, max_value=1), max_size=50))
def test_token_bucket_never_gives_more_than_burst_plus_refill(steps_s: list[float]) -> None:
    bucket = TokenBucket(rate_per_s=10, burst=20, now_s=0.0)
    now_s, taken = 0.0, 0
    for step_s in steps_s:
        now_s += step_s
        while bucket.take(1, now_s):
            taken += 1
        assert taken <= 20 + 10 * now_s + 1e-6


def test_ban_list_expires_and_caps() -> None:
    clock = [1000.0]
    bans = BanList(2, clock=lambda: clock[0])
    bans.ban(b"a" * 32, 1000)
    bans.ban(b"b" * 32, 5000)
    bans.ban(b"c" * 32, 3000)
    assert not bans.is_banned(b"a" * 32)  # the one expiring soonest was dropped
    clock[0] += 4
    assert not bans.is_banned(b"c" * 32)
    assert bans.is_banned(b"b" * 32)


def test_hkdf_matches_rfc5869_case_1() -> None:
    okm = hkdf_sha256(
        bytes.fromhex("0b" * 22), bytes.fromhex("000102030405060708090a0b0c"),
        bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"), 42,
    )
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        "34007208d5b887185865"
    )


def test_limits_override_breaking_a_relation_raises_bad_limits() -> None:
    from p2p.errors import P2PLocalProtocolError

    with pytest.raises(P2PLocalProtocolError) as error:
        P2PLimits(ping_interval_ms=5_000, idle_timeout_ms=1_000)
    assert error.value.reason is Reason.BAD_LIMITS


def test_every_reason_is_documented_in_p2p_md() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "P2P.md").read_text()
    assert [r.reason for r in Reason if f"`{r.reason}`" not in text] == []
