"""The import direction of DESIGN section 1 holds: cli -> devnet -> node -> {consensus, commerce,
p2p}, with the SDK `client` beside the node (cli and devnet import it; it imports commerce),
every package may import the shared base, a leaf, and no modules import each other in a cycle.

Method: parse every module of each package with `ast` and compare its imports with the
allowed edges; the pure cores also may not import I/O or clock modules. For cycles, every
import counts (also one under `TYPE_CHECKING` or inside a function): the graph of the
project's modules, tests included, must have no strongly connected component of more than
one module, nor a module that imports itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cli", "bench", "devnet", "client", "node", "consensus", "commerce", "p2p", "base")

# Which project packages each package may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "cli": {"bench", "devnet", "client", "node", "consensus", "commerce", "p2p", "base"},
    "bench": {"devnet", "client", "node", "consensus", "commerce", "p2p", "base"},
    "devnet": {"client", "node", "consensus", "commerce", "p2p", "base"},
    "client": {"commerce", "base"},  # the SDK: beside the node, never imported by it
    "node": {"consensus", "commerce", "p2p", "base"},
    "consensus": {"base"},
    "commerce": {"base"},
    "p2p": {"base"},
    "base": set(),
}

# Modules the pure cores never import (STYLE section 1). The simulator is the test
# harness of the consensus core and may use its own seeded `random.Random`.
IMPURE = {"asyncio", "socket", "time", "random", "os", "threading", "subprocess", "plyvel"}
IMPURE_EXEMPT = {ROOT / "consensus" / name for name in ("sim.py", "sim_byzantine.py")}


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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _import_graph(packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module name -> the project modules it imports, wherever the import statement is.

    ``from a.b import c`` is an edge to ``a.b.c`` when that is a module, else to ``a.b``;
    relative imports are resolved against the importing module's package.
    """
    paths = {_module_name(path): path for package in packages for path in _modules(package)}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:
                    child = f"{base}.{alias.name}" if base else alias.name
                    targets.add(child if child in paths else base)
        graph[name] = {target for target in targets if target in paths}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with a cycle (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return found


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


def test_architecture_only_cli_imports_bench() -> None:
    # The benchmarks measure the product and are no part of it: besides the tests, only
    # `agora bench` reaches them.
    assert [package for package in PACKAGES if "bench" in ALLOWED[package]] == ["cli"]


def test_architecture_cores_stay_pure() -> None:
    violations: list[str] = []
    for package in ("consensus", "commerce", "base"):
        for path in _modules(package):
            if path in IMPURE_EXEMPT:
                continue
            for name in _imports(path):
                if name.split(".")[0] in IMPURE:
                    violations.append(f"{path.relative_to(ROOT)} imports {name}")
    assert violations == []


def test_architecture_import_graph_has_no_cycles() -> None:
    graph = _import_graph((*PACKAGES, "tests"))
    assert "node.service" in graph and "node.rpc.methods" in graph["node.service"]
    assert _cycles(graph) == []


def test_architecture_cycle_finder_sees_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"], ["d"]]


def test_architecture_base_is_a_leaf_every_package_may_import() -> None:
    assert ALLOWED["base"] == set()
    assert all("base" in ALLOWED[package] for package in PACKAGES if package != "base")


def test_architecture_error_classes_named_per_package() -> None:
    # An exception class name says which package raises it: no two packages define one.
    defined: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in _modules(package):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                    defined.setdefault(node.name, set()).add(package)
    shared = {name: sorted(packages) for name, packages in defined.items() if len(packages) > 1}
    assert shared == {}
