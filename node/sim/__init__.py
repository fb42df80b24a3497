"""Whole-node deterministic simulator: the real node layers under every replica.

The consensus simulator (`consensus/sim.py`) runs `Replica.step` over a toy application
whose body is its header, so it cannot see a defect in the layers it replaced (a block
body the consensus digest does not bind; bytes from a peer escaping `step`). This one
runs, under each of n replicas, the real `Chain` (propose, validate, finalize), the real
`Mempool`, a real `Store` (LevelDB in a temporary directory per node, under /dev/shm
when there is one), the commerce state machine, the block sync codec (`serve_request` on
the serving node, `decode_response` on the asking one) and a driver that runs the
replica's effects exactly as `node/driver.py` does (see `SimDriver`), on a virtual clock
and a virtual network. Nothing reads the wall clock and one `random.Random(seed)`
chooses everything, so a seed replays exactly.

Faults: loss, delay, reordering, duplication, partitions that heal, crash/restart
mid-step (the store is closed and reopened), restart with an empty data directory, and
one Byzantine validator (f = 1 at n = 4) that runs a real node underneath but lies with
genuine material: tampered bodies under genuine headers in PRE-PREPARE, NEW-VIEW,
VIEW-CHANGE (its own and honest ones it relays), DECIDED (a real certificate, sent to
nodes one height behind) and sync replies; junk after good blocks in a sync reply;
oversized replies; withheld bodies; floods of junk consensus messages, junk gossip and
unexecutable transactions. Honest clients submit signed transfers among funded genesis
accounts, which the nodes gossip.

Checkers (violations are listed, never raised): agreement (one block, same bytes, at
each height on every honest node; certificate verifies), no honest node halts (the
driver's fatal rule) or wedges (an exception out of `step` or an effect), the supply
invariant on every honest node after every block, and liveness: after the faults heal,
every honest node finalizes again within a bound of virtual time.

Run: python -m node.sim --seed N   (or --seeds A:B; a failure prints its replay command)
"""

from node.sim.cli import main, replay_command
from node.sim.simulation import RunResult, Simulation, run_seed
from node.sim.world import MUTATIONS, SCENARIOS

__all__ = ["MUTATIONS", "SCENARIOS", "RunResult", "Simulation", "main", "replay_command",
           "run_seed"]
