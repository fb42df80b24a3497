"""`agora init` tells the operator how to reach its funded account from the CLI, and
`agora keys import --from-node-key` puts that account's key in the home's keyring."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli_e2e.test_shop_cli import AGORA, COMMAND_TIMEOUT_S

pytestmark = pytest.mark.e2e


def _agora(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
    return subprocess.run([AGORA, *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
                          env={**base, **(env or {})}, stdin=subprocess.DEVNULL)


def test_keys_import_from_node_key_gives_the_funded_account(tmp_path: Path) -> None:
    home = tmp_path / "node"
    shown = _agora("init", "--home", str(home))
    assert shown.returncode == 0, shown.stderr
    assert f"agora keys import operator --from-node-key --home {home}" in shown.stdout
    funded = json.loads(_agora("init", "--home", str(home), "--overwrite", "--output",
                               "json").stdout)["node_address"]
    done = _agora("keys", "import", "operator", "--from-node-key", "--home", str(home),
                  "--output", "json", env={"AGORA_PASSPHRASE": "pass phrase"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["address"] == funded
    listed = _agora("keys", "show", "operator", "--home", str(home), "--address")
    assert listed.stdout.strip() == funded
