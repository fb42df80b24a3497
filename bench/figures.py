"""The figures of `agora bench`: what one offered load gave (`PointResult`, computed by
`point_figures` from the clients' submit times and the followed blocks' commit times),
the node processes' CPU and RSS read from `/proc/<pid>`, and the text reports.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class NodeProc:
    """A node process the bench measures: its CPU from a start and its largest RSS."""

    name: str
    pid: int
    rpc_url: str
    cpu_ticks_start: int = 0
    rss_kb_max: int = 0


@dataclass
class PointResult:
    """The figures of one offered load."""

    offered_tps: float
    committed_tps: float
    submitted: int
    committed: int
    rejected: int
    dropped: int
    latency_ms: dict[str, float]
    blocks: int
    txs_per_block_mean: float
    txs_per_block_max: int
    view_changes: int
    nodes: list[dict[str, Any]]
    rejected_reasons: dict[str, int] = field(default_factory=dict)


def cpu_ticks(pid: int) -> int:
    """CPU time (user + system) of process `pid` so far, in clock ticks; 0 once gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def rss_kb(pid: int) -> int:
    """Resident memory of process `pid` in KiB; 0 once gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def point_figures(sent: dict[str, float], commits: dict[str, float],
                  blocks: list[tuple[int, int, float]], reasons: dict[str, int],
                  attempted: int, start_at: float, duration_s: float, view_changes: int,
                  nodes: Sequence[NodeProc], cpu: dict[str, float],
                  mempools: dict[str, dict[str, Any]] | None = None) -> PointResult:
    """The figures of one point: `sent` and `commits` map a transaction id to its submit
    and commit times, `blocks` holds (height, txs, seen at); committed tx/s over the
    window from `start_at` to the last commit (at least `duration_s`)."""
    latencies = [(commits[t] - s) * 1000 for t, s in sent.items() if t in commits]
    committed = len(latencies)
    last = max((commits[t] for t in sent if t in commits), default=start_at + duration_s)
    window = max(duration_s, last - start_at)
    in_window = [b for b in blocks if start_at <= b[2] <= last]
    sizes = [b[1] for b in in_window]
    return PointResult(
        offered_tps=round(attempted / duration_s, 1),
        committed_tps=round(committed / window, 1),
        submitted=attempted, committed=committed,
        rejected=sum(reasons.values()), dropped=len(sent) - committed,
        latency_ms={"p50": round(_percentile(latencies, 50), 1),
                    "p95": round(_percentile(latencies, 95), 1),
                    "p99": round(_percentile(latencies, 99), 1),
                    "max": round(max(latencies, default=0.0), 1)},
        blocks=len(in_window),
        txs_per_block_mean=round(statistics.fmean(sizes), 1) if sizes else 0.0,
        txs_per_block_max=max(sizes, default=0),
        view_changes=view_changes,
        nodes=[{"name": n.name, "pid": n.pid, "cpu_percent": round(cpu.get(n.name, 0.0), 1),
                "rss_mb": round(rss_kb(n.pid) / 1024, 1),
                "rss_mb_max": round(max(n.rss_kb_max, rss_kb(n.pid)) / 1024, 1),
                **(mempools or {}).get(n.name, {})}
               for n in nodes],
        rejected_reasons=reasons,
    )


def render_point(result: dict[str, Any]) -> str:
    """A human-readable report of one point."""
    nodes = ", ".join(f"{n['name']} {n['cpu_percent']:.0f}% {n['rss_mb']:.0f} MB"
                      for n in result["nodes"])
    return "\n".join([
        f"devnet: {result['validators']} validators, {result['clients']} clients, "
        f"{result['accounts']} accounts, {result['duration_s']:g} s at {result['rate']} tx/s",
        f"offered:   {result['offered_tps']:>10,.0f} tx/s ({result['submitted']} submitted)",
        f"committed: {result['committed_tps']:>10,.0f} tx/s ({result['committed']} txs)",
        f"latency submit->commit: p50 {result['latency_ms_p50']:,.0f} ms, "
        f"p95 {result['latency_ms_p95']:,.0f} ms, p99 {result['latency_ms_p99']:,.0f} ms",
        f"blocks: {result['blocks']}, txs/block mean {result['txs_per_block_mean']:,.0f} "
        f"max {result['txs_per_block_max']}",
        f"view changes: {result['view_changes']}, rejected: {result['rejected']} "
        f"{result['rejected_reasons'] or ''}, dropped: {result['dropped']}",
        f"nodes (CPU, RSS): {nodes}",
        *_state_lines(result.get("state") or {}),
        f"limit: {result['verify_per_s_one_core']:,.0f} verify/s x {result['cores']} cores / "
        f"{result['validators']} = {result['limit_tps']:,.0f} tx/s; "
        f"committed/limit = {result['ratio_to_limit']:.2f}",
    ])


def _state_lines(state: dict[str, Any]) -> list[str]:
    if not state:
        return []
    return [f"state: {state.get('accounts', 0):,} accounts, {state.get('listings', 0):,} "
            f"listings; genesis {state.get('genesis_bytes', 0) / 1e6:,.1f} MB built in "
            f"{state.get('genesis_s', 0):g} s, nodes started in {state.get('start_s', 0):g} s, "
            f"setup {state.get('setup_txs', 0):,} txs in {state.get('setup_s', 0):g} s"]


def render_sweep(result: dict[str, Any]) -> str:
    """The throughput-latency curve as a table."""
    lines = [f"sweep: {result['validators']} validators, limit {result['limit_tps']:,.0f} tx/s",
             "| offered tx/s | committed tx/s | p50 ms | p95 ms | p99 ms | txs/block | "
             "rejected | dropped | view changes | ratio to limit |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for p in result["sweep"]:
        lines.append(
            f"| {p['offered_tps']:,.0f} | {p['committed_tps']:,.0f} | {p['latency_ms_p50']:,.0f}"
            f" | {p['latency_ms_p95']:,.0f} | {p['latency_ms_p99']:,.0f} | "
            f"{p['txs_per_block_mean']:,.0f} | {p['rejected']} | {p['dropped']} | "
            f"{p['view_changes']} | {p['ratio_to_limit']:.2f} |")
    return "\n".join(lines)
