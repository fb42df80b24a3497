"""Governance: the validators change their set, keys and chain parameters by vote.

A validator proposes (`validator_propose`: add, remove, rotate_key or set_param; the
proposal counts as the proposer's yes vote), the validators vote (`validator_vote`), and
the proposer may withdraw an open proposal (`validator_withdraw`). Every validator signs
with its consensus key, which is also its account key (as for `merchant_vote`). A proposal
passes when more than two thirds of the set in force at the block of a vote voted yes
(only votes of validators in that set count: a removed validator's vote stops counting),
is rejected as soon as its no votes make that impossible, and expires at the end of block
`created + governance_expiry_blocks`. A passed change is checked again against the set
and parameters scheduled by then (it fails if it no longer applies) and takes effect at
`pass height + governance_activation_blocks` (never before an earlier scheduled change),
the same on every node: commerce/governance_state.py records it.

Pure and deterministic like every rule; the limits are in commerce/limits.py and every
refusal in commerce/errors.py (-32100..-32119). docs/GOVERNANCE.md has the rules for users.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field

from commerce.address import ADDRESS_BYTES, address_of
from commerce.encoding import encode
from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import ChainParams, Genesis, timers_conflict
from commerce.governance_state import (
    PARAM_NAMES,
    PROPOSAL_STATUS_NAMES,
    ProposalRecord,
    ProposalStatus,
    ValidatorEntry,
    get_proposal,
    get_summary,
    latest_params,
    latest_set,
    open_proposals,
    params_of_values,
    proposal_open_key,
    proposal_vote_key,
    put_proposal,
    put_summary,
    schedule_params,
    schedule_set,
    set_at,
)
from commerce.keys import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, verify
from commerce.limits import (
    CONSENSUS_PAYLOAD_BYTES,
    MAX_NAME_CHARS,
    MAX_OPEN_PROPOSALS,
    MAX_OPEN_PROPOSALS_PER_PROPOSER,
    MAX_P2P_ADDRESS_CHARS,
    MAX_PARAM_NAME_CHARS,
    MAX_VALIDATORS,
    MIN_GOVERNED_VALIDATORS,
    NEW_VIEW_BASE_BYTES,
    NEW_VIEW_PER_VALIDATOR2_BYTES,
)
from commerce.machine import ChainContext, Event, register_end_block, register_handler
from commerce.merchants import get_merchant, require_validator, stored_votes
from commerce.schema import (
    COUNTER_PROPOSAL,
    P_PROPOSAL_VOTE,
    MerchantStatus,
    RecordId,
    next_id,
    u64,
)
from commerce.state import Overlay
from commerce.tx import Transaction, TxBody, register_body

ROTATION_DOMAIN = "agora/rotate-key/v1"
KINDS = ("add", "remove", "rotate_key", "set_param")
_NAME_RE = re.compile(r"^[A-Za-z0-9._-]+$")
_P2P_RE = re.compile(r"^[A-Za-z0-9.\-]+:([0-9]{1,5})$|^\[[0-9A-Fa-f:.]+\]:([0-9]{1,5})$")

# The parameters a vote may change: every one, each within the bounds of its genesis field
# (the whole set is validated again as a ChainParams, and max_block_bytes must keep the
# largest consensus message within one P2P payload). A new epoch_blocks starts a new epoch
# at its boundary (commerce/governance_state.py), so epoch numbers only grow.
GOVERNED_PARAMS: tuple[str, ...] = PARAM_NAMES


def param_bounds(name: str) -> tuple[int, int]:
    """The (lowest, highest) value a vote may give parameter `name` (a governed one)."""
    assert name in GOVERNED_PARAMS, f"{name} is not governed"
    low, high = 0, 2**63 - 1
    for meta in ChainParams.model_fields[name].metadata:
        low = max(low, getattr(meta, "ge", low))
        high = min(high, getattr(meta, "le", high))
    return low, high


def consensus_fits(validators_count: int, max_block_bytes: int) -> bool:
    """True when a NEW-VIEW of `validators_count` validators carrying a block of
    `max_block_bytes` fits one P2P payload (the bound of commerce/limits.py)."""
    overhead = NEW_VIEW_PER_VALIDATOR2_BYTES * validators_count ** 2 + NEW_VIEW_BASE_BYTES
    return overhead + max_block_bytes <= CONSENSUS_PAYLOAD_BYTES


def rotation_message(chain_id: str, old_key: bytes, new_key: bytes) -> bytes:
    """What the new key signs to consent to replace `old_key` on chain `chain_id`."""
    return encode([ROTATION_DOMAIN, chain_id, old_key, new_key])


@register_body
class ValidatorPropose(TxBody):
    """A validator's proposal. `kind` add: `key`, `name`, `p2p_address`, optional
    `merchant`; remove: `key`; rotate_key: `key` (the new key) and `signature` (by the new
    key over `rotation_message`), sent by the old key; set_param: `param` and `value`.
    Fields a kind does not use are empty (0 for `value`)."""

    TYPE = "validator_propose"
    kind: Literal["add", "remove", "rotate_key", "set_param"]
    key: Annotated[bytes, Field(max_length=PUBLIC_KEY_BYTES)] = b""
    name: Annotated[str, Field(max_length=MAX_NAME_CHARS)] = ""
    p2p_address: Annotated[str, Field(max_length=MAX_P2P_ADDRESS_CHARS)] = ""
    merchant: Annotated[bytes, Field(max_length=ADDRESS_BYTES)] = b""
    param: Annotated[str, Field(max_length=MAX_PARAM_NAME_CHARS)] = ""
    value: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    signature: Annotated[bytes, Field(max_length=SIGNATURE_BYTES)] = b""


@register_body
class ValidatorVote(TxBody):
    """A validator's vote on an open proposal."""

    TYPE = "validator_vote"
    proposal: RecordId
    vote: Literal["yes", "no"]


@register_body
class ValidatorWithdraw(TxBody):
    """The proposer withdraws its open proposal."""

    TYPE = "validator_withdraw"
    proposal: RecordId


_USED = {
    "add": ("key", "name", "p2p_address", "merchant"),
    "remove": ("key",),
    "rotate_key": ("key", "signature"),
    "set_param": ("param", "value"),
}
_REQUIRED = {
    "add": ("key", "name", "p2p_address"),
    "remove": ("key",),
    "rotate_key": ("key", "signature"),
    "set_param": ("param",),
}


def _check_fields(body: ValidatorPropose) -> None:
    """Raise field_invalid naming the first field that does not fit the kind."""
    used, required = _USED[body.kind], _REQUIRED[body.kind]
    for name in ("key", "name", "p2p_address", "merchant", "param", "value", "signature"):
        value = getattr(body, name)
        if name not in used and value:
            raise ValidationError(ErrorCode.FIELD_INVALID,
                                  f"validator_propose.{name}: not used by {body.kind}")
        if name in required and not value:
            raise ValidationError(ErrorCode.FIELD_INVALID,
                                  f"validator_propose.{name}: required by {body.kind}")
    if body.key and len(body.key) != PUBLIC_KEY_BYTES:
        raise ValidationError(ErrorCode.FIELD_INVALID, "validator_propose.key: 32 bytes")
    if body.signature and len(body.signature) != SIGNATURE_BYTES:
        raise ValidationError(ErrorCode.FIELD_INVALID, "validator_propose.signature: 64 bytes")
    if body.merchant and len(body.merchant) != ADDRESS_BYTES:
        raise ValidationError(ErrorCode.FIELD_INVALID, "validator_propose.merchant: 20 bytes")
    if body.name and not _NAME_RE.match(body.name):
        raise ValidationError(ErrorCode.FIELD_INVALID,
                              "validator_propose.name: letters, digits, . _ - only")
    if body.p2p_address:
        match = _P2P_RE.match(body.p2p_address)
        port = int(next(group for group in match.groups() if group)) if match else 0
        if not 1 <= port <= 65_535:
            raise ValidationError(ErrorCode.FIELD_INVALID,
                                  "validator_propose.p2p_address: host:port")


def _genesis(ctx: ChainContext) -> Genesis:
    assert ctx.genesis is not None, "governance runs with a genesis in its context"
    return ctx.genesis


def _change_error(ctx: ChainContext, view: Overlay, record: ProposalRecord,
                  proposer: bytes) -> ValidationError | None:
    """Why the change of `record` does not apply to what is scheduled now, or None.

    Checked when proposed and again when passed (the set or the parameters may have
    changed in between)."""
    genesis = _genesis(ctx)
    _, scheduled = latest_set(view, genesis)
    current = set_at(view, genesis, ctx.height)
    keys = {entry.public_key for entry in (*scheduled, *current)}
    _, params = latest_params(view, genesis)
    kind = record.kind
    if kind == "add":
        if record.key in keys:
            return ValidationError(ErrorCode.VALIDATOR_EXISTS, "the key is a validator's")
        if record.name in {entry.name for entry in (*scheduled, *current)}:
            return ValidationError(ErrorCode.VALIDATOR_EXISTS, f"a validator is {record.name}")
        size = len(scheduled) + 1
        if size > MAX_VALIDATORS or not consensus_fits(size, params.max_block_bytes):
            return ValidationError(ErrorCode.SET_TOO_LARGE,
                                   f"a set of {size} is over the limits (docs/GOVERNANCE.md)")
        if record.merchant:
            merchant = get_merchant(view, record.merchant)
            if merchant is None or merchant.status != MerchantStatus.APPROVED:
                return ValidationError(ErrorCode.NOT_MERCHANT,
                                       "the validator's merchant is not an approved one")
    elif kind == "remove":
        if record.key not in {entry.public_key for entry in scheduled}:
            return ValidationError(ErrorCode.NOT_IN_SET, "the key is not in the set")
        floor = min(MIN_GOVERNED_VALIDATORS, len(scheduled))
        if len(scheduled) - 1 < floor:
            return ValidationError(ErrorCode.SET_TOO_SMALL,
                                   f"the set may not shrink below {floor} validators")
    elif kind == "rotate_key":
        if proposer not in {entry.public_key for entry in scheduled}:
            return ValidationError(ErrorCode.NOT_IN_SET, "the proposer leaves the set")
        if record.key in keys:
            return ValidationError(ErrorCode.VALIDATOR_EXISTS, "the new key is a validator's")
    else:
        assert kind == "set_param"
        return _param_error(record.param, record.value, params, len(scheduled))
    return None


def _param_error(name: str, value: int, params: ChainParams,
                 validators_count: int) -> ValidationError | None:
    if name not in GOVERNED_PARAMS:
        return ValidationError(ErrorCode.UNKNOWN_PARAM, f"{name!r} is not a governed parameter")
    low, high = param_bounds(name)
    if not low <= value <= high:
        return ValidationError(ErrorCode.PARAM_OUT_OF_BOUNDS, f"{name} must be in {low}..{high}")
    if name == "max_block_bytes" and not consensus_fits(validators_count, value):
        return ValidationError(ErrorCode.PARAM_OUT_OF_BOUNDS,
                               f"max_block_bytes {value} with {validators_count} validators "
                               "makes consensus messages over one P2P payload")
    if name in ("view_change_timeout_ms", "idle_block_interval_ms"):
        timers = {"view_change_timeout_ms": params.view_change_timeout_ms,
                  "idle_block_interval_ms": params.idle_block_interval_ms, name: value}
        conflict = timers_conflict(**timers)
        if conflict:
            return ValidationError(ErrorCode.PARAM_CONFLICT, conflict)
    return None


def _same_change(a: ProposalRecord, b: ProposalRecord) -> bool:
    """True when two proposals would make the same (or a conflicting) change."""
    if a.kind != b.kind:
        return a.kind in ("add", "rotate_key") and b.kind in ("add", "rotate_key") \
            and a.key == b.key
    if a.kind == "set_param":
        return a.param == b.param
    if a.kind == "rotate_key":
        return a.proposer == b.proposer or a.key == b.key
    return a.key == b.key or (a.kind == "add" and a.name == b.name)


def apply_validator_propose(ctx: ChainContext, view: Overlay, tx: Transaction,
                            body: ValidatorPropose) -> list[Event]:
    """Open a proposal with the proposer's yes vote. Refuses not_validator, field_invalid,
    bad_rotation, proposal_limit, duplicate_proposal, and what the change itself refuses:
    validator_exists, not_in_set, set_too_small, set_too_large, not_merchant,
    unknown_param, param_out_of_bounds, param_conflict."""
    require_validator(ctx, tx)
    _check_fields(body)
    if body.kind == "rotate_key" and not verify(
            body.key, rotation_message(ctx.chain_id, tx.sender, body.key), body.signature):
        raise ValidationError(ErrorCode.BAD_ROTATION, "the new key did not sign the rotation")
    record = ProposalRecord(tx.sender, body.kind, body.key, body.name, body.p2p_address,
                            body.merchant, body.param, body.value, ctx.height,
                            ctx.height + ctx.params.governance_expiry_blocks)
    error = _change_error(ctx, view, record, tx.sender)
    if error is not None:
        raise error
    summary = get_summary(view)
    mine = 0
    for _, other_id, proposer in open_proposals(view):
        other = get_proposal(view, other_id)
        assert other is not None, "an open index entry names a proposal"
        if _same_change(record, other):
            raise ValidationError(ErrorCode.DUPLICATE_PROPOSAL,
                                  f"open proposal {other_id} makes this change")
        mine += proposer == tx.sender_address
    if summary.open_count >= MAX_OPEN_PROPOSALS or mine >= MAX_OPEN_PROPOSALS_PER_PROPOSER:
        raise ValidationError(ErrorCode.PROPOSAL_LIMIT,
                              f"at most {MAX_OPEN_PROPOSALS_PER_PROPOSER} open proposals per "
                              f"validator and {MAX_OPEN_PROPOSALS} in all")
    proposal = next_id(view, COUNTER_PROPOSAL)
    summary.open_count += 1
    put_summary(view, summary)
    view.put(proposal_open_key(record.expires_height, proposal), tx.sender_address)
    view.put(proposal_vote_key(proposal, tx.sender_address), b"\x01")
    events = [Event("validator_propose", (tx.sender_address,), (proposal, body.kind))]
    return events + _tally(ctx, view, proposal, record)


register_handler(ValidatorPropose)(apply_validator_propose)


def apply_validator_vote(ctx: ChainContext, view: Overlay, tx: Transaction,
                         body: ValidatorVote) -> list[Event]:
    """Count a validator's vote; the proposal passes or is rejected when the votes of the
    set in force decide it. Refuses not_validator, not_found, proposal_closed,
    already_voted."""
    require_validator(ctx, tx)
    proposal = body.proposal
    record = _require_open(ctx, view, proposal)
    vote_key = proposal_vote_key(proposal, tx.sender_address)
    if view.get(vote_key) is not None:
        raise ValidationError(ErrorCode.ALREADY_VOTED, "this validator voted on the proposal")
    view.put(vote_key, b"\x01" if body.vote == "yes" else b"\x00")
    closed = _tally(ctx, view, proposal, record)
    event = Event("validator_vote", (tx.sender_address,),
                  (proposal, body.vote, record.yes, record.no))
    return [event, *closed]


register_handler(ValidatorVote)(apply_validator_vote)


def apply_validator_withdraw(ctx: ChainContext, view: Overlay, tx: Transaction,
                             body: ValidatorWithdraw) -> list[Event]:
    """Withdraw an open proposal; refuses not_found, proposal_closed, not_proposer."""
    record = _require_open(ctx, view, body.proposal)
    if record.proposer != tx.sender:
        raise ValidationError(ErrorCode.NOT_PROPOSER, "only the proposer may withdraw it")
    closed = _close(ctx, view, body.proposal, record, ProposalStatus.WITHDRAWN)
    return [Event("validator_withdraw", (tx.sender_address,), (body.proposal,)), *closed]


register_handler(ValidatorWithdraw)(apply_validator_withdraw)


def _require_open(ctx: ChainContext, view: Overlay, proposal: int) -> ProposalRecord:
    record = get_proposal(view, proposal)
    if record is None:
        raise ValidationError(ErrorCode.NOT_FOUND, f"no proposal {proposal}")
    if record.status != ProposalStatus.OPEN or ctx.height > record.expires_height:
        status = PROPOSAL_STATUS_NAMES[record.status]
        raise ValidationError(ErrorCode.PROPOSAL_CLOSED, f"proposal {proposal} is {status}")
    return record


def _tally(ctx: ChainContext, view: Overlay, proposal: int,
           record: ProposalRecord) -> list[Event]:
    """Recount the votes of the set in force at this block and close the proposal when
    they decide it (stores the record either way); returns the closing events."""
    votes = stored_votes(ctx, view, P_PROPOSAL_VOTE + u64(proposal))
    yes, no = votes.count(b"\x01"), votes.count(b"\x00")
    record.yes, record.no = yes, no
    n = len(ctx.validators)
    assert yes + no <= n, "one counted vote per validator of the set"
    if yes * 3 > 2 * n:
        return _pass(ctx, view, proposal, record)
    if (n - no) * 3 <= 2 * n:
        return _close(ctx, view, proposal, record, ProposalStatus.REJECTED)
    put_proposal(view, proposal, record)
    return []


def _pass(ctx: ChainContext, view: Overlay, proposal: int,
          record: ProposalRecord) -> list[Event]:
    """Schedule the passed change, or fail the proposal if it no longer applies."""
    error = _change_error(ctx, view, record, record.proposer)
    if error is not None:
        record.reason = error.code.reason
        return _close(ctx, view, proposal, record, ProposalStatus.FAILED)
    genesis = _genesis(ctx)
    delay = ctx.params.governance_activation_blocks
    if record.kind == "set_param":
        last, params = latest_params(view, genesis)
        values: dict[str, Any] = dict(zip(PARAM_NAMES, params.to_array(), strict=True))
        values[record.param] = record.value
        activation = max(ctx.height + delay, last)
        schedule_params(view, genesis, activation, params_of_values(tuple(values.values())),
                        proposal)
    else:
        last, entries = latest_set(view, genesis)
        activation = max(ctx.height + delay, last)
        schedule_set(view, activation, _changed(entries, record), proposal)
    record.activation_height = activation
    return _close(ctx, view, proposal, record, ProposalStatus.PASSED)


def _changed(entries: list[ValidatorEntry], record: ProposalRecord) -> list[ValidatorEntry]:
    """The set after the change: an added validator goes last, a removed one leaves its
    place, a rotated key keeps its place (so the primary rotation order is stable)."""
    if record.kind == "add":
        return [*entries, ValidatorEntry(record.name, record.key, record.p2p_address,
                                         record.merchant)]
    if record.kind == "remove":
        return [entry for entry in entries if entry.public_key != record.key]
    assert record.kind == "rotate_key"
    return [ValidatorEntry(e.name, record.key, e.p2p_address, e.merchant)
            if e.public_key == record.proposer else e for e in entries]


def _close(ctx: ChainContext, view: Overlay, proposal: int, record: ProposalRecord,
           status: ProposalStatus) -> list[Event]:
    """Close an open proposal with `status`: off the open index, counted out."""
    assert record.status == ProposalStatus.OPEN, "only an open proposal closes"
    record.status = status
    record.closed_height = ctx.height
    put_proposal(view, proposal, record)
    view.delete(proposal_open_key(record.expires_height, proposal))
    summary = get_summary(view)
    summary.open_count -= 1
    put_summary(view, summary)
    return [Event("proposal_closed", (address_of(record.proposer),),
                  (proposal, status.name.lower(), record.activation_height, record.reason))]


def expire_proposals(ctx: ChainContext, view: Overlay) -> list[Event]:
    """End-of-block step: proposals still open at the end of their expiry height expire
    (at most MAX_OPEN_PROPOSALS of them). With none open (the summary counts them) it reads
    one key: a scan of the open index through the block's overlay walks every key the block
    wrote."""
    if get_summary(view).open_count == 0:
        return []
    prefix = proposal_open_key(ctx.height, 0)[:-8]
    due = [int.from_bytes(key[-8:], "big") for key, _ in view.iterate(prefix)]
    assert len(due) <= MAX_OPEN_PROPOSALS, "open proposals are capped"
    events: list[Event] = []
    for proposal in due:
        record = get_proposal(view, proposal)
        assert record is not None and record.status == ProposalStatus.OPEN
        events += _close(ctx, view, proposal, record, ProposalStatus.EXPIRED)
    return events


register_end_block(50, "commerce.governance_expiry", expire_proposals)
