"""The `agora init` and `agora keys` commands: results as text and JSON, and every failure as
one `error: <reason>: <message>` line on stderr with exit code 1 (2 for usage), never a
traceback.

Method: typer's CliRunner for most cases; a few real subprocesses of `.venv/bin/agora` check
the installed entry point, exit codes and stream separation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from node.home import load_home

AGORA = Path(sys.executable).parent / "agora"
PASS = "correct horse battery"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AGORA_PASSPHRASE", raising=False)
    monkeypatch.delenv("AGORA_KEYRING_BACKEND", raising=False)


def _ok(*args: str, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def _error(*args: str, code: int = 1, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_cli_init_json_then_load_home(tmp_path: Path) -> None:
    out = json.loads(_ok("init", "--moniker", "val0", "--chain-id", "c-1", "--output", "json"))
    assert out["chain_id"] == "c-1"
    assert out["home"] == str(tmp_path / "home")
    assert load_home(tmp_path / "home").node_key.public_key.hex() == out["node_public_key"]


def test_cli_init_text_and_explicit_home(tmp_path: Path) -> None:
    out = _ok("init", "--home", str(tmp_path / "other"))
    assert "initialized node home" in out
    assert "agora start --home" in out
    assert (tmp_path / "other" / "config" / "genesis.json").is_file()


def test_cli_init_twice_fails_then_overwrite_works(tmp_path: Path) -> None:
    _ok("init")
    assert _error("init").startswith("error: home_exists: ")
    out = json.loads(_ok("init", "--overwrite", "--chain-id", "again", "-o", "json"))
    assert out["chain_id"] == "again"
    assert out["key_created"] is False


def test_cli_init_with_genesis_file(tmp_path: Path) -> None:
    _ok("init", "--home", str(tmp_path / "a"), "--chain-id", "shared")
    genesis = tmp_path / "a" / "config" / "genesis.json"
    out = json.loads(_ok("init", "--genesis", str(genesis), "-o", "json"))
    assert out["chain_id"] == "shared"
    assert out["genesis_created"] is False


def test_cli_init_bad_inputs_are_one_line(tmp_path: Path) -> None:
    assert _error("init", "--genesis", str(tmp_path / "none")).startswith("error: bad_genesis:")
    assert _error("init", "--moniker", "a b").startswith("error: bad_config:")
    assert _error("init", "--chain-id", "UPPER").startswith("error: bad_genesis:")


def test_cli_usage_errors_are_one_line_with_code_2() -> None:
    assert _error("init", "--nope", code=2).startswith("error: usage: ")
    assert _error("init", "--output", "xml", code=2).startswith("error: usage: ")
    assert _error("keys", "list", "--keyring", "os", code=2).startswith("error: usage: ")
    assert _error("keys", "show", code=2).startswith("error: usage: ")


def test_cli_keys_test_backend_full_cycle(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "add", "bob", "--keyring", "test", "-o", "json"])
    assert result.exit_code == 0
    assert "UNENCRYPTED" in result.stderr
    bob = json.loads(result.stdout)
    assert bob["backend"] == "test"
    listed = json.loads(_ok("keys", "list", "--keyring-backend", "test", "-o", "json"))
    assert [k["name"] for k in listed] == ["bob"]
    table = _ok("keys", "list", "--keyring", "test")
    assert table.splitlines()[0].split() == ["NAME", "ADDRESS", "PUBLIC", "KEY"]
    assert bob["address"] in table
    assert _ok("keys", "show", "bob", "--keyring", "test", "-a").strip() == bob["address"]
    shown = json.loads(_ok("keys", "show", "bob", "--keyring", "test", "-o", "json"))
    assert shown == bob
    assert _error("keys", "export", "bob", "--keyring", "test", "--hex", code=2).startswith(
        "error: usage: "
    )
    seed = _ok("keys", "export", "bob", "--keyring", "test", "--hex", "--unsafe").strip()
    assert len(seed) == 64
    deleted = json.loads(_ok("keys", "delete", "bob", "--keyring", "test", "-y", "-o", "json"))
    assert deleted["deleted"]["name"] == "bob"
    assert _error("keys", "show", "bob", "--keyring", "test").startswith("error: key_not_found:")
    assert _ok("keys", "list", "--keyring", "test").strip() == "(no keys)"


def test_cli_keys_file_backend_with_prompt_and_passphrase_file(tmp_path: Path) -> None:
    added = json.loads(_ok("keys", "add", "carol", "-o", "json", input=f"{PASS}\n{PASS}\n"))
    assert added["backend"] == "file"
    assert _error("keys", "add", "dave", input="").startswith("error: bad_key: no passphrase")
    passfile = tmp_path / "pass.txt"
    passfile.write_text(f"{PASS}\n")
    armor = _ok("keys", "export", "carol", "--passphrase-file", str(passfile))
    assert armor.startswith("-----BEGIN AGORA PRIVATE KEY-----")
    (tmp_path / "carol.armor").write_text(armor)
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(f"{PASS}!\n")
    line = _error("keys", "export", "carol", "--passphrase-file", str(wrong))
    assert line.startswith("error: bad_key: ") and "wrong passphrase" in line
    imported = json.loads(
        _ok(
            "keys",
            "import",
            "copy",
            str(tmp_path / "carol.armor"),
            "--keyring",
            "test",
            "--passphrase-file",
            str(passfile),
            "-o",
            "json",
        )
    )
    assert imported["address"] == added["address"]
    seed = _ok("keys", "export", "copy", "--keyring", "test", "--hex", "--unsafe").strip()
    (tmp_path / "seed.hex").write_text(seed)
    again = json.loads(
        _ok(
            "keys",
            "import",
            "again",
            str(tmp_path / "seed.hex"),
            "--hex",
            "--passphrase-file",
            str(passfile),
            "-o",
            "json",
        )
    )
    assert again["address"] == added["address"]


def test_cli_keys_passphrase_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_PASSPHRASE", PASS)
    _ok("keys", "add", "erin")
    assert len(_ok("keys", "export", "erin", "--hex", "--unsafe").strip()) == 64
    monkeypatch.setenv("AGORA_PASSPHRASE", "bad")
    assert _error("keys", "export", "erin", "--hex", "--unsafe").startswith("error: bad_key:")


def test_cli_keys_missing_files_are_one_line(tmp_path: Path) -> None:
    line = _error("keys", "import", "k", str(tmp_path / "none"), "--keyring", "test")
    assert line.startswith("error: io_error: ")
    assert _error("keys", "add", "k", "--passphrase-file", str(tmp_path / "none")).startswith(
        "error: io_error: "
    )


def test_cli_keys_delete_without_yes_off_terminal_is_refused() -> None:
    _ok("keys", "add", "k", "--keyring", "test")
    assert _error("keys", "delete", "k", "--keyring", "test", code=2).startswith("error: usage:")


def _agora(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AGORA), *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=60,
    )


def test_cli_real_process_exit_codes_json_and_one_line_errors(tmp_path: Path) -> None:
    assert AGORA.is_file()
    env = {**os.environ, "AGORA_HOME": str(tmp_path / "p"), "AGORA_PASSPHRASE": ""}
    done = _agora("init", "--moniker", "solo", "-o", "json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["moniker"] == "solo"
    again = _agora("init", env=env)
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1 and again.stderr.startswith("error: home_exists: ")
    assert again.stdout == ""
    usage = _agora("keys", "list", "--bogus", env=env)
    assert usage.returncode == 2
    assert usage.stderr.count("\n") == 1 and usage.stderr.startswith("error: usage: ")
    (tmp_path / "p" / "config" / "node_key.json").write_text("{}")
    add = _agora("keys", "add", "k", "--keyring", "test", "-o", "json", env=env)
    assert add.returncode == 0 and json.loads(add.stdout)["name"] == "k"
    # No passphrase source and no input: a clear one-line refusal, not a hang or traceback.
    nopass = _agora("keys", "add", "f", env=env)
    assert nopass.returncode == 1
    assert "Traceback" not in nopass.stderr
    assert nopass.stderr.strip().splitlines()[-1].startswith("error: bad_key: ")
