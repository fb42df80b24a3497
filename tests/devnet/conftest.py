"""Helpers for the devnet tests: free loopback port ranges, running the real `agora` script,
and a cleanup that stops every node process a test left behind, even when it failed."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devnet.layout import LAYOUT_FILE, load_layout
from devnet.processes import port_free, process_state, stop_processes

AGORA = Path(sys.executable).parent / "agora"
# Below the kernel's ephemeral range (32768+ here), so outgoing connections do not take them.
PORT_LOW = 20_000
PORT_HIGH = 32_000
COMMAND_TIMEOUT_S = 60


def free_base_port(count: int) -> int:
    """A base port whose `2 * count` ports are all free on 127.0.0.1 now."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(PORT_LOW, PORT_HIGH - 2 * count, 2)
        if all(port_free(port) for port in range(base, base + 2 * count)):
            return base
    raise RuntimeError("no free port range found")


def agora(*args: str, code: int | None = 0, stdin: Any = subprocess.DEVNULL,
          timeout_s: float = COMMAND_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run the installed `agora` script; assert its exit code unless `code` is None."""
    result = subprocess.run([str(AGORA), *args], capture_output=True, text=True, stdin=stdin,
                            timeout=timeout_s, check=False)
    if code is not None:
        assert result.returncode == code, (args, result.returncode, result.stdout,
                                           result.stderr)
    return result


def agora_json(*args: str) -> Any:
    """Run `agora ... --output json` and decode its stdout."""
    return json.loads(agora(*args, "--output", "json").stdout)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single `error: ...` line on stderr of a failed command."""
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def stop_everything(root: Path) -> None:
    """Stop every node process of the devnet at `root` (by the PIDs in its homes)."""
    if not (root / LAYOUT_FILE).is_file():
        return
    layout = load_layout(root)
    stop_processes([process_state(n.name, Path(n.home)) for n in layout.nodes], grace_s=5.0)


@pytest.fixture
def devnet_root(tmp_path: Path) -> Iterator[Path]:
    """A devnet directory for one test; its nodes are stopped afterwards whatever happens."""
    root = tmp_path / "devnet"
    try:
        yield root
    finally:
        stop_everything(root)
