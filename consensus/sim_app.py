"""The world of the consensus simulators: deterministic validator keys, a toy
application whose block is its header, and one simulated node.

Shared by `consensus.sim` (seeded faults) and `tests/consensus/harness.py` (scripted).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from nacl.signing import SigningKey

from consensus.messages import pack, unpack_canonical
from consensus.replica import Replica

CHAIN_ID = b"agora-sim"
GENESIS_ROOT = hashlib.sha256(b"genesis").digest()


def validator_keys(n: int) -> list[SigningKey]:
    return [SigningKey(hashlib.sha256(b"sim-validator-%d" % i).digest()) for i in range(n)]


RECONFIG_MARK = b"|cfg"


@dataclass(frozen=True)
class Reconfig:
    """Scripted governance of a simulated chain: the sets `script` names take effect one
    after the other, each `delay` heights after the block that carries its marker
    (`RECONFIG_MARK` + its index), as a passed proposal does on a node. A block may carry
    the next marker only when no change is pending; validation refuses any other."""

    initial: tuple[bytes, ...]
    script: tuple[tuple[bytes, ...], ...]
    delay: int = 2


class ToyApp:
    """A deterministic application: block = [height, parent, state_root, payload], with
    the validator sets by height that its `Reconfig` (if any) makes of its chain."""

    def __init__(self, reconfig: Reconfig | None = None) -> None:
        self.chain: list[tuple[bytes, bytes, bytes]] = []  # (digest, block, certificate)
        self.roots: list[bytes] = [GENESIS_ROOT]
        self.reconfig = reconfig
        # (from_height, keys) of every set in force so far, and script entries applied.
        self.sets: list[tuple[int, tuple[bytes, ...]]] = (
            [(1, reconfig.initial)] if reconfig is not None else [])
        self.applied = 0

    # --- validator sets (the host side of consensus.schedule) ---------------------------

    def set_at(self, height: int) -> tuple[bytes, ...]:
        assert self.sets and height <= self.known_through()
        return [keys for start, keys in self.sets if start <= height][-1]

    def known_through(self) -> int:
        """Heights whose set the chain has determined: a change carried by block h + 1
        takes effect at h + 1 + delay at the earliest."""
        assert self.reconfig is not None
        return self.height + self.reconfig.delay

    def schedule_entries(self, from_height: int) -> list[tuple[int, tuple[bytes, ...]]]:
        """The entries from the one in force at `from_height` on (for a restart)."""
        first = max(start for start, _ in self.sets if start <= from_height)
        return [(start, keys) for start, keys in self.sets if start >= first]

    def changes_above(self, height: int) -> tuple[tuple[int, tuple[bytes, ...]], ...]:
        return tuple((start, keys) for start, keys in self.sets if start > height)

    def reconfig_due(self, height: int) -> bool:
        """May block `height` carry the next change (one is left, none pending)?"""
        r = self.reconfig
        return r is not None and self.applied < len(r.script) and self.sets[-1][0] <= height

    def _reconfig_of(self, height: int, payload: bytes) -> int | None | str:
        """The script index a payload carries (None: none); a str when it is invalid."""
        if RECONFIG_MARK not in payload:
            return None
        try:
            index = int(payload.rsplit(RECONFIG_MARK, 1)[1])
        except ValueError:
            return "reconfig"
        if not self.reconfig_due(height) or index != self.applied:
            return "reconfig"
        return index

    @property
    def height(self) -> int:
        return len(self.chain)

    def last_digest(self) -> bytes:
        return self.chain[-1][0] if self.chain else b""

    def build(self, height: int, payload: bytes, corrupt: bool = False,
              reconfig: bool = False) -> bytes:
        assert height == self.height + 1
        if reconfig and self.reconfig_due(height):
            payload += RECONFIG_MARK + b"%d" % self.applied
        root = hashlib.sha256(self.roots[-1] + payload).digest()
        if corrupt:
            root = hashlib.sha256(b"wrong" + root).digest()
        return pack([height, self.last_digest(), root, payload])

    def validate(self, height: int, block: bytes) -> str:
        """Return "" when valid, else the reason."""
        try:
            obj = unpack_canonical(block, 1 << 20)
            b_height, parent, root, payload = obj
        except Exception:
            return "undecodable"
        if b_height != height or height != self.height + 1:
            return "height"
        if parent != self.last_digest():
            return "parent"
        if root != hashlib.sha256(self.roots[-1] + payload).digest():
            return "state_root"
        if isinstance(self._reconfig_of(height, payload), str):
            return "reconfig"
        return ""

    def finalize(self, height: int, digest: bytes, block: bytes, cert: bytes) -> str:
        reason = self.validate(height, block)
        if reason:
            return reason
        payload = unpack_canonical(block, 1 << 20)[3]
        index = self._reconfig_of(height, payload)
        if isinstance(index, int):
            assert self.reconfig is not None
            self.sets.append((height + self.reconfig.delay, self.reconfig.script[index]))
            self.applied += 1
        self.roots.append(hashlib.sha256(self.roots[-1] + payload).digest())
        self.chain.append((digest, block, cert))
        return ""


@dataclass
class SimNode:
    index: int
    key: SigningKey
    app: ToyApp = field(default_factory=ToyApp)
    replica: Replica | None = None
    records: list[bytes] = field(default_factory=list)
    timers: dict[str, int] = field(default_factory=dict)
    incarnation: int = 0
    byzantine: str | None = None
    crash_armed: bool = False
    amnesia: bool = False
    replay: list[bytes] = field(default_factory=list)
