"""The error table of the consensus core (STYLE section 6).

Bad input from a peer is an error: the decoders raise `ConsensusRemotePeerError` with a
stable snake_case code from `ERROR_CODES`, and `Replica.step` catches it at its one receive
boundary, counts it and drops the message. Misuse of the API by the node is a
`ConsensusLocalProtocolError`. A broken invariant is our bug and is an `assert`.

The class names carry the package (p2p and commerce have error kinds of their own). These
are not `base.errors.AgoraError`s: their `code` is the snake_case name itself, and no
caller that catches an `AgoraError` expects them.
"""

from __future__ import annotations

# Stable names shown to users, with their JSON-RPC numbers (-32000..-32099 band).
ERROR_CODES: dict[str, int] = {
    "malformed_message": -32040,
    "non_canonical_encoding": -32041,
    "message_too_large": -32042,
    "unknown_message_kind": -32043,
    "unknown_validator": -32044,
    "bad_signature": -32045,
    "bad_certificate": -32046,
    "insufficient_quorum": -32047,
    "duplicate_signer": -32048,
    "digest_mismatch": -32049,
    "wrong_height": -32050,
    "bad_view_change": -32051,
    "bad_new_view": -32052,
    "bad_record": -32053,
    "not_primary": -32054,
    "bad_argument": -32055,
    "block_too_large": -32056,
    "unknown_validator_set": -32057,  # a height whose set the host has not reported
}


class ConsensusError(Exception):
    """Base of every error the consensus core raises: `code` is a key of ERROR_CODES."""

    def __init__(self, code: str, message: str) -> None:
        assert code in ERROR_CODES, f"unknown error code {code}"
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def number(self) -> int:
        return ERROR_CODES[self.code]


class ConsensusValidationError(ConsensusError):
    """Input that fails a rule (a certificate, a record) regardless of who sent it."""


class ConsensusLocalProtocolError(ConsensusError):
    """The caller (the node) misused the API, e.g. a bad constructor argument."""


class ConsensusRemotePeerError(ConsensusValidationError):
    """A peer broke the protocol: malformed, non-canonical or badly signed message."""

