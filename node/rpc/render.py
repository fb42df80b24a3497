"""JSON forms of chain objects for the RPC and the CLI.

Rules, the same everywhere: bytes are lowercase hex, except 20-byte account addresses,
which are their checksummed text form; every amount (a field named `amount`, `price`,
`balance`, or ending in `_amount`, `_minor`, `_balance`, `escrow`, `minted`, `supply`)
appears both in base units (an integer) and as an exact decimal string in a sibling field
ending in `_decimal` (also `circulating` and names ending in `_earned`).
"""

from __future__ import annotations

from typing import Any

from commerce.address import ADDRESS_BYTES, address_of, to_text
from commerce.amount import format_amount
from commerce.block import Block, BlockHeader
from commerce.machine import Event
from commerce.tx import Transaction

_AMOUNT_NAMES = {"amount", "price", "balance", "escrow", "minted", "supply", "total",
                 "genesis", "commission", "accrued", "claimed", "refund", "payout",
                 "circulating", "reward", "budget", "discount", "paid_each", "min_spend",
                 "discount_fixed", "discount_cap", "paid", "refunded", "returned"}
_AMOUNT_SUFFIXES = ("_amount", "_minor", "_balance", "_price", "_escrow", "_total",
                    "_earned", "_budget")


def is_amount_field(name: str) -> bool:
    """True for field names that hold token amounts."""
    return name in _AMOUNT_NAMES or name.endswith(_AMOUNT_SUFFIXES)


def json_value(value: Any) -> Any:
    """A JSON-able form of a canonical value (bytes as hex or address text)."""
    if isinstance(value, bytes):
        return to_text(value) if len(value) == ADDRESS_BYTES else value.hex()
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return json_object(value)
    return value


def json_object(fields: dict[str, Any]) -> dict[str, Any]:
    """Render a mapping of named fields, adding `<name>_decimal` beside every amount."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        out[name] = json_value(value)
        if is_amount_field(name) and isinstance(value, int) and not isinstance(value, bool):
            out[f"{name}_decimal"] = format_amount(value)
    return out


def render_tx(tx: Transaction) -> dict[str, Any]:
    """A transaction as JSON: id, type, sender, nonce, body fields."""
    body = {name: getattr(tx.body, name) for name in type(tx.body).model_fields}
    return {
        "id": tx.tx_id.hex(),
        "type": tx.type,
        "chain_id": tx.chain_id,
        "sender": to_text(address_of(tx.sender)),
        "sender_public_key": tx.sender.hex(),
        "nonce": tx.nonce,
        "body": json_object(body),
        "signature": tx.signature.hex(),
        "size_bytes": len(tx.raw),
    }


def render_event(event: Event) -> dict[str, Any]:
    """An event as JSON: kind, touched addresses, data, and the data by name (`fields`,
    amounts with their `_decimal` siblings)."""
    return {
        "kind": event.kind,
        "addresses": [to_text(a) for a in event.addresses],
        "data": json_value(list(event.data)),
        "fields": json_object(event.named()),
    }


def render_event_array(array: list[Any]) -> dict[str, Any]:
    """A stored event array ``[kind, [addresses], [data]]`` as JSON."""
    kind, addresses, data = array
    return render_event(Event(kind, tuple(addresses), tuple(data)))


def render_header(header: BlockHeader) -> dict[str, Any]:
    """A block header as JSON."""
    return {
        "chain_id": header.chain_id,
        "height": header.height,
        "hash": header.hash.hex(),
        "prev_hash": header.prev_hash.hex(),
        "tx_root": header.tx_root.hex(),
        "state_root": header.state_root.hex(),
        "proposer": header.proposer.hex(),
        "timestamp_ms": header.timestamp_ms,
        "next_validators_hash": header.next_validators_hash.hex(),
    }


def render_block(block: Block, *, full_txs: bool = True) -> dict[str, Any]:
    """A block as JSON: its header and its transactions (or only their ids)."""
    txs: list[Any] = [render_tx(tx) if full_txs else tx.tx_id.hex() for tx in block.txs]
    return {"header": render_header(block.header), "tx_count": len(block.txs), "txs": txs}
