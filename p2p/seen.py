"""A bounded record of recently seen gossip message hashes (duplicate suppression).

Holds at most `capacity` hashes; adding one more evicts the oldest. A message whose hash
was evicted and then arrives again is delivered again, so `capacity` must exceed the number
of distinct messages that can be in flight across the network at once. Each hash also
keeps the peer it first came from and whether this node has sent it on: a message a
handler declined to relay may still be broadcast by this node later (once, never back to
that peer).
"""

from __future__ import annotations

from collections import OrderedDict


class SeenCache:
    def __init__(self, capacity: int) -> None:
        assert capacity > 0, capacity
        self.capacity = capacity
        # message id -> (origin peer key or None for our own, sent on by this node)
        self._entries: OrderedDict[bytes, tuple[bytes | None, bool]] = OrderedDict()

    def add(self, message_id: bytes, origin: bytes | None = None) -> bool:
        """Record `message_id` as received from `origin`; True when it was new."""
        if message_id in self._entries:
            return False
        self._put(message_id, (origin, False))
        return True

    def mark_relayed(self, message_id: bytes) -> tuple[bool, bytes | None]:
        """Record that this node sends `message_id` on: (True the first time, origin)."""
        origin, relayed = self._entries.get(message_id, (None, False))
        if relayed:
            return False, origin
        if message_id in self._entries:
            self._entries[message_id] = (origin, True)
        else:
            self._put(message_id, (None, True))
        return True, origin

    def _put(self, message_id: bytes, entry: tuple[bytes | None, bool]) -> None:
        self._entries[message_id] = entry
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        assert len(self._entries) <= self.capacity

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)
