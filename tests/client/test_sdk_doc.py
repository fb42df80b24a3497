"""The program in docs/SDK.md lists, buys and reviews as written, against a real devnet.

Method: the CLI tests' devnet (`agora devnet up` in a temporary directory: a real node
process on free ports, stopped afterwards whatever happens); the first python block of
docs/SDK.md written to a file and run with this Python in that directory, AGORA_NODE naming
the devnet's node; then its printed lines and the node's state are checked.
"""

from __future__ import annotations

import re
import sys

import pytest

from client import SyncRpcClient
from tests.cli_e2e.conftest import Shell
from tests.client.sdk_doc import doc_program, node_url, run_program

pytestmark = pytest.mark.e2e


def test_sdk_doc_program_lists_buys_and_reviews(shell: Shell) -> None:
    (shell.cwd / "shop.py").write_text(doc_program("python"), encoding="utf-8")
    done = run_program([sys.executable, "shop.py"], shell)
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
    with SyncRpcClient(node_url(shell)) as node:
        order = node.order(int(bought.group(2)))
        assert order["status"] == "completed"
        assert node.review(order["id"])["text"] == "Beautiful board."
