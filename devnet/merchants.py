"""Make the devnet's demo merchants approved merchants, as a real consortium would.

Each demo account with role `merchant` sends `merchant_register`; then more than two thirds
of the validators (their keys are in the devnet's test keyring as v0..vN) send
`merchant_vote approve` for each. Everything goes through the SDK's wallet (JSON-RPC
`tx_submit` waiting for finality), so it is checked exactly as a client's transactions are.
"""

from __future__ import annotations

import asyncio

from client.keyring import Keyring
from client.rpc import RpcClient, RpcClientError
from client.wallet import AsyncWallet, Receipt
from commerce.address import from_text
from commerce.merchants import MerchantRegister, MerchantVote
from commerce.tx import TxBody
from devnet.errors import DevnetError, DevnetErrorCode
from devnet.layout import Layout

SUBMIT_TIMEOUT_MS = 20_000
MERCHANT_ROLE = "merchant"


def approvals_needed(validators_count: int) -> int:
    """The fewest yes votes that are more than two thirds of `validators_count`."""
    assert validators_count >= 1, "a chain has validators"
    needed = 2 * validators_count // 3 + 1
    assert 3 * needed > 2 * validators_count, "more than two thirds"
    return needed


def approve_demo_merchants(layout: Layout) -> list[str]:
    """Register every demo merchant and have the first validators approve it; the names of
    the approved merchants. Call on a running devnet that was just created (a merchant that
    is registered already is refused: already_registered).

    Raises DevnetError(not_ready) naming the step and the node's answer when a transaction is
    refused or not finalized within SUBMIT_TIMEOUT_MS.
    """
    return asyncio.run(_approve(layout))


async def _approve(layout: Layout) -> list[str]:
    keyring = Keyring(layout.keyring, "test")
    merchants = [a for a in layout.accounts if a["role"] == MERCHANT_ROLE]
    voters = [spec.name for spec in layout.nodes][: approvals_needed(len(layout.nodes))]
    async with RpcClient(layout.nodes[0].rpc_url, timeout_s=SUBMIT_TIMEOUT_MS / 1000 + 5) as rpc:

        def wallet(name: str) -> AsyncWallet:
            return AsyncWallet(rpc, keyring.keypair(name), chain_id=layout.chain_id)

        await asyncio.gather(*(
            _send(wallet(m["name"]),
                  [MerchantRegister(name=m["name"], profile=f"{m['name']} (devnet demo shop)")])
            for m in merchants
        ))
        votes: list[TxBody] = [
            MerchantVote(merchant=from_text(m["address"]), action="approve") for m in merchants
        ]
        results = await asyncio.gather(*(_send(wallet(voter), votes) for voter in voters))
    approved = {
        address
        for receipts in results for receipt in receipts
        for event in receipt.of_kind("merchant_status") for address in event.addresses
    }
    missing = [m["name"] for m in merchants if m["address"] not in approved]
    if missing:
        raise DevnetError(DevnetErrorCode.NOT_READY,
                          f"demo merchants not approved after {len(voters)} votes: {missing}")
    return [m["name"] for m in merchants]


async def _send(wallet: AsyncWallet, bodies: list[TxBody]) -> list[Receipt]:
    """Submit `bodies` from one wallet in nonce order, each waiting for finality."""
    try:
        return await wallet.submit_all(bodies, timeout_ms=SUBMIT_TIMEOUT_MS)
    except RpcClientError as exc:
        kind = type(bodies[0]).TYPE if bodies else "tx"
        raise DevnetError(DevnetErrorCode.NOT_READY,
                          f"{kind} from {wallet.address} failed: {exc}") from None
