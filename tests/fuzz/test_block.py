"""Goal: block bytes from a peer or the disk (`decode_block`, and `block_digest`, which
consensus calls on every proposal) give a block or a commerce ValidationError, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import settings as Settings

from commerce.block import decode_block
from commerce.errors import ValidationError
from node.chain import block_digest

from .mutate import TIERS, fuzz_bytes, pack
from .samples import blocks

VALID = blocks()
DEEP = b"\x92" + b"\x91" * 1_000 + b"\xc0" + b"\x90"


@pytest.mark.parametrize("tier", TIERS)
def test_decode_block_any_bytes_gives_block_or_validation_error(tier: Settings) -> None:
    @tier
    @given(fuzz_bytes(VALID, max_size=2048))
    @example(DEEP)
    @example(pack([pack([]), [b"\x00"]]))
    def check(data: bytes) -> None:
        try:
            block = decode_block(data)
        except ValidationError:
            return
        assert block.raw == data, "a block keeps its exact bytes"
        assert block_digest(data) == block.hash, "consensus signs the header hash"

    check()


@pytest.mark.parametrize("tier", TIERS)
def test_block_digest_any_bytes_gives_digest_or_validation_error(tier: Settings) -> None:
    @tier
    @given(fuzz_bytes(VALID, max_size=2048))
    @example(DEEP)
    def check(data: bytes) -> None:
        try:
            digest = block_digest(data)
        except ValidationError:
            return
        assert len(digest) == 32

    check()
