"""`agora bench --reconfigure`: its arguments and its phase figures, without a devnet.

Method: the real run takes minutes (a devnet under load, a validator voted in), so this
checks what can be checked in milliseconds: the refusals happen before any node starts,
the mix leaves the validators' nonces to governance, and the phase figures (committed
tx/s, blocks, the longest gap between finalized blocks) over hand-made block stamps.
"""

from __future__ import annotations

from typer.testing import CliRunner

from bench.reconfig import VALIDATOR_KINDS, phase_figures, reconfig_mix
from bench.workload import MIX_PER_MILLE
from cli.main import app


def test_reconfigure_with_sweep_or_a_short_window_is_refused_before_any_node() -> None:
    both = CliRunner().invoke(app, ["bench", "--reconfigure", "--sweep"])
    assert both.exit_code == 1 and "give one" in both.output
    short = CliRunner().invoke(app, ["bench", "--reconfigure", "--duration", "5"])
    assert short.exit_code == 1 and "--duration of at least 20" in short.output


def test_reconfigure_mix_has_no_validator_signed_transactions() -> None:
    mix = reconfig_mix()
    assert not set(VALIDATOR_KINDS) & set(mix)
    assert sum(mix.values()) == 1000
    assert mix["transfer"] == MIX_PER_MILLE["transfer"] + sum(
        MIX_PER_MILLE[kind] for kind in VALIDATOR_KINDS)


def test_phase_figures_count_the_blocks_stamped_in_the_phase_and_the_longest_gap() -> None:
    # (height, txs, stamp): a 3 s stall between the blocks of 12.0 and 15.0.
    blocks = [(1, 50, 9.5), (2, 40, 10.5), (3, 60, 12.0), (4, 90, 15.0), (5, 10, 15.5)]
    figures = phase_figures(blocks, 10.0, 16.0)
    assert figures == {"seconds": 6.0, "committed": 200, "committed_tps": 33.3,
                       "blocks": 4, "longest_block_gap_s": 3.0}
    # No block at all: the gap is the whole phase.
    assert phase_figures(blocks, 16.0, 20.0)["longest_block_gap_s"] == 4.0
