"""What a genesis makes consensus send, checked against the P2P frame it must fit.

Every consensus message travels as one P2P payload (`p2p.limits.MAX_PAYLOAD_BYTES`). The
largest is a NEW-VIEW: every validator's VIEW-CHANGE (two certificates each, every
validator signing) and the re-proposed block. Its size grows with the validator count
and the genesis `max_block_bytes`, so a genesis can ask for one that no frame carries, and
the view change would then never complete. `check_genesis_fits` refuses such a genesis
when a node loads it (`consensus.messages.new_view_bytes_max` measures the NEW-VIEW).
"""

from __future__ import annotations

from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import Genesis
from consensus.messages import new_view_bytes_max
from p2p.limits import MAX_PAYLOAD_BYTES


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
