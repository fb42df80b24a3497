"""Benchmarks: the workload and the tools that measure Agora, apart from the product.

- `bench.workload`: the pre-signed mixed workload of every transaction type.
- `bench.state`: `agora bench state`, execution and finalize beside Ed25519 verification.
- `bench.path`: `python -m bench.path`, a transaction's path through two in-process nodes.
- `bench.devnet`, `bench.load`, `bench.figures`: `agora bench`, a real devnet under load.
- `bench.catchup`: `agora bench catch-up`, how fast a restarted validator catches up.
- `bench.p2p`: `python -m bench.p2p`, loopback figures of the P2P layer.
- `bench.progress`: how the long runs report progress (plain lines or `rich` bars).

Only `cli` and the tests import this package (`tests/test_architecture.py`).
"""
