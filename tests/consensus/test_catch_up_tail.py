"""A validator restarted after a while down reaches the moving head within a bound, on the
seeded virtual network of the simulator (5-40 ms per message, fetch answers 10-80 ms).

Method: consensus.sim with the devnet's timers (an empty block every second when idle, a
4 s view-change timeout, a 3 s fetch cool-down); one validator is down from 0.2 s to 8 s
while the others go on, idle or under continuous load; after its restart the run stops
when its height reaches the highest of the others. The time that takes is what
`agora bench catch-up` calls catch-up, minus the node's start-up. Before a replica
fetched as soon as f+1 validators signed above its height, the idle case took up to 20 s
(it trailed the head by a round until a fetch ended before a round did).
"""

from __future__ import annotations

import pytest

from consensus import sim
from consensus.replica import ReplicaConfig

DEVNET_CONFIG = ReplicaConfig(view_change_timeout_ms=4_000, view_change_timeout_max_ms=60_000,
                              retransmit_interval_ms=500, fetch_timeout_ms=3_000,
                              idle_block_interval_ms=1_000)
DOWN_MS, RESTART_MS = 200, 8_000
SEEDS = range(20)


class RestartTail(sim.Simulation):
    """The last validator down from DOWN_MS to RESTART_MS; stops once it is at the head."""

    def __init__(self, seed: int, n: int, *, load: bool) -> None:
        super().__init__(seed, n, scenario="normal", config=DEVNET_CONFIG)
        self.plan.work = load
        self.plan.crashes = [(DOWN_MS, n - 1, RESTART_MS, False)]
        self.plan.heal_ms = RESTART_MS  # `run` measures from here, until live_enough()

    def live_enough(self) -> bool:
        laggard = self.nodes[-1]
        return laggard.replica is not None and laggard.app.height >= max(
            node.app.height for node in self.nodes[:-1])


def _tails(n: int, load: bool) -> list[tuple[int, int, int]]:
    """(restart to head ms, blocks caught up, laggard's view changes) per seed."""
    out = []
    for seed in SEEDS:
        run = RestartTail(seed, n, load=load)
        result = run.run()
        assert result.violations == [], sim.replay_command(seed, n)
        laggard = run.nodes[-1]
        assert laggard.replica is not None
        out.append((result.recovered_ms, laggard.app.height,
                    laggard.replica.counters.get("view_change", 0)))
    return out


@pytest.mark.parametrize("n", [4, 7])
def test_restarted_validator_reaches_an_idle_head_within_two_idle_intervals(n: int) -> None:
    tails = _tails(n, load=False)
    # Up to one interval until a round shows it is behind, a fetch, and up to one more
    # interval when it lands on a height whose round is over (the next one it joins).
    bound_ms = 2 * 1_000 + 500  # plus message and fetch delays
    assert max(ms for ms, _, _ in tails) <= bound_ms, tails
    assert min(blocks for _, blocks, _ in tails) >= 7  # it was down for ~8 idle blocks
    assert sum(vcs for _, _, vcs in tails) == 0


@pytest.mark.parametrize("n", [4, 7])
def test_restarted_validator_reaches_a_head_under_load_within_a_second(n: int) -> None:
    tails = _tails(n, load=True)
    assert max(ms for ms, _, _ in tails) <= 1_000, tails
    assert min(blocks for _, blocks, _ in tails) >= 50
    assert sum(vcs for _, _, vcs in tails) == 0
