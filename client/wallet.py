"""One account on one node: read its pending nonce, sign, submit, wait for finality, and
read the receipt with its decoded events.

    with SyncRpcClient(url) as node:
        wallet = Wallet(node, keyring.keypair("acme"))
        receipt = wallet.submit(ListingCreate(...))      # waits until finalized
        listing_id = receipt.created_id

`AsyncWallet` is the same over an `RpcClient`, for asyncio programs; `Wallet` is its
blocking twin. The chain id is read once from `node_status` (or given); the nonce is read
once from `state_getAccount`'s `pending_nonce` (or given) and then tracked locally: each
transaction the node admits moves it on, so one wallet can send a run of transactions
without reading the account again. Two programs (or two wallets) sending from one account
at the same time must give nonces themselves.

Refusals raise `client.rpc.RpcCallError` with the node's reason (`bad_nonce`,
`insufficient_funds`, `timeout` when the transaction was not finalized within `timeout_ms`:
it stays pending, and its nonce is taken); an unreachable node raises `RpcTransportError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import commerce  # noqa: F401  (registers the transaction types)
from client.rpc import RpcCallError, RpcClient, SyncRpcClient, blocking
from commerce.address import address_of, to_text
from commerce.keys import Keypair
from commerce.tx import Transaction, TxBody, sign_tx

# The node's reason for a transaction admitted but not finalized in time: its nonce is used.
TIMEOUT_REASON = "timeout"
WAIT_FINALIZED = "finalized"  # the value of tx_submit's `wait` that answers once finalized
WAIT_ADMITTED = "none"


@dataclass(frozen=True)
class Event:
    """One event of a receipt: `kind` (docs/COMMERCE.md), the addresses it touches, its data
    in order and the same data by name (`fields`, with decimal siblings of amounts)."""

    kind: str
    addresses: tuple[str, ...]
    data: tuple[Any, ...]
    fields: dict[str, Any]

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Event:
        """The event as the node renders it in a receipt."""
        return cls(str(value.get("kind", "")), tuple(value.get("addresses") or ()),
                   tuple(value.get("data") or ()), dict(value.get("fields") or {}))


@dataclass(frozen=True)
class Receipt:
    """What the node answered to a submitted (or simulated) transaction.

    `status` is `finalized` (with `height` and `index`), `admitted` when the call did not
    wait, or `simulated` for a dry run; `result` is the answer exactly as the node sent it.
    """

    tx_id: str
    status: str
    height: int | None
    index: int | None
    events: tuple[Event, ...]
    result: dict[str, Any]

    @classmethod
    def from_result(cls, result: dict[str, Any], *, status: str | None = None) -> Receipt:
        """A receipt from a `tx_submit`, `tx_simulate` or `chain_getTransaction` result."""
        height, index = result.get("height"), result.get("index")
        tx_id = result["id"] if "id" in result else result["tx"]["id"]  # chain_getTransaction
        return cls(str(tx_id), status or str(result.get("status", "")),
                   None if height is None else int(height),
                   None if index is None else int(index),
                   tuple(Event.from_json(e) for e in result.get("events") or ()), result)

    @property
    def finalized(self) -> bool:
        """True once the transaction is in a finalized block."""
        return self.status == "finalized"

    @property
    def created_id(self) -> int | None:
        """The id of the record the transaction created (listing, order, share, poll, ...):
        its first event's first datum, or None when it created none."""
        if not self.events or not self.events[0].data:
            return None
        value = self.events[0].data[0]
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def of_kind(self, kind: str) -> list[Event]:
        """The events of one kind, in order."""
        return [event for event in self.events if event.kind == kind]


class AsyncWallet:
    """Sign and submit as one account over an `RpcClient` (see the module docstring)."""

    def __init__(self, rpc: RpcClient, keypair: Keypair, *, chain_id: str | None = None,
                 nonce: int | None = None) -> None:
        assert nonce is None or nonce >= 0, "a nonce is not negative"
        self.rpc = rpc
        self.keypair = keypair
        self.address = to_text(address_of(keypair.public_key))
        self._chain_id = chain_id
        self._nonce = nonce

    async def chain_id(self) -> str:
        """The node's chain id (read once)."""
        if self._chain_id is None:
            self._chain_id = str((await self.rpc.status())["chain_id"])
        return self._chain_id

    async def pending_nonce(self) -> int:
        """The account's next nonce as the node sees it, its mempool included."""
        return int((await self.rpc.account(self.address))["pending_nonce"])

    async def next_nonce(self) -> int:
        """The nonce the next transaction will carry (read from the node the first time)."""
        if self._nonce is None:
            self._nonce = await self.pending_nonce()
        return self._nonce

    async def sign(self, body: TxBody, *, nonce: int | None = None) -> Transaction:
        """`body` signed with the next nonce (or `nonce`); nothing is sent and the tracked
        nonce does not move until the node admits the transaction."""
        chain_id = await self.chain_id()
        chosen = await self.next_nonce() if nonce is None else nonce
        return sign_tx(self.keypair, chain_id, chosen, body)

    async def simulate(self, tx: TxBody | Transaction) -> Receipt:
        """Dry-run against the latest state (`tx_simulate`); RpcCallError if it would fail."""
        signed = tx if isinstance(tx, Transaction) else await self.sign(tx)
        result = await self.rpc.call("tx_simulate", tx=signed.raw.hex())
        return Receipt.from_result(result, status="simulated")

    async def submit(self, tx: TxBody | Transaction, *, wait: bool = True,
                     timeout_ms: int | None = None) -> Receipt:
        """Submit (`tx_submit`) and, with `wait`, answer once finalized (the node waits up
        to `timeout_ms`, its default 30 s, at most 120 s); otherwise once admitted."""
        signed = tx if isinstance(tx, Transaction) else await self.sign(tx)
        params: dict[str, Any] = {"tx": signed.raw.hex(),
                                  "wait": WAIT_FINALIZED if wait else WAIT_ADMITTED}
        if timeout_ms is not None:
            params["timeout_ms"] = timeout_ms
        try:
            result = await self.rpc.call("tx_submit", **params)
        except RpcCallError as exc:
            if exc.reason == TIMEOUT_REASON:
                self._admitted(signed)
            raise
        self._admitted(signed)
        return Receipt.from_result(result)

    async def submit_all(self, bodies: Iterable[TxBody], *,
                         timeout_ms: int | None = None) -> list[Receipt]:
        """Submit `bodies` in nonce order, each waiting for finality; the first refusal
        raises (the ones before it are final)."""
        return [await self.submit(body, timeout_ms=timeout_ms) for body in bodies]

    def _admitted(self, tx: Transaction) -> None:
        """The node holds `tx`: the next transaction takes the nonce after it."""
        if tx.sender == self.keypair.public_key and (self._nonce is None or
                                                     tx.nonce >= self._nonce):
            self._nonce = tx.nonce + 1


class Wallet:
    """The blocking twin of `AsyncWallet`, over a `SyncRpcClient`."""

    def __init__(self, rpc: SyncRpcClient, keypair: Keypair, *, chain_id: str | None = None,
                 nonce: int | None = None) -> None:
        self.rpc = rpc
        self.aio = AsyncWallet(rpc.aio, keypair, chain_id=chain_id, nonce=nonce)
        self.run = rpc.run

    @property
    def address(self) -> str:
        """The account's agora1... address."""
        return self.aio.address

    @property
    def keypair(self) -> Keypair:
        """The account's signing key (it opens what others sealed to the account)."""
        return self.aio.keypair

    chain_id = blocking(AsyncWallet.chain_id)
    pending_nonce = blocking(AsyncWallet.pending_nonce)
    next_nonce = blocking(AsyncWallet.next_nonce)
    sign = blocking(AsyncWallet.sign)
    simulate = blocking(AsyncWallet.simulate)
    submit = blocking(AsyncWallet.submit)
    submit_all = blocking(AsyncWallet.submit_all)
