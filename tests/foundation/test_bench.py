"""`agora bench state` smoke test: the command runs in-process and prints one JSON object.

Method: typer's CliRunner with a tiny workload; check the keys and that the figures are
consistent with each other (not their size, which depends on the machine).
"""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from cli.main import app

KEYS = {
    "txs", "mix", "accounts", "merchants", "listings", "setup_txs", "types", "block_txs",
    "blocks", "exec_seconds", "finalize_seconds",
    "exec_txs_per_s", "commit_txs_per_s", "verify_per_s", "commit_to_verify_ratio",
    "goal_ratio", "goal_met", "exec_cpu_seconds", "finalize_cpu_seconds", "verify_per_cpu_s",
    "commit_to_verify_ratio_cpu",
}


def _state_json(*options: str) -> dict[str, Any]:
    """`agora bench state <options> --output json`, which must succeed: its figures."""
    result = CliRunner().invoke(app, ["bench", "state", *options, "--output", "json"])
    assert result.exit_code == 0, result.output
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


def test_bench_state_json_output_has_every_figure() -> None:
    figures = _state_json("--txs", "40", "--accounts", "5", "--block-txs", "16")
    assert set(figures) == KEYS
    assert (figures["txs"], figures["accounts"], figures["blocks"]) == (40, 5, 3)
    assert sum(figures["types"].values()) == 40
    assert figures["setup_txs"] > 0
    assert figures["exec_txs_per_s"] >= figures["commit_txs_per_s"] > 0
    assert figures["verify_per_s"] > 0
    assert figures["goal_met"] == (figures["commit_to_verify_ratio"] >= figures["goal_ratio"])
    assert figures["verify_per_cpu_s"] > 0 and figures["commit_to_verify_ratio_cpu"] > 0
    assert figures["exec_cpu_seconds"] > 0 and figures["finalize_cpu_seconds"] > 0


def test_bench_state_text_output_names_the_rates() -> None:
    result = CliRunner().invoke(app, ["bench", "state", "--txs", "10", "--accounts", "4"])
    assert result.exit_code == 0, result.output
    assert "committed" in result.stdout
    assert "Ed25519" in result.stdout


def test_bench_state_zero_txs_is_refused_in_one_line() -> None:
    result = CliRunner().invoke(app, ["bench", "state", "--txs", "0"])
    assert result.exit_code == 1
    assert "--txs must be" in result.output


def test_bench_state_mixed_workload_uses_every_type() -> None:
    # 3,000 transactions draw every type of the mix; every one of them must execute
    # (blocks run with drop_invalid=False, so a refused transaction fails the run).
    types = _state_json("--txs", "3000", "--accounts", "200")["types"]
    # 20 types of round 1 (purchase_referral is a purchase), and since issue 23
    # team_open, team_join, coupon_purchase, flash_sale_set and campaign_create, and
    # listing_media_set; since issue 23's performance round follow, unfollow and
    # profile_set.
    assert len(types) == 29, sorted(types)


def test_bench_state_transfers_mix_runs_only_transfers() -> None:
    figures = _state_json("--txs", "50", "--accounts", "8", "--mix", "transfers")
    assert figures["mix"] == "transfers"
    assert figures["types"] == {"transfer": 50}


def test_bench_state_unknown_mix_is_refused_in_one_line() -> None:
    result = CliRunner().invoke(app, ["bench", "state", "--mix", "lottery"])
    assert result.exit_code == 1
    assert "--mix must be one of" in result.output
