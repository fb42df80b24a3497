"""docs/SDK.md's programs run as a user runs them: the first block of a language, written to
a file and run in the devnet's directory with AGORA_NODE naming its node (and no other
AGORA_ variable of this process)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.cli_e2e.conftest import Shell

DOC = Path(__file__).resolve().parents[2] / "docs" / "SDK.md"
PROGRAM_TIMEOUT_S = 120


def doc_program(language: str) -> str:
    """The first ```<language> block of docs/SDK.md: the whole program."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```$", DOC.read_text(encoding="utf-8"),
                        re.DOTALL | re.MULTILINE)
    assert blocks, f"docs/SDK.md has no {language} block"
    return str(blocks[0])


def node_url(shell: Shell) -> str:
    """The devnet's node as an http URL."""
    return shell.node if "://" in shell.node else f"http://{shell.node}"


def run_program(argv: list[str], shell: Shell) -> subprocess.CompletedProcess[str]:
    """`argv` run in the devnet's directory against its node; its output captured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
    return subprocess.run(argv, capture_output=True, text=True, cwd=shell.cwd,
                          env={**env, "AGORA_NODE": node_url(shell)},
                          timeout=PROGRAM_TIMEOUT_S)


def shop_story(done: subprocess.CompletedProcess[str], count: int,
               held: int) -> tuple[list[str], int, int]:
    """The shop program's printed lines, its listing and its order: it exited 0 and printed
    `count` lines, the first four saying that acme listed, that bob bought that listing with
    `held` in escrow, where to ship, and that the release was confirmed."""
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == count, done.stdout
    listing = re.fullmatch(r"acme listed #(\d+) at height \d+", lines[0])
    bought = re.fullmatch(rf"bob bought #(\d+): order #(\d+), {held} held in escrow", lines[1])
    assert listing and bought, done.stdout
    assert bought.group(1) == listing.group(1)
    assert lines[2] == "ship to: Bob Builder, 12 Harbour Road"
    assert lines[3] == "confirmed: order_release"
    return lines, int(listing.group(1)), int(bought.group(2))
