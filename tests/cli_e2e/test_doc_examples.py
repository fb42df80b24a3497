"""Every shell example in README.md and docs/CLI.md works as written.

Method: a fresh 4-validator `agora devnet up --detach` (as `make devnet` makes it) in a
temporary directory that also holds a `.venv` link to this interpreter's environment (the
README calls `.venv/bin/agora`); then each fenced ```` ```sh ```` block, in page order (the
README's, then docs/CLI.md's), runs in `bash -e -o pipefail` from that directory, exactly as
written, with `agora` on PATH, HOME in the temporary directory and AGORA_PASSPHRASE set for
the file keyring. Every command must exit 0. A block whose fence says ``sh no-run`` is
skipped (foreground commands, a second devnet, benchmarks): the docs say which and why."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_e2e.conftest import Shell, running_devnet

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "README.md", ROOT / "docs" / "CLI.md")
FENCE_RE = re.compile(r"^```sh( no-run)?[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
PASSPHRASE = "docs examples passphrase"
BLOCK_TIMEOUT_S = 600
# About 65 blocks with their transactions and the devnet demo: 4 to 5 minutes here.
EXAMPLES_TIMEOUT_S = 1200


@dataclass(frozen=True)
class Example:
    """One ```sh block: where it is, whether it runs, its text."""

    where: str
    runs: bool
    code: str


def examples(path: Path) -> list[Example]:
    """The ```sh blocks of a Markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE_RE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        found.append(Example(f"{path.relative_to(ROOT)}:{line}", match.group(1) is None,
                             match.group(2)))
    return found


def test_docs_mark_only_commands_that_cannot_run_here() -> None:
    """Every page has runnable examples; the skipped ones are few and named in the docs."""
    for path in DOCS:
        blocks = examples(path)
        assert [b for b in blocks if b.runs], f"{path.name}: no runnable example"
        # CLI.md: 4 that start long-running or second devnets, and 4 that change the
        # validator set (run by tests/devnet_faults/test_reconfig.py instead).
        assert len([b for b in blocks if not b.runs]) <= 8, f"{path.name}: too many no-run"


@pytest.fixture(scope="module")
def devnet_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    """A fresh 4-validator devnet in a directory that looks like a clone after make devnet."""
    cwd = tmp_path_factory.mktemp("docs-examples")
    (cwd / ".venv").symlink_to(Path(sys.executable).parent.parent)
    with running_devnet(cwd, validators=4) as shell:
        yield shell


@pytest.mark.timeout(EXAMPLES_TIMEOUT_S)
def test_every_doc_example_runs_as_written(devnet_dir: Shell) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
    env.update(HOME=str(devnet_dir.cwd / "user-home"), AGORA_PASSPHRASE=PASSPHRASE,
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    ran = 0
    for path in DOCS:
        for example in examples(path):
            if not example.runs:
                continue
            done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", example.code],
                                  cwd=devnet_dir.cwd, env=env, capture_output=True, text=True,
                                  timeout=BLOCK_TIMEOUT_S, stdin=subprocess.DEVNULL)
            assert done.returncode == 0, (
                f"{example.where} failed (exit {done.returncode}):\n{example.code}\n"
                f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-2000:]}")
            ran += 1
    assert ran >= 60, f"only {ran} examples ran"
