"""What the RPC needs of a node: the `NodeAPI` protocol, which `node.service.Node` implements.

The RPC methods are built against this protocol, never against the service, so the service
imports the RPC and not the other way round. Reads go through `chain` (its store for blocks
and state, its mempool for pending transactions); writes are `admit` and `admit_many`;
what `node_status` and `node_peers` say of the node itself comes from `report()` and
`peers()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from commerce.errors import AgoraError
from commerce.tx import Transaction
from node.blobs.store import BlobStore
from node.chain import Chain
from node.rpc.tracker import TxTracker
from p2p.service import PeerRow


@dataclass(frozen=True, slots=True)
class NodeReport:
    """What `node_status` says of the node beside its chain: identity, consensus, ports."""

    moniker: str
    node_id: bytes
    validator: bool
    view: int
    view_changes: int
    catching_up: bool
    peers_count: int
    rpc_port: int
    p2p_port: int


class NodeAPI(Protocol):
    """A node as the RPC sees it. `chain` is None until the node is started."""

    @property
    def chain(self) -> Chain | None:
        """Blocks, state (`chain.store`), pending transactions (`chain.mempool`), genesis."""

    @property
    def tracker(self) -> TxTracker:
        """Where `tx_submit` with a wait parks until its transaction leaves the mempool."""

    @property
    def page_items_max(self) -> int:
        """The most items a `state_list*` page holds (config `rpc.max_page_size`)."""

    def blob_store(self) -> BlobStore | None:
        """The node's blob store (listing pictures), None before it is started."""

    def admit(self, tx: Transaction) -> None:
        """Admit a submitted transaction and gossip it; raises AgoraError."""

    async def admit_many(self, raws: list[bytes]) -> list[str | AgoraError]:
        """Admit a batch: per transaction its id hex or the AgoraError that refused it."""

    def report(self) -> NodeReport:
        """This node's identity, consensus view, peers and ports, now."""

    def peers(self) -> list[PeerRow]:
        """The connected peers with their traffic counters."""
