"""Limits are named constants in `limits.py` files, one value per name, and the code
compares sizes with them rather than with bare numbers (STYLE section 5).

Method: parse every `limits.py` with `ast` and check each module-level constant's name
(`MAX_<THING>`, `MIN_<THING>` or `<THING>_<UNIT>`); import them all and check that a name
defined in two packages has one value; then walk every product module for comparisons of
`len(...)` or of a size-named value against a numeric literal of 16 or more (a byte size:
a key, a digest, an address; or a bound). A smaller number is a field count or a format's
arity (`len(fields) == 3`, `len(text) >= 8`), not a limit.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("base", "commerce", "consensus", "p2p", "node", "devnet", "cli")

UNITS = (
    "BYTES", "CHARS", "MS", "S", "MIN", "BLOCKS", "TXS", "ITEMS", "ENTRIES", "COUNT",
    "RECORDS", "MESSAGES", "FRAMES", "POINTS", "PERCENT", "BPS", "KINDS", "CALLS",
    "HEIGHTS", "VIEWS", "KEYS", "PEERS",
)
LIMIT_NAME = re.compile(rf"^(MAX|MIN)_[A-Z0-9_]+$|^[A-Z0-9_]+_({'|'.join(UNITS)})$")
# Constants that live beside the limits but are not limits.
NOT_LIMITS = {"PROTOCOL_VERSION", "BPS_DENOMINATOR"}
# The smallest number a size may not be compared with unnamed (below it: field counts).
MIN_NAMED_SIZE = 16
SIZE_NAME = re.compile(r"(^|_)(bytes|size|length|count)$")


def _limits_files() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("limits.py"))


def _constants(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[tuple[str, int]] = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        for target in targets:
            if isinstance(target, ast.Name) and target.id.isupper():
                names.append((target.id, node.lineno))
    return names


def test_limits_named_max_thing_or_thing_unit() -> None:
    bad = [f"{path.relative_to(ROOT)}:{line} {name}"
           for path in _limits_files() for name, line in _constants(path)
           if name not in NOT_LIMITS and not LIMIT_NAME.match(name)]
    assert bad == []


def test_limits_one_value_per_name_across_packages() -> None:
    seen: dict[str, tuple[str, object]] = {}
    clashes: list[str] = []
    for path in _limits_files():
        module_name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        module = importlib.import_module(module_name)
        for name, _ in _constants(path):
            value = getattr(module, name)
            if name in seen and seen[name][1] != value:
                clashes.append(f"{name}: {seen[name][0]}={seen[name][1]!r}, "
                               f"{module_name}={value!r}")
            seen.setdefault(name, (module_name, value))
    assert clashes == []


def _is_size(node: ast.expr) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id == "len"
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return bool(SIZE_NAME.search(name.lower()))


def _literal(node: ast.expr) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _inline_limits(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        if not any(_is_size(operand) for operand in operands):
            continue
        for operand in operands:
            number = _literal(operand)
            if number is not None and abs(number) >= MIN_NAMED_SIZE:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} compares with {number}")
    return found


def test_limits_not_inline_in_comparisons() -> None:
    found = [hit for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
             for hit in _inline_limits(path)]
    assert found == []
