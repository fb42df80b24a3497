"""The real `agora` CLI guards a node's secrets: no keyring key sealed with an empty or
trivial passphrase, no node started on a key others can read, no validator key replaced
by `agora init --overwrite` without `--new-key`.

Method: separate `.venv/bin/agora` processes on homes and keyrings in tmp_path, the
passphrase on stdin or in AGORA_PASSPHRASE as a script would give it; each refusal is
checked as a user sees it: exit code 1, one `error: <reason>: ...` line, no traceback.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

AGORA = str(Path(sys.executable).parent / "agora")
COMMAND_TIMEOUT_S = 60.0
GOOD_PASSPHRASE = "correct horse battery"


def agora(*args: str, env: dict[str, str] | None = None, stdin: str = "",
          umask: int = -1) -> subprocess.CompletedProcess[str]:
    """Run one `agora` command; AGORA_PASSPHRASE is unset unless `env` sets it."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("AGORA_PASSPHRASE", "AGORA_HOME", "AGORA_KEYRING_BACKEND")}
    return subprocess.run([AGORA, *args], capture_output=True, text=True, input=stdin,
                          env={**base, **(env or {})}, timeout=COMMAND_TIMEOUT_S, umask=umask)


def refused(done: subprocess.CompletedProcess[str], reason: str) -> str:
    """The one error line of a failed command."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {reason}: "), lines[0]
    return lines[0]


def test_keys_add_empty_or_trivial_passphrase_is_refused_in_one_line(tmp_path: Path) -> None:
    keyring = str(tmp_path / "keyring")
    cases = [
        ({}, "\n", "no passphrase given"),
        ({}, "   \n", "the passphrase is only blanks"),
        ({}, "hunter2\n", "the passphrase is too short: use at least 8 characters"),
        ({"AGORA_PASSPHRASE": "1234567"}, "", "too short: use at least 8 characters"),
        ({"AGORA_PASSPHRASE": "zzzzzzzzzzzz"}, "", "the passphrase is one character repeated"),
    ]
    for env, stdin, message in cases:
        done = agora("keys", "add", "alice", "--keyring-dir", keyring, env=env, stdin=stdin)
        assert message in refused(done, "bad_key"), (env, stdin)
    assert not (tmp_path / "keyring" / "file" / "alice.json").exists()

    added = agora("keys", "add", "alice", "--keyring-dir", keyring, "-o", "json",
                  stdin=GOOD_PASSPHRASE + "\n")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["backend"] == "file"
    # The devnet's unencrypted test keyring takes no passphrase at all.
    dev = agora("keys", "add", "dev", "--keyring-dir", keyring, "--keyring-backend", "test",
                "-o", "json")
    assert dev.returncode == 0, dev.stderr
    assert json.loads(dev.stdout)["backend"] == "test"


def test_start_refuses_a_node_key_readable_by_others(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # A permissive umask must not leak into the key file.
    created = agora("init", "--home", str(home), umask=0)
    assert created.returncode == 0, created.stderr
    key = home / "config" / "node_key.json"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # Free ports: a node that started after all would not take the default ones.
    config = home / "config" / "config.toml"
    text = config.read_text()
    config.write_text(text.replace('"0.0.0.0:26656"', '"127.0.0.1:0"')
                      .replace('"127.0.0.1:26657"', '"127.0.0.1:0"'))
    key.chmod(0o644)
    line = refused(agora("start", "--home", str(home)), "bad_key")
    assert line == (f"error: bad_key: node_key.json: {key} is accessible by group or others "
                    f"(mode 0644); a node key must be private: run `chmod 600 {key}`")


def test_init_overwrite_keeps_or_refuses_a_node_key_unless_new_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = agora("init", "--home", str(home), "-o", "json")
    assert first.returncode == 0, first.stderr
    identity = json.loads(first.stdout)["node_public_key"]
    kept = agora("init", "--home", str(home), "--overwrite", "-o", "json")
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["node_public_key"] == identity

    key = home / "config" / "node_key.json"
    damaged = key.read_text()[:-20]  # a truncated copy still holds most of the identity
    key.write_text(damaged)
    line = refused(agora("init", "--home", str(home), "--overwrite"), "bad_key")
    assert "node_key.json: not valid JSON" in line and "--new-key" in line
    assert key.read_text() == damaged

    replaced = agora("init", "--home", str(home), "--overwrite", "--new-key", "-o", "json")
    assert replaced.returncode == 0, replaced.stderr
    result = json.loads(replaced.stdout)
    assert result["replaced_key"] == "malformed"
    assert Path(result["replaced_key_file"]).read_text() == damaged
    assert result["replaced_key_file"] in replaced.stderr
    assert replaced.stderr.startswith("warning: replaced the node key: a malformed key file")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    text = agora("init", "--home", str(home), "--overwrite", "--new-key")
    assert text.returncode == 0, text.stderr
    assert f"replacing key {result['node_public_key']} (moved to " in text.stdout
