"""The Byzantine replicas of `consensus.sim`: what a faulty node sends instead of, or
besides, what its honest replica asked for. Every choice comes from the simulation's
seeded `rng`, so a seed replays exactly.
"""

from __future__ import annotations

import hashlib
import random
from typing import Protocol

from consensus.messages import (
    KIND_VIEW_CHANGE,
    PHASE_COMMIT,
    PHASE_PREPARE,
    Certificate,
    Decided,
    Digest,
    Height,
    PrePrepare,
    ValidatorIndex,
    View,
    ViewChange,
    Vote,
    decode_message,
    encode_message,
    pack,
    sha256_digest,
    sign_vote,
    view_change_payload,
)
from consensus.sim_app import CHAIN_ID, SimNode


class ByzantineHost(Protocol):
    """What the Byzantine behaviours need of the simulation (`consensus.sim.Simulation`)."""

    n: int
    quorum_true: int
    rng: random.Random
    seq: int
    proposed: set[bytes]

    def send(self, src: int, dst: int, data: bytes) -> None: ...


def byzantine_out(sim: ByzantineHost, node: SimNode, data: bytes) -> list[bytes]:
    """What `node` sends instead of `data` (an equivocating primary adds a second block)."""
    kind = node.byzantine
    if kind is None or kind in ("invalid", "replay", "forge", "fake_vc", "flood"):
        return [data]
    if kind == "silent":
        return []
    assert kind == "equivocate"
    msg = decode_message(data)
    if isinstance(msg, PrePrepare) and node.replica is not None:
        vote = msg.vote
        block = node.app.build(vote.height, b"evil:%d" % sim.seq)
        sim.proposed.add(sha256_digest(block))
        other = sign_vote(node.key, CHAIN_ID, PHASE_PREPARE, vote.view, vote.height,
                          sha256_digest(block), node.index)
        return [data, encode_message(PrePrepare(other, block))]
    return [data]


def byzantine_tick(sim: ByzantineHost, node: SimNode) -> None:
    """Unprompted lies of `node`, sent every BYZANTINE_TICK_MS of virtual time."""
    replica = node.replica
    if replica is None:
        return
    h, v, i = replica.height, replica.view, node.index
    rnd = sim.rng
    out: list[tuple[int, bytes]] = []
    targets = [j for j in range(sim.n) if j != i]
    if node.byzantine == "equivocate":
        for j in targets:  # different prepares to different replicas
            digest = hashlib.sha256(b"%d" % j).digest()
            vote = sign_vote(node.key, CHAIN_ID, PHASE_PREPARE, v, h, digest, i)
            out.append((j, encode_message(vote)))
    elif node.byzantine == "replay":
        for _ in range(min(4, len(node.replay))):
            out.append((rnd.choice(targets), rnd.choice(node.replay)))
    elif node.byzantine == "forge":
        for j in targets:
            signer = ValidatorIndex(rnd.randrange(sim.n))
            phase = rnd.choice((PHASE_PREPARE, PHASE_COMMIT))
            vote = Vote(phase, v, h, Digest(hashlib.sha256(b"x%d" % j).digest()),
                        signer, rnd.randbytes(64))
            out.append((j, encode_message(vote)))
            sigs = tuple((ValidatorIndex(k), rnd.randbytes(64)) for k in range(sim.n))
            cert = Certificate(PHASE_COMMIT, v, Height(h + 5), vote.digest, sigs)
            out.append((j, encode_message(Decided(cert, None))))
    elif node.byzantine == "fake_vc":
        digest = Digest(hashlib.sha256(b"fake%d" % sim.seq).digest())
        sigs = tuple((ValidatorIndex(k), rnd.randbytes(64)) for k in range(sim.quorum_true))
        prepared = Certificate(PHASE_PREPARE, v, h, digest, sigs)
        block = b"fake-block"
        vc = ViewChange(View(v + 1), h, replica.state.last_certificate, prepared,
                        ValidatorIndex(i), b"", block)
        sig = node.key.sign(view_change_payload(CHAIN_ID, vc)).signature
        vc = ViewChange(vc.view, vc.height, vc.last_cert, prepared, vc.signer, sig,
                        sha256_digest(block) and block)
        for j in targets:
            out.append((j, encode_message(vc)))
    elif node.byzantine == "flood":
        for _ in range(20):
            j = rnd.choice(targets)
            choice = rnd.randrange(4)
            if choice == 0:
                out.append((j, rnd.randbytes(rnd.randint(0, 200))))
            elif choice == 1:
                vote = sign_vote(node.key, CHAIN_ID, PHASE_COMMIT, v + rnd.randint(0, 50),
                                 h + rnd.randint(0, 50), rnd.randbytes(32), i)
                out.append((j, encode_message(vote)))
            elif choice == 2:
                out.append((j, pack([KIND_VIEW_CHANGE, 10**12, 1, None, None, i])))
            else:
                out.append((j, b"\xdc\x00\x01\xc0"))  # non-canonical array header
    for j, data in out:
        sim.send(i, j, data)
