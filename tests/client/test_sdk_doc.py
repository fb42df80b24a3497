"""The program in docs/SDK.md lists, buys and reviews as written, against a real devnet.

Method: the CLI tests' devnet (`agora devnet up` in a temporary directory: a real node
process on free ports, stopped afterwards whatever happens); the first python block of
docs/SDK.md written to a file and run with this Python in that directory, AGORA_NODE naming
the devnet's node; then its printed lines and the node's state are checked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from client import SyncRpcClient
from tests.cli_e2e.conftest import Shell

pytestmark = pytest.mark.e2e

DOC = Path(__file__).resolve().parents[2] / "docs" / "SDK.md"
PROGRAM_TIMEOUT_S = 120


def sdk_program() -> str:
    """The first ```python block of docs/SDK.md: the whole first program."""
    blocks = re.findall(r"^```python\n(.*?)^```$", DOC.read_text(encoding="utf-8"),
                        re.DOTALL | re.MULTILINE)
    assert blocks, "docs/SDK.md has no python block"
    return str(blocks[0])


def test_sdk_doc_program_lists_buys_and_reviews(shell: Shell) -> None:
    cwd, url = shell.cwd, shell.node if "://" in shell.node else f"http://{shell.node}"
    (cwd / "shop.py").write_text(sdk_program(), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
    done = subprocess.run([sys.executable, "shop.py"], capture_output=True, text=True,
                          cwd=cwd, env={**env, "AGORA_NODE": url}, timeout=PROGRAM_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 5, done.stdout
    listing = re.fullmatch(r"acme listed #(\d+) at height \d+", lines[0])
    bought = re.fullmatch(r"bob bought #(\d+): order #(\d+), 35 held in escrow", lines[1])
    assert listing and bought, done.stdout
    assert bought.group(1) == listing.group(1)
    assert lines[2] == "ship to: Bob Builder, 12 Harbour Road"
    assert lines[3] == "confirmed: order_release"
    assert re.fullmatch(r"review 5/5 at height \d+; order completed", lines[4]), lines[4]
    with SyncRpcClient(url) as node:
        order = node.order(int(bought.group(2)))
        assert order["status"] == "completed"
        assert node.review(order["id"])["text"] == "Beautiful board."
