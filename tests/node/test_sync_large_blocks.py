"""A node far behind a chain of maximum-size blocks catches up through the real block server
and the real P2P request/response on loopback (issue 19, defect 4).

Method: a real store holds blocks of nearly `max_block_bytes` each (the commerce ceiling,
which genesis may choose) with certificates of the largest size; a second node asks for
`[next, head]` as the replica does, over two `P2PService`s with the production frame
limit, and executes every block it gets into its own store.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import commerce  # noqa: F401  (registers the transaction types)
from commerce.address import address_of, to_text
from commerce.block import BlockHeader, decode_block, encode_block, tx_root
from commerce.genesis import Genesis, parse_genesis
from commerce.keys import Keypair
from commerce.limits import MAX_BLOCK_BYTES, MAX_BLOCK_TXS
from commerce.machine import ChainContext, execute_block
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from consensus.limits import MAX_CERTIFICATE_BYTES
from node.store import Store
from node.sync import decode_response, encode_request, serve_request
from p2p import P2PService, PersistentPeer
from p2p.limits import MAX_PAYLOAD_BYTES
from tests.p2p.helpers import CHAIN_ID as P2P_CHAIN_ID
from tests.p2p.helpers import FAST_LIMITS, signing_key, wait_until

from .conftest import CHAIN_ID, make_keys

BLOCKS = 3
KIND_BLOCKS = "blocks"
MEMO = "\U0001f4e6" * 256  # the longest memo, 4 UTF-8 bytes a character: ~1.2 KB transfers


def _genesis(keys: list[Keypair]) -> Genesis:
    return parse_genesis({
        "chain_id": CHAIN_ID,
        "token": {"symbol": "AGR"},
        "params": {"max_block_bytes": MAX_BLOCK_BYTES, "max_block_txs": MAX_BLOCK_TXS},
        "validators": [{"name": "v0", "public_key": keys[0].public_key.hex()}],
        "accounts": [{"address": to_text(address_of(k.public_key)), "balance": "1000"}
                     for k in keys],
    })


def _build_chain(store: Store, genesis: Genesis, sender: Keypair, to: Keypair) -> None:
    """Finalize BLOCKS blocks of transfers, each within 8 KiB of the block size limit."""
    nonce = 0
    for height in range(1, BLOCKS + 1):
        txs = []
        size = 64  # the header and the block's arrays
        while len(txs) < MAX_BLOCK_TXS:
            tx = sign_tx(sender, CHAIN_ID, nonce, Transfer(to=address_of(to.public_key),
                                                           amount=1, memo=MEMO))
            if size + len(tx.raw) + 3 > genesis.params.max_block_bytes - 256:
                break
            txs.append(tx)
            size += len(tx.raw) + 3
            nonce += 1
        head = store.head
        result = execute_block(store.state, ChainContext.of(genesis, height), head.state_root,
                               txs, drop_invalid=False)
        header = BlockHeader(CHAIN_ID, height, head.block_hash, tx_root(txs), result.state_root,
                             genesis.validator_keys[0], 1_000 * height,
                             result.next_validators_hash)
        block = encode_block(header, tuple(txs))
        assert genesis.params.max_block_bytes - 8 * 1024 < len(block.raw)
        assert len(block.raw) <= genesis.params.max_block_bytes
        store.finalize_block(block, bytes([height]) * MAX_CERTIFICATE_BYTES, result)


async def _fetch_all(server_store: Store, client_store: Store, genesis: Genesis) -> int:
    """Catch `client_store` up from `server_store` over P2P; returns the requests made."""
    server = P2PService(identity=signing_key(0), chain_id=P2P_CHAIN_ID,
                        allowed_keys=[bytes(signing_key(1).verify_key)], limits=FAST_LIMITS)
    client = P2PService(identity=signing_key(1), chain_id=P2P_CHAIN_ID,
                        allowed_keys=[bytes(signing_key(0).verify_key)], limits=FAST_LIMITS)

    async def on_blocks(peer: bytes, payload: bytes) -> bytes:
        return serve_request(server_store, payload)

    server.register_request(KIND_BLOCKS, on_blocks)
    await server.start()
    client.add_persistent_peer(PersistentPeer(server.peer_id, "127.0.0.1", server.port))
    await client.start()
    requests = 0
    try:
        await wait_until(lambda: client.is_connected(server.peer_id))
        target = server_store.head.height
        while client_store.head.height < target and requests < 2 * BLOCKS:
            start = client_store.head.height + 1
            requests += 1
            reply = await client.request(server.peer_id, KIND_BLOCKS,
                                         encode_request(start, target), timeout_s=30)
            pairs = decode_response(reply)
            assert pairs, "a reply holds at least one block"
            for offset, (raw, cert) in enumerate(pairs):
                assert cert == server_store.get_certificate(start + offset)
                block = decode_block(raw, max_txs=genesis.params.max_block_txs,
                                     max_bytes=genesis.params.max_block_bytes)
                head = client_store.head
                result = execute_block(client_store.state,
                                       ChainContext.of(genesis, block.height),
                                       head.state_root, block.txs, drop_invalid=False)
                client_store.finalize_block(block, cert, result)
    finally:
        await client.stop()
        await server.stop()
    return requests


def test_sync_behind_maximum_size_blocks_gets_every_block(tmp_path: Path) -> None:
    keys = make_keys(3)
    genesis = _genesis(keys)
    server_store = Store.open(tmp_path / "server", genesis)
    client_store = Store.open(tmp_path / "client", genesis)
    try:
        _build_chain(server_store, genesis, keys[1], keys[2])
        # Two such blocks are more than one frame holds: the server must split its reply.
        two = 2 * (len(server_store.get_block_raw(1) or b"") + MAX_CERTIFICATE_BYTES)
        assert two > MAX_PAYLOAD_BYTES
        reply = serve_request(server_store, encode_request(1, BLOCKS))
        assert len(reply) <= MAX_PAYLOAD_BYTES
        assert [raw for raw, _ in decode_response(reply)] == [server_store.get_block_raw(1)]
        requests = asyncio.run(_fetch_all(server_store, client_store, genesis))
        assert client_store.head == server_store.head
        for height in range(1, BLOCKS + 1):
            assert client_store.get_block_raw(height) == server_store.get_block_raw(height)
        assert requests == BLOCKS
    finally:
        server_store.close()
        client_store.close()

