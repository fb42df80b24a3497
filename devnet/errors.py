"""Refusals of the devnet tools (`agora devnet ...`), in one table.

These errors stay on the command line: they are never sent over JSON-RPC. Their numbers sit
in the node's range (-32080..-32089, unused by node/errors.py and node/rpc/errors.py) only so
that every Agora code is distinct. Ports in use and unknown node names reuse the node's
`port_in_use` and `not_found`.
"""

from __future__ import annotations

from base.errors import AgoraError, CodeTable, check_table


class DevnetErrorCode(CodeTable):
    """Why a devnet command refused or failed."""

    ALREADY_RUNNING = ("already_running", -32080, "the devnet or node is already running")
    NODE_EXITED = ("node_exited", -32081, "a node process exited while it was being started")
    NOT_READY = ("not_ready", -32082, "the nodes did not answer or make blocks in time")
    NOT_A_DEVNET = ("not_a_devnet", -32083, "the directory holds no devnet.json")
    CONFIRMATION_REQUIRED = (
        "confirmation_required", -32084, "the command needs --yes when not run interactively"
    )
    LAYOUT_MISMATCH = (
        "layout_mismatch", -32085, "the options differ from the existing devnet's layout"
    )
    DIVERGED = ("diverged", -32086, "live nodes report different blocks at the same height")
    STOP_FAILED = ("stop_failed", -32087, "a node process survived SIGKILL")


check_table(DevnetErrorCode, (-32089, -32080))


class DevnetError(AgoraError):
    """A devnet command cannot do what was asked; the message says what to do instead."""
