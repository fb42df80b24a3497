"""The benchmarks' progress display and `--keep-logs`: what a person at a terminal, a
script reading `--output json` and the lead reading node logs each get.

Method: call `bench.progress` directly with stderr captured (pytest's stderr is not a
terminal; a terminal is simulated by patching `isatty`), and `bench.devnet.keep_node_logs`
on homes made in a temporary directory; no devnet is started.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.devnet import keep_node_logs
from bench.progress import Progress, QuietProgress, RichProgress, open_progress


def test_progress_plain_prints_every_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress() as progress:
        progress("starting 4 validators")
        progress.advance("draining", 5, 10, "draining: 5/10 committed")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "starting 4 validators\ndraining: 5/10 committed\n"


def test_progress_quiet_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with QuietProgress() as progress:
        progress("signing 40 transactions")
        progress.advance("blocks", 1, 3, "block 1/3")
    assert capsys.readouterr() == ("", "")


def test_progress_json_output_stays_plain_even_on_a_terminal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert type(open_progress(text_output=False)) is Progress
    assert type(open_progress(text_output=False, lines=False)) is QuietProgress


def test_progress_text_output_off_a_terminal_stays_plain() -> None:
    assert not sys.stderr.isatty()
    assert type(open_progress(text_output=True)) is Progress
    assert type(open_progress(text_output=True, lines=False)) is QuietProgress


def test_progress_text_output_on_a_terminal_draws_rich_bars(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with open_progress(text_output=True) as progress:
        assert isinstance(progress, RichProgress)
        progress("starting [v0] in /tmp/x")  # brackets are not rich markup
        progress.advance("setup", 1, None, "setup stage 1: 12 txs")
        progress.advance("1000 tx/s", 2.0, 10.0, "[  2.0/10 s] committed 1800")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "starting [v0] in /tmp/x" in captured.err
    assert "1000 tx/s" in captured.err and "committed 1800" in captured.err


def test_keep_node_logs_copies_each_node_log_and_skips_a_missing_one(tmp_path: Path) -> None:
    homes = []
    for name in ("v0", "v1", "v2"):
        home = tmp_path / "devnet" / name
        home.mkdir(parents=True)
        if name != "v2":
            (home / "node.log").write_text(f"log of {name}\n")
        homes.append((name, home))
    kept_dir = tmp_path / "kept" / "run1"
    kept = keep_node_logs(homes, kept_dir)
    assert kept == [kept_dir / "v0.node.log", kept_dir / "v1.node.log"]
    assert (kept_dir / "v1.node.log").read_text() == "log of v1\n"
    assert sorted(p.name for p in kept_dir.iterdir()) == ["v0.node.log", "v1.node.log"]
