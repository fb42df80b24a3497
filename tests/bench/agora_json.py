"""Run `agora ... --output json` as a real subprocess, for the benchmark smoke tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120


def run_agora_json(*args: str) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """`agora <args> --output json` from the repository root with this Python (at most
    `TIMEOUT_S`), which must exit 0: its JSON result, and the finished process (whose
    stderr holds the progress lines)."""
    command = [sys.executable, "-c", "from cli.main import app; app()", *args,
               "--output", "json"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result, done
