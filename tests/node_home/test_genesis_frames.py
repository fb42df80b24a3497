"""A genesis whose validator count and block limit make a NEW-VIEW larger than one P2P
payload is refused when the node loads it (the view change could never complete), with
one line that says the largest block limit that fits; the default limit fits 100."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commerce.errors import ValidationError
from commerce.keys import Keypair
from commerce.limits import MAX_BLOCK_BYTES, MAX_VALIDATORS
from consensus.messages import new_view_bytes_max
from node.home import init_home, load_home
from p2p.limits import MAX_PAYLOAD_BYTES


def _home_with(tmp_path: Path, validators_count: int, max_block_bytes: int | None) -> Path:
    init_home(tmp_path / "h", moniker="v0", chain_id="frames-1")
    path = tmp_path / "h" / "config" / "genesis.json"
    genesis = json.loads(path.read_text())
    own = genesis["validators"][0]
    others = [{"name": f"v{i}", "public_key": Keypair.from_seed(bytes([i]) * 32)
               .public_key.hex()} for i in range(1, validators_count)]
    genesis["validators"] = [own, *others]
    if max_block_bytes is not None:
        genesis.setdefault("params", {})["max_block_bytes"] = max_block_bytes
    path.write_text(json.dumps(genesis))
    return tmp_path / "h"


def test_genesis_largest_block_with_30_validators_is_refused_with_the_limit_that_fits(
    tmp_path: Path,
) -> None:
    home = _home_with(tmp_path, 30, MAX_BLOCK_BYTES)
    with pytest.raises(ValidationError, match=r"NEW-VIEW of \d+ bytes.*at most (\d+)") as info:
        load_home(home)
    fits = int(str(info.value).rsplit(" ", 1)[1])
    assert new_view_bytes_max(30, fits) <= MAX_PAYLOAD_BYTES < new_view_bytes_max(30, fits + 1)


def test_genesis_default_block_limit_fits_the_most_validators(tmp_path: Path) -> None:
    loaded = load_home(_home_with(tmp_path, MAX_VALIDATORS, None))
    assert len(loaded.genesis.validator_keys) == MAX_VALIDATORS
    assert new_view_bytes_max(MAX_VALIDATORS, loaded.genesis.params.max_block_bytes) \
        <= MAX_PAYLOAD_BYTES
