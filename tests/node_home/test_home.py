"""Node home: `init_home` writes a loadable one-validator home; `load_home` refuses a bad or
tampered genesis, a bad config and a malformed, mismatched or shared node key, each in one
line; `init_home(overwrite=True)` replaces a node key only when told to, keeping the old file.

Method: init into tmp_path, then damage one file at a time and load again.
"""

from __future__ import annotations

import contextlib
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from commerce.address import address_of, to_text
from commerce.amount import parse_amount
from commerce.errors import AgoraError, ErrorCode, ValidationError
from commerce.keys import Keypair
from node.errors import NodeError, NodeErrorCode
from node.home import NodeHome, init_home, load_home, make_genesis


def _one_line_error(path: Path) -> AgoraError:
    with pytest.raises(AgoraError) as info:
        load_home(path)
    assert "\n" not in str(info.value)
    return info.value


def _error_after_editing(tmp_path: Path, file: str, change: Callable[[Any], None]
                         ) -> AgoraError:
    """Init a home at `tmp_path`, apply `change` to the JSON document in its `file`
    (a NodeHome attribute) and return the one-line error `load_home` gives."""
    init_home(tmp_path)
    path: Path = getattr(NodeHome(tmp_path), file)
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    return _one_line_error(tmp_path)


def test_home_init_then_load_gives_one_validator_chain(tmp_path: Path) -> None:
    result = init_home(tmp_path / "h", moniker="val0", chain_id="shop-1")
    loaded = load_home(tmp_path / "h")
    key = loaded.node_key.public_key
    assert loaded.genesis.chain_id == "shop-1"
    assert loaded.genesis.validator_keys == (key,)
    assert loaded.genesis.validators[0].name == "val0"
    assert loaded.genesis.accounts[0].address == to_text(address_of(key))
    assert parse_amount(loaded.genesis.accounts[0].balance) > 0
    assert loaded.config.node.moniker == "val0"
    assert result.genesis_hash == loaded.genesis.hash.hex()
    assert result.node_public_key == key.hex()
    home = NodeHome(tmp_path / "h")
    assert home.data_dir.is_dir()
    assert stat.S_IMODE(home.node_key_file.stat().st_mode) == 0o600
    document = json.loads(home.node_key_file.read_text())
    assert set(document) == {"type", "public_key", "seed"}
    assert document["type"] == "ed25519"


def test_home_existing_is_refused_without_overwrite(tmp_path: Path) -> None:
    init_home(tmp_path)
    with pytest.raises(NodeError) as info:
        init_home(tmp_path)
    assert info.value.code is NodeErrorCode.HOME_EXISTS
    assert "--overwrite" in info.value.message


def test_home_overwrite_replaces_genesis_and_keeps_node_key(tmp_path: Path) -> None:
    first = init_home(tmp_path, chain_id="one")
    second = init_home(tmp_path, chain_id="two", overwrite=True)
    assert second.node_public_key == first.node_public_key
    assert not second.key_created
    assert load_home(tmp_path).genesis.chain_id == "two"


def test_home_init_with_given_genesis_copies_it(tmp_path: Path) -> None:
    other = Keypair.from_seed(bytes(range(32)))
    genesis = make_genesis("multi", [("a", other.public_key)], [], {"max_block_txs": 10})
    path = tmp_path / "genesis.json"
    path.write_text(genesis.to_json())
    result = init_home(tmp_path / "h", genesis=path, chain_id="ignored")
    assert result.chain_id == "multi"
    assert not result.genesis_created
    assert load_home(tmp_path / "h").genesis.hash == genesis.hash


def test_home_init_with_bad_genesis_file_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "genesis.json"
    path.write_text("{}")
    with pytest.raises(ValidationError) as info:
        init_home(tmp_path / "h", genesis=path)
    assert info.value.code is ErrorCode.BAD_GENESIS
    assert not (tmp_path / "h" / "config").exists()


def test_home_init_with_bad_moniker_is_bad_config(tmp_path: Path) -> None:
    with pytest.raises(NodeError) as info:
        init_home(tmp_path, moniker="no spaces please")
    assert info.value.code is NodeErrorCode.BAD_CONFIG
    assert "node.moniker" in info.value.message


def test_home_missing_is_refused(tmp_path: Path) -> None:
    error = _one_line_error(tmp_path / "nothing")
    assert error.reason == "bad_config"
    assert "agora init" in error.message


def test_home_tampered_genesis_address_is_refused(tmp_path: Path) -> None:
    def flip_last_letter(document: Any) -> None:
        address = document["accounts"][0]["address"]
        flipped = "q" if address[-1] != "q" else "p"
        document["accounts"][0]["address"] = address[:-1] + flipped

    error = _error_after_editing(tmp_path, "genesis_file", flip_last_letter)
    assert error.reason == "bad_genesis"
    assert "accounts.0.address" in error.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["validators"].append(dict(d["validators"][0])), "validators"),
        (lambda d: d["validators"][0].update(public_key="zz"), "validators.0.public_key"),
        (lambda d: d.update(chain_id="Bad Chain"), "chain_id"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["accounts"][0].update(balance="-5"), "accounts.0.balance"),
    ],
)
def test_home_invalid_genesis_is_refused_naming_the_field(
    tmp_path: Path, change: object, field: str
) -> None:
    error = _error_after_editing(tmp_path, "genesis_file", change)  # type: ignore[arg-type]
    assert error.reason == "bad_genesis"
    assert field in error.message


def test_home_genesis_not_json_is_refused(tmp_path: Path) -> None:
    init_home(tmp_path)
    NodeHome(tmp_path).genesis_file.write_text("{not json")
    assert _one_line_error(tmp_path).reason == "bad_genesis"


def test_home_mismatched_node_key_is_refused(tmp_path: Path) -> None:
    other_key = Keypair.generate().public_key.hex()
    error = _error_after_editing(tmp_path, "node_key_file",
                                 lambda document: document.update(public_key=other_key))
    assert error.reason == "bad_key"
    assert "does not match" in error.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("not json", "not valid JSON"),
        ("[]", "not a JSON object"),
        ('{"type": "rsa", "public_key": "", "seed": ""}', "type"),
        ('{"type": "ed25519", "public_key": "00", "seed": "00"}', "seed"),
        ('{"type": "ed25519", "seed": "' + "zz" * 32 + '", "public_key": "00"}', "seed: not hex"),
        ('{"type": "ed25519", "public_key": "", "seed": "", "x": 1}', "x: unknown key"),
    ],
)
def test_home_malformed_node_key_is_refused(tmp_path: Path, text: str, fragment: str) -> None:
    init_home(tmp_path)
    NodeHome(tmp_path).node_key_file.write_text(text)
    error = _one_line_error(tmp_path)
    assert error.reason == "bad_key"
    assert fragment in error.message


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o660])
def test_home_node_key_accessible_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    init_home(tmp_path)
    path = NodeHome(tmp_path).node_key_file
    path.chmod(mode)
    error = _one_line_error(tmp_path)
    assert error.reason == "bad_key"
    assert error.message == (f"node_key.json: {path} is accessible by group or others (mode "
                             f"{mode:04o}); a node key must be private: run `chmod 600 {path}`")


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_home_node_key_private_modes_load(tmp_path: Path, mode: int) -> None:
    result = init_home(tmp_path)
    NodeHome(tmp_path).node_key_file.chmod(mode)
    assert load_home(tmp_path).node_key.public_key.hex() == result.node_public_key


def test_home_overwrite_over_malformed_key_is_refused_and_writes_nothing(
        tmp_path: Path) -> None:
    init_home(tmp_path, chain_id="one")
    home = NodeHome(tmp_path)
    home.node_key_file.write_text('{"type": "ed25519", "seed": "truncat')
    genesis_before = home.genesis_file.read_bytes()
    with pytest.raises(NodeError) as info:
        init_home(tmp_path, chain_id="two", overwrite=True)
    assert info.value.code is NodeErrorCode.BAD_KEY
    assert "\n" not in str(info.value) and "--new-key" in info.value.message
    assert home.node_key_file.read_text() == '{"type": "ed25519", "seed": "truncat'
    assert home.genesis_file.read_bytes() == genesis_before
    assert sorted(p.name for p in home.config_dir.iterdir()) == [
        "config.toml", "genesis.json", "node_key.json"]


def test_home_overwrite_new_key_moves_malformed_key_aside(tmp_path: Path) -> None:
    init_home(tmp_path)
    home = NodeHome(tmp_path)
    home.node_key_file.write_text("not json")
    home.node_key_file.chmod(0o644)
    result = init_home(tmp_path, overwrite=True, new_key=True)
    assert (result.key_created, result.replaced_key) == (True, "malformed")
    assert result.replaced_key_file is not None
    old = Path(result.replaced_key_file)
    assert old.parent == home.config_dir and old.name.startswith("node_key.json.replaced-")
    assert old.read_text() == "not json"
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.node_key_file.stat().st_mode) == 0o600
    assert load_home(tmp_path).node_key.public_key.hex() == result.node_public_key


def test_home_overwrite_keeps_valid_key_and_new_key_replaces_it(tmp_path: Path) -> None:
    first = init_home(tmp_path)
    kept = init_home(tmp_path, overwrite=True)
    assert (kept.key_created, kept.replaced_key, kept.node_public_key) == (
        False, None, first.node_public_key)
    replaced = init_home(tmp_path, overwrite=True, new_key=True)
    assert replaced.key_created and replaced.node_public_key != first.node_public_key
    assert replaced.replaced_key == first.node_public_key
    assert replaced.replaced_key_file is not None
    old = json.loads(Path(replaced.replaced_key_file).read_text())
    assert old["public_key"] == first.node_public_key
    again = init_home(tmp_path, overwrite=True, new_key=True)
    assert again.replaced_key == replaced.node_public_key
    assert again.replaced_key_file != replaced.replaced_key_file


def test_home_overwrite_with_another_seed_needs_new_key(tmp_path: Path) -> None:
    init_home(tmp_path)
    with pytest.raises(NodeError) as info:
        init_home(tmp_path, overwrite=True, node_seed=bytes(range(32)))
    assert info.value.code is NodeErrorCode.BAD_KEY and "--new-key" in info.value.message
    seeded = init_home(tmp_path, overwrite=True, node_seed=bytes(range(32)), new_key=True)
    assert seeded.node_public_key == Keypair.from_seed(bytes(range(32))).public_key.hex()


def test_home_missing_node_key_is_refused(tmp_path: Path) -> None:
    init_home(tmp_path)
    NodeHome(tmp_path).node_key_file.unlink()
    assert _one_line_error(tmp_path).reason == "bad_key"


def test_home_bad_config_is_refused(tmp_path: Path) -> None:
    init_home(tmp_path)
    NodeHome(tmp_path).config_file.write_text('[rpc]\nlisten = "nope"\n')
    error = _one_line_error(tmp_path)
    assert error.reason == "bad_config"
    assert error.message.startswith("config.toml: rpc.listen:")


def test_home_make_genesis_builds_validated_document() -> None:
    keys = [Keypair.from_seed(bytes([i]) * 32) for i in range(4)]
    genesis = make_genesis(
        "devnet",
        [(f"v{i}", k.public_key.hex()) for i, k in enumerate(keys)],
        [(to_text(address_of(k.public_key)), "100.5") for k in keys],
        {"max_block_bytes": 1024 * 1024},
        genesis_time="2024-01-01T00:00:00Z",
    )
    assert len(genesis.validators) == 4
    assert genesis.params.max_block_bytes == 1024 * 1024
    with pytest.raises(ValidationError):
        make_genesis("devnet", [("a", keys[0].public_key), ("b", keys[0].public_key)])


def _recorded_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[NodeHome, Any]:
    """A home whose genesis counts as large, loaded once (so it left its record)."""
    import node.home as home_module

    monkeypatch.setattr(home_module, "GENESIS_CHECKED_MIN_ACCOUNTS", 1)
    init_home(tmp_path)
    first = load_home(tmp_path).genesis
    return NodeHome(tmp_path), first


def _spy_load_genesis(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    import node.home as home_module

    seen: list[bool] = []
    original = home_module.load_genesis

    def spy(raw: bytes, *, checked_before: bool = False) -> Any:
        seen.append(checked_before)
        return original(raw, checked_before=checked_before)

    monkeypatch.setattr(home_module, "load_genesis", spy)
    return seen


def test_home_large_genesis_starts_from_its_record_without_reading_the_accounts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A genesis at the size threshold leaves a record in the data directory; the next load
    starts from it (no accounts read), and the accounts, when asked for, are read from the
    file without their checksums and are the same."""
    import node.home as home_module

    home, first = _recorded_home(tmp_path, monkeypatch)
    record = json.loads((home.data_dir / home_module.GENESIS_CHECKED_FILE).read_text())
    assert record["hash"] == first.hash.hex() and record["accounts"] == len(first.accounts)
    seen = _spy_load_genesis(monkeypatch)
    again = load_home(tmp_path).genesis
    assert seen == []
    assert again.hash == first.hash and len(again.accounts) == len(first.accounts)
    assert again.validator_keys == first.validator_keys and again.params == first.params
    assert again.accounts.total() == first.accounts.total()
    assert list(again.accounts.entries()) == list(first.accounts.entries())
    assert seen == [True]
    assert again == first and again.to_json() == first.to_json()


def test_home_genesis_record_of_another_file_or_damaged_is_not_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record that is not JSON, or whose hash is not the file's genesis, never names the
    chain: the first is ignored (full validation, written again); the second is found out
    when the accounts are read, in one line."""
    import node.home as home_module

    home, first = _recorded_home(tmp_path, monkeypatch)
    path = home.data_dir / home_module.GENESIS_CHECKED_FILE
    good = path.read_text()
    path.write_text("sha256:" + "0" * 64 + "\n")  # the earlier format, or any other text
    seen = _spy_load_genesis(monkeypatch)
    assert load_home(tmp_path).genesis.hash == first.hash
    assert seen == [False] and path.read_text() == good
    record = json.loads(good)
    record["document"]["chain_id"] = "not-this-chain"
    path.write_text(json.dumps(record))
    forged = load_home(tmp_path).genesis
    with pytest.raises(ValidationError) as info:
        list(forged.accounts.entries())
    assert info.value.code is ErrorCode.BAD_GENESIS and "\n" not in info.value.message


def test_home_genesis_file_changed_after_start_is_refused_when_accounts_are_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, _ = _recorded_home(tmp_path, monkeypatch)
    genesis = load_home(tmp_path).genesis
    home.genesis_file.write_text(home.genesis_file.read_text() + " ")
    with pytest.raises(ValidationError) as info:
        genesis.accounts[0]
    assert info.value.code is ErrorCode.BAD_GENESIS and "changed" in info.value.message


def test_home_store_of_a_recorded_genesis_opens_without_the_accounts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store created from the full genesis opens with the recorded one and reads no
    account; a store created from the recorded one holds the same state root."""
    from node.store import Store

    home, first = _recorded_home(tmp_path, monkeypatch)
    with contextlib.closing(Store.open(tmp_path / "full", first)) as full:
        root = full.head.state_root
    seen = _spy_load_genesis(monkeypatch)
    recorded = load_home(tmp_path).genesis
    with contextlib.closing(Store.open(tmp_path / "full", recorded)) as again:
        assert again.head.state_root == root
    assert seen == []
    with contextlib.closing(Store.open(tmp_path / "fresh", recorded)) as fresh:
        assert fresh.head.state_root == root
    assert seen == [True]


def test_home_large_genesis_edited_after_its_check_is_validated_in_full(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another file (a flipped checksum character) has another digest: full validation,
    the same one-line refusal as without the record."""
    import node.home as home_module

    monkeypatch.setattr(home_module, "GENESIS_CHECKED_MIN_ACCOUNTS", 1)
    init_home(tmp_path)
    load_home(tmp_path)
    home = NodeHome(tmp_path)
    assert (home.data_dir / home_module.GENESIS_CHECKED_FILE).is_file()
    document = json.loads(home.genesis_file.read_text())
    address = document["accounts"][0]["address"]
    document["accounts"][0]["address"] = address[:-1] + ("q" if address[-1] != "q" else "p")
    home.genesis_file.write_text(json.dumps(document))
    error = _one_line_error(tmp_path)
    assert error.reason == "bad_genesis"
    assert "accounts.0.address" in error.message


def test_home_small_genesis_leaves_no_record(tmp_path: Path) -> None:
    import node.home as home_module

    init_home(tmp_path)
    load_home(tmp_path)
    assert not (NodeHome(tmp_path).data_dir / home_module.GENESIS_CHECKED_FILE).exists()
