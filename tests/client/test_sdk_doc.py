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
from tests.client.sdk_doc import doc_program, node_url, run_program, shop_story

pytestmark = pytest.mark.e2e


def test_sdk_doc_program_lists_buys_and_reviews(shell: Shell) -> None:
    (shell.cwd / "shop.py").write_text(doc_program("python"), encoding="utf-8")
    lines, _, order_id = shop_story(run_program([sys.executable, "shop.py"], shell), 5, 35)
    assert re.fullmatch(r"review 5/5 at height \d+; order completed", lines[4]), lines[4]
    with SyncRpcClient(node_url(shell)) as node:
        order = node.order(order_id)
        assert order["status"] == "completed"
        assert node.review(order["id"])["text"] == "Beautiful board."
