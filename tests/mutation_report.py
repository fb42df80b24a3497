"""Print the mutation score per package from mutmut's results (`make mutation`).

mutmut 3 keeps one `mutants/<source path>.meta` JSON file per mutated source file, with the
exit code of the test run for each mutant (`exit_code_by_key`). This script reads those
files without importing mutmut and prints, per package of the mutation tier
(docs/TESTING.md, "Mutation"), how many mutants were killed, survived, timed out, had no
test, or were not run yet. With `--survivors` it also lists every surviving mutant by name
(`mutmut show <name>` prints its diff).

A deterministic sample, when the whole set cannot run: `--sample consensus=25` keeps the
mutants of a package whose name's SHA-256, read as a number, is 0 modulo 25 (about one in
25, spread over every function). `--names` prints the sampled names, one a line, for
`mutmut run`; without it the table counts the sample only.

Score: (killed + timeout) / (every mutant that ran); a mutant the tests never reach counts
as not killed. Run from the repository root: `python tests/mutation_report.py`.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import sys
import tomllib
from collections import Counter
from pathlib import Path

# mutmut 3.8.1, mutmut/stats.py `status_by_exit_code`; anything else is "suspicious".
STATUS_BY_EXIT_CODE: dict[int | None, str] = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    2: "interrupted",
    34: "skipped",
    35: "suspicious",
    36: "timeout",
    37: "type check",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
    None: "not run",
}

# (package label, source path prefix); the first prefix that matches names the package.
PACKAGES = [
    ("consensus", "consensus/"),
    ("commerce", "commerce/"),
    ("commerce", "base/"),  # the canonical codec the cores share (issue 20)
    ("mempool", "node/mempool.py"),
    ("p2p framing", "p2p/"),
    ("rpc limits", "node/"),
]

COLUMNS = ["killed", "timeout", "survived", "no tests", "suspicious", "not run"]
HEADINGS = ["killed", "timeout", "survived", "no tests", "suspect", "not run"]


def package_of(source_path: str) -> str:
    """The package label of a mutated source file (relative to the repository root)."""
    for label, prefix in PACKAGES:
        if source_path.startswith(prefix):
            return label
    return "other"


def not_mutated(pyproject: Path) -> list[str]:
    """The `do_not_mutate` globs of `[tool.mutmut]` (a file left out after mutmut generated
    its mutants keeps its results in mutants/ until the next run: they are not counted)."""
    if not pyproject.is_file():
        return []
    table = tomllib.loads(pyproject.read_text()).get("tool", {}).get("mutmut", {})
    return list(table.get("do_not_mutate", []))


def read_results(mutants_dir: Path,
                 skip: list[str] | None = None) -> dict[str, dict[str, str]]:
    """Status of each mutant by name, grouped by package label."""
    by_package: dict[str, dict[str, str]] = {}
    for meta_path in sorted(mutants_dir.rglob("*.py.meta")):
        source_path = meta_path.relative_to(mutants_dir).as_posix().removesuffix(".meta")
        if any(fnmatch.fnmatch(source_path, pattern) for pattern in skip or []):
            continue
        exit_codes = json.loads(meta_path.read_text())["exit_code_by_key"]
        statuses = by_package.setdefault(package_of(source_path), {})
        for name, code in exit_codes.items():
            statuses[name] = STATUS_BY_EXIT_CODE.get(code, "suspicious")
    return by_package


def in_sample(name: str, every: int) -> bool:
    """Whether mutant `name` is in the one-in-`every` sample (SHA-256 of the name)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest(), "big") % every == 0


def sampled(by_package: dict[str, dict[str, str]],
            every_by_package: dict[str, int]) -> dict[str, dict[str, str]]:
    """The sampled packages only, each narrowed to its sample."""
    return {label: {name: status for name, status in by_package.get(label, {}).items()
                    if in_sample(name, every)}
            for label, every in every_by_package.items()}


def parse_sample(text: str) -> dict[str, int]:
    """`consensus=25,commerce=60` -> {"consensus": 25, "commerce": 60}."""
    labels = {label for label, _ in PACKAGES}
    result: dict[str, int] = {}
    for part in text.split(","):
        label, _, every = part.partition("=")
        if label not in labels or not every.isdigit() or int(every) < 1:
            raise argparse.ArgumentTypeError(f"not <package>=<n>: {part!r}")
        result[label] = int(every)
    return result


def score_line(label: str, statuses: dict[str, str]) -> str:
    """One row of the table: counts per status and the score of the mutants that ran."""
    counts = Counter(statuses.values())
    other = sum(n for status, n in counts.items() if status not in COLUMNS)
    ran = len(statuses) - counts["not run"]
    caught = counts["killed"] + counts["timeout"]
    score = f"{100 * caught / ran:5.1f}%" if ran else "    -"
    cells = "".join(f"{counts[column]:>10}" for column in COLUMNS)
    return f"{label:<12}{len(statuses):>8}{cells}{other:>8}  {score}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"),
                        help="mutmut's working directory (default: ./mutants)")
    parser.add_argument("--survivors", action="store_true",
                        help="also list every surviving mutant by name")
    parser.add_argument("--sample", type=parse_sample, default=None,
                        help="e.g. consensus=25,commerce=60: one mutant in n per package")
    parser.add_argument("--names", action="store_true",
                        help="print the sampled mutants' names (for `mutmut run`)")
    args = parser.parse_args(argv)
    if not args.mutants.is_dir():
        print(f"no {args.mutants}/ directory: run `make mutation` first", file=sys.stderr)
        return 1
    by_package = read_results(args.mutants, not_mutated(Path("pyproject.toml")))
    if args.sample is not None:
        by_package = sampled(by_package, args.sample)
        if args.names:
            print("\n".join(sorted(name for statuses in by_package.values()
                                   for name in statuses)))
            return 0
    header = "".join(f"{heading:>10}" for heading in HEADINGS)
    print(f"{'package':<12}{'mutants':>8}{header}{'other':>8}  score")
    order = list(dict.fromkeys(label for label, _ in PACKAGES)) + ["other"]
    for label in order:
        if label in by_package:
            print(score_line(label, by_package[label]))
    if args.survivors:
        for label in order:
            survivors = sorted(name for name, status in by_package.get(label, {}).items()
                               if status == "survived")
            if survivors:
                print(f"\n{label}: {len(survivors)} survived")
                print("\n".join(f"  {name}" for name in survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
