"""Wire messages and certificates: round trips, canonical-encoding and size limits at
their exact edge, and certificate verification against the validator set.
Method: build messages with real Ed25519 keys, mutate them, and decode or verify."""

from __future__ import annotations

import pytest

from consensus import limits
from consensus import messages as wire
from consensus.errors import ConsensusRemotePeerError, ConsensusValidationError
from consensus.sim import CHAIN_ID, validator_keys

KEYS = validator_keys(4)
VALIDATORS = [bytes(k.verify_key) for k in KEYS]
DIGEST = wire.Digest(wire.sha256_digest(b"block"))


def commit_cert(signers: list[int], height: int = 1, digest: bytes = DIGEST) -> wire.Certificate:
    sigs = tuple((wire.ValidatorIndex(i),
                  wire.sign_vote(KEYS[i], CHAIN_ID, wire.PHASE_COMMIT, 0, height, digest,
                                 i).signature) for i in signers)
    return wire.Certificate(wire.PHASE_COMMIT, wire.View(0), wire.Height(height),
                            wire.Digest(digest), sigs)


def test_quorum_size_for_every_small_n_is_n_minus_f() -> None:
    expected = {1: 1, 2: 2, 3: 3, 4: 3, 5: 4, 6: 5, 7: 5, 10: 7, 13: 9}
    assert {n: wire.quorum_size(n) for n in expected} == expected


def test_messages_of_every_kind_round_trip() -> None:
    vote = wire.sign_vote(KEYS[1], CHAIN_ID, wire.PHASE_PREPARE, 2, 3, DIGEST, 1)
    pp = wire.PrePrepare(wire.sign_vote(KEYS[2], CHAIN_ID, wire.PHASE_PREPARE, 2, 3, DIGEST, 2),
                         b"block")
    vc = wire.ViewChange(wire.View(3), wire.Height(2), commit_cert([0, 1, 2]), None,
                         wire.ValidatorIndex(1), b"s" * 64, None)
    nv = wire.NewView(wire.View(3), (vc,), None, wire.ValidatorIndex(3), b"t" * 64)
    for msg in (vote, pp, vc, nv, wire.Decided(commit_cert([0, 1, 2]), b"block")):
        assert wire.decode_message(wire.encode_message(msg)) == msg


def test_decode_non_canonical_integer_is_rejected() -> None:
    vote = wire.sign_vote(KEYS[1], CHAIN_ID, wire.PHASE_PREPARE, 5, 3, DIGEST, 1)
    data = wire.encode_message(vote)
    assert data[2] == 5  # positive fixint view
    widened = data[:2] + b"\xcd\x00\x05" + data[3:]  # the same 5 as a uint16
    with pytest.raises(ConsensusRemotePeerError) as info:
        wire.decode_message(widened)
    assert info.value.code == "non_canonical_encoding"


@pytest.mark.parametrize("data", [b"", b"\xc1", b"\x91\x09", wire.pack([1, 2]), wire.pack({}),
                                  wire.pack([2, 0, 1, b"d" * 32, 0, b"short"])])
def test_decode_garbage_is_rejected(data: bytes) -> None:
    with pytest.raises(ConsensusRemotePeerError):
        wire.decode_message(data)


def test_preprepare_block_at_max_block_bytes_is_accepted_and_one_more_rejected() -> None:
    vote = wire.sign_vote(KEYS[0], CHAIN_ID, wire.PHASE_PREPARE, 0, 1, DIGEST, 0)
    ok = wire.PrePrepare(vote, b"\0" * limits.MAX_BLOCK_BYTES)
    assert wire.decode_message(wire.encode_message(ok)) == ok
    too_big = wire.PrePrepare(vote, b"\0" * (limits.MAX_BLOCK_BYTES + 1))
    with pytest.raises(ConsensusRemotePeerError) as info:
        wire.decode_message(wire.encode_message(too_big))
    assert info.value.code == "malformed_message"


def test_message_over_max_message_bytes_is_rejected() -> None:
    with pytest.raises(ConsensusRemotePeerError) as info:
        wire.decode_message(b"\0" * (limits.MAX_MESSAGE_BYTES + 1))
    assert info.value.code == "message_too_large"


def test_verify_certificate_with_quorum_passes() -> None:
    cert = wire.verify_certificate(wire.encode_certificate(commit_cert([0, 2, 3])), 1, DIGEST,
                                   VALIDATORS, CHAIN_ID)
    assert [i for i, _ in cert.signatures] == [0, 2, 3]


def test_verify_certificate_with_quorum_minus_one_fails() -> None:
    with pytest.raises(ConsensusValidationError) as info:
        wire.verify_certificate(wire.encode_certificate(commit_cert([0, 2])), 1, DIGEST, VALIDATORS,
                                CHAIN_ID)
    assert info.value.code == "insufficient_quorum"


def test_verify_certificate_with_duplicate_signer_fails() -> None:
    cert = commit_cert([0, 1, 2])
    dup = wire.Certificate(cert.phase, cert.view, cert.height, cert.digest,
                           (cert.signatures[0], cert.signatures[0], cert.signatures[1]))
    with pytest.raises(ConsensusValidationError) as info:
        wire.verify_certificate(wire.encode_certificate(dup), 1, DIGEST, VALIDATORS, CHAIN_ID)
    assert info.value.code == "duplicate_signer"


def test_verify_certificate_with_forged_signature_fails() -> None:
    cert = commit_cert([0, 1, 2])
    forged = wire.Certificate(cert.phase, cert.view, cert.height, cert.digest,
                              cert.signatures[:2] + ((wire.ValidatorIndex(3), b"\1" * 64),))
    with pytest.raises(ConsensusValidationError) as info:
        wire.verify_certificate(wire.encode_certificate(forged), 1, DIGEST, VALIDATORS, CHAIN_ID)
    assert info.value.code == "bad_signature"


@pytest.mark.parametrize("height,digest,code", [(2, DIGEST, "wrong_height"),
                                                (1, wire.sha256_digest(b"x"), "digest_mismatch")])
def test_verify_certificate_for_other_block_fails(height: int, digest: bytes,
                                                  code: str) -> None:
    with pytest.raises(ConsensusValidationError) as info:
        wire.verify_certificate(wire.encode_certificate(commit_cert([0, 1, 2])), height, digest,
                                VALIDATORS, CHAIN_ID)
    assert info.value.code == code


def test_verify_certificate_from_other_chain_fails() -> None:
    with pytest.raises(ConsensusValidationError) as info:
        wire.verify_certificate(wire.encode_certificate(commit_cert([0, 1, 2])), 1, DIGEST,
                                VALIDATORS, b"other-chain")
    assert info.value.code == "bad_signature"
