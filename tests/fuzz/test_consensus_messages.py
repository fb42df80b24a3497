"""Goal: consensus bytes from a peer (`decode_message`) and certificates from a peer or the
disk (`verify_certificate`, `cert_from_obj`) raise only the consensus core's documented
errors (ConsensusRemotePeerError / ConsensusValidationError), and whatever they accept
re-encodes exactly."""

from __future__ import annotations

from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
from hypothesis import example, given
from hypothesis import settings as Settings
from hypothesis import strategies as st

from consensus.errors import ConsensusRemotePeerError, ConsensusValidationError
from consensus.messages import (
    cert_from_obj,
    cert_obj,
    decode_message,
    encode_message,
    sha256_digest,
    verify_certificate,
)

from .mutate import TIERS, fuzz_bytes, msgpack_values, mutated_value, pack
from .samples import CONSENSUS_CHAIN_ID, VALIDATORS, blocks, certificates, messages

MESSAGES = messages()
CERTIFICATES = certificates()
DIGEST = sha256_digest(blocks()[1])
PREPREPARE, PREPARE = (msgpack.unpackb(raw, raw=False) for raw in MESSAGES[:2])


@pytest.mark.parametrize("tier", TIERS)
def test_decode_message_any_bytes_gives_message_or_remote_peer_error(tier: Settings) -> None:
    @tier
    @given(fuzz_bytes(MESSAGES, max_size=2048))
    @example(b"\x91" * 1_000 + b"\xc0")
    @example(b"\x92\x06" + b"\x91" * 1_000 + b"\xc0")
    @example(b"\x91" * 2_000 + b"\xc0")
    @example(pack([True, *PREPREPARE[1:]]))  # true == 1: a second encoding of a PRE-PREPARE
    @example(pack([2.0, *PREPARE[1:]]))
    def check(data: bytes) -> None:
        try:
            message = decode_message(data)
        except ConsensusRemotePeerError:
            return
        assert encode_message(message) == data, "an accepted message is canonical"

    check()


@pytest.mark.parametrize("tier", TIERS)
def test_verify_certificate_any_bytes_gives_certificate_or_validation_error(
    tier: Settings,
) -> None:
    @tier
    @given(fuzz_bytes(CERTIFICATES, max_size=2048))
    def check(data: bytes) -> None:
        try:
            cert = verify_certificate(data, 2, DIGEST, VALIDATORS, CONSENSUS_CHAIN_ID)
        except ConsensusValidationError:
            return
        assert cert.height == 2 and cert.digest == DIGEST
        assert len(cert.signatures) >= 3, "a quorum of 4 validators is 3"

    check()


CERT_OBJECTS = [msgpack.unpackb(raw, raw=False) for raw in CERTIFICATES]


@pytest.mark.parametrize("tier", TIERS)
def test_cert_from_obj_any_value_gives_certificate_or_remote_peer_error(
    tier: Settings,
) -> None:
    @tier
    @given(st.one_of(msgpack_values,
                     st.sampled_from(CERT_OBJECTS).flatmap(
                         lambda obj: mutated_value(obj, msgpack_values))))
    def check(obj: Any) -> None:
        try:
            cert = cert_from_obj(obj)
        except ConsensusRemotePeerError:
            return
        assert cert is None or cert_obj(cert) == obj, "an accepted certificate is its object"

    check()
