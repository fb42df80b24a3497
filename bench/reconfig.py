"""`agora bench --reconfigure`: throughput while the consortium votes a validator in.

Method. A fresh devnet and the usual measured point (`bench.devnet.BenchDevnet`: separate
processes, the mixed workload's setup run before the clock, every accepted transaction
tracked to commit), with one difference in the mix: the validators sign no measured
transactions (merchant and dispute votes become transfers), so their accounts' nonces are
free for governance. A quarter into the window (`PROPOSE_AT_FRACTION`), `agora devnet
add-validator` runs beside the load (`devnet.reconfig.add_validator`: a new home and key,
a proposal, the votes of more than two thirds of the set, the new node started as an
observer that syncs the chain, then votes from the activation height). The window is cut
in three phases by the block stamps of the follower (`newBlocks` on the last genesis
validator):

- before: clock start -> the proposal is submitted;
- during: the proposal -> the block of the first commit certificate the new key signed;
- after: that block -> the end of the window.

Each phase reports committed tx/s (the transactions of the blocks stamped in it, over its
length), blocks, and the longest gap between two finalized blocks; the whole window has the
usual point figures. The reconfiguration's own figures (blocks and seconds from the
passing vote to the new validator's first vote) come from `ReconfigResult`.

Limits: the reconfiguration waits at most `RECONFIG_TIMEOUT_S`; the point waits for it
after its drain; every node, the added one too, is stopped and the directory removed on
every path out (`BenchDevnet.close` reloads the layout).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

from bench.devnet import (
    BenchDevnet,
    BenchOptions,
    _point_json,
    _timed_count,
    machine_limit,
    unwind_on_sigterm,
)
from bench.progress import Progress
from bench.workload import MIX_PER_MILLE
from devnet.reconfig import ReconfigResult, add_validator

PROPOSE_AT_FRACTION = 0.25
RECONFIG_TIMEOUT_S = 300.0
MIN_RECONFIG_DURATION_S = 20.0
# The kinds a validator signs in the usual mix: folded into transfers here.
VALIDATOR_KINDS = ("merchant_vote", "dispute_vote")


def reconfig_mix() -> dict[str, int]:
    """The usual mix with the validators' measured transactions turned into transfers."""
    mix = dict(MIX_PER_MILLE)
    for kind in VALIDATOR_KINDS:
        mix["transfer"] += mix.pop(kind)
    assert sum(mix.values()) == 1000
    return mix


class _StepLines:
    """`node.progress.Progress` for devnet.reconfig, as the bench's status lines."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def step(self, text: str, done: int = 0, total: int | None = None) -> None:
        self.progress(f"reconfigure: {text}")

    def clear(self) -> None:
        """Nothing to hide in plain lines."""


def phase_figures(blocks: list[tuple[int, int, float]], start: float,
                  end: float) -> dict[str, Any]:
    """Committed tx/s, blocks and the longest gap between finalized blocks over the
    blocks stamped in (start, end]; the gap counts from `start` to the first block too."""
    inside = [(height, txs, stamp) for height, txs, stamp in blocks if start < stamp <= end]
    stamps = [start, *(stamp for _, _, stamp in inside)]
    gap = max((b - a for a, b in zip(stamps, stamps[1:], strict=False)), default=end - start)
    seconds = max(end - start, 1e-9)
    committed = sum(txs for _, txs, _ in inside)
    return {"seconds": round(end - start, 2), "committed": committed,
            "committed_tps": round(committed / seconds, 1), "blocks": len(inside),
            "longest_block_gap_s": round(gap, 2)}


def run_reconfigure_bench(options: BenchOptions, progress: Progress) -> dict[str, Any]:
    """One measured point on a fresh devnet with a validator voted in partway; the
    JSON-ready result (module doc). Raises ValueError on bad options."""
    if options.duration_s < MIN_RECONFIG_DURATION_S:
        raise ValueError(f"--reconfigure needs --duration of at least "
                         f"{MIN_RECONFIG_DURATION_S:g} s")
    if not 1 <= options.validators <= 64:
        raise ValueError("--validators must be 1..64")
    options = dataclasses.replace(options, mix=reconfig_mix())
    verify_per_s, cores, limit = machine_limit(options.validators, samples=500)
    unwind_on_sigterm()
    marks: dict[str, Any] = {}
    with BenchDevnet(options, progress) as devnet:
        devnet.limit_hint = limit
        progress(f"starting {options.validators} validators in {devnet.root}")
        devnet.start()
        devnet.prepare(_timed_count(options.rate, options.duration_s, options, limit))
        assert devnet.layout is not None
        root = Path(devnet.layout.root)

        async def add_partway(start_at: float) -> None:
            await asyncio.sleep(max(0.0, start_at + PROPOSE_AT_FRACTION * options.duration_s
                                    - time.monotonic()))
            marks["start_at"] = start_at
            marks["proposed_at"] = time.monotonic()
            marks["result"] = await asyncio.get_running_loop().run_in_executor(
                None, lambda: add_validator(root, timeout_s=RECONFIG_TIMEOUT_S,
                                            progress=_StepLines(progress)))

        devnet.during_run = add_partway
        rate_text = "max" if options.rate is None else options.rate
        progress(f"measuring at {rate_text} tx/s offered, adding a validator at "
                 f"{PROPOSE_AT_FRACTION * options.duration_s:g} s")
        point = devnet.run_point(options.rate, options.duration_s)
        start_at = marks.get("start_at", 0.0)
        blocks = list(devnet.blocks)
        state = dict(devnet.state)
    result: ReconfigResult = marks["result"]
    out = _point_json(options.rate, point, options, verify_per_s, cores, limit)
    out["state"] = state
    out["reconfiguration"] = _reconfig_json(result, marks["proposed_at"], blocks,
                                            options.duration_s, start_at)
    return out


def _reconfig_json(result: ReconfigResult, proposed_at: float,
                   blocks: list[tuple[int, int, float]], duration_s: float,
                   start_at: float) -> dict[str, Any]:
    stamps = {height: stamp for height, _, stamp in blocks}
    first_at = stamps.get(result.first_signed_height or -1)
    start = start_at or proposed_at - PROPOSE_AT_FRACTION * duration_s
    end = start + duration_s
    phases = {"before": phase_figures(blocks, start, proposed_at)}
    if first_at is not None:
        phases["during"] = phase_figures(blocks, proposed_at, first_at)
        if first_at < end:
            phases["after"] = phase_figures(blocks, first_at, end)
    passed_at = stamps.get(result.passed_height)
    return {
        **result.to_dict(),
        # On the follower's clock (the block stamps), unlike `seconds_to_first_vote`,
        # which runs until the new node itself stores the certificate (it syncs behind).
        "passed_to_first_vote_s": None if first_at is None or passed_at is None
        else round(first_at - passed_at, 2),
        "proposal_to_first_vote_s": None if first_at is None else round(first_at - proposed_at,
                                                                        2),
        "phases": phases,
        "longest_block_gap_s": phase_figures(blocks, start, end)["longest_block_gap_s"],
    }


def render_reconfigure(result: dict[str, Any]) -> str:
    """The text report: the reconfiguration's figures, then throughput by phase."""
    rc = result["reconfiguration"]
    lines = [
        f"validators {result['validators']} + 1 ({rc['name']}), offered "
        f"{result['offered_tps']} tx/s for {result['duration_s']:g} s: committed "
        f"{result['committed_tps']} tx/s, {result['view_changes']} view changes",
        f"proposal {rc['proposal']} passed at height {rc['passed_height']}, active from "
        f"{rc['activation_height']}, first signed certificate at {rc['first_signed_height']}: "
        f"{rc['blocks_to_first_vote']} blocks and {rc['passed_to_first_vote_s']} s after the "
        f"passing vote's block ({rc['proposal_to_first_vote_s']} s after the proposal; the "
        f"new node stored it {rc['seconds_to_first_vote']} s after the vote)",
        f"longest gap between finalized blocks: {rc['longest_block_gap_s']} s",
    ]
    for name, phase in rc["phases"].items():
        lines.append(f"  {name:<7} {phase['seconds']:>6} s  {phase['committed_tps']:>8} tx/s  "
                     f"{phase['blocks']:>4} blocks  longest gap {phase['longest_block_gap_s']} s")
    return "\n".join(lines)
