"""Goal: a node's config.toml (any bytes on disk, or a valid file mutated) loads into a
NodeConfig or raises NodeError(bad_config) with a one-line message, never another exception,
and loading leaves the file as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import settings as Settings
from hypothesis import strategies as st

from node.config import NodeConfig, load_config, parse_config, render_config
from node.errors import NodeError, NodeErrorCode

from .json_doors import NEWLINE_KEY
from .mutate import TIERS, json_values, mutated_bytes, mutated_value

VALID = render_config(parse_config({
    "node": {"moniker": "fuzz-node"},
    "p2p": {"persistent_peers": ["ab" * 32 + "@10.0.0.2:26656"], "allowed_keys": ["cd" * 32]},
    "rpc": {"cors_origins": ["*"]},
})).encode()
DOCUMENT = parse_config({}).model_dump()


def _load_bytes(directory: Path, data: bytes) -> NodeConfig | None:
    path = directory / "config.toml"
    path.write_bytes(data)
    try:
        return load_config(path)
    except NodeError as exc:
        assert exc.code is NodeErrorCode.BAD_CONFIG
        return None
    finally:
        assert path.read_bytes() == data, "loading changed the file"


@pytest.mark.parametrize("tier", TIERS)
def test_load_config_any_file_gives_config_or_bad_config(
    tier: Settings, tmp_path: Path,
) -> None:
    @tier
    @given(st.one_of(st.binary(max_size=300), mutated_bytes([VALID])))
    @example(b"a = " + b"[" * 100_000)
    @example(b"a = " + b"{b = " * 5_000)
    @example(b'"unknown\\nkey" = 1\n')
    @example(b'[rpc]\n"max\\nbatch" = 1\n')
    def check(data: bytes) -> None:
        config = _load_bytes(tmp_path, data)
        if config is not None:
            assert parse_config(config.model_dump()) == config

    check()


@pytest.mark.parametrize("tier", TIERS)
def test_parse_config_any_document_gives_config_or_bad_config(tier: Settings) -> None:
    @tier
    @given(st.one_of(json_values, mutated_value(DOCUMENT, json_values)))
    @example(NEWLINE_KEY)
    @example({"mempool": {"max_txs": 2**64}})
    def check(document: Any) -> None:
        try:
            parse_config(document)
        except NodeError as exc:
            assert exc.code is NodeErrorCode.BAD_CONFIG

    check()
