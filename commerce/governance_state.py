"""Governance state: the history of validator sets and chain parameters, and proposals.

Everything here is read by the node at every height, so it answers for any past height from
the chain's current state: sets and parameters are kept as append-only histories, one
record per activation height (strictly increasing), read by binary search over their
sequence numbers. A height before the first recorded change uses the genesis. A passed
change is recorded at least `governance_activation_blocks` (>= 2) blocks ahead, so once
block h is final the set and the parameters of every height up to h + 2 are fixed; the
answer for a later height is what is scheduled so far.

This module is pure and holds no rule: the transactions are in commerce/governance.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from typing import Any

from commerce.address import ADDRESS_BYTES
from commerce.encoding import encode, sha256
from commerce.genesis import ChainParams, Genesis
from commerce.limits import MAX_VALIDATORS
from commerce.schema import (
    P_GOV_PARAMS,
    P_GOV_SETS,
    P_GOV_SUMMARY,
    P_PROPOSAL,
    P_PROPOSAL_OPEN,
    P_PROPOSAL_VOTE,
    Record,
    load,
    u64,
    unpack,
)
from commerce.state import Overlay, StateReader

SET_HASH_DOMAIN = "agora/validator-set/v1"
PARAM_NAMES: tuple[str, ...] = tuple(ChainParams.model_fields)


class ProposalStatus(IntEnum):
    """Where a proposal is, stored as its integer value."""

    OPEN = 0
    PASSED = 1
    REJECTED = 2
    EXPIRED = 3
    WITHDRAWN = 4
    FAILED = 5  # passed the vote, but no longer applied to the set scheduled by then


PROPOSAL_STATUS_NAMES = {status.value: status.name.lower() for status in ProposalStatus}


@dataclass(slots=True)
class ValidatorEntry(Record):
    """One validator of a set: its name, consensus key (also its account key), the P2P
    address it was proposed with ("" for genesis validators) and the admitted merchant it
    belongs to (b"" when none)."""

    name: str
    public_key: bytes
    p2p_address: str = ""
    merchant: bytes = b""

    def to_array(self) -> list[Any]:
        """The stored array form."""
        return [self.name, self.public_key, self.p2p_address, self.merchant]


@dataclass(slots=True)
class ValidatorSetRecord(Record):
    """The set in force from `activation_height` until the next record's height, in the
    canonical order (the primary rotation order), and the proposals that made it."""

    activation_height: int
    validators: list[list[Any]]
    proposals: list[int] = field(default_factory=list)

    def entries(self) -> list[ValidatorEntry]:
        """The validators as entries."""
        return [ValidatorEntry(*item) for item in self.validators]


@dataclass(slots=True)
class ParamsRecord(Record):
    """The chain parameters in force from `activation_height` (every value, in
    `ChainParams` field order), the proposals that changed them, and the epoch origin:
    epochs are numbered `epoch_origin + (height - epoch_origin_height) // epoch_blocks`
    from `epoch_origin_height` on (0 and 0 until `epoch_blocks` changes; a new length starts
    a new epoch at the boundary, numbered after every earlier one)."""

    activation_height: int
    values: list[int]
    proposals: list[int] = field(default_factory=list)
    epoch_origin_height: int = 0
    epoch_origin: int = 0


@dataclass(slots=True)
class GovernanceSummary(Record):
    """Counts kept so a read needs no scan: recorded sets and parameter sets, open
    proposals, and the latest activation height of a recorded change (0: none)."""

    sets_count: int = 0
    params_count: int = 0
    open_count: int = 0
    last_activation_height: int = 0


@dataclass(slots=True)
class ProposalRecord(Record):
    """A proposal and its tally. Fields a kind does not use are empty (see
    commerce/governance.py): add uses key, name, p2p_address, merchant; remove key;
    rotate_key key (the new one); set_param param and value."""

    proposer: bytes
    kind: str
    key: bytes
    name: str
    p2p_address: str
    merchant: bytes
    param: str
    value: int
    created_height: int
    expires_height: int
    status: int = ProposalStatus.OPEN
    yes: int = 0
    no: int = 0
    closed_height: int = 0
    activation_height: int = 0
    reason: str = ""


def set_key(seq: int) -> bytes:
    """Key of the `seq`-th recorded validator set."""
    return P_GOV_SETS + u64(seq)


def params_key(seq: int) -> bytes:
    """Key of the `seq`-th recorded parameter set."""
    return P_GOV_PARAMS + u64(seq)


def proposal_key(proposal: int) -> bytes:
    """Key of a proposal."""
    return P_PROPOSAL + u64(proposal)


def proposal_vote_key(proposal: int, voter: bytes) -> bytes:
    """Key of a validator's vote on a proposal."""
    assert len(voter) == ADDRESS_BYTES, "voters are account addresses"
    return P_PROPOSAL_VOTE + u64(proposal) + voter


def proposal_open_key(expires_height: int, proposal: int) -> bytes:
    """Index entry of an open proposal, by the height at whose end it expires."""
    return P_PROPOSAL_OPEN + u64(expires_height) + u64(proposal)


def get_summary(view: StateReader | Overlay) -> GovernanceSummary:
    """The governance counters (all zero on a chain that never changed anything)."""
    return load(view, GovernanceSummary, P_GOV_SUMMARY) or GovernanceSummary()


def put_summary(view: Overlay, summary: GovernanceSummary) -> None:
    """Store the governance counters."""
    assert 0 <= summary.open_count, "open proposals are counted"
    view.put(P_GOV_SUMMARY, summary.to_bytes())


def get_proposal(view: StateReader | Overlay, proposal: int) -> ProposalRecord | None:
    """A proposal, or None."""
    return load(view, ProposalRecord, proposal_key(proposal))


def put_proposal(view: Overlay, proposal: int, record: ProposalRecord) -> None:
    """Store a proposal."""
    view.put(proposal_key(proposal), record.to_bytes())


def open_proposals(view: StateReader | Overlay) -> Iterator[tuple[int, int, bytes]]:
    """(expiry height, proposal, proposer address) of every open proposal, by expiry."""
    skip = len(P_PROPOSAL_OPEN)
    for key, proposer in view.iterate(P_PROPOSAL_OPEN):
        yield (int.from_bytes(key[skip:skip + 8], "big"),
               int.from_bytes(key[skip + 8:skip + 16], "big"), proposer)


def validator_set_hash(keys: tuple[bytes, ...] | list[bytes]) -> bytes:
    """SHA-256 of the canonical form of a set's consensus keys, in order: what a block
    header commits to for the next height's set."""
    assert 1 <= len(keys) <= MAX_VALIDATORS, "a set has 1..MAX_VALIDATORS keys"
    return sha256(encode([SET_HASH_DOMAIN, list(keys)]))


def genesis_entries(genesis: Genesis) -> list[ValidatorEntry]:
    """The genesis validators as entries."""
    return [ValidatorEntry(v.name, v.key_bytes) for v in genesis.validators]


def _find(view: StateReader | Overlay, key_of: Any, count: int, height: int) -> int:
    """The sequence number of the last record whose activation height is <= `height`, or
    -1 when there is none (binary search: activation heights strictly increase)."""
    if count == 0:
        return -1
    last = _activation(view, key_of(count - 1))
    if last <= height:
        return count - 1  # the common case: the latest record is in force
    low, high = 0, count - 2  # the answer is in [-1, count - 2]
    answer = -1
    while low <= high:
        middle = (low + high) // 2
        if _activation(view, key_of(middle)) <= height:
            answer, low = middle, middle + 1
        else:
            high = middle - 1
    return answer


def _activation(view: StateReader | Overlay, key: bytes) -> int:
    """The activation height of a set or parameter record (the first field of both)."""
    raw = view.get(key)
    assert raw is not None, "recorded histories have no gaps"
    activation = unpack(raw)[0]
    assert isinstance(activation, int) and activation >= 1
    return activation


def recorded_set_at(view: StateReader | Overlay, height: int) -> ValidatorSetRecord | None:
    """The recorded set in force at `height`, or None while the genesis set is."""
    seq = _find(view, set_key, get_summary(view).sets_count, height)
    return None if seq < 0 else load(view, ValidatorSetRecord, set_key(seq))


def recorded_params_at(view: StateReader | Overlay, height: int) -> ParamsRecord | None:
    """The recorded parameter set in force at `height`, or None while the genesis one is."""
    seq = _find(view, params_key, get_summary(view).params_count, height)
    return None if seq < 0 else load(view, ParamsRecord, params_key(seq))


def set_at(view: StateReader | Overlay, genesis: Genesis, height: int) -> list[ValidatorEntry]:
    """The validators in force at `height` (>= 1), in canonical order."""
    assert height >= 1, "blocks start at height 1"
    record = recorded_set_at(view, height)
    return genesis_entries(genesis) if record is None else record.entries()


def validators_in_force(reader: StateReader | Overlay, genesis: Genesis,
                        height: int) -> tuple[bytes, ...]:
    """The consensus keys (32 bytes each, canonical order) of the set in force at `height`.

    Final for every height up to the reader's height + 2 (see the module docstring)."""
    assert height >= 1, "blocks start at height 1"
    record = recorded_set_at(reader, height)
    if record is None:
        return genesis.validator_keys
    keys = tuple(item[1] for item in record.validators)
    assert 1 <= len(keys) <= MAX_VALIDATORS
    return keys


def scheduled_sets(reader: StateReader | Overlay, after_height: int,
                   through_height: int) -> list[tuple[int, tuple[bytes, ...]]]:
    """(activation height, consensus keys) of every recorded set that takes effect above
    `after_height` and at or below `through_height`, ascending."""
    count = get_summary(reader).sets_count
    out: list[tuple[int, tuple[bytes, ...]]] = []
    for seq in range(_find(reader, set_key, count, after_height) + 1, count):
        record = load(reader, ValidatorSetRecord, set_key(seq))
        assert record is not None, "recorded histories have no gaps"
        if record.activation_height > through_height:
            break
        out.append((record.activation_height, tuple(item[1] for item in record.validators)))
    return out


def scheduled_params(reader: StateReader | Overlay, after_height: int,
                     through_height: int) -> list[tuple[int, ChainParams]]:
    """(activation height, parameters) of every recorded parameter set that takes effect
    above `after_height` and at or below `through_height`, ascending."""
    count = get_summary(reader).params_count
    out: list[tuple[int, ChainParams]] = []
    for seq in range(_find(reader, params_key, count, after_height) + 1, count):
        record = load(reader, ParamsRecord, params_key(seq))
        assert record is not None, "recorded histories have no gaps"
        if record.activation_height > through_height:
            break
        out.append((record.activation_height, params_of_values(tuple(record.values))))
    return out


def params_in_force(reader: StateReader | Overlay, genesis: Genesis, height: int) -> ChainParams:
    """The chain parameters in force at `height`."""
    return params_and_epoch_origin(reader, genesis, height)[0]


def params_and_epoch_origin(reader: StateReader | Overlay, genesis: Genesis,
                            height: int) -> tuple[ChainParams, tuple[int, int]]:
    """The chain parameters in force at `height` and the epoch origin (height, epoch) that
    numbers its epochs (see `ParamsRecord`)."""
    seq = _find(reader, params_key, get_summary(reader).params_count, height)
    if seq < 0:
        return genesis.params, (0, 0)
    record = load(reader, ParamsRecord, params_key(seq))
    assert record is not None
    origin = (record.epoch_origin_height, record.epoch_origin)
    return params_of_values(tuple(record.values)), origin


def epoch_at(height: int, epoch_blocks: int, origin: tuple[int, int]) -> int:
    """The reward epoch of `height` given the epoch length and origin in force there."""
    origin_height, origin_epoch = origin
    assert height >= origin_height, "an origin applies from its height on"
    return origin_epoch + (height - origin_height) // epoch_blocks


@lru_cache(maxsize=64)
def params_of_values(values: tuple[int, ...]) -> ChainParams:
    """`ChainParams` of its values in field order (validated: a change is checked against
    its bounds before it is recorded, so this never raises on recorded values)."""
    assert len(values) == len(PARAM_NAMES), "a parameter record holds every value"
    return ChainParams.model_validate(dict(zip(PARAM_NAMES, values, strict=True)))


def latest_set(view: StateReader | Overlay, genesis: Genesis) -> tuple[int, list[ValidatorEntry]]:
    """The last scheduled set and its activation height (0 for the genesis set)."""
    count = get_summary(view).sets_count
    if count == 0:
        return 0, genesis_entries(genesis)
    record = load(view, ValidatorSetRecord, set_key(count - 1))
    assert record is not None
    return record.activation_height, record.entries()


def latest_params(view: StateReader | Overlay, genesis: Genesis) -> tuple[int, ChainParams]:
    """The last scheduled parameters and their activation height (0 for the genesis's)."""
    count = get_summary(view).params_count
    if count == 0:
        return 0, genesis.params
    record = load(view, ParamsRecord, params_key(count - 1))
    assert record is not None
    return record.activation_height, params_of_values(tuple(record.values))


def _history_slot(view: Overlay, key_of: Callable[[int], bytes], count: int,
                  record: ValidatorSetRecord | ParamsRecord) -> int:
    """Where `record` (carrying its one proposal) goes in a history of `count` records:
    after the last, or in the last one's place when that activates at the same height,
    then `record` carries the last one's proposals before its own."""
    assert len(record.proposals) == 1, "a new history record carries its own proposal"
    if count == 0:
        return 0
    last = load(view, type(record), key_of(count - 1))
    assert last is not None, "every record below the count is stored"
    assert last.activation_height <= record.activation_height, "the history is ordered"
    if last.activation_height != record.activation_height:
        return count
    record.proposals = [*last.proposals, *record.proposals]
    return count - 1


def schedule_set(view: Overlay, activation: int, entries: list[ValidatorEntry],
                 proposal: int) -> None:
    """Record `entries` as the set in force from `activation`: a new last record, or the
    last one rewritten when it activates at the same height (two changes passed for one
    boundary). `activation` is never below the last recorded one (the caller takes the
    max), so the history stays ordered."""
    assert 1 <= len(entries) <= MAX_VALIDATORS
    summary = get_summary(view)
    record = ValidatorSetRecord(activation, [e.to_array() for e in entries], [proposal])
    seq = _history_slot(view, set_key, summary.sets_count, record)
    view.put(set_key(seq), record.to_bytes())
    summary.sets_count = seq + 1
    summary.last_activation_height = max(summary.last_activation_height, activation)
    put_summary(view, summary)


def schedule_params(view: Overlay, genesis: Genesis, activation: int, params: ChainParams,
                    proposal: int) -> None:
    """Record `params` as in force from `activation` (as `schedule_set` does for sets). A
    new `epoch_blocks` starts a new epoch at `activation`, numbered after the epoch of
    `activation - 1`, so epoch numbers (which key the reward caps) only grow."""
    assert activation >= 1
    summary = get_summary(view)
    record = ParamsRecord(activation, params.to_array(), [proposal])
    seq = _history_slot(view, params_key, summary.params_count, record)
    # The parameters in force just before the boundary (never the record being merged into:
    # it activates at the boundary itself).
    before, origin = params_and_epoch_origin(view, genesis, activation - 1) \
        if activation > 1 else (genesis.params, (0, 0))
    if params.epoch_blocks != before.epoch_blocks:
        origin = (activation, epoch_at(activation - 1, before.epoch_blocks, origin) + 1)
    record.epoch_origin_height, record.epoch_origin = origin
    view.put(params_key(seq), record.to_bytes())
    summary.params_count = seq + 1
    summary.last_activation_height = max(summary.last_activation_height, activation)
    put_summary(view, summary)


def set_history(view: StateReader | Overlay) -> Iterator[ValidatorSetRecord]:
    """Every recorded set, oldest first."""
    for _, raw in view.iterate(P_GOV_SETS):
        yield ValidatorSetRecord.from_bytes(raw)
