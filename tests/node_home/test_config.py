"""NodeConfig: defaults round-trip through TOML, and every kind of bad config.toml is refused
with one bad_config line naming the file and the field.

Method: write files into tmp_path and call `load_config`; compare messages exactly enough to
pin the field name.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from node.config import (
    MAX_RPC_BATCH_CEILING,
    NodeConfig,
    load_config,
    parse_config,
    parse_host_port,
    parse_peer,
    render_config,
    write_config,
)
from node.errors import NodeError, NodeErrorCode
from node.rpc.limits import MAX_INFLIGHT_CALLS, RpcLimits

PEER = "ab" * 32 + "@10.0.0.2:26656"


def _load(tmp_path: Path, text: str) -> NodeConfig:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def _refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(NodeError) as info:
        _load(tmp_path, text)
    assert info.value.code is NodeErrorCode.BAD_CONFIG
    assert "\n" not in str(info.value)
    return info.value.message


def test_config_defaults_round_trip_through_toml(tmp_path: Path) -> None:
    config = NodeConfig()
    write_config(tmp_path / "config.toml", config)
    assert load_config(tmp_path / "config.toml") == config
    assert config.p2p.listen == "0.0.0.0:26656"
    assert config.rpc.listen == "127.0.0.1:26657"


def test_config_changed_values_round_trip_including_escapes(tmp_path: Path) -> None:
    config = parse_config(
        {
            "node": {"moniker": "val-1.eu", "log_level": "debug", "log_format": "text"},
            "p2p": {"listen": "[::1]:0", "persistent_peers": [PEER], "allowed_keys": ["cd" * 32]},
            "rpc": {"cors_origins": ["*", "https://shop.example:8443"], "max_batch": 5},
            "mempool": {"max_txs": 10, "max_per_account": 10},
            "consensus": {"timeout_view_change_ms": 500, "idle_block_interval_ms": 100},
            "store": {"write_buffer_mb": 16},
        }
    )
    assert config.store.write_buffer_mb == 16
    write_config(tmp_path / "config.toml", config)
    assert load_config(tmp_path / "config.toml") == config


def test_config_toml_writer_escapes_quotes_and_controls() -> None:
    from node.config import _toml_string

    tricky = 'a "quoted" \\ back\nline\ttab \x01 é'
    assert tomllib.loads(f"v = {_toml_string(tricky)}")["v"] == tricky


def test_config_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert _load(tmp_path, "") == NodeConfig()


def test_config_partial_section_keeps_other_defaults(tmp_path: Path) -> None:
    config = _load(tmp_path, "[p2p]\nmax_peers = 7\n")
    assert config.p2p.max_peers == 7
    assert config.p2p.listen == NodeConfig().p2p.listen


def test_config_rendered_text_has_comments_and_sections() -> None:
    text = render_config(NodeConfig())
    for section in ("[node]", "[p2p]", "[rpc]", "[mempool]", "[consensus]"):
        assert section in text
    assert "# " in text


def test_config_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NodeError) as info:
        load_config(tmp_path / "config.toml")
    assert info.value.message.startswith("config.toml: no such file")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[p2p\nlisten = 1", "config.toml: TOML syntax:"),
        ('[p2p]\nlisten = "nohost"', "config.toml: p2p.listen: 'nohost' is not host:port"),
        ('[p2p]\nlisten = "h:99999"', "config.toml: p2p.listen: 'h:99999' has an invalid port"),
        ('[p2p]\nlisten = "bad host:1"', "config.toml: p2p.listen: 'bad host:1' has an invalid"),
        ("[p2p]\nlisten = 26656", "config.toml: p2p.listen: Input should be a valid string"),
        ('[p2p]\nmax_peers = "50"', "config.toml: p2p.max_peers: Input should be a valid int"),
        ("[p2p]\nmax_peers = true", "config.toml: p2p.max_peers: Input should be a valid int"),
        ("[p2p]\nmax_peers = 0", "config.toml: p2p.max_peers: Input should be greater"),
        ("[p2p]\nmax_peers = 1.5", "config.toml: p2p.max_peers: Input should be a valid int"),
        ("[p2p]\nfoo = 1", "config.toml: p2p.foo: unknown key"),
        ("[extra]\nfoo = 1", "config.toml: extra: unknown key"),
        ('[p2p]\npersistent_peers = ["x@h:1"]', "config.toml: p2p.persistent_peers: [0]"),
        ('[p2p]\npersistent_peers = "a"', "config.toml: p2p.persistent_peers: Input should be"),
        ('[p2p]\nallowed_keys = ["AB"]', "config.toml: p2p.allowed_keys: [0] 'AB' is not 64"),
        ('[node]\nlog_format = "xml"', "config.toml: node.log_format: Input should be 'json'"),
        ('[node]\nlog_level = "loud"', "config.toml: node.log_level: Input should be"),
        ('[node]\nmoniker = "has space"', "config.toml: node.moniker: String should match"),
        ('[rpc]\ncors_origins = ["ftp://x"]', "config.toml: rpc.cors_origins: [0] 'ftp://x'"),
        ("[rpc]\nmax_body_bytes = 10", "config.toml: rpc.max_body_bytes: Input should be"),
        ("[rpc]\nmax_batch = 2000", "config.toml: rpc.max_batch: Input should be less than"),
        ("[rpc]\nmax_calls_per_client = 0", "config.toml: rpc.max_calls_per_client: Input"),
        ("[mempool]\nmax_txs = 5", "config.toml: mempool: max_per_account is larger than"),
        ("mempool = 5", "config.toml: mempool: Input should be a valid dictionary"),
        ("[consensus]\nmax_block_txs = 10001", "config.toml: consensus.max_block_txs: Input"),
        ("[store]\nwrite_buffer_mb = -1", "config.toml: store.write_buffer_mb: Input should be"),
        ("[store]\nwrite_buffer_mb = 1024", "config.toml: store.write_buffer_mb: Input should"),
        (
            "[consensus]\ntimeout_view_change_ms = 70000",
            "config.toml: consensus: timeout_view_change_ms is larger than",
        ),
        (
            "[consensus]\nview_change_timeout_ms = 4000\nidle_block_interval_ms = 4000",
            "config.toml: consensus: idle_block_interval_ms must be below",
        ),
        (
            "[consensus]\nidle_block_interval_ms = 5",
            "config.toml: consensus: idle_block_interval_ms is 0 (the chain parameter) or",
        ),
    ],
)
def test_config_bad_value_is_refused_naming_the_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert _refused(tmp_path, text).startswith(expected)


def test_config_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(NodeError, match="not UTF-8"):
        load_config(tmp_path / "config.toml")


def test_config_max_block_txs_at_limit_is_accepted(tmp_path: Path) -> None:
    assert _load(tmp_path, "[consensus]\nmax_block_txs = 10000").consensus.max_block_txs == 10000


def test_config_rpc_limits_at_their_ceilings_make_server_limits(tmp_path: Path) -> None:
    config = _load(tmp_path, f"[rpc]\nmax_batch = {MAX_RPC_BATCH_CEILING}\n"
                             f"max_calls_per_client = {MAX_INFLIGHT_CALLS}")
    limits = RpcLimits(batch_calls_max=config.rpc.max_batch,
                       client_inflight_calls_max=config.rpc.max_calls_per_client)
    assert (limits.batch_calls_max, limits.client_inflight_calls_max) == (
        MAX_INFLIGHT_CALLS, MAX_INFLIGHT_CALLS)


def test_config_host_port_and_peer_parsers() -> None:
    assert parse_host_port("[::1]:80") == ("::1", 80)
    assert parse_host_port("node-1.example:0") == ("node-1.example", 0)
    key, host, port = parse_peer(PEER)
    assert (key, host, port) == (bytes.fromhex("ab" * 32), "10.0.0.2", 26656)
    with pytest.raises(ValueError):
        parse_host_port(":80")


def test_config_view_change_timeout_old_spelling_is_an_alias(tmp_path: Path) -> None:
    new = _load(tmp_path, "[consensus]\nview_change_timeout_ms = 1800\n"
                          "view_change_timeout_max_ms = 9000")
    old = _load(tmp_path, "[consensus]\ntimeout_view_change_ms = 1800\n"
                          "timeout_view_change_max_ms = 9000")
    assert old == new
    assert (new.consensus.view_change_timeout_ms, new.consensus.view_change_timeout_max_ms) == (
        1800, 9000)
    text = render_config(old)
    assert "view_change_timeout_ms = 1800" in text and "timeout_view_change" not in text


def test_config_view_change_timeout_under_both_names_is_refused(tmp_path: Path) -> None:
    message = _refused(tmp_path, "[consensus]\nview_change_timeout_ms = 1800\n"
                                 "timeout_view_change_ms = 800")
    assert message == ("config.toml: consensus: timeout_view_change_ms is the old name of "
                       "view_change_timeout_ms: give one of them")
    assert _refused(tmp_path, "[consensus]\nview_change_timeout_ms = 70000").startswith(
        "config.toml: consensus: view_change_timeout_ms is larger than "
        "view_change_timeout_max_ms")


def test_config_leaves_the_consensus_timers_to_the_chain_unless_set(tmp_path: Path) -> None:
    # The timers every validator shares are chain parameters (docs/GOVERNANCE.md): a new
    # home's config overrides neither; a value set here overrides it on this node only.
    default = _load(tmp_path, "")
    assert default.consensus.timers_override() == (None, None)
    assert "view_change_timeout_ms = 0" in render_config(default)
    idle_only = _load(tmp_path, "[consensus]\nidle_block_interval_ms = 200")
    assert idle_only.consensus.timers_override() == (None, 200)
