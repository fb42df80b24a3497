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


class ToyApp:
    """A deterministic application: block = [height, parent, state_root, payload]."""

    def __init__(self) -> None:
        self.chain: list[tuple[bytes, bytes, bytes]] = []  # (digest, block, certificate)
        self.roots: list[bytes] = [GENESIS_ROOT]

    @property
    def height(self) -> int:
        return len(self.chain)

    def last_digest(self) -> bytes:
        return self.chain[-1][0] if self.chain else b""

    def build(self, height: int, payload: bytes, corrupt: bool = False) -> bytes:
        assert height == self.height + 1
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
        return ""

    def finalize(self, height: int, digest: bytes, block: bytes, cert: bytes) -> str:
        reason = self.validate(height, block)
        if reason:
            return reason
        payload = unpack_canonical(block, 1 << 20)[3]
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
