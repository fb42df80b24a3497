"""Determinism: the same blocks give the same state root at every height on any interpreter.

Method: execute the seeded workload in this process and in fresh interpreters started with
different PYTHONHASHSEED values (so dict and set orders of str and bytes differ), and
compare the state root at every height.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.foundation.chain_child import roots

ROOT = Path(__file__).resolve().parents[2]
HEIGHTS = 30


def _child_roots(hash_seed: str) -> list[str]:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    done = subprocess.run(
        [sys.executable, "-m", "tests.foundation.chain_child", "roots", str(HEIGHTS)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    result: list[str] = json.loads(done.stdout)
    return result


def test_execution_fresh_interpreters_with_other_hash_seeds_give_same_roots() -> None:
    local = roots(HEIGHTS)
    assert len(local) == HEIGHTS + 1
    assert len(set(local)) == HEIGHTS + 1, "every block changes the root"
    for seed in ("0", "1", "4242"):
        child = _child_roots(seed)
        mismatch = [h for h, (a, b) in enumerate(zip(local, child, strict=True)) if a != b]
        assert not mismatch, f"PYTHONHASHSEED={seed}: roots differ from height {mismatch[0]}"
