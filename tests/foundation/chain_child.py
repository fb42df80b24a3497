"""Child process for the determinism and crash tests (run with `python -m`).

`python -m tests.foundation.chain_child roots N` executes N workload blocks in memory and
prints one JSON list of state roots (hex), one per height. `python -m
tests.foundation.chain_child finalize DIR` opens the LevelDB store in DIR, prints
`ready <height>` and finalizes workload blocks for ever (until it is killed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from node.store import Store
from tests.foundation import workload

TXS_PER_BLOCK = 6
MAX_CHILD_BLOCKS = 100_000


def roots(count: int) -> list[str]:
    """The state root after each of `count` blocks, executed in memory."""
    keys = workload.make_keys()
    genesis = workload.make_genesis(keys)
    state = workload.genesis_memory(genesis)
    head = workload.genesis_head(genesis)
    out = [head.state_root.hex()]
    for _ in range(count):
        txs = workload.block_txs(state, keys, head.height + 1, TXS_PER_BLOCK)
        block, result = workload.make_block(state, genesis, head, txs)
        state.apply(result.writes)
        head = workload.Head(block.height, block.hash, result.state_root)
        out.append(head.state_root.hex())
    return out


def finalize_forever(path: Path) -> None:
    """Finalize workload blocks into the store at `path` until killed."""
    keys = workload.make_keys()
    genesis = workload.make_genesis(keys)
    store = Store.open(path, genesis)
    print(f"ready {store.head.height}", flush=True)
    for _ in range(MAX_CHILD_BLOCKS):
        head = store.head
        txs = workload.block_txs(store.state, keys, head.height + 1, TXS_PER_BLOCK)
        block, result = workload.make_block(store.state, genesis,
                                            workload.Head(head.height, head.block_hash,
                                                          head.state_root), txs)
        # Runs of unsynced blocks closed by a synced one, as a node's catch-up writes them:
        # a kill must still leave a whole height either way.
        store.finalize_block(block, workload.certificate_for(block.height), result,
                             sync=block.height % 4 == 0)
    store.close()


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "roots":
        print(json.dumps(roots(int(argv[1]))))
        return 0
    if len(argv) == 2 and argv[0] == "finalize":
        finalize_forever(Path(argv[1]))
        return 0
    print("usage: chain_child roots N | finalize DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
