"""A replica restored from a consensus log pruned by the node's rule
(`node.store.obsolete_records`) re-enters the highest view it entered, even one entered at
a height long final, and never signs a vote that conflicts with one it signed before.

Method: the scripted four-validator cluster of the consensus tests (`tests.consensus.harness`,
a toy application under each replica); one replica's Persist effects are keyed as the
driver keys them, pruned at its finalized height, and the replica is restarted from what
is left.
"""

from __future__ import annotations

from consensus.events import Broadcast, Effect, MessageReceived, Persist
from consensus.messages import (
    PHASE_PREPARE,
    PeerId,
    PrePrepare,
    ViewChange,
    Vote,
    decode_message,
    encode_message,
    sha256_digest,
    sign_vote,
)
from consensus.sim import CHAIN_ID
from node.consensus_records import RecordKey, obsolete_records
from tests.consensus.harness import Cluster

# Records a pruned log may hold here: two heights' PREPARE and COMMIT, one kept view.
MAX_PRUNED_RECORDS = 5


def _restart_from_pruned_log(cluster: Cluster, index: int) -> list[bytes]:
    """Crash replica `index` and start it again from its log as the node prunes it at its
    finalized height; returns the records it was given."""
    node = cluster.nodes[index]
    persisted = [effect for effect in node.effects if isinstance(effect, Persist)]
    assert [effect.record for effect in persisted] == node.records
    keys = [RecordKey(seq, effect.height, effect.view)
            for seq, effect in enumerate(persisted, start=1)]
    obsolete = set(obsolete_records(keys, node.app.height))
    kept = [effect.record for key, effect in zip(keys, persisted, strict=True)
            if key not in obsolete]
    cluster.crash(index)
    node.records = kept
    node.effects = []
    cluster.start(index)
    return kept


def _sent(effects: list[Effect]) -> list[object]:
    return [decode_message(effect.msg) for effect in effects if isinstance(effect, Broadcast)]


def test_replica_restored_from_pruned_log_reenters_its_highest_view_entered_long_ago() -> None:
    cluster = Cluster(4)
    cluster.work(3)
    cluster.stabilize()
    cluster.isolated.add(2)  # alone, replica 2 asks for view after view at height 4
    cluster.work(5)
    for _ in range(20):
        cluster.tick(1_000)
    highest = cluster.replica(2).view
    assert highest >= 2 and cluster.heights()[2] == 3
    cluster.isolated.discard(2)  # it catches up and follows the others back to view 0
    cluster.work(5)
    for _ in range(10):
        cluster.tick(1_000)
        cluster.stabilize()
    assert cluster.replica(2).view == 0 and cluster.heights()[2] >= 10
    full = len(cluster.nodes[2].records)

    kept = _restart_from_pruned_log(cluster, 2)

    assert len(kept) <= MAX_PRUNED_RECORDS < full
    replica = cluster.replica(2)
    assert replica.view == highest and not replica.active
    view_changes = [m for m in _sent(cluster.nodes[2].effects) if isinstance(m, ViewChange)]
    assert view_changes and view_changes[0].view == highest


def test_replica_restored_from_pruned_log_never_signs_a_conflicting_prepare() -> None:
    cluster = Cluster(4)
    cluster.work(6)
    cluster.stabilize()
    final = cluster.heights()[1]
    assert final >= 6
    cluster.work(1)
    cluster.deliver()  # replica 1 gets the PRE-PREPARE of the next height and prepares it
    signed = [m for m in _sent(cluster.nodes[1].effects)
              if isinstance(m, Vote) and m.phase == PHASE_PREPARE and m.height == final + 1]
    assert len(signed) == 1

    kept = _restart_from_pruned_log(cluster, 1)

    assert len(kept) <= MAX_PRUNED_RECORDS
    # The primary equivocates: another block for the same (view, height).
    other = cluster.nodes[1].app.build(final + 1, b"other")
    vote = sign_vote(cluster.keys[0], CHAIN_ID, PHASE_PREPARE, 0, final + 1,
                     sha256_digest(other), 0)
    cluster.step(1, MessageReceived(PeerId(cluster.validators[0]),
                                    encode_message(PrePrepare(vote, other))))
    cluster.stabilize()
    cluster.tick(200)
    assert cluster.replica(1).view == 0 and cluster.replica(1).active
    prepares = [m for m in _sent(cluster.nodes[1].effects)
                if isinstance(m, Vote) and m.phase == PHASE_PREPARE and m.height == final + 1]
    assert sha256_digest(other) not in {m.digest for m in prepares}
    assert not any(isinstance(effect, Persist) for effect in cluster.nodes[1].effects)
