"""What a genesis makes consensus send, checked against the P2P frame it must fit.

Every consensus message travels as one P2P payload (`p2p.limits.MAX_PAYLOAD_BYTES`). The
largest is a NEW-VIEW: every validator's VIEW-CHANGE (two certificates each, every
validator signing) and the re-proposed block. Its size grows with the validator count
and the genesis `max_block_bytes`, so a genesis can ask for one that no frame carries, and
the view change would then never complete. `check_genesis_fits` refuses such a genesis
when a node loads it.
"""

from __future__ import annotations

from functools import cache

from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import Genesis
from consensus.messages import (
    PHASE_COMMIT,
    PHASE_PREPARE,
    Certificate,
    Digest,
    Height,
    NewView,
    PrePrepare,
    ValidatorIndex,
    View,
    ViewChange,
    Vote,
    encode_message,
)
from p2p.limits import MAX_PAYLOAD_BYTES

# msgpack's largest bin header (bin32) less the smallest (bin8), for a block measured empty.
_BIN_HEADER_SPREAD_BYTES = 4
_VIEW_MAX = View(2**32 - 1)
_HEIGHT_MAX = Height(2**62)


@cache
def new_view_bytes_max(validators_count: int, max_block_bytes: int) -> int:
    """Bytes of the largest NEW-VIEW `validators_count` validators can send with blocks of
    at most `max_block_bytes` (every field at its largest encoding)."""
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


def check_genesis_fits(genesis: Genesis) -> None:
    """Raise ValidationError(bad_genesis) when the genesis's validator count and
    `max_block_bytes` make a NEW-VIEW larger than one P2P payload."""
    count = len(genesis.validator_keys)
    block_bytes = genesis.params.max_block_bytes
    size = new_view_bytes_max(count, block_bytes)
    if size <= MAX_PAYLOAD_BYTES:
        return
    room = MAX_PAYLOAD_BYTES - new_view_bytes_max(count, 0)
    raise ValidationError(
        ErrorCode.BAD_GENESIS,
        f"params.max_block_bytes {block_bytes} with {count} validators makes a NEW-VIEW of "
        f"{size} bytes, over the {MAX_PAYLOAD_BYTES}-byte P2P payload: lower it to at most "
        f"{max(room, 0)}")
