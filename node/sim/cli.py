"""`python -m node.sim`: run seeds, print one line per seed (or JSON) and the replay
command of each failure."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from node.sim.simulation import RunResult, run_seed
from node.sim.world import MUTATIONS, NAMED_SCENARIOS, SCENARIOS


def _sum_lies(results: Sequence[RunResult]) -> dict[str, int]:
    total: dict[str, int] = {}
    for result in results:
        for kind, count in result.lies.items():
            total[kind] = total.get(kind, 0) + count
    return dict(sorted(total.items()))


def replay_command(seed: int, n: int = 4, scenario: str | None = None,
                   mutation: str | None = None) -> str:
    """The command line that replays `seed` exactly."""
    cmd = f"python -m node.sim --seed {seed}"
    if n != 4:
        cmd += f" --validators {n}"
    if scenario is not None:
        cmd += f" --scenario {scenario}"
    if mutation is not None:
        cmd += f" --mutation {mutation}"
    return cmd


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node.sim",
                                     description=sys.modules["node.sim"].__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, help="run this one seed")
    parser.add_argument("--seeds", help="A:B runs seeds A..B-1")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--scenario", choices=SCENARIOS + NAMED_SCENARIOS)
    parser.add_argument("--output", choices=("text", "json"), default="text")
    parser.add_argument("--mutation", choices=sorted(MUTATIONS),
                        help="TESTING ONLY: put an issue-19 defect back (see MUTATIONS)")
    args = parser.parse_args(argv)
    if args.seed is not None:
        seeds = range(args.seed, args.seed + 1)
    elif args.seeds:
        first, _, last = args.seeds.partition(":")
        seeds = range(int(first), int(last) if last else int(first) + 1)
    else:
        parser.error("give --seed N or --seeds A:B")
    digest_fn = MUTATIONS[args.mutation] if args.mutation else None
    replay = {"n": args.validators, "scenario": args.scenario, "mutation": args.mutation}
    results = [run_seed(seed, args.validators, scenario=args.scenario, digest_fn=digest_fn)
               for seed in seeds]
    failures = [r for r in results if r.violations]
    if args.output == "json":
        print(json.dumps({
            "runs": len(results), "blocks": sum(r.blocks for r in results),
            "txs": sum(r.txs for r in results),
            "view_changes": sum(r.view_changes for r in results),
            "lies": _sum_lies(results),
            "failures": [{"seed": r.seed, "scenario": r.scenario, "violations": r.violations,
                          "replay": replay_command(r.seed, **replay)}
                         for r in failures]}, sort_keys=True))
    else:
        for r in results:
            status = "FAIL" if r.violations else "ok"
            print(f"{status} seed={r.seed} scenario={r.scenario} "
                  f"behaviours={','.join(r.behaviours) or '-'} blocks={r.blocks} "
                  f"txs={r.txs} view_changes={r.view_changes} virtual_ms={r.virtual_ms}")
            for violation in r.violations[:3]:
                print(f"  {violation}")
            if r.violations:
                print(f"  replay: {replay_command(r.seed, **replay)}")
    return 1 if failures else 0
