"""Keyring: add, list, show, delete, export and import for both backends; a wrong passphrase
or a tampered record is bad_key; the file backend keeps no seed in clear and seals no new
key with an empty or trivial passphrase.

Method: keyrings in tmp_path; the file backend uses Argon2id INTERACTIVE limits for speed
except in one test that checks the MODERATE default is recorded and opens.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.errors import ClientError, ClientErrorCode
from client.keyring import (
    KDF_INTERACTIVE,
    KDF_MODERATE,
    MIN_PASSPHRASE_CHARS,
    RECORD_VERSION,
    Keyring,
    _seal,
)
from commerce.keys import Keypair

SEED = bytes(range(32))
PASS = "correct horse battery"


def _file(tmp_path: Path) -> Keyring:
    return Keyring(tmp_path, "file", kdf_limits=KDF_INTERACTIVE)


def _code(error: pytest.ExceptionInfo[ClientError]) -> ClientErrorCode:
    assert "\n" not in str(error.value)
    return error.value.code  # type: ignore[return-value]


@pytest.mark.parametrize("backend", ["file", "test"])
def test_keyring_add_list_show_delete(tmp_path: Path, backend: str) -> None:
    keyring = Keyring(tmp_path, backend, kdf_limits=KDF_INTERACTIVE)  # type: ignore[arg-type]
    assert keyring.list() == []
    bob = keyring.add("bob", passphrase=PASS)
    alice = keyring.add("alice", passphrase=PASS, seed=SEED)
    assert alice.public_key == Keypair.from_seed(SEED).public_key.hex()
    assert alice.address.startswith("agora1")
    assert [k.name for k in keyring.list()] == ["alice", "bob"]
    assert keyring.show("bob") == bob
    assert keyring.keypair("alice", passphrase=PASS).seed == SEED
    assert keyring.delete("bob") == bob
    assert [k.name for k in keyring.list()] == ["alice"]
    with pytest.raises(ClientError) as info:
        keyring.show("bob")
    assert _code(info) is ClientErrorCode.KEY_NOT_FOUND


def test_keyring_backends_are_separate_directories(tmp_path: Path) -> None:
    _file(tmp_path).add("k", passphrase=PASS)
    assert Keyring(tmp_path, "test").list() == []


def test_keyring_duplicate_name_is_refused(tmp_path: Path) -> None:
    keyring = Keyring(tmp_path, "test")
    keyring.add("k")
    with pytest.raises(ClientError) as info:
        keyring.add("k")
    assert _code(info) is ClientErrorCode.KEY_EXISTS


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "x" * 65, "sp ace", "../up"])
def test_keyring_bad_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ClientError) as info:
        Keyring(tmp_path, "test").add(name)
    assert _code(info) is ClientErrorCode.BAD_KEY


def test_keyring_file_backend_stores_no_seed_in_clear(tmp_path: Path) -> None:
    keyring = _file(tmp_path)
    keyring.add("k", passphrase=PASS, seed=SEED)
    raw = (tmp_path / "file" / "k.json").read_text()
    assert SEED.hex() not in raw
    record = json.loads(raw)
    assert record["kdf"] == "argon2id"
    assert (tmp_path / "file" / "k.json").stat().st_mode & 0o077 == 0


def test_keyring_test_backend_stores_seed_in_clear(tmp_path: Path) -> None:
    Keyring(tmp_path, "test").add("k", seed=SEED)
    assert json.loads((tmp_path / "test" / "k.json").read_text())["seed"] == SEED.hex()


def test_keyring_wrong_passphrase_is_bad_key(tmp_path: Path) -> None:
    keyring = _file(tmp_path)
    keyring.add("k", passphrase=PASS)
    with pytest.raises(ClientError) as info:
        keyring.keypair("k", passphrase=PASS + "!")
    assert _code(info) is ClientErrorCode.BAD_KEY
    assert "wrong passphrase" in info.value.message


def test_keyring_file_backend_needs_a_passphrase(tmp_path: Path) -> None:
    with pytest.raises(ClientError) as info:
        _file(tmp_path).add("k", passphrase="")
    assert _code(info) is ClientErrorCode.BAD_KEY


@pytest.mark.parametrize(("passphrase", "message"), [
    (None, "non-empty passphrase"),
    ("", "non-empty passphrase"),
    (" " * 12, "only blanks"),
    ("x" * (MIN_PASSPHRASE_CHARS - 1), "too short: use at least 8 characters"),
    ("1234567", "too short"),
    ("a" * 20, "one character repeated"),
])
def test_keyring_file_backend_weak_passphrase_is_refused_before_writing(
        tmp_path: Path, passphrase: str | None, message: str) -> None:
    keyring = _file(tmp_path)
    armor = Keyring(tmp_path / "src", "file", kdf_limits=KDF_INTERACTIVE)
    armor.add("k", passphrase=PASS, seed=SEED)
    attempts = [
        lambda: keyring.add("k", passphrase=passphrase),
        lambda: keyring.import_seed_hex("k", SEED.hex(), passphrase=passphrase),
        lambda: keyring.import_armored("k", armor.export_armored("k", passphrase=PASS),
                                       passphrase=passphrase or ""),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as info:
            attempt()
        assert _code(info) is ClientErrorCode.BAD_KEY
        assert message in info.value.message
    assert keyring.list() == []
    assert Keyring(tmp_path, "test").add("dev", passphrase=passphrase).name == "dev"


def test_keyring_record_sealed_with_a_short_passphrase_still_opens(tmp_path: Path) -> None:
    keypair = Keypair.from_seed(SEED)
    record = {"version": RECORD_VERSION, "name": "old", "type": "ed25519",
              "public_key": keypair.public_key.hex(),
              "address": Keyring(tmp_path, "test").add("t", seed=SEED).address,
              **_seal(SEED, "pw", KDF_INTERACTIVE)}
    (tmp_path / "file").mkdir()
    (tmp_path / "file" / "old.json").write_text(json.dumps(record))
    assert _file(tmp_path).keypair("old", passphrase="pw").seed == SEED


def test_keyring_tampered_ciphertext_is_bad_key(tmp_path: Path) -> None:
    keyring = _file(tmp_path)
    keyring.add("k", passphrase=PASS)
    path = tmp_path / "file" / "k.json"
    record = json.loads(path.read_text())
    last = record["ciphertext"][-1]
    record["ciphertext"] = record["ciphertext"][:-1] + ("0" if last != "0" else "1")
    path.write_text(json.dumps(record))
    with pytest.raises(ClientError) as info:
        keyring.keypair("k", passphrase=PASS)
    assert _code(info) is ClientErrorCode.BAD_KEY


def test_keyring_record_with_huge_kdf_cost_is_refused(tmp_path: Path) -> None:
    keyring = _file(tmp_path)
    keyring.add("k", passphrase=PASS)
    path = tmp_path / "file" / "k.json"
    record = json.loads(path.read_text())
    record["memlimit"] = 2**40
    path.write_text(json.dumps(record))
    with pytest.raises(ClientError, match="out of range"):
        keyring.keypair("k", passphrase=PASS)


def test_keyring_swapped_public_key_is_refused(tmp_path: Path) -> None:
    keyring = Keyring(tmp_path, "test")
    keyring.add("k")
    path = tmp_path / "test" / "k.json"
    record = json.loads(path.read_text())
    record["public_key"] = Keypair.generate().public_key.hex()
    path.write_text(json.dumps(record))
    with pytest.raises(ClientError, match="address does not match"):
        keyring.show("k")


def test_keyring_default_cost_is_moderate_and_opens(tmp_path: Path) -> None:
    keyring = Keyring(tmp_path, "file")
    keyring.add("k", passphrase=PASS, seed=SEED)
    record = json.loads((tmp_path / "file" / "k.json").read_text())
    assert (record["opslimit"], record["memlimit"]) == KDF_MODERATE
    # A keyring built with other limits still opens it: the cost is read from the record.
    assert _file(tmp_path).keypair("k", passphrase=PASS).seed == SEED


def test_keyring_export_armored_then_import_across_backends(tmp_path: Path) -> None:
    source = _file(tmp_path / "a")
    source.add("k", passphrase=PASS, seed=SEED)
    armor = source.export_armored("k", passphrase=PASS)
    assert armor.startswith("-----BEGIN AGORA PRIVATE KEY-----")
    assert SEED.hex() not in armor
    target = Keyring(tmp_path / "b", "test")
    info = target.import_armored("copy", armor, passphrase=PASS)
    assert info.public_key == source.show("k").public_key
    assert target.export_seed_hex("copy") == SEED.hex()
    with pytest.raises(ClientError) as info_error:
        target.import_armored("copy2", armor, passphrase=PASS + "!")
    assert _code(info_error) is ClientErrorCode.BAD_KEY


@pytest.mark.parametrize(
    "armor",
    ["", "hello", "-----BEGIN AGORA PRIVATE KEY-----\n!!!\n-----END AGORA PRIVATE KEY-----"],
)
def test_keyring_malformed_armor_is_bad_key(tmp_path: Path, armor: str) -> None:
    with pytest.raises(ClientError) as info:
        Keyring(tmp_path, "test").import_armored("k", armor, passphrase=PASS)
    assert _code(info) is ClientErrorCode.BAD_KEY


def test_keyring_import_hex_seed(tmp_path: Path) -> None:
    keyring = _file(tmp_path)
    info = keyring.import_seed_hex("k", SEED.hex() + "\n", passphrase=PASS)
    assert info.public_key == Keypair.from_seed(SEED).public_key.hex()
    assert keyring.export_seed_hex("k", passphrase=PASS) == SEED.hex()
    for bad in ("00", "zz" * 32):
        with pytest.raises(ClientError):
            keyring.import_seed_hex("k2", bad, passphrase=PASS)


def test_keyring_unknown_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ClientError):
        Keyring(tmp_path, "os")  # type: ignore[arg-type]
