"""The replica's consensus-log records: what `Persist` carries, and how restore reads it.

A record is a msgpack array written before the vote or message it protects exists
(see `consensus.events.Persist`); at restart the node passes the records back and the
replica rebuilds what it signed from them. The bytes are as untrusted as a peer's (a
disk can be corrupt), so every field is checked on the way in.
"""

from __future__ import annotations

from typing import Any

from consensus import limits
from consensus.errors import ConsensusLocalProtocolError, ConsensusRemotePeerError
from consensus.messages import (  # the field checkers decode records as they do messages
    PHASE_COMMIT,
    PHASE_PREPARE,
    Height,
    View,
    _block,
    _digest,
    _int,
    _list,
    cert_from_obj,
    unpack_canonical,
)

REC_VOTE = 1  # [1, phase, view, height, digest, block|None]: we signed this PREPARE;
#               block is set for our own PRE-PREPARE (re-sent after a restart)
REC_COMMIT = 2  # [2, view, height, digest, prepared_cert, block]: we signed this COMMIT
REC_VIEW_CHANGE = 3  # [3, view, height]: we sent VIEW-CHANGE for this view at height


def record_position(record: bytes) -> tuple[Height, View]:
    """The (height, view) its Persist named, read back from a record (for a log written
    before Persist carried them). Raises ConsensusLocalProtocolError("bad_record") if
    undecodable."""
    try:
        fields = record_fields(unpack_canonical(record, limits.MAX_RECORD_BYTES))
    except ConsensusRemotePeerError as exc:
        raise ConsensusLocalProtocolError("bad_record", f"undecodable record: {exc}") from exc
    if fields[0] == REC_VOTE:
        return Height(fields[3]), View(fields[2])
    return Height(fields[2]), View(fields[1])


def record_fields(obj: Any) -> list[Any]:
    """A decoded record's fields, each checked for its type and range (the prepared
    certificate of a REC_COMMIT decoded); raises ConsensusRemotePeerError naming the field."""
    kind = _int(_list(obj, "record")[0] if obj else None, "record.kind")
    if kind == REC_VOTE:
        _, phase, view, height, digest, block = _list(obj, "vote record", 6)
        if _int(phase, "record.phase") not in (PHASE_PREPARE, PHASE_COMMIT):
            raise ConsensusRemotePeerError("malformed_message", f"record phase {phase}")
        return [kind, phase, _int(view, "record.view"), _int(height, "record.height", 1),
                _digest(digest), None if block is None else _block(block)]
    if kind == REC_COMMIT:
        _, view, height, digest, prepared, block = _list(obj, "commit record", 6)
        cert = cert_from_obj(prepared)
        if cert is None:
            raise ConsensusRemotePeerError("malformed_message", "commit record without certificate")
        return [kind, _int(view, "record.view"), _int(height, "record.height", 1),
                _digest(digest), cert, _block(block)]
    if kind == REC_VIEW_CHANGE:
        _, view, height = _list(obj, "view-change record", 3)
        return [kind, _int(view, "record.view"), _int(height, "record.height", 1)]
    raise ConsensusRemotePeerError("malformed_message", f"record kind {kind}")
