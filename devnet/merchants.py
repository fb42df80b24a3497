"""Make the devnet's demo merchants approved merchants, as a real consortium would.

Each demo account with role `merchant` sends `merchant_register`; then more than two thirds
of the validators (their keys are in the devnet's test keyring as v0..vN) send
`merchant_vote approve` for each. Everything goes through JSON-RPC `tx_submit` with
`wait: commit`, so it is checked exactly as a client's transactions are.
"""

from __future__ import annotations

import asyncio
from typing import Any

import commerce  # noqa: F401  (registers the transaction types)
from commerce.address import address_of, from_text, to_text
from commerce.keys import Keypair
from commerce.merchants import MerchantRegister, MerchantVote
from commerce.tx import TxBody, sign_tx
from devnet.errors import DevnetError, DevnetErrorCode
from devnet.layout import Layout
from node.keyring import Keyring
from node.rpc.client import RpcClient, RpcClientError

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
        await asyncio.gather(*(
            _send(rpc, layout.chain_id, keyring.keypair(m["name"]),
                  [MerchantRegister(name=m["name"], profile=f"{m['name']} (devnet demo shop)")])
            for m in merchants
        ))
        votes: list[TxBody] = [
            MerchantVote(merchant=from_text(m["address"]), action="approve") for m in merchants
        ]
        results = await asyncio.gather(*(
            _send(rpc, layout.chain_id, keyring.keypair(voter), votes) for voter in voters
        ))
    approved = {
        address
        for events in results for event in events if event["kind"] == "merchant_status"
        for address in event["addresses"]
    }
    missing = [m["name"] for m in merchants if m["address"] not in approved]
    if missing:
        raise DevnetError(DevnetErrorCode.NOT_READY,
                          f"demo merchants not approved after {len(voters)} votes: {missing}")
    return [m["name"] for m in merchants]


async def _send(rpc: RpcClient, chain_id: str, keypair: Keypair,
                bodies: list[TxBody]) -> list[dict[str, Any]]:
    """Submit `bodies` from one key in nonce order, each waiting for finality; their events."""
    address = to_text(address_of(keypair.public_key))
    events: list[dict[str, Any]] = []
    try:
        account = await rpc.call("state_getAccount", address=address)
        nonce = int(account["pending_nonce"])
        for body in bodies:
            tx = sign_tx(keypair, chain_id, nonce, body)
            result = await rpc.call("tx_submit", tx=tx.raw.hex(), wait="commit",
                                    timeout_ms=SUBMIT_TIMEOUT_MS)
            events.extend(result.get("events", []))
            nonce += 1
    except RpcClientError as exc:
        kind = type(bodies[0]).TYPE if bodies else "tx"
        raise DevnetError(DevnetErrorCode.NOT_READY,
                          f"{kind} from {address} failed: {exc}") from None
    return events
