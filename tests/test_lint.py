"""The code stays lint-clean and the pure cores type-check strictly (STYLE section 11).

Method: run ruff over the repository and `mypy --strict` over consensus/, commerce/ and
p2p/ from the project's venv, as CI does, and show their report when they fail.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_lint_ruff_finds_nothing() -> None:
    result = _run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_cores_typecheck_strictly() -> None:
    result = _run(sys.executable, "-m", "mypy", "--strict", "consensus", "commerce", "p2p")
    assert result.returncode == 0, result.stdout + result.stderr
