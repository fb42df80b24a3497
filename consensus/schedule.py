"""The validator set in force at each height, as far as the chain has determined it.

Everything a replica asks about membership goes through here: who may vote at a height,
the quorum and f there, who is primary of a view there. This module holds no replica
state and never guesses: a height above `known_through` has no set yet (None), and the
replica waits, drops or buffers rather than judge it with another height's set.

The host (the node, the simulator) builds the schedule from its application state and
extends it with `consensus.events.ValidatorsKnown` after each finalized block. The
application makes a passed change take effect `delay >= 2` heights after the block that
passed it, so once height h is final the sets of h + 1 and h + 2 are determined: the
replica deciding h + 1 can check the votes it buffers for h + 2 (see docs/CONSENSUS.md,
section 10).

The consensus timers (the view-change timeout base, the idle block interval) are chain
parameters too, changed by the same votes at the same kind of boundary: `TimerSchedule`
keeps them by height, reported by the host with the sets, so every validator waits the
same at a height and the replica reads no clock or config to know how long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from consensus import limits
from consensus.errors import ConsensusLocalProtocolError
from consensus.messages import ValidatorIndex, quorum_size

# A schedule that never changes: every height is known (a chain without governance).
KNOWN_FOREVER = limits.MAX_FIELD_INT


@dataclass(frozen=True, slots=True)
class ValidatorSet:
    """One set in force: keys in canonical order (index = position), n, f and quorum."""

    keys: tuple[bytes, ...]
    index_of: dict[bytes, ValidatorIndex] = field(compare=False, repr=False)

    @staticmethod
    def of(keys: Sequence[bytes]) -> ValidatorSet:
        """Raises ConsensusLocalProtocolError on a size out of 1..MAX_VALIDATORS, a key
        that is not PUBLIC_KEY_BYTES long, or a duplicate key."""
        keys = tuple(bytes(k) for k in keys)
        if not 1 <= len(keys) <= limits.MAX_VALIDATORS:
            raise ConsensusLocalProtocolError("bad_argument", f"{len(keys)} validators")
        if any(len(k) != limits.PUBLIC_KEY_BYTES for k in keys):
            raise ConsensusLocalProtocolError("bad_argument", "validator key length")
        index_of = {key: ValidatorIndex(i) for i, key in enumerate(keys)}
        if len(index_of) != len(keys):
            raise ConsensusLocalProtocolError("bad_argument", "duplicate validator key")
        return ValidatorSet(keys, index_of)

    @property
    def n(self) -> int:
        return len(self.keys)

    @property
    def f(self) -> int:
        """Faults tolerated: (n - 1) // 3."""
        return (len(self.keys) - 1) // 3

    @property
    def quorum(self) -> int:
        return quorum_size(len(self.keys))

    def primary(self, view: int) -> ValidatorIndex:
        """The primary of `view` at a height where this set is in force."""
        return ValidatorIndex(view % len(self.keys))


class ValidatorSchedule:
    """Sets by height: a sorted list of (from_height, set), each in force from its height
    to the next entry's, for heights up to `known_through`. At most
    MAX_SCHEDULE_ENTRIES entries are kept; `prune(height)` drops those wholly below."""

    def __init__(self, entries: Sequence[tuple[int, Sequence[bytes]]],
                 known_through: int = KNOWN_FOREVER) -> None:
        """Raises ConsensusLocalProtocolError unless `entries` is non-empty, strictly
        ascending in height (>= 1) and each set is valid, and `known_through` reaches
        the first entry."""
        if not entries:
            raise ConsensusLocalProtocolError("bad_argument", "empty validator schedule")
        self._entries: list[tuple[int, ValidatorSet]] = []
        self.known_through = 0
        for height, keys in entries:
            self._add(height, keys)
        if not self._entries[-1][0] <= known_through <= KNOWN_FOREVER:
            raise ConsensusLocalProtocolError("bad_argument", "known_through below the schedule")
        self.known_through = known_through

    @staticmethod
    def fixed(keys: Sequence[bytes]) -> ValidatorSchedule:
        """One set for every height (the chain never changes it)."""
        return ValidatorSchedule([(1, keys)], KNOWN_FOREVER)

    def _add(self, height: int, keys: Sequence[bytes]) -> None:
        last = self._entries[-1][0] if self._entries else 0
        if not last < height <= KNOWN_FOREVER:
            raise ConsensusLocalProtocolError("bad_argument", f"schedule height {height}")
        vset = ValidatorSet.of(keys)
        if self._entries and self._entries[-1][1] == vset:
            return  # the same set again is no change
        if len(self._entries) >= limits.MAX_SCHEDULE_ENTRIES:
            raise ConsensusLocalProtocolError("bad_argument", "too many schedule entries")
        self._entries.append((height, vset))

    def at(self, height: int) -> ValidatorSet | None:
        """The set in force at `height`, or None when the chain has not determined it
        (above `known_through`) or it was pruned (below the first entry)."""
        if height > self.known_through or height < self._entries[0][0]:
            return None
        for start, vset in reversed(self._entries):
            if start <= height:
                return vset
        raise AssertionError("unreachable: the first entry is at or below height")

    def changes_above(self, height: int) -> list[tuple[int, tuple[bytes, ...]]]:
        """The entries taking effect above `height`, for reports and tests."""
        return [(start, vset.keys) for start, vset in self._entries if start > height]

    def extend(self, through_height: int,
               changes: Sequence[tuple[int, Sequence[bytes]]]) -> bool:
        """Learn the sets up to `through_height`: `changes` are (from_height, keys) in
        ascending order. A change at or below the known height must be the one already
        known (hosts may repeat what they reported). Returns True when anything new was
        learned. Raises ConsensusLocalProtocolError on a change that contradicts a known
        height, a non-ascending list, or a change above `through_height`."""
        grew = False
        for height, keys in changes:
            if height > through_height:
                raise ConsensusLocalProtocolError("bad_argument", "change above through_height")
            if height <= self.known_through:
                if self.at(height) is not None and self.at(height) != ValidatorSet.of(keys):
                    raise ConsensusLocalProtocolError(
                        "bad_argument", f"schedule change at known height {height}")
                continue
            before = len(self._entries)
            self._add(height, keys)
            grew = grew or len(self._entries) != before
        if through_height > self.known_through:
            self.known_through = min(through_height, KNOWN_FOREVER)
            grew = True
        return grew

    def prune(self, height: int) -> None:
        """Forget the sets of heights below `height` (keep the one in force there)."""
        while len(self._entries) > 1 and self._entries[1][0] <= height:
            self._entries.pop(0)


@dataclass(frozen=True, slots=True)
class Timers:
    """The consensus timers in force at a height."""

    view_change_timeout_ms: int  # the first view-change timeout; doubles per view change
    idle_block_interval_ms: int | None  # propose an empty block this long after the last

    def __post_init__(self) -> None:
        idle = self.idle_block_interval_ms
        if self.view_change_timeout_ms < 1 or (idle is not None and idle < 1):
            raise ConsensusLocalProtocolError("bad_argument", f"timers {self}")


# (from_height, view_change_timeout_ms, idle_block_interval_ms or None) as hosts report them.
TimerChange = tuple[int, int, int | None]


class TimerSchedule:
    """Timers by height: a sorted list of (from_height, Timers), each in force from its
    height to the next entry's; a height below the first entry gets the first. The host
    reports them with the sets (`ValidatorsKnown.timers`), so the timers of every height
    whose set is known are known. At most MAX_SCHEDULE_ENTRIES entries are kept;
    `prune(height)` drops those wholly below."""

    def __init__(self, entries: Sequence[TimerChange]) -> None:
        """Raises ConsensusLocalProtocolError unless `entries` is non-empty, strictly
        ascending in height (>= 1) and each value positive."""
        if not entries:
            raise ConsensusLocalProtocolError("bad_argument", "empty timer schedule")
        self._entries: list[tuple[int, Timers]] = []
        self.extend(entries)

    def at(self, height: int) -> Timers:
        """The timers in force at `height`."""
        for start, timers in reversed(self._entries):
            if start <= height:
                return timers
        return self._entries[0][1]

    def extend(self, changes: Sequence[TimerChange]) -> bool:
        """Learn timer changes, ascending. A change at or below the last known one must
        agree with what is known there (hosts may repeat what they reported). Returns True
        when anything new was learned; raises ConsensusLocalProtocolError on a change that
        contradicts a known height, a bad value or too many entries."""
        grew = False
        for height, timeout_ms, idle_ms in changes:
            timers = Timers(timeout_ms, idle_ms)
            if not 1 <= height <= KNOWN_FOREVER:
                raise ConsensusLocalProtocolError("bad_argument", f"timer height {height}")
            if self._entries and height <= self._entries[-1][0]:
                # A pruned height (below the first entry) is not checked: it is past.
                if height >= self._entries[0][0] and self.at(height) != timers:
                    raise ConsensusLocalProtocolError(
                        "bad_argument", f"timer change at known height {height}")
                continue
            if self._entries and self._entries[-1][1] == timers:
                continue  # the same timers again are no change
            if len(self._entries) >= limits.MAX_SCHEDULE_ENTRIES:
                raise ConsensusLocalProtocolError("bad_argument", "too many timer entries")
            self._entries.append((height, timers))
            grew = True
        return grew

    def prune(self, height: int) -> None:
        """Forget the timers of heights below `height` (keep the ones in force there)."""
        while len(self._entries) > 1 and self._entries[1][0] <= height:
            self._entries.pop(0)
