"""Figures for the disk section of docs/OPERATIONS.md, measured on a real store (not a test).

Method: a `Store` with the genesis and setup of `agora bench state` (2,000 shoppers, four
validators); blocks are executed and finalized as the node does (`Store.finalize_block`),
each with a real commit certificate of 3 of 4 signatures: first empty blocks, then the
mixed workload of the benchmark in blocks of a given size. Each LevelDB is compacted
before and after each part; the growth is reported per block and per transaction as
key + value bytes and as bytes on disk (`du`, LevelDB's text LOG left out). Also the
size of the two consensus records a height wrote before the log was pruned.

    .venv/bin/python -m tests.node.measure_disk [EMPTY_BLOCKS TXS BLOCK_TXS]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.state import (
    BENCH_CHAIN_ID,
    BENCH_VALIDATORS,
    SHOPPERS_PER_MERCHANT,
    bench_genesis,
    bench_keys,
    run_setup,
)
from bench.workload import MIXES, MixedWorkload
from commerce.block import BlockHeader, encode_block, tx_root
from commerce.genesis import Genesis
from commerce.machine import ChainContext, execute_block
from commerce.tx import Transaction
from consensus.messages import (
    PHASE_COMMIT,
    PHASE_PREPARE,
    Certificate,
    Digest,
    Height,
    ValidatorIndex,
    View,
    cert_obj,
    encode_certificate,
    pack,
    sign_vote,
)
from consensus.replica import REC_COMMIT, REC_VOTE
from consensus.sim import validator_keys
from node.store import Store

SIGNERS = validator_keys(4)[:3]  # a quorum of four validators
SHOPPERS = 2_000


def _certificate(phase: int, height: int, digest: bytes) -> Certificate:
    sigs = tuple((ValidatorIndex(i), sign_vote(key, BENCH_CHAIN_ID.encode(), phase, 0, height,
                                               digest, i).signature)
                 for i, key in enumerate(SIGNERS))
    return Certificate(phase, View(0), Height(height), Digest(digest), sigs)


def _finalize(store: Store, genesis: Genesis, txs: tuple[Transaction, ...]) -> tuple[int, ...]:
    """Finalize one block; (block, certificate, PREPARE record, COMMIT record) bytes."""
    head = store.head
    height = head.height + 1
    result = execute_block(store.state, ChainContext.of(genesis, height), head.state_root,
                           txs, drop_invalid=False, check_signatures=False)
    header = BlockHeader(genesis.chain_id, height, head.block_hash, tx_root(txs),
                         result.state_root, genesis.validator_keys[0],
                         1_700_000_000_000 + height, result.next_validators_hash)
    block = encode_block(header, txs)
    certificate = encode_certificate(_certificate(PHASE_COMMIT, height, block.hash))
    store.finalize_block(block, certificate, result)
    raw = block.raw
    prepared = cert_obj(_certificate(PHASE_PREPARE, height, block.hash))
    return (len(raw), len(certificate),
            len(pack([REC_VOTE, PHASE_PREPARE, 0, height, block.hash, raw])),
            len(pack([REC_COMMIT, 0, height, block.hash, prepared, raw])))


def _du(path: Path, exclude: str) -> int:
    out = subprocess.check_output(["du", "-sb", f"--exclude={exclude}", "--exclude=LOG*",
                                   str(path)])
    return int(out.split()[0])


def _sizes(store: Store, path: Path) -> tuple[int, int, int, int]:
    """(chain key+value bytes, state key+value bytes, chain on disk, state on disk)."""
    store._db.compact_range()
    store._state_db.compact_range()
    chain = sum(len(k) + len(v) for k, v in store._db.iterator())
    state = sum(len(k) + len(v) for k, v in store._state_db.iterator())
    return chain, state, _du(path, "state"), _du(path / "state", "genesis")


def _report(label: str, before: tuple[int, ...], after: tuple[int, ...], per: int) -> None:
    grown = [(b - a) / per for a, b in zip(before, after, strict=True)]
    print(f"{label}: chain {grown[0]:.0f} B (on disk {grown[2]:.0f} B), "
          f"state {grown[1]:.0f} B (on disk {grown[3]:.0f} B)")


def main(empty: int, txs: int, block_txs: int) -> None:
    shoppers = bench_keys(SHOPPERS, 0)
    merchants = bench_keys(SHOPPERS // SHOPPERS_PER_MERCHANT, 1)
    validators = bench_keys(BENCH_VALIDATORS, 2)
    genesis = bench_genesis(validators, [*shoppers, *merchants])
    mix = MixedWorkload(chain_id=BENCH_CHAIN_ID, validators=validators, shoppers=shoppers,
                        merchants=merchants, timed_hint=txs, mix=MIXES["all"])
    with tempfile.TemporaryDirectory(prefix="agora-disk-") as tmp:
        path = Path(tmp) / "data"
        store = Store.open(path, genesis)
        try:
            run_setup([store], genesis, mix, block_txs)
            workload = mix.timed(txs)
            start = _sizes(store, path)
            sizes = [_finalize(store, genesis, ()) for _ in range(empty)]
            idle = _sizes(store, path)
            _report(f"per empty block ({empty})", start, idle, empty)
            block, cert, prepare, commit = sizes[-1]
            print(f"  block {block} B, certificate {cert} B; records before pruning: "
                  f"PREPARE {prepare} B (the primary's, with the block), COMMIT {commit} B")
            sizes = [_finalize(store, genesis, tuple(workload[i:i + block_txs]))
                     for i in range(0, txs, block_txs)]
            busy = _sizes(store, path)
            _report(f"per transaction ({txs} in blocks of {block_txs})", idle, busy, txs)
            print(f"  mean block {sum(s[0] for s in sizes) / len(sizes):.0f} B; COMMIT record "
                  f"per transaction before pruning {sum(s[3] for s in sizes) / txs:.0f} B")
        finally:
            store.close()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]] or [20_000, 30_000, 200]
    main(*args)
