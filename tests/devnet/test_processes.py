"""devnet.processes and the refusals of `agora devnet` that need no running chain: PID files,
the liveness check by command line, the port probe, log tails, and a node that exits while
`up` waits for it (one line with its log tail, no process left behind).

Method: direct calls for the helpers; the real `agora` script on a 1-validator devnet whose
config is broken on purpose for the failure path.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from devnet.control import init
from devnet.layout import load_layout
from devnet.processes import (
    is_node_process,
    log_path,
    log_tail,
    pid_path,
    port_free,
    process_state,
    read_pid,
    spawn_node,
    stop_processes,
    tail_text,
    write_pid,
)
from tests.devnet.conftest import agora, free_base_port, one_error_line


def test_read_pid_of_missing_or_malformed_file_is_none(tmp_path: Path) -> None:
    assert read_pid(tmp_path) is None
    pid_path(tmp_path).write_text("not a pid\n")
    assert read_pid(tmp_path) is None
    state = process_state("v0", tmp_path)
    assert state.stale
    assert not state.alive
    write_pid(tmp_path, 1234)
    assert read_pid(tmp_path) == 1234


def test_a_live_process_that_is_not_the_node_is_not_trusted(tmp_path: Path) -> None:
    write_pid(tmp_path, os.getpid())
    assert not is_node_process(os.getpid(), tmp_path)
    state = process_state("v0", tmp_path)
    assert state.stale
    # Stopping a stale entry signals nothing and removes the file.
    outcome = stop_processes([state])[0]
    assert outcome.outcome == "not_running"
    assert outcome.stale
    assert not pid_path(tmp_path).exists()


def test_port_free_is_false_while_something_listens() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert not port_free(port)
    assert port_free(port)


def test_log_tail_and_its_one_line_rendering(tmp_path: Path) -> None:
    assert log_tail(tmp_path) == []
    log_path(tmp_path).write_text("".join(f"line {i}\n" for i in range(10)))
    assert log_tail(tmp_path, 3) == ["line 7", "line 8", "line 9"]
    text = tail_text("v0", tmp_path)
    assert "\n" not in text
    assert text.startswith("last log lines of v0: line 5 | line 6")


def test_up_reports_a_node_that_exits_with_its_log_and_leaves_nothing(tmp_path: Path) -> None:
    root = tmp_path / "net"
    layout = init(root, validators=1, base_port=free_base_port(1))
    config = Path(layout.nodes[0].home) / "config" / "config.toml"
    config.write_text(config.read_text() + "\n[bogus]\nkey = 1\n")
    result = agora("devnet", "up", "--detach", "--home", str(root), code=1)
    line = one_error_line(result)
    assert line.startswith("error: node_exited: v0 (pid ")
    assert "last log lines of v0:" in line
    assert "bad_config" in line
    assert not pid_path(Path(layout.nodes[0].home)).exists()
    assert not process_state("v0", Path(layout.nodes[0].home)).alive
    assert load_layout(root).chain_id == layout.chain_id


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_node_just_spawned_is_its_home_node_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wrapped: bool) -> None:
    """Checked right after `spawn_node` returns (the kernel may not have published the new
    command line yet), our child is the node of its home and of no other home - also when
    its command runs behind a wrapper (as `ip netns exec` in the partition tests), and
    after the command-line builder is restored, so stopping it finds it."""
    from devnet import processes
    from node.home import init_home

    init_home(tmp_path / "home")
    plain = processes.node_command
    if wrapped:
        monkeypatch.setattr(processes, "node_command", lambda home: ["env", *plain(home)])
    pid = spawn_node("v0", tmp_path / "home")
    monkeypatch.undo()
    try:
        assert is_node_process(pid, tmp_path / "home")
        assert not is_node_process(pid, tmp_path)
    finally:
        outcome = stop_processes([process_state("v0", tmp_path / "home")])[0]
    assert outcome.outcome in ("stopped", "killed")
    assert not is_node_process(pid, tmp_path / "home")


def test_a_node_leads_its_own_process_group_in_the_launchers_session(tmp_path: Path) -> None:
    """A terminal's Ctrl-C (sent to the foreground process group) does not reach the node,
    and the node shares the launcher's session, so Linux's per-session CPU grouping
    (autogroup) leaves the nodes' thread priorities comparable across validators."""
    from node.home import init_home

    init_home(tmp_path / "home")
    pid = spawn_node("v0", tmp_path / "home")
    try:
        assert os.getpgid(pid) == pid != os.getpgid(0)
        assert os.getsid(pid) == os.getsid(0)
    finally:
        outcome = stop_processes([process_state("v0", tmp_path / "home")])[0]
    assert outcome.outcome in ("stopped", "killed")
