"""The node's JSON-RPC methods: each decodes its params, calls one node API, encodes.

`build_registry(node)` registers every method of `docs/RPC.md` on a new Registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from commerce.errors import AgoraError
from node.api import (
    HEX_TX_MAX_CHARS,
    BlockHashParams,
    BlockParams,
    ChainAPI,
    HeightParams,
    NoParams,
    Params,
    SimulateParams,
    SubmitParams,
    TxIdParams,
)
from node.rpc import Registry
from node.rpc.jsonrpc import JsonText, encode_json

if TYPE_CHECKING:
    from node.service import Node

VERSION = "0.1.0"
"""The node's version, as `node_status` and `rpc.discover` report it."""

MAX_SUBMIT_BATCH = 1_000


class SubmitBatchParams(Params):
    """Several signed transactions as hex, admitted in order (signatures checked in
    parallel); each gets its own id or error."""

    txs: Annotated[list[Annotated[str, Field(min_length=2, max_length=HEX_TX_MAX_CHARS)]],
                   Field(min_length=1, max_length=MAX_SUBMIT_BATCH)]


def build_registry(node: Node) -> Registry:
    """All RPC methods of `node`."""
    assert node.chain is not None
    registry = Registry()
    api = ChainAPI(node.chain, node.tracker, node.admit)
    node.chain.finalized_listeners.append(api.remember_block)

    async def node_status(params: NoParams) -> dict[str, Any]:
        """This node's identity, chain head, consensus view, peers and mempool."""
        return node_status_of(node)

    async def node_peers(params: NoParams) -> list[dict[str, Any]]:
        """The connected peers with their traffic counters."""
        if node.p2p is None:
            return []
        return [
            {"id": row.peer_id.hex(), "address": f"{row.host}:{row.port}",
             "direction": row.direction, "since_ms": int(row.since * 1000),
             "bytes_in": row.bytes_in, "bytes_out": row.bytes_out,
             "messages_in": row.messages_in, "messages_out": row.messages_out}
            for row in node.p2p.peers()
        ]

    async def tx_submit_batch(params: SubmitBatchParams) -> JsonText:
        """Admit many transactions; per transaction its id or its refusal."""
        raws: list[bytes] = []
        for text in params.txs:
            try:
                raws.append(bytes.fromhex(text.removeprefix("0x")))
            except ValueError:
                raws.append(b"")  # not hex: refused as malformed by the decoder
        results = await node.admit_many(raws)
        # Rendered here, item by item, as `encode_json` would render the list of
        # {"ok": true, "id": ...} / {"ok": false, ...} objects: the generic encoder spent
        # ~1 us on each small dict.
        items: list[str] = []
        for result in results:
            if isinstance(result, AgoraError):
                items.append(encode_json({"ok": False, "reason": result.reason,
                                          "message": result.message,
                                          "code": result.code.rpc_code}))
            else:
                items.append(f'{{"ok":true,"id":"{result}"}}')
        return JsonText("[" + ",".join(items) + "]")

    add = registry.add
    add("node_status", node_status, summary="Node identity, head, view, peers, mempool")
    add("node_peers", node_peers, summary="Connected peers")
    add("chain_getBlock", api.get_block, params=BlockParams,
        summary="A block by height, or the latest")
    add("chain_getBlockByHash", api.get_block_by_hash, params=BlockHashParams,
        summary="A block by its hash")
    add("chain_getCertificate", api.get_certificate, params=HeightParams,
        summary="The commit certificate of a block")
    add("chain_getTransaction", api.get_transaction, params=TxIdParams,
        summary="A transaction with its block and receipt, or pending")
    add("chain_getValidators", api.get_validators, summary="The validator set")
    add("tx_submit", api.submit, params=SubmitParams,
        summary="Submit a signed transaction; optionally wait for finality",
        timeout_s=125.0)
    add("tx_submitBatch", tx_submit_batch, params=SubmitBatchParams,
        summary="Submit many signed transactions at once")
    add("tx_simulate", api.simulate, params=SimulateParams,
        summary="Dry-run a signed transaction against the latest state")
    from node.api_state import register_state_methods

    register_state_methods(registry, node)
    return registry


def node_status_of(node: Node) -> dict[str, Any]:
    """The `node_status` result."""
    assert node.store is not None and node.mempool is not None
    head = node.store.head
    replica = node.replica
    view = int(replica.view) if replica is not None else 0
    keys = node.genesis.validator_keys
    return {
        "chain_id": node.genesis.chain_id,
        "genesis_hash": node.genesis.hash.hex(),
        "moniker": node.config.node.moniker,
        "node_id": node.key.public_key.hex(),
        "validator": node.is_validator,
        "version": VERSION,
        "height": head.height,
        "latest_block_hash": head.block_hash.hex(),
        "state_root": head.state_root.hex(),
        "view": view,
        "primary": keys[view % len(keys)].hex(),
        "view_changes": node.status.view_changes,
        "catching_up": node.replica_catching_up(),
        "peers": len(node.p2p.connected_peers()) if node.p2p is not None else 0,
        "mempool_txs": len(node.mempool),
        "mempool_bytes": node.mempool.size_bytes,
        "mempool_evicted": dict(sorted(node.mempool.evicted_count.items())),
        "rpc_port": node.rpc_port,
        "p2p_port": node.p2p_port,
    }
