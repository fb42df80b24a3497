"""A bounded set of recently seen gossip message hashes (duplicate suppression).

Holds at most `capacity` hashes; adding one more evicts the oldest. A message whose hash
was evicted and then arrives again is delivered again, so `capacity` must exceed the number
of distinct messages that can be in flight across the network at once.
"""

from __future__ import annotations

from collections import OrderedDict


class SeenCache:
    def __init__(self, capacity: int) -> None:
        assert capacity > 0, capacity
        self.capacity = capacity
        self._entries: OrderedDict[bytes, None] = OrderedDict()

    def add(self, message_id: bytes) -> bool:
        """Record `message_id`; True when it was new, False when already present."""
        if message_id in self._entries:
            return False
        self._entries[message_id] = None
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        assert len(self._entries) <= self.capacity
        return True

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)
