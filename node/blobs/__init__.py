"""The node's blob store for listing pictures: content-addressed by SHA-256, node-local,
replicated between nodes over P2P on demand, served over HTTP (`docs/RPC.md`, "Blobs")."""
