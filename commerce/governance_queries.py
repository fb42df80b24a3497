"""Read API of governance: the validator set and the parameters at a height, proposals, and
the summary.

JSON-ready values like commerce/queries.py: addresses as `agora1...` text, keys and hashes
as lowercase hex, statuses as names; lists as pages ``{"items": [...], "next": cursor}``.
"""

from __future__ import annotations

from typing import Any

from commerce.address import address_of, to_text
from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import Genesis
from commerce.governance_state import (
    PROPOSAL_STATUS_NAMES,
    ProposalRecord,
    get_proposal,
    get_summary,
    latest_params,
    latest_set,
    params_of_values,
    recorded_params_at,
    set_at,
    validator_set_hash,
)
from commerce.queries import DEFAULT_PAGE_ITEMS, _page
from commerce.schema import P_PROPOSAL, read_u64
from commerce.state import StateReader

Item = dict[str, Any]
STATUS_BY_NAME = {name: value for value, name in PROPOSAL_STATUS_NAMES.items()}


def validators(reader: StateReader, genesis: Genesis, height: int) -> list[Item]:
    """The set in force at `height` (>= 1) in primary rotation order."""
    return [{"index": index, "name": entry.name, "public_key": entry.public_key.hex(),
             "address": to_text(address_of(entry.public_key)),
             "p2p_address": entry.p2p_address,
             "merchant": to_text(entry.merchant) if entry.merchant else None}
            for index, entry in enumerate(set_at(reader, genesis, height))]


def params(reader: StateReader, genesis: Genesis, height: int) -> Item:
    """The chain parameters in force at `height` (>= 1), every `ChainParams` field by name,
    with the height they are in force from (1 for the genesis parameters) and the proposals
    that set them (empty for the genesis parameters)."""
    assert height >= 1, "blocks start at height 1"
    record = recorded_params_at(reader, height)
    values = genesis.params if record is None else params_of_values(tuple(record.values))
    return {"height": height,
            "since_height": 1 if record is None else record.activation_height,
            "proposals": [] if record is None else list(record.proposals),
            "params": values.model_dump()}


def set_hash(reader: StateReader, genesis: Genesis, height: int) -> str:
    """The hex hash of the set in force at `height` (what headers commit to)."""
    keys = [entry.public_key for entry in set_at(reader, genesis, height)]
    return validator_set_hash(keys).hex()


def summary(reader: StateReader, genesis: Genesis) -> Item:
    """Open proposals, the last activation height and what is scheduled last."""
    counts = get_summary(reader)
    set_height, entries = latest_set(reader, genesis)
    params_height, _ = latest_params(reader, genesis)
    return {"open_proposals": counts.open_count,
            "last_activation_height": counts.last_activation_height,
            "latest_set_height": set_height, "latest_set_size": len(entries),
            "latest_params_height": params_height}


def _proposal_item(proposal: int, record: ProposalRecord) -> Item:
    return {
        "id": proposal, "kind": record.kind, "status": PROPOSAL_STATUS_NAMES[record.status],
        "proposer": record.proposer.hex(), "proposer_address": to_text(address_of(
            record.proposer)),
        "key": record.key.hex() if record.key else None,
        "name": record.name or None, "p2p_address": record.p2p_address or None,
        "merchant": to_text(record.merchant) if record.merchant else None,
        "param": record.param or None,
        "value": record.value if record.kind == "set_param" else None,
        "created_height": record.created_height, "expires_height": record.expires_height,
        "yes": record.yes, "no": record.no, "closed_height": record.closed_height or None,
        "activation_height": record.activation_height or None,
        "reason": record.reason or None,
    }


def proposal(reader: StateReader, proposal_id: int) -> Item | None:
    """A proposal with its tally (counted at its last vote), or None."""
    record = get_proposal(reader, proposal_id)
    return None if record is None else _proposal_item(proposal_id, record)


def proposals(reader: StateReader, *, status: str | None = None, cursor: str | None = None,
              limit: int = DEFAULT_PAGE_ITEMS) -> Item:
    """Proposals in id order, optionally only those of one status."""
    wanted = None
    if status is not None:
        if status not in STATUS_BY_NAME:
            raise ValidationError(ErrorCode.FIELD_INVALID, f"no proposal status {status!r}")
        wanted = STATUS_BY_NAME[status]

    def item(key: bytes, value: bytes) -> Item | None:
        record = ProposalRecord.from_bytes(value)
        if wanted is not None and record.status != wanted:
            return None
        return _proposal_item(read_u64(key[len(P_PROPOSAL):]), record)

    return _page(reader, P_PROPOSAL, cursor, limit, item)
