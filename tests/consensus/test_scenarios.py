"""Data-driven consensus scenarios (etcd testdata style): each file in scenarios/ is a
list of commands, each followed by `----` and the expected trace; this runner replays
them against a scripted Cluster and compares traces.

Rewrite the expected traces after a deliberate change, then review the diff like code:
    python -m tests.consensus.test_scenarios --rewrite     (or SCENARIO_REWRITE=1 pytest)

Commands: nodes N [idle=MS] | work [BLOCKS] | idle | stabilize [drop=I,J] | deliver [drop=I,J] |
tick MS | crash I | restart I [empty] | isolate I,J | heal | behave I equivocate|invalid |
status
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tests.consensus.harness import CONFIG, Cluster

SCENARIO_DIR = Path(__file__).parent / "scenarios"


def _nodes_set(text: str) -> frozenset[int]:
    return frozenset(int(x) for x in text.split(",") if x)


def run_command(state: dict[str, Cluster], line: str) -> list[str]:
    words = line.split()
    cmd, args = words[0], words[1:]
    opts = dict(a.split("=", 1) for a in args if "=" in a)
    plain = [a for a in args if "=" not in a]
    if cmd == "nodes":
        idle = opts.get("idle")
        config = replace(CONFIG, idle_block_interval_ms=int(idle) if idle else None)
        state["c"] = Cluster(int(plain[0]), config)
        return []
    cluster = state["c"]
    cluster.log = []
    if cmd == "work":
        cluster.work(int(plain[0]) if plain else 1)
    elif cmd == "idle":
        cluster.work(0)
    elif cmd == "stabilize":
        cluster.stabilize(_nodes_set(opts.get("drop", "")))
    elif cmd == "deliver":
        cluster.deliver(_nodes_set(opts.get("drop", "")))
    elif cmd == "tick":
        cluster.tick(int(plain[0]))
    elif cmd == "crash":
        cluster.crash(int(plain[0]))
    elif cmd == "restart":
        cluster.start(int(plain[0]), empty="empty" in plain)
    elif cmd == "isolate":
        cluster.isolated = set(_nodes_set(plain[0]))
    elif cmd == "heal":
        cluster.isolated = set()
    elif cmd == "behave":
        cluster.nodes[int(plain[0])].behaviour = plain[1]
    elif cmd == "status":
        for node in cluster.nodes:
            r = node.replica
            if r is None:
                cluster.log.append(f"n{node.index} down h={node.app.height}")
            else:
                mode = "active" if r.active else "view-changing"
                cluster.log.append(f"n{node.index} h={node.app.height} view={r.view} {mode}")
    else:
        raise ValueError(f"unknown command {line!r}")
    return list(cluster.log)


def run_file(path: Path) -> tuple[str, str]:
    """Return (expected text, actual text) of one scenario file."""
    text = path.read_text(encoding="utf-8")
    blocks = [b for b in text.strip("\n").split("\n\n") if b.strip()]
    state: dict[str, Cluster] = {}
    out: list[str] = []
    for block in blocks:
        lines = block.split("\n")
        command_lines = [ln for ln in lines[: lines.index("----")]] if "----" in lines else lines
        comments = [ln for ln in command_lines if ln.startswith("#")]
        commands = [ln for ln in command_lines if ln and not ln.startswith("#")]
        assert len(commands) == 1, f"{path.name}: one command per block: {block!r}"
        trace = run_command(state, commands[0])
        out.append("\n".join([*comments, commands[0], "----", *(trace or ["ok"])]))
    return text, "\n\n".join(out) + "\n"


SCENARIOS = sorted(SCENARIO_DIR.glob("*.txt"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_trace_matches(path: Path) -> None:
    expected, actual = run_file(path)
    if os.environ.get("SCENARIO_REWRITE"):
        path.write_text(actual, encoding="utf-8")
        return
    assert actual == expected


def main(argv: list[str]) -> int:
    rewrite = "--rewrite" in argv
    failed = 0
    for path in SCENARIOS:
        expected, actual = run_file(path)
        if rewrite:
            path.write_text(actual, encoding="utf-8")
        elif actual != expected:
            failed += 1
            print(f"MISMATCH {path.name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
