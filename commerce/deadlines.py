"""Deadlines in state: ids due at a height, in a dense run of slots with a count.

The order timers, team windows and campaign ends all use this layout: `schedule` appends
an id to the run of its due height, `pop_due` takes the whole run of a height (sorted,
duplicates once) and deletes it. A height with nothing due reads one key and writes
nothing, so an empty block stays empty. A deadline is never removed early: the record it
names says whether it is still live (the caller skips an id whose record moved on).
"""

from __future__ import annotations

from collections.abc import Callable

from commerce.errors import ErrorCode, ValidationError
from commerce.schema import get_u64, read_u64, u64
from commerce.state import Overlay

SlotKey = Callable[[int, int], bytes]  # (due height, slot) -> key
CountKey = Callable[[int], bytes]  # due height -> key


def schedule(view: Overlay, slot_key: SlotKey, count_key: CountKey, due_height: int,
             ident: int, cap: int, what: str) -> None:
    """Append `ident` to the deadlines due at `due_height`; raises
    ValidationError(schedule_full) when `cap` are due there already (`what` names them)."""
    assert due_height > 0 and ident > 0
    key = count_key(due_height)
    count = get_u64(view, key)
    if count >= cap:
        raise ValidationError(ErrorCode.SCHEDULE_FULL,
                              f"{cap} {what} fall due at height {due_height} already")
    view.put(slot_key(due_height, count), u64(ident))
    view.put(key, u64(count + 1))


def pop_due(view: Overlay, slot_key: SlotKey, count_key: CountKey, height: int,
            cap: int) -> list[int]:
    """The ids due at `height` in ascending order, each once; their entries are deleted."""
    key = count_key(height)
    count = get_u64(view, key)
    assert count <= cap, "schedule keeps every height within its cap"
    idents: set[int] = set()
    for slot in range(count):
        entry = slot_key(height, slot)
        raw = view.get(entry)
        assert raw is not None, "deadline slots are dense"
        idents.add(read_u64(raw))
        view.delete(entry)
    if count:
        view.delete(key)
    return sorted(idents)
