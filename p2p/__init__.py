"""Agora P2P: authenticated, encrypted gossip and messaging between allowed nodes.

p2p moves opaque typed bytes; it imports no other project package. Everything the node
needs is re-exported here.

Construction::

    svc = P2PService(
        identity=SigningKey(...),            # this node's Ed25519 identity (PyNaCl)
        chain_id="agora-devnet",            # peers on another chain are rejected
        allowed_keys=[vk_bytes, ...],       # 32-byte Ed25519 keys allowed to connect
        host="0.0.0.0", port=26656,         # port 0: any; read svc.port after start()
        persistent_peers=[PersistentPeer(key_or_None, "10.0.0.2", 26656)],
        limits=P2PLimits(...),              # optional per-instance overrides
        ban_store=JsonFileBanStore(path),   # optional; bans survive restarts
    )

Handlers (register before or after start; one handler per kind per registry; a kind is
a non-empty str of at most 32 UTF-8 bytes; peer ids are 32-byte keys, `PeerId`)::

    async def on_tx(peer: PeerId, payload: bytes) -> bool | None: ...   # gossip
    svc.register_gossip("tx", on_tx)          # return False: invalid, do not relay
    async def on_vote(peer: PeerId, payload: bytes) -> None: ...        # direct
    svc.register_direct("consensus", on_vote)
    async def on_blocks(peer: PeerId, payload: bytes) -> bytes: ...     # request
    svc.register_request("blocks_req", on_blocks)
    svc.on_peer_up(lambda peer: ...)          # sync callbacks, first connection up
    svc.on_peer_down(lambda peer: ...)        # last connection down

Calls::

    await svc.start(); svc.port              # bound port
    svc.broadcast("tx", payload) -> int      # gossip to all; not delivered locally
    svc.send(peer, "consensus", payload)     # direct, one peer; not relayed
    await svc.request(peer, "blocks_req", payload, timeout_s=5.0) -> bytes
    svc.peers() -> list[PeerRow]             # the peer table
    svc.connected_peers() / is_connected(peer)
    svc.set_allowed_keys(keys)               # disconnects peers no longer allowed
    svc.ban(peer, duration_ms=None) / unban(peer) / bans()
    svc.penalize(peer, points, detail) -> bool  # misbehaviour points; True: banned now
    svc.misbehaviour_points(peer) -> int
    svc.metrics() -> dict[str, int]          # closed.<reason>, rejected.<reason>, gossip.*
    svc.handshakes_in_progress()             # {"unnamed": n, "named": n} inbound slots held
    await svc.stop()                         # closes everything, cancels every task

Delivery: each gossip message, identified by sha256 of (kind, payload), reaches each
connected node's gossip handler at most once (bounded seen-cache) and crosses each
connection at most once per direction; a node relays it after its handler returns
(unless False, or the handler raised or timed out); a message it did not relay may still
be `broadcast` by it later, once, to every neighbour but the one it came from. Handlers
of one peer run one at a time, in arrival order, each bounded by `handler_timeout_ms`;
request handlers run concurrently (at most `max_inbound_requests_per_peer` per peer).
Errors: `P2PLocalProtocolError` for API misuse, `RequestError` for a failed `request()`;
each carries a `Reason` (see `p2p.errors`).
"""

from p2p.banlist import BanStore, JsonFileBanStore
from p2p.errors import P2PError, P2PLocalProtocolError, P2PRemotePeerError, Reason, RequestError
from p2p.limits import P2PLimits
from p2p.service import (
    DirectHandler,
    GossipHandler,
    P2PService,
    PeerCallback,
    PeerId,
    PeerRow,
    PersistentPeer,
    RequestHandler,
)

__all__ = [
    "BanStore",
    "DirectHandler",
    "GossipHandler",
    "JsonFileBanStore",
    "P2PLocalProtocolError",
    "P2PError",
    "P2PLimits",
    "P2PService",
    "PeerCallback",
    "PeerId",
    "PeerRow",
    "PersistentPeer",
    "Reason",
    "P2PRemotePeerError",
    "RequestError",
    "RequestHandler",
]
