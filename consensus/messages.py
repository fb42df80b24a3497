"""Wire messages, signatures and certificates of the PBFT core: pure encode/decode.

Every message is a canonical msgpack array whose first element is its kind. Decoding
rejects anything over MAX_MESSAGE_BYTES, any non-canonical encoding (the bytes must
re-encode to themselves), wrong types and out-of-range fields, raising
ConsensusRemotePeerError.
Decoding does not check signatures (that needs the validator set): the replica does,
through `Verifier`, and `verify_certificate` does for certificates.

What is signed (domain-separated by DOMAIN_TAG and the chain id):
  vote           [DOMAIN_TAG, chain_id, phase, view, height, digest]
  view-change    [DOMAIN_TAG, chain_id, KIND_VIEW_CHANGE, view, height, last_cert,
                  prepared, signer]
  new-view       [DOMAIN_TAG, chain_id, KIND_NEW_VIEW, view, view_changes, preprepare,
                  signer]
A PRE-PREPARE is the primary's PREPARE vote plus the block, so the primary sends no
separate PREPARE. A certificate is a list of vote signatures of one phase on one
(view, height, digest): phase PREPARE makes a prepared certificate, phase COMMIT the
commit certificate that proves a block final.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, NewType

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from base import codec
from base.codec import CodecError, CodecFault
from base.hashing import sha256
from consensus import limits
from consensus.errors import ConsensusRemotePeerError, ConsensusValidationError

View = NewType("View", int)
Height = NewType("Height", int)
Digest = NewType("Digest", bytes)
ValidatorIndex = NewType("ValidatorIndex", int)
PeerId = NewType("PeerId", bytes)

DOMAIN_TAG = b"agora/pbft/v1"

KIND_PREPREPARE = 1
KIND_PREPARE = 2
KIND_COMMIT = 3
KIND_VIEW_CHANGE = 4
KIND_NEW_VIEW = 5
KIND_DECIDED = 6

PHASE_PREPARE = KIND_PREPARE
PHASE_COMMIT = KIND_COMMIT
PHASES = (PHASE_PREPARE, PHASE_COMMIT)

sha256_digest = sha256
"""The default digest_fn: SHA-256 of the opaque block bytes."""

pack = codec.pack
"""Canonical msgpack (the shared codec's packer): arrays only, bin for bytes, minimal
integer encodings. Unchecked: messages are built field by field from checked values."""


def unpack_canonical(data: bytes, max_bytes: int) -> Any:
    """Decode msgpack and insist that it re-encodes to the same bytes.

    Raises ConsensusRemotePeerError (message_too_large, malformed_message,
    non_canonical_encoding). The field checkers below check every leaf's type.
    """
    if not isinstance(data, bytes | bytearray):
        raise ConsensusRemotePeerError("malformed_message", "message is not bytes")
    try:
        return codec.decode(
            data, max_bytes=max_bytes, check_leaves=False,
            max_str_bytes=limits.MAX_MESSAGE_STR_BYTES,
            max_array_items=limits.MAX_MESSAGE_ARRAY_ITEMS,
        )
    except CodecError as exc:
        if exc.fault is CodecFault.TOO_LARGE:
            raise ConsensusRemotePeerError(
                "message_too_large", f"{len(data)} > {max_bytes} bytes") from exc
        if exc.fault is CodecFault.NON_CANONICAL:
            raise ConsensusRemotePeerError(
                "non_canonical_encoding", "bytes do not re-encode identically") from exc
        cause = type(exc.__cause__ or exc).__name__
        raise ConsensusRemotePeerError("malformed_message", f"undecodable: {cause}") from exc


# --- field validators (each names the field it checks) -------------------------------


def _list(obj: Any, name: str, length: int | None = None) -> list[Any]:
    if not isinstance(obj, list):
        raise ConsensusRemotePeerError("malformed_message", f"{name} is not an array")
    if length is not None and len(obj) != length:
        raise ConsensusRemotePeerError(
            "malformed_message", f"{name} has {len(obj)} fields, not {length}")
    return obj


def _int(obj: Any, name: str, lo: int = 0, hi: int = limits.MAX_FIELD_INT) -> int:
    if not isinstance(obj, int) or isinstance(obj, bool):
        raise ConsensusRemotePeerError("malformed_message", f"{name} is not an integer")
    if not lo <= obj <= hi:
        raise ConsensusRemotePeerError("malformed_message", f"{name}={obj} out of [{lo}, {hi}]")
    return obj


def _bytes(obj: Any, name: str, lo: int, hi: int) -> bytes:
    if not isinstance(obj, bytes):
        raise ConsensusRemotePeerError("malformed_message", f"{name} is not bytes")
    if not lo <= len(obj) <= hi:
        raise ConsensusRemotePeerError("malformed_message", f"{name} has {len(obj)} bytes")
    return obj


def _digest(obj: Any, name: str = "digest") -> Digest:
    return Digest(_bytes(obj, name, 1, limits.MAX_DIGEST_BYTES))


def _signature(obj: Any, name: str = "signature") -> bytes:
    return _bytes(obj, name, limits.SIGNATURE_BYTES, limits.SIGNATURE_BYTES)


def _signer(obj: Any) -> ValidatorIndex:
    return ValidatorIndex(_int(obj, "signer", 0, limits.MAX_VALIDATORS - 1))


def _block(obj: Any) -> bytes:
    return _bytes(obj, "block", 0, limits.MAX_BLOCK_BYTES)


# --- messages --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Vote:
    """A signed PREPARE or COMMIT on (view, height, digest)."""

    phase: int  # PHASE_PREPARE or PHASE_COMMIT
    view: View
    height: Height
    digest: Digest
    signer: ValidatorIndex  # index into the validator list
    signature: bytes  # Ed25519 over vote_payload(...)


@dataclass(frozen=True, slots=True)
class PrePrepare:
    """The primary's proposal: its PREPARE vote plus the opaque block."""

    vote: Vote
    block: bytes


@dataclass(frozen=True, slots=True)
class Certificate:
    """Signatures of distinct validators on one vote; sorted by signer index."""

    phase: int
    view: View
    height: Height
    digest: Digest
    signatures: tuple[tuple[ValidatorIndex, bytes], ...]


@dataclass(frozen=True, slots=True)
class ViewChange:
    """VIEW-CHANGE to `view`: the sender's next height, the commit certificate of the
    height below (None at height 1) and its highest prepared certificate at `height`."""

    view: View
    height: Height
    last_cert: Certificate | None
    prepared: Certificate | None
    signer: ValidatorIndex
    signature: bytes
    block: bytes | None  # the prepared block; not signed (bound by prepared.digest)


@dataclass(frozen=True, slots=True)
class NewView:
    """NEW-VIEW from the primary of `view`: the VIEW-CHANGEs it used (blocks stripped)
    and the re-proposal of the highest prepared block, if there is one."""

    view: View
    view_changes: tuple[ViewChange, ...]
    preprepare: PrePrepare | None
    signer: ValidatorIndex
    signature: bytes


@dataclass(frozen=True, slots=True)
class Decided:
    """A commit certificate (self-verifying, unsigned) and, optionally, its block."""

    certificate: Certificate
    block: bytes | None


Message = PrePrepare | Vote | ViewChange | NewView | Decided


def vote_payload(chain_id: bytes, phase: int, view: int, height: int, digest: bytes) -> bytes:
    return pack([DOMAIN_TAG, chain_id, phase, view, height, digest])


def cert_obj(cert: Certificate | None) -> list[Any] | None:
    if cert is None:
        return None
    sigs = [[index, sig] for index, sig in cert.signatures]
    return [cert.phase, cert.view, cert.height, cert.digest, sigs]


def cert_from_obj(obj: Any) -> Certificate | None:
    if obj is None:
        return None
    fields = _list(obj, "certificate", 5)
    phase = _int(fields[0], "certificate.phase")
    if phase not in PHASES:
        raise ConsensusRemotePeerError("bad_certificate", f"unknown phase {phase}")
    sigs_obj = _list(fields[4], "certificate.signatures")
    if len(sigs_obj) > limits.MAX_VALIDATORS:
        raise ConsensusRemotePeerError("bad_certificate", "too many signatures")
    sigs: list[tuple[ValidatorIndex, bytes]] = []
    for pair in sigs_obj:
        pair = _list(pair, "certificate.signature", 2)
        sigs.append((_signer(pair[0]), _signature(pair[1])))
    indexes = [index for index, _ in sigs]
    if indexes != sorted(set(indexes)):
        raise ConsensusRemotePeerError("duplicate_signer", "signers not strictly increasing")
    return Certificate(
        phase, View(_int(fields[1], "view")), Height(_int(fields[2], "height")),
        _digest(fields[3]), tuple(sigs),
    )


def view_change_body(vc: ViewChange) -> list[Any]:
    return [KIND_VIEW_CHANGE, vc.view, vc.height, cert_obj(vc.last_cert),
            cert_obj(vc.prepared), vc.signer]


def view_change_payload(chain_id: bytes, vc: ViewChange) -> bytes:
    return pack([DOMAIN_TAG, chain_id, *view_change_body(vc)])


def _vc_obj(vc: ViewChange, with_block: bool) -> list[Any]:
    return [*view_change_body(vc), vc.signature, vc.block if with_block else None]


def _pp_obj(pp: PrePrepare) -> list[Any]:
    v = pp.vote
    return [KIND_PREPREPARE, v.view, v.height, v.digest, v.signer, v.signature, pp.block]


def new_view_payload(chain_id: bytes, nv: NewView) -> bytes:
    vcs = [_vc_obj(vc, False) for vc in nv.view_changes]
    pp = _pp_obj(nv.preprepare) if nv.preprepare is not None else None
    return pack([DOMAIN_TAG, chain_id, KIND_NEW_VIEW, nv.view, vcs, pp, nv.signer])


def encode_message(msg: Message) -> bytes:
    """The canonical wire bytes of a message."""
    match msg:
        case PrePrepare():
            return pack(_pp_obj(msg))
        case Vote():
            return pack([msg.phase, msg.view, msg.height, msg.digest, msg.signer, msg.signature])
        case ViewChange():
            return pack(_vc_obj(msg, True))
        case NewView():
            vcs = [_vc_obj(vc, False) for vc in msg.view_changes]
            pp = _pp_obj(msg.preprepare) if msg.preprepare is not None else None
            return pack([KIND_NEW_VIEW, msg.view, vcs, pp, msg.signer, msg.signature])
        case Decided():
            return pack([KIND_DECIDED, cert_obj(msg.certificate), msg.block])
    raise AssertionError(f"unknown message {msg!r}")


def _vote_from(fields: list[Any], phase: int) -> Vote:
    return Vote(
        phase, View(_int(fields[1], "view")), Height(_int(fields[2], "height", 1)),
        _digest(fields[3]), _signer(fields[4]), _signature(fields[5]),
    )


def _pp_from(obj: Any) -> PrePrepare:
    fields = _list(obj, "preprepare", 7)
    if not _is_kind(fields[0], KIND_PREPREPARE):
        raise ConsensusRemotePeerError("malformed_message", "not a preprepare")
    return PrePrepare(_vote_from(fields, PHASE_PREPARE), _block(fields[6]))


def _vc_from(obj: Any) -> ViewChange:
    fields = _list(obj, "view_change", 8)
    if not _is_kind(fields[0], KIND_VIEW_CHANGE):
        raise ConsensusRemotePeerError("malformed_message", "not a view change")
    vc = ViewChange(
        View(_int(fields[1], "view", 1)), Height(_int(fields[2], "height", 1)),
        cert_from_obj(fields[3]), cert_from_obj(fields[4]), _signer(fields[5]),
        _signature(fields[6]), None if fields[7] is None else _block(fields[7]),
    )
    if vc.last_cert is not None and (vc.last_cert.phase != PHASE_COMMIT
                                     or vc.last_cert.height + 1 != vc.height):
        raise ConsensusRemotePeerError(
            "bad_view_change", "last_cert is not the commit below height")
    if vc.last_cert is None and vc.height != 1:
        raise ConsensusRemotePeerError("bad_view_change", "height above 1 without last_cert")
    if vc.prepared is not None and (vc.prepared.phase != PHASE_PREPARE
                                    or vc.prepared.height != vc.height
                                    or vc.prepared.view >= vc.view):
        raise ConsensusRemotePeerError("bad_view_change", "prepared certificate does not fit")
    return vc


def _is_kind(obj: Any, kind: int) -> bool:
    """True when `obj` is exactly the integer `kind` (not a bool or a float equal to it)."""
    return type(obj) is int and obj == kind


def decode_message(data: bytes) -> Message:
    """Decode wire bytes. Raises ConsensusRemotePeerError; signatures are NOT checked."""
    obj = unpack_canonical(data, limits.MAX_MESSAGE_BYTES)
    fields = _list(obj, "message")
    if not fields:
        raise ConsensusRemotePeerError("malformed_message", "empty array")
    kind = fields[0]
    if type(kind) is not int:  # true == 1 and 2.0 == 2 in Python, but not on the wire
        raise ConsensusRemotePeerError("unknown_message_kind", f"kind {kind!r}")
    if kind == KIND_PREPREPARE:
        return _pp_from(fields)
    if kind in PHASES:
        return _vote_from(_list(fields, "vote", 6), kind)
    if kind == KIND_VIEW_CHANGE:
        return _vc_from(fields)
    if kind == KIND_NEW_VIEW:
        _list(fields, "new_view", 6)
        vcs = tuple(_vc_from(vc) for vc in _list(fields[2], "new_view.view_changes"))
        pp = None if fields[3] is None else _pp_from(fields[3])
        return NewView(View(_int(fields[1], "view", 1)), vcs, pp, _signer(fields[4]),
                       _signature(fields[5]))
    if kind == KIND_DECIDED:
        _list(fields, "decided", 3)
        cert = cert_from_obj(fields[1])
        if cert is None or cert.phase != PHASE_COMMIT:
            raise ConsensusRemotePeerError(
                "bad_certificate", "decided without a commit certificate")
        return Decided(cert, None if fields[2] is None else _block(fields[2]))
    raise ConsensusRemotePeerError("unknown_message_kind", f"kind {kind!r}")


# --- signatures ------------------------------------------------------------------------

VerifyFn = Callable[[bytes, bytes, bytes], bool]


class Verifier:
    """Ed25519 verification with a bounded memo of results (MAX_VERIFY_CACHE_ENTRIES).

    The memo is keyed by (public key, payload, signature), so a gossiped or replayed
    message is verified once; a forged signature is remembered as False. One Verifier
    may be shared by replicas (the simulator does): it holds no replica state.
    """

    def __init__(self, max_entries: int = limits.MAX_VERIFY_CACHE_ENTRIES) -> None:
        assert max_entries > 0
        self._max_entries = max_entries
        self._memo: OrderedDict[bytes, bool] = OrderedDict()
        self._keys: dict[bytes, VerifyKey] = {}
        self.verified_count = 0

    def __call__(self, public_key: bytes, payload: bytes, signature: bytes) -> bool:
        key = sha256(public_key + signature + payload)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        verify_key = self._keys.get(public_key)
        if verify_key is None:
            verify_key = VerifyKey(public_key)
            if len(self._keys) < limits.MAX_VERIFY_KEYS:
                self._keys[public_key] = verify_key
        self.verified_count += 1
        try:
            verify_key.verify(payload, signature)
            ok = True
        except BadSignatureError:
            ok = False
        self._memo[key] = ok
        if len(self._memo) > self._max_entries:
            self._memo.popitem(last=False)
        return ok


def sign_vote(key: SigningKey, chain_id: bytes, phase: int, view: int, height: int,
              digest: bytes, signer: int) -> Vote:
    sig = key.sign(vote_payload(chain_id, phase, view, height, digest)).signature
    return Vote(phase, View(view), Height(height), Digest(digest), ValidatorIndex(signer), sig)


def quorum_size(validators_count: int) -> int:
    """n - f with f = (n-1)//3: any two quorums share f+1 validators (one honest)."""
    assert 1 <= validators_count <= limits.MAX_VALIDATORS
    faults_count = (validators_count - 1) // 3
    quorum = validators_count - faults_count
    assert 2 * quorum - validators_count >= faults_count + 1
    return quorum


def check_certificate(cert: Certificate, chain_id: bytes, validators: Sequence[bytes],
                      verify: VerifyFn, quorum: int | None = None) -> None:
    """Raise ConsensusValidationError unless `cert` holds >= quorum valid distinct
    signatures."""
    need = quorum_size(len(validators)) if quorum is None else quorum
    if len(cert.signatures) < need:
        raise ConsensusValidationError(
            "insufficient_quorum", f"{len(cert.signatures)} < {need}")
    payload = vote_payload(chain_id, cert.phase, cert.view, cert.height, cert.digest)
    seen: set[int] = set()
    for index, sig in cert.signatures:
        if index >= len(validators):
            raise ConsensusValidationError("unknown_validator", f"signer {index}")
        if index in seen:
            raise ConsensusValidationError("duplicate_signer", f"signer {index}")
        seen.add(index)
        if not verify(validators[index], payload, sig):
            raise ConsensusValidationError("bad_signature", f"signer {index}")


def encode_certificate(cert: Certificate) -> bytes:
    """Canonical bytes of a certificate, as stored beside a finalized block."""
    return pack(cert_obj(cert))


def decode_certificate(data: bytes) -> Certificate:
    """Decode certificate bytes; raises ConsensusRemotePeerError. Signatures are not
    checked."""
    cert = cert_from_obj(unpack_canonical(data, limits.MAX_CERTIFICATE_BYTES))
    if cert is None:
        raise ConsensusRemotePeerError("bad_certificate", "nil certificate")
    return cert


def verify_certificate(cert_bytes: bytes, height: int, digest: bytes,
                       validators: Sequence[bytes], chain_id: bytes,
                       verify: VerifyFn | None = None) -> Certificate:
    """Check that `cert_bytes` proves block `digest` final at `height`.

    For the node's catch-up and sync from untrusted peers: decodes the commit
    certificate and checks phase, height, digest and a quorum (n - f) of valid Ed25519
    signatures of distinct validators. Returns the decoded certificate; raises
    ConsensusValidationError (or its subclass ConsensusRemotePeerError) with a code from
    ERROR_CODES.
    """
    cert = decode_certificate(cert_bytes)
    if cert.phase != PHASE_COMMIT:
        raise ConsensusValidationError("bad_certificate", "not a commit certificate")
    if cert.height != height:
        raise ConsensusValidationError(
            "wrong_height", f"certificate for {cert.height}, not {height}")
    if cert.digest != digest:
        raise ConsensusValidationError("digest_mismatch", "certificate is for another block")
    check_certificate(cert, chain_id, validators, verify or Verifier())
    return cert


# msgpack's largest bin header (bin32) less the smallest (bin8), for a block measured empty.
_BIN_HEADER_SPREAD_BYTES = 4
_VIEW_MAX = View(2**32 - 1)
_HEIGHT_MAX = Height(2**62)


@cache
def new_view_bytes_max(validators_count: int, max_block_bytes: int) -> int:
    """Bytes of the largest NEW-VIEW `validators_count` validators can send with blocks of
    at most `max_block_bytes` (every field at its largest encoding): every validator's
    VIEW-CHANGE, two certificates each, and the re-proposed block."""
    assert 1 <= validators_count
    assert 0 <= max_block_bytes
    signature = b"\xff" * 64
    digest = Digest(b"\xff" * 32)
    signers = tuple((ValidatorIndex(i), signature) for i in range(validators_count))
    last = Certificate(PHASE_COMMIT, _VIEW_MAX, _HEIGHT_MAX, digest, signers)
    prepared = Certificate(PHASE_PREPARE, _VIEW_MAX, _HEIGHT_MAX, digest, signers)
    view_changes = tuple(
        ViewChange(_VIEW_MAX, _HEIGHT_MAX, last, prepared, ValidatorIndex(i), signature, None)
        for i in range(validators_count))
    vote = Vote(PHASE_PREPARE, _VIEW_MAX, _HEIGHT_MAX, digest,
                ValidatorIndex(validators_count - 1), signature)
    message = NewView(_VIEW_MAX, view_changes, PrePrepare(vote, b""),
                      ValidatorIndex(validators_count - 1), signature)
    size = len(encode_message(message)) + max_block_bytes + _BIN_HEADER_SPREAD_BYTES
    assert size > max_block_bytes
    return size
