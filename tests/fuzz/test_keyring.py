"""Goal: a keyring file on disk or an armored key pasted by a user (any bytes, or a valid
record mutated) gives the key or raises ClientError, never another exception, and a refused
read or import leaves the keyring directory as it was."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import settings as Settings
from hypothesis import strategies as st

from client.errors import ClientError
from client.keyring import ARMOR_BEGIN, ARMOR_END, Keyring

from .json_doors import DEEP_JSON, dump, json_texts
from .mutate import TIERS, json_values, mutated_bytes, mutated_value
from .samples import ACCOUNTS

PASSPHRASE = "correct horse"
FAST_KDF = (1, 8192)  # libsodium's argon2id minimum: valid, and cheap enough to fuzz
CHEAP_KDF_MAX = (4, 1 << 20)  # a mutated record asking more is not opened (test time only)


def _cheap(data: bytes) -> bool:
    """False when `data` is a record whose argon2id cost would slow the fuzzing down."""
    try:
        record = json.loads(data)
        ops, mem = record.get("opslimit"), record.get("memlimit")
    except Exception:  # not JSON, not an object: the keyring refuses it before any KDF
        return True
    return not (isinstance(ops, int) and isinstance(mem, int)
                and (ops > CHEAP_KDF_MAX[0] or mem > CHEAP_KDF_MAX[1]))


def _valid_record(tmp_path: Path, backend: str) -> bytes:
    keyring = Keyring(tmp_path / "valid", backend, kdf_limits=FAST_KDF)  # type: ignore[arg-type]
    keyring.add("k", passphrase=PASSPHRASE, seed=ACCOUNTS[0].seed)
    return (keyring.directory / "k.json").read_bytes()


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("backend", ["file", "test"])
def test_keyring_read_any_record_gives_key_or_node_error_file_unchanged(
    tier: Settings, backend: str, tmp_path: Path,
) -> None:
    valid = _valid_record(tmp_path, backend)
    keyring = Keyring(tmp_path / "fuzz", backend, kdf_limits=FAST_KDF)  # type: ignore[arg-type]
    keyring.directory.mkdir(parents=True)

    @tier
    @given(json_texts(json.loads(valid)) | mutated_bytes([valid]))
    @example(DEEP_JSON)
    # `bytes.fromhex` skips whitespace: each of these has the right length and decodes short.
    @example(json.dumps({**json.loads(valid), "public_key": "  " + "00" * 31}).encode())
    @example(json.dumps({**json.loads(valid), "seed": "  " + "00" * 31}).encode())
    @example(json.dumps({**json.loads(valid), "salt": "  " + "00" * 15}).encode())
    def check(data: bytes) -> None:
        (keyring.directory / "k.json").write_bytes(data)
        before = _snapshot(keyring.directory)
        try:
            keyring.show("k")
            keyring.list()
            if _cheap(data):
                keypair = keyring.keypair("k", passphrase=PASSPHRASE)
                assert keypair.public_key.hex() == keyring.show("k").public_key
        except ClientError:
            pass
        assert _snapshot(keyring.directory) == before, "a read changed the keyring"

    check()


def _armor_body(text: str) -> bytes:
    """The bytes inside an armor, as far as the test can tell (b"" when it cannot)."""
    try:
        return base64.b64decode("".join(text.strip().splitlines()[1:-1]))
    except ValueError:
        return b""


def _armor(body: bytes) -> str:
    encoded = base64.b64encode(body).decode()
    lines = [encoded[i:i + 64] for i in range(0, len(encoded), 64)]
    return "\n".join([ARMOR_BEGIN, *lines, ARMOR_END]) + "\n"


@pytest.mark.parametrize("tier", TIERS)
def test_keyring_import_any_armor_gives_key_or_node_error_nothing_written(
    tier: Settings, tmp_path: Path,
) -> None:
    source = Keyring(tmp_path / "source", "test", kdf_limits=FAST_KDF)
    source.add("k", seed=ACCOUNTS[1].seed)
    armored = source.export_armored("k", passphrase=PASSPHRASE)
    body: dict[str, Any] = json.loads(base64.b64decode("".join(armored.splitlines()[1:-1])))
    target = Keyring(tmp_path / "target", "test", kdf_limits=FAST_KDF)
    target.directory.mkdir(parents=True)
    names = iter(range(10**9))

    @tier
    @given(st.one_of(
        mutated_bytes([armored.encode()]).map(lambda data: data.decode("latin-1")),
        mutated_value(body, json_values).map(lambda value: _armor(dump(value))),
        st.text(max_size=200),
    ))
    @example(_armor(DEEP_JSON))
    @example(_armor(json.dumps({**body, "salt": "  " + "00" * 15}).encode()))
    def check(text: str) -> None:
        before = _snapshot(target.directory)
        if not _cheap(_armor_body(text)):
            return
        try:
            info = target.import_armored(f"k{next(names)}", text, passphrase=PASSPHRASE)
        except ClientError:
            assert _snapshot(target.directory) == before, "a refused import wrote a file"
            return
        assert info.public_key == ACCOUNTS[1].public_key.hex()

    check()
