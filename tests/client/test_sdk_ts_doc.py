"""The TypeScript program in docs/SDK.md lists, buys and reviews as written, signed by
@agora/sdk in Node.js and finalized by a real node.

Method: the CLI tests' devnet (a real node process on free ports, stopped afterwards
whatever happens; shared with the Python SDK's doc test); the SDK built with `tsc`
(`npm run build` in web/sdk); the first ```js block of docs/SDK.md written into the SDK's
package (so that `@agora/sdk` resolves to the build, as in a user's project) and run with
`node` in the devnet's directory, AGORA_NODE naming its node. Its printed lines and the
node's state (read with the Python client) are checked.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from client import SyncRpcClient
from tests.cli_e2e.conftest import Shell
from tests.client.sdk_doc import doc_program, node_url, run_program, shop_story
from tests.web.test_sdk import SDK, npm_ready

pytestmark = pytest.mark.e2e

BUILD_TIMEOUT_S = 300


def test_ts_sdk_doc_program_is_finalized_by_a_real_node(shell: Shell) -> None:
    npm = npm_ready()
    built = subprocess.run([npm, "run", "--silent", "build"], cwd=SDK, capture_output=True,
                           text=True, timeout=BUILD_TIMEOUT_S)
    assert built.returncode == 0, f"the SDK does not build: {built.stdout}{built.stderr}"
    program = SDK / "build" / "doc-shop.mjs"
    program.parent.mkdir(exist_ok=True)
    program.write_text(doc_program("js"), encoding="utf-8")
    node = shutil.which("node")
    assert node is not None, "node is not installed"
    lines, listing_id, order_id = shop_story(run_program([node, str(program)], shell), 6, 17)
    reviewed = re.fullmatch(r"review 5/5 at height (\d+); order completed", lines[4])
    assert reviewed, lines[4]
    assert lines[5] == f"newBlocks reached height {reviewed.group(1)}"
    with SyncRpcClient(node_url(shell)) as client:
        order = client.order(order_id)
        assert order["status"] == "completed" and order["quantity"] == 2
        assert order["buyer"] == shell.accounts["bob"]
        assert client.review(order["id"])["text"] == "Smooth spoon."
        assert client.listing(listing_id)["stock"] == 3
