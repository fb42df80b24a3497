"""The consensus log in the chain's LevelDB: opaque records the consensus core asks to
persist, each under a `RecordKey` (its sequence number, then the height and view its
`Persist` named), pruned from the keys alone by `obsolete_records` (the contract in
`consensus.events.Persist`). `Store` reads and writes the records; `prune_consensus_log`
runs when the store opens.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

import plyvel

from consensus.errors import ConsensusLocalProtocolError
from consensus.replica import record_position
from node.errors import NodeError, NodeErrorCode
from node.leveldb import delete_prefix
from node.limits import CONSENSUS_LOG_BATCH_RECORDS

P_CONSENSUS = b"r"  # the consensus log: `RecordKey` -> the replica's record
P_CONSENSUS_1 = b"l"  # the log before issue 19, keyed by sequence number (moved on open)
RECORD_KEY_BYTES = 24
LOG_1_DELETE_BATCH_KEYS = 50_000  # keys per batch when the log of the old layout is deleted


@dataclass(frozen=True, slots=True, order=True)
class RecordKey:
    """A consensus record's key: its sequence number (the order it was written in), then
    the height and view its `Persist` named, so that the log is pruned from keys alone."""

    seq: int
    height: int
    view: int

    def encode(self) -> bytes:
        return struct.pack(">QQQ", self.seq, self.height, self.view)

    @staticmethod
    def decode(raw: bytes) -> RecordKey:
        """Raises NodeError(wrong_chain_data) unless `raw` is an encoded RecordKey."""
        if len(raw) != RECORD_KEY_BYTES:
            raise NodeError(NodeErrorCode.WRONG_CHAIN_DATA, f"consensus log: bad key {raw.hex()}")
        seq, height, view = struct.unpack(">QQQ", raw)
        return RecordKey(seq, height, view)


def obsolete_records(keys: Collection[RecordKey], finalized_height: int) -> list[RecordKey]:
    """The consensus records the replica no longer needs once `finalized_height` is final
    (the contract in `consensus.events.Persist`): those of a lower height, but one record
    of the highest view of all is kept (the newest) unless a record kept names it or it
    is view 0. So the log holds the records of the last two heights, plus one at most.

    Incremental: pruning the result again with more keys equals pruning all at once.
    """
    old = [key for key in keys if key.height < finalized_height]
    if not old:
        return []
    top = max(key.view for key in keys)
    if top == 0 or any(key.view == top for key in keys if key.height >= finalized_height):
        return sorted(old)
    keeper = max(key for key in old if key.view == top)
    return sorted(key for key in old if key != keeper)


def _without(keys: list[RecordKey], drop: list[RecordKey]) -> list[RecordKey]:
    gone = set(drop)
    return [key for key in keys if key not in gone]


def put_record(db: plyvel.DB, key: bytes, value: bytes) -> None:
    """Durably store one consensus record (synced before returning)."""
    db.put(P_CONSENSUS + key, value, sync=True)


def read_records(db: plyvel.DB) -> list[tuple[bytes, bytes]]:
    """All consensus records in key order."""
    cut = len(P_CONSENSUS)
    return [(k[cut:], v) for k, v in db.iterator(prefix=P_CONSENSUS)]


def delete_records(db: plyvel.DB, keys: Iterable[bytes], *, sync: bool = True) -> None:
    """Remove consensus records in one atomic batch (synced if `sync`)."""
    with db.write_batch(transaction=True, sync=sync) as batch:
        for key in keys:
            batch.delete(P_CONSENSUS + key)


def prune_consensus_log(db: plyvel.DB, final: int, sync: Callable[[], None]) -> int:
    """Drop the consensus records the replica no longer needs once height `final` is
    final (`obsolete_records`), after moving a log of the layout before issue 19 to this
    one; returns how many are left. Reads one record at a time and keys alone after that,
    so a log of a million records is pruned without holding it. A crash at any point
    loses no record still needed: the kept ones are written, synced, before any other
    is deleted, and running it again gives the same log. `sync()` makes every write to
    `db` so far durable.

    Raises NodeError(wrong_chain_data) on a record or key that is not one.
    """
    _move_consensus_log_1(db, final, sync)
    cut = len(P_CONSENSUS)
    keys = [RecordKey.decode(key[cut:])
            for key in db.iterator(prefix=P_CONSENSUS, include_value=False)]
    obsolete = obsolete_records(keys, final)
    if obsolete:
        delete_records(db, (key.encode() for key in obsolete))
    return len(keys) - len(obsolete)


def _move_consensus_log_1(db: plyvel.DB, final: int, sync: Callable[[], None]) -> None:
    """Rewrite the records of a log keyed by sequence number alone that are still
    needed under their `RecordKey` (seq kept: writing them twice is harmless), then
    delete that log."""
    kept: list[RecordKey] = []
    found = False
    bound = CONSENSUS_LOG_BATCH_RECORDS
    for key, value in db.iterator(prefix=P_CONSENSUS_1):
        found = True
        if len(key) != len(P_CONSENSUS_1) + 8:
            raise NodeError(NodeErrorCode.WRONG_CHAIN_DATA,
                            f"consensus log: bad key {key.hex()}")
        try:
            height, view = record_position(value)
        except ConsensusLocalProtocolError as exc:
            raise NodeError(NodeErrorCode.WRONG_CHAIN_DATA,
                            f"consensus log record {key[1:].hex()}: {exc}") from None
        kept.append(RecordKey(struct.unpack(">Q", key[1:])[0], height, view))
        if len(kept) >= bound:  # the rule is incremental: prune what is kept so far
            kept = _without(kept, obsolete_records(kept, final))
            bound = max(CONSENSUS_LOG_BATCH_RECORDS, 2 * len(kept))
    if not found:
        return
    kept = _without(kept, obsolete_records(kept, final))
    for start in range(0, len(kept), CONSENSUS_LOG_BATCH_RECORDS):
        with db.write_batch(transaction=True) as batch:
            for each in kept[start:start + CONSENSUS_LOG_BATCH_RECORDS]:
                value = db.get(P_CONSENSUS_1 + struct.pack(">Q", each.seq))
                assert value is not None, "read from the same log"
                batch.put(P_CONSENSUS + each.encode(), value)
    sync()  # the kept records are durable: delete
    delete_prefix(db, P_CONSENSUS_1, LOG_1_DELETE_BATCH_KEYS)
    sync()
