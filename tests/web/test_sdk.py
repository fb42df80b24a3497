"""The TypeScript SDK's own test suite, against cross-language vectors made fresh by the
Python code, and the Python side opening and checking what the SDK sealed and signed.

Method: `tests/web/make_vectors.py` writes the vectors to a temporary file; `npm test` in
web/sdk (tsc, then Node's test runner) runs the SDK's unit tests and checks every vector,
writing the notes it sealed and the transactions it signed with fresh keys to a second
file; the node's own code (commerce.keys, commerce.tx) must then open and verify each one.
Needs the workspace's packages: `npm ci` in web/ (the make targets run it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from commerce.keys import Keypair
from commerce.tx import decode_tx
from tests.web.make_vectors import main as make_vectors
from tests.web.make_vectors import seed

WEB = Path(__file__).resolve().parents[2] / "web"
SDK = WEB / "sdk"
NPM_TIMEOUT_S = 300


def npm_ready() -> str:
    """The npm executable, after checking the workspace is installed; fails in one line."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: install Node.js >= 20.19 and npm (apt-get install "
                    "nodejs npm), then run `npm ci` in web/", pytrace=False)
    if not (WEB / "node_modules" / "@noble" / "curves").is_dir():
        pytest.fail("the web workspace is not installed: run `npm ci` in web/ "
                    "(`make test` does)", pytrace=False)
    return npm


@pytest.fixture(scope="module")
def sdk_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """`npm test` of the SDK with fresh vectors: its output and what it wrote."""
    npm = npm_ready()
    tmp = tmp_path_factory.mktemp("sdk")
    vectors, out = tmp / "vectors.json", tmp / "sdk-out.json"
    assert make_vectors([str(vectors)]) == 0
    env = {**os.environ, "AGORA_VECTORS": str(vectors), "AGORA_SDK_OUT": str(out)}
    done = subprocess.run([npm, "test", "--silent"], cwd=SDK, env=env, capture_output=True,
                          text=True, timeout=NPM_TIMEOUT_S)
    assert done.returncode == 0, f"npm test failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    return {"stdout": done.stdout, "out": json.loads(out.read_text(encoding="utf-8"))}


def test_sdk_suite_passes_every_vector(sdk_run: dict[str, object]) -> None:
    stdout = str(sdk_run["stdout"])
    assert "# fail 0" in stdout or "ℹ fail 0" in stdout, stdout[-3000:]
    assert "skipped 0" in stdout, "a vector suite was skipped"
    for suite in ("codec", "keys and addresses", "transactions", "sealed notes",
                  "blocks and certificates", "amounts", "blob uploads", "RPC methods"):
        assert suite in stdout, f"the {suite} vectors did not run"


def test_node_opens_what_the_sdk_sealed(sdk_run: dict[str, object]) -> None:
    recipient = Keypair.from_seed(seed(2))
    sealed = sdk_run["out"]["sealed"]  # type: ignore[index]
    assert len(sealed) == 4
    boxes = set()
    for item in sealed:
        box = bytes.fromhex(item["sealed"])
        assert recipient.unseal(box) == bytes.fromhex(item["plaintext"])
        assert len(box) == len(bytes.fromhex(item["plaintext"])) + 48
        boxes.add(box[:32])
    assert len(boxes) == 4, "each note has its own ephemeral key"


def test_node_accepts_what_the_sdk_signed(sdk_run: dict[str, object]) -> None:
    signed = sdk_run["out"]["signed"]  # type: ignore[index]
    assert [item["type"] for item in signed] == ["transfer", "listing_create", "poll_create",
                                                 "reward_claim"]
    for nonce, item in enumerate(signed):
        tx = decode_tx(bytes.fromhex(item["wire"]))
        assert tx.verify_signature(), item["type"]
        assert (tx.type, tx.nonce, tx.chain_id) == (item["type"], nonce, "agora-sdk-out")
    listing = decode_tx(bytes.fromhex(signed[1]["wire"])).body
    assert listing.price == 10**18 and listing.media == [bytes([9]) * 32]  # type: ignore[attr-defined]
    transfer = decode_tx(bytes.fromhex(signed[0]["wire"])).body
    assert transfer.memo == "thanks 🙏" and transfer.amount == 1_500_000  # type: ignore[attr-defined]
