"""A one-validator devnet in `<tmp>/.devnet`, and a runner for `agora` in `<tmp>` as a user's
shell would run it (no AGORA_* variables unless a test passes them, stdin not a terminal)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.devnet.conftest import free_base_port

AGORA = str(Path(sys.executable).parent / "agora")
COMMAND_TIMEOUT_S = 60.0


@dataclass
class Shell:
    """`agora` typed in the directory that holds a running devnet's `.devnet`."""

    cwd: Path
    devnet: Path
    node: str
    accounts: dict[str, str]
    home_v0: Path
    keyring: list[str] = field(default_factory=list)

    def run(self, *args: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run `agora ARGS` and return the finished process."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
        base["HOME"] = str(self.cwd / "user-home")  # no ~/.agora of the machine's user
        return subprocess.run([AGORA, *args], capture_output=True, text=True,
                              cwd=cwd or self.cwd, env={**base, **(env or {})},
                              timeout=COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL)

    def run_to(self, *args: str, stdout: int) -> subprocess.CompletedProcess[str]:
        """Run `agora ARGS` writing its stdout to the file descriptor `stdout`."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
        base["HOME"] = str(self.cwd / "user-home")
        return subprocess.run([AGORA, *args], stdout=stdout, stderr=subprocess.PIPE,
                              text=True, cwd=self.cwd, env=base, timeout=COMMAND_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)

    def ok(self, *args: str, **kwargs: Any) -> Any:
        """Run with --output json; exit 0 and the decoded JSON."""
        done = self.run(*args, "--output", "json", **kwargs)
        assert done.returncode == 0, f"agora {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout)

    def tx(self, kind: str, sender: str, *args: str) -> Any:
        """A finalized transaction from the devnet keyring."""
        result = self.ok("tx", kind, "--from", sender, *args, *self.keyring)
        assert result["status"] == "finalized", result
        return result


@contextlib.contextmanager
def running_devnet(cwd: Path, *, validators: int) -> Iterator[Shell]:
    """`agora devnet up --detach` in `cwd` (its `.devnet`) on a free port range; stopped
    (and its node processes killed) afterwards, also when the body fails."""
    (cwd / "user-home").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
    up = subprocess.run([AGORA, "devnet", "up", "--detach", "--validators", str(validators),
                         "--base-port", str(free_base_port(validators)), "--output", "json"],
                        capture_output=True, text=True, cwd=cwd, env=env, timeout=120)
    pids: list[int] = []
    try:
        assert up.returncode == 0, f"devnet up failed: {up.stderr}"
        started = json.loads(up.stdout)
        pids = [int(n["pid"]) for n in started["nodes"] if n.get("pid")]
        accounts = {a["name"]: a["address"] for a in started["accounts"]}
        yield Shell(cwd, cwd / ".devnet", started["nodes"][0]["rpc"], accounts,
                    Path(started["nodes"][0]["home"]),
                    ["--keyring-backend", "test", "--keyring-dir", ".devnet/keyring"])
    finally:
        subprocess.run([AGORA, "devnet", "down"], capture_output=True, cwd=cwd, env=env,
                       timeout=120)
        _kill_leftovers(pids)


def _kill_leftovers(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


@pytest.fixture(scope="package")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    """A running one-validator devnet at `<tmp>/.devnet`, stopped afterwards."""
    with running_devnet(tmp_path_factory.mktemp("first-hour"), validators=1) as started:
        yield started
