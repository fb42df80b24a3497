"""The in-process path harness (`python -m bench.path`): it runs end to end.

Method: a small workload through two in-process nodes (RPC submit, gossip, propose,
validate, finalize); the harness asserts that every transaction is admitted on both nodes
and finalized and that both stores end at the same head. Signatures are really verified
here (the stub is only for instruction counts).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.path import PHASES, Meter, build, run


def test_bench_path_small_workload_is_admitted_everywhere_and_finalized(tmp_path: Path) -> None:
    harness = build(tmp_path, txs=60, accounts=20, block_txs=25)
    meter = Meter("time", set())
    try:
        asyncio.run(run(harness, meter))
        assert harness.a.store is not None and harness.b.store is not None
        assert harness.a.store.head.state_root == harness.b.store.head.state_root
    finally:
        for node in (harness.a, harness.b):
            if node.store is not None:
                node.store.close()
    assert set(meter.cpu_s) == set(PHASES)
    assert all(seconds > 0 for seconds in meter.cpu_s.values())
