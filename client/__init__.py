"""The Python SDK of Agora, for programs that build on a node's JSON-RPC.

- `client.rpc`: `RpcClient` (asyncio) and `SyncRpcClient` (blocking), typed reads, batches
  and WebSocket subscriptions; `RpcCallError` carries the node's reason.
- `client.wallet`: `Wallet` / `AsyncWallet`: one account's nonce, signing, submitting,
  waiting for finality, and the `Receipt` with its decoded `Event`s.
- `client.keyring`: named keys on disk, encrypted with a passphrase (or the unencrypted
  `test` backend of devnets), as `agora keys` keeps them.

Transactions are built from the bodies in `commerce` (`commerce.listings.ListingCreate`,
`commerce.orders.Purchase`, ...). `docs/SDK.md` walks through a program that lists, buys and
reviews. This package imports only `commerce` of the project: the node never imports it.
"""

from client.errors import ClientError, ClientErrorCode
from client.keyring import KeyInfo, Keyring
from client.rpc import (
    RpcCallError,
    RpcClient,
    RpcClientError,
    RpcTransportError,
    Subscription,
    SyncRpcClient,
)
from client.wallet import AsyncWallet, Event, Receipt, Wallet

__all__ = [
    "AsyncWallet",
    "ClientError",
    "ClientErrorCode",
    "Event",
    "KeyInfo",
    "Keyring",
    "Receipt",
    "RpcCallError",
    "RpcClient",
    "RpcClientError",
    "RpcTransportError",
    "Subscription",
    "SyncRpcClient",
    "Wallet",
]
