"""The import direction of DESIGN section 1 holds: cli -> devnet -> node -> {consensus, commerce,
p2p}, with the SDK `client` beside the node (cli and devnet import it; it imports commerce).

Method: parse every module of each package with `ast` and compare its imports with the
allowed edges; the pure cores also may not import I/O or clock modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cli", "devnet", "client", "node", "consensus", "commerce", "p2p")

# Which project packages each package may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "cli": {"devnet", "client", "node", "consensus", "commerce", "p2p"},
    "devnet": {"client", "node", "consensus", "commerce", "p2p"},
    "client": {"commerce"},  # the SDK: beside the node, never imported by it
    "node": {"consensus", "commerce", "p2p"},
    "consensus": set(),
    "commerce": set(),
    "p2p": set(),
}

# Modules the pure cores never import (STYLE section 1). The simulator is the test
# harness of the consensus core and may use its own seeded `random.Random`.
IMPURE = {"asyncio", "socket", "time", "random", "os", "threading", "subprocess", "plyvel"}
IMPURE_EXEMPT = {ROOT / "consensus" / "sim.py"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_architecture_packages_exist() -> None:
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").is_file(), package


def test_architecture_imports_flow_one_way() -> None:
    violations: list[str] = []
    for package in PACKAGES:
        for path in _modules(package):
            for name in _imports(path):
                top = name.split(".")[0]
                if top in PACKAGES and top != package and top not in ALLOWED[package]:
                    violations.append(f"{path.relative_to(ROOT)} imports {name}")
    assert violations == []


def test_architecture_cores_stay_pure() -> None:
    violations: list[str] = []
    for package in ("consensus", "commerce"):
        for path in _modules(package):
            if path in IMPURE_EXEMPT:
                continue
            for name in _imports(path):
                if name.split(".")[0] in IMPURE:
                    violations.append(f"{path.relative_to(ROOT)} imports {name}")
    assert violations == []
