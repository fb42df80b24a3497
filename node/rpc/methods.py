"""The node's JSON-RPC methods: each decodes its params, calls one node API, encodes.

`build_registry(node)` registers every method of `docs/RPC.md` on a new Registry: the
`node_*` methods here, `chain_*` and `tx_*` from `node.rpc.chain_methods`, `state_*` from
`node.rpc.state_methods`, `media_*` from `node.rpc.media_methods`. `node` is anything that
implements `NodeAPI`.
"""

from __future__ import annotations

from typing import Any

from commerce.errors import AgoraError
from node.rpc.chain_methods import ChainMethods
from node.rpc.governance_methods import register_governance_methods
from node.rpc.jsonrpc import JsonText, NoParams, Registry, encode_json
from node.rpc.media_methods import register_media_methods
from node.rpc.node_api import NodeAPI
from node.rpc.params import (
    MAX_WAIT_MS,
    BlockHashParams,
    BlockParams,
    HeightParams,
    SimulateParams,
    SubmitBatchParams,
    SubmitParams,
    TxIdParams,
)
from node.rpc.profile_methods import register_profile_methods
from node.rpc.state_methods import register_state_methods
from node.rpc.team_methods import TEAM_READS

VERSION = "0.1.0"
"""The node's version, as `node_status` and `rpc.discover` report it."""

SUBMIT_CALL_TIMEOUT_S = 125.0  # `tx_submit`'s call timeout: its longest wait ends first
assert SUBMIT_CALL_TIMEOUT_S * 1000 > MAX_WAIT_MS


def build_registry(node: NodeAPI) -> Registry:
    """All RPC methods of `node` (a started node: its chain exists)."""
    chain = node.chain
    assert chain is not None, "the RPC is built for a started node"
    registry = Registry()
    api = ChainMethods(chain, node.tracker, node.admit)
    chain.finalized_listeners.append(api.remember_block)

    async def node_status(params: NoParams) -> dict[str, Any]:
        """This node's identity, chain head, consensus view, peers and mempool."""
        return node_status_of(node)

    async def node_peers(params: NoParams) -> list[dict[str, Any]]:
        """The connected peers with their traffic counters."""
        return [
            {"id": row.peer_id.hex(), "address": f"{row.host}:{row.port}",
             "direction": row.direction, "since_ms": int(row.since * 1000),
             "bytes_in": row.bytes_in, "bytes_out": row.bytes_out,
             "messages_in": row.messages_in, "messages_out": row.messages_out}
            for row in node.peers()
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
    add("tx_submit", api.submit, params=SubmitParams,
        summary="Submit a signed transaction; optionally wait for finality",
        timeout_s=SUBMIT_CALL_TIMEOUT_S)
    add("tx_submitBatch", tx_submit_batch, params=SubmitBatchParams,
        summary="Submit many signed transactions at once")
    add("tx_simulate", api.simulate, params=SimulateParams,
        summary="Dry-run a signed transaction against the latest state")
    register_governance_methods(registry, chain, node.page_items_max)
    register_state_methods(registry, chain, node.page_items_max, extra=TEAM_READS)
    register_profile_methods(registry, chain, node.page_items_max)
    register_media_methods(registry, chain, node.blob_store, node.page_items_max)
    return registry


def node_status_of(node: NodeAPI) -> dict[str, Any]:
    """The `node_status` result."""
    assert node.chain is not None, "a started node"
    chain = node.chain
    head, mempool, genesis = chain.store.head, chain.mempool, chain.genesis
    report = node.report()
    keys = chain.validators_at(head.height + 1)
    return {
        "chain_id": genesis.chain_id,
        "token_symbol": genesis.token.symbol,
        "genesis_hash": genesis.hash.hex(),
        "moniker": report.moniker,
        "node_id": report.node_id.hex(),
        "validator": report.validator,
        "version": VERSION,
        "height": head.height,
        "latest_block_hash": head.block_hash.hex(),
        "state_root": head.state_root.hex(),
        "view": report.view,
        "primary": keys[report.view % len(keys)].hex(),
        "view_changes": report.view_changes,
        "catching_up": report.catching_up,
        "peers": report.peers_count,
        "mempool_txs": len(mempool),
        "mempool_bytes": mempool.size_bytes,
        "mempool_evicted": dict(sorted(mempool.evicted_count.items())),
        "rpc_port": report.rpc_port,
        "p2p_port": report.p2p_port,
    }
