"""The world of the whole-node simulator: its constants, deterministic keys and genesis,
the tampering a Byzantine node does with genuine material, and the issue-19 defects
put back as digest functions (mutation tests)."""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Callable, Sequence
from typing import Any

import commerce  # noqa: F401  (registers the transaction types)
from commerce.address import address_of, to_text
from commerce.block import BlockHeader
from commerce.encoding import decode, encode
from commerce.errors import AgoraError
from commerce.genesis import Genesis, parse_genesis
from commerce.keys import Keypair
from consensus.replica import ReplicaConfig
from node import chain as chain_module

CHAIN_ID = "nodesim"
ACCOUNTS_COUNT = 8
ACCOUNT_BALANCE = "1000"
GENESIS_TIME_MS = 1_700_000_000_000  # the virtual clock's zero, for block timestamps

SIM_CONFIG = ReplicaConfig(
    view_change_timeout_ms=500, view_change_timeout_max_ms=8_000,
    retransmit_interval_ms=200, fetch_timeout_ms=1_000, idle_block_interval_ms=300,
)
DELAY_MS_MIN, DELAY_MS_MAX = 5, 40
DUPLICATE_PCT = 3
FETCH_TIMEOUT_MS = 5_000  # node/driver.py FETCH_TIMEOUT_S: a lost request answers empty then
RECHECK_INTERVAL_MS = 500  # node/service.py RECHECK_INTERVAL_S
REGOSSIP_INTERVAL_MS = 1_000  # node/service.py REGOSSIP_INTERVAL_S
CLIENT_TICK_MS = 120  # honest clients submit transfers this often
BYZANTINE_TICK_MS = 150
FLOOD_TXS_PER_TICK = 4
LIVENESS_BLOCKS = 2
LIVENESS_BOUND_MS = 60_000
MAX_EVENTS = 200_000
KIND_CONSENSUS = "consensus"
KIND_TXS = "txs"

BEHAVIOURS = ("pp_tamper", "vc_tamper", "decided_tamper", "sync_tamper", "sync_junk",
              "sync_oversize", "withhold", "flood_consensus", "flood_txs")
SCENARIOS = (
    "normal", "lossy", "partition", "crash_restart", "empty_datadir",
    "byz_preprepare", "byz_view_change", "byz_decided", "byz_sync", "byz_withhold",
    "byz_flood", "byz_mixed",
)
# Run only when named (outside the seed rotation, so no seed's outcome changed):
# reconfig: one validator leaves the set at a height and comes back at a later one, the
# sets determined only `RECONFIG_DELAY` heights ahead (as governance makes them).
NAMED_SCENARIOS = ("reconfig",)
RECONFIG_DELAY = 2


class ScheduledChain(chain_module.Chain):
    """A Chain whose validator sets follow a script by height (`sets`: from_height ->
    keys), each known only `RECONFIG_DELAY` heights ahead of the head: the node side
    (driver reports, proposer checks, certificates) runs as with sets voted on chain."""

    sets: dict[int, tuple[bytes, ...]]

    def validators_known_through(self) -> int:
        return self.height + RECONFIG_DELAY

    def validators_at(self, height: int) -> tuple[bytes, ...]:
        assert 1 <= height <= self.validators_known_through(), f"height {height}"
        return [keys for start, keys in sorted(self.sets.items()) if start <= height][-1]

    def validator_changes(self, after_height: int) -> list[tuple[int, tuple[bytes, ...]]]:
        through = self.validators_known_through()
        return [(h, keys) for h, keys in sorted(self.sets.items())
                if after_height < h <= through]


def validator_keys(n: int) -> list[Keypair]:
    """Deterministic validator keys."""
    return [Keypair.from_seed(hashlib.sha256(b"nodesim-validator-%d" % i).digest())
            for i in range(n)]


def account_keys(count: int = ACCOUNTS_COUNT) -> list[Keypair]:
    """Deterministic keys of the funded genesis accounts."""
    return [Keypair.from_seed(hashlib.sha256(b"nodesim-account-%d" % i).digest())
            for i in range(count)]


def make_genesis(validators: Sequence[Keypair], accounts: Sequence[Keypair]) -> Genesis:
    """A genesis with `validators` and `accounts` funded with ACCOUNT_BALANCE each."""
    return parse_genesis({
        "chain_id": CHAIN_ID,
        "token": {"symbol": "AGR"},
        "validators": [{"name": f"v{i}", "public_key": k.public_key.hex()}
                       for i, k in enumerate(validators)],
        "accounts": [{"address": to_text(address_of(k.public_key)),
                      "balance": ACCOUNT_BALANCE} for k in accounts],
    })


def _scratch_root() -> str | None:
    """Where node stores live: /dev/shm when it exists (fsync is free there)."""
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


# --- tampering: genuine headers, other bodies ------------------------------------------------


def tamper_body(raw: bytes, rng: random.Random, donors: Sequence[bytes]) -> bytes:
    """The same header with another body (decodable, so a header-only digest still
    matches; the body no longer matches the header's tx_root)."""
    value = decode(raw)
    header, body = value[0], value[1]
    txs = list(body) if isinstance(body, list) else []
    mode = rng.randrange(6)
    if mode == 0 and txs:
        txs.pop(rng.randrange(len(txs)))
    elif mode == 1 and donors:
        txs.append(rng.choice(donors))  # a real signed transaction of another block
    elif mode == 2 and len(txs) > 1:
        txs.reverse()
    elif mode == 3:
        txs.append(rng.randbytes(rng.randint(1, 48)))  # bytes that are no transaction
    elif mode == 4:
        txs.append(rng.randint(0, 1 << 20))  # an item that is not bytes
    else:
        return encode([header, rng.randint(0, 9)])  # a body that is not a list
    out = encode([header, txs])
    if out == raw:
        out = encode([header, txs + [b"\x00"]])
    assert out != raw
    return out


def junk_block(rng: random.Random, raw: bytes | None = None) -> bytes:
    """Bytes that are not a block: random, or a real block with trailing bytes."""
    if raw is not None and rng.randrange(2):
        return raw + rng.randbytes(rng.randint(1, 8))
    return rng.randbytes(rng.randint(0, 96))


# --- the defects of issue 19, put back (mutation tests) -----------------------------------------


def header_only_digest(raw: bytes) -> bytes | None:
    """Defect 1 put back: the header's hash with the body unbound (None for bytes that
    are no block header, so that defect 2 stays fixed)."""
    try:
        value = decode(raw)
        if not isinstance(value, list) or len(value) != 2:
            return None
        return bytes(BlockHeader.from_array(value[0]).hash)
    except AgoraError:
        return None


def raising_digest(raw: bytes) -> bytes:
    """Defect 2 put back: the body-binding digest without `ConsensusDigest`'s guard, so a
    commerce error reaches the replica for bytes that are not a valid block (as the old
    `block_digest` did) instead of None."""
    return chain_module.block_digest(raw)


DigestFn = Callable[[bytes], Any]

MUTATIONS: dict[str, DigestFn] = {"header_digest": header_only_digest,
                                  "raising_digest": raising_digest}
