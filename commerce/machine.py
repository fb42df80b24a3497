"""The state transition: apply one transaction, execute a block, run the end-of-block step.

Everything that changes chain state lives here or in a handler registered here. This module
is pure: it reads a `StateReader`, writes into an `Overlay`, and never touches disk, clock
or randomness. A transaction is validated fully before its writes are merged, so a
rejected one changes nothing. Blocks carry only transactions that succeed: the proposer
drops the ones that fail (`drop_invalid=True`) and a validator refuses a block in which any
transaction fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from commerce.encoding import pack_plain
from commerce.errors import ErrorCode, Rejection, ValidationError
from commerce.events import EVENT_FIELDS
from commerce.genesis import ChainParams, Genesis
from commerce.governance_state import (
    params_and_epoch_origin,
    recorded_set_at,
    validator_set_hash,
    validators_in_force,
)
from commerce.ledger import bump_nonce, require_can_act
from commerce.state import Overlay, StateReader, next_state_root
from commerce.tx import BODY_TYPES, Transaction, TxBody

_EVENT_ARITY = {kind: len(fields) for kind, fields in EVENT_FIELDS.items()}
EventValue = int | str | bytes | bool | None
"""What an event's data holds: plain canonical leaves (mypy --strict checks every handler,
so a receipt packs straight to canonical bytes; `tests/test_lint.py` runs it)."""


class _EventFields(NamedTuple):
    kind: str
    addresses: tuple[bytes, ...]
    data: tuple[EventValue, ...]


class Event(_EventFields):
    """Something a transaction or the end-of-block step did, for receipts and subscriptions.

    `addresses` are the 20-byte accounts it touches; `data` is a canonical array.
    Immutable: a tuple underneath (~2.5x cheaper to build than a frozen dataclass, and a
    handler makes one or more per transaction), so msgpack packs it as its canonical array.
    """

    __slots__ = ()

    def __new__(cls, kind: str, addresses: tuple[bytes, ...],
                data: tuple[EventValue, ...] = ()) -> Event:
        assert _EVENT_ARITY[kind] == len(data), f"event {kind} has {len(data)} items"
        return _new_tuple(cls, (kind, addresses, data))

    def named(self) -> dict[str, Any]:
        """The data as a mapping from field name to value."""
        return dict(zip(EVENT_FIELDS[self.kind], self.data, strict=True))

    def to_array(self) -> list[Any]:
        """The canonical array form."""
        return [self.kind, list(self.addresses), list(self.data)]


_new_tuple = tuple.__new__


@dataclass(frozen=True, slots=True)
class ChainContext:
    """What execution knows besides state: the chain's facts at the block height (its
    parameters and validator set in force, from state: see `at`) and the height."""

    chain_id: str
    height: int
    params: ChainParams
    validators: tuple[bytes, ...]
    genesis: Genesis | None = None
    epoch_origin: tuple[int, int] = (0, 0)  # (height, epoch): see governance_state.epoch_at

    @classmethod
    def of(cls, genesis: Genesis, height: int) -> ChainContext:
        """The context of block `height` with the genesis parameters and set: right only on
        a chain where no governance change took effect by `height` (use `at`)."""
        return cls(genesis.chain_id, height, genesis.params, genesis.validator_keys, genesis)

    @classmethod
    def at(cls, reader: StateReader, genesis: Genesis, height: int) -> ChainContext:
        """The context of block `height` over `reader` (the state after block height - 1 or
        later): the parameters and the validator set in force at `height`."""
        assert height >= 1, "blocks start at height 1"
        params, origin = params_and_epoch_origin(reader, genesis, height)
        return cls(genesis.chain_id, height, params,
                   validators_in_force(reader, genesis, height), genesis, origin)


_Body = TypeVar("_Body", bound=TxBody)
TxHandler = Callable[[ChainContext, Overlay, Transaction, _Body], list[Event]]
"""A rule: it executes `tx` on the overlay; its last argument is `tx.body`, typed."""
EndBlockHook = Callable[[ChainContext, Overlay], list[Event]]

EventHook = Callable[[ChainContext, Overlay, Transaction, "Event"], None]
"""An observer of one event kind: it writes what it derives (e.g. a feed entry) into the
same overlay as the transaction, so it is part of the transaction, all or nothing."""

HANDLERS: dict[type[TxBody], TxHandler[Any]] = {}  # by the body's exact class
END_BLOCK_HOOKS: list[tuple[int, str, EndBlockHook]] = []
EVENT_HOOKS: dict[str, EventHook] = {}  # by event kind: at most one observer per kind


def register_handler(body_type: type[_Body]) -> Callable[[TxHandler[_Body]], TxHandler[_Body]]:
    """Register the rule that executes bodies of `body_type` (one rule per body type, and
    the type registered with `register_body`). `apply_tx` finds the rule by the body's exact
    class, so a rule is only ever given bodies of its own type: it needs no check of its own.
    Modules call it after the def, `register_handler(T)(apply_t)`, not as `@` decorator:
    mutmut does not mutate decorated functions (docs/TESTING.md, "Mutation").
    """
    assert BODY_TYPES.get(body_type.TYPE) is body_type, f"{body_type.__name__} not registered"

    def wrap(handler: TxHandler[_Body]) -> TxHandler[_Body]:
        assert body_type not in HANDLERS, f"duplicate handler for {body_type.TYPE}"
        HANDLERS[body_type] = handler
        return handler

    return wrap


def register_end_block(order: int, name: str, hook: EndBlockHook) -> None:
    """Run `hook` after every block's transactions, sorted by (order, name)."""
    assert all(existing[1] != name for existing in END_BLOCK_HOOKS), f"duplicate hook {name}"
    END_BLOCK_HOOKS.append((order, name, hook))
    END_BLOCK_HOOKS.sort(key=lambda item: (item[0], item[1]))


def register_event_hook(kind: str, hook: EventHook) -> None:
    """Run `hook` on every event of `kind` a transaction emits, after its rule, inside the
    transaction's overlay. A kind need not be known yet (another module may add it later);
    one hook per kind, and a hook writes a bounded number of keys (no fan-out)."""
    assert kind not in EVENT_HOOKS, f"duplicate event hook for {kind}"
    EVENT_HOOKS[kind] = hook


class Receipt(NamedTuple):
    """The result of a transaction that succeeded: its events (a tuple underneath, like
    `Event`: one is built per transaction)."""

    events: tuple[Event, ...]

    def to_array(self) -> list[Any]:
        """The canonical array form (stored in the transaction index)."""
        return [event.to_array() for event in self.events]

    def pack(self, height: int, index: int) -> bytes:
        """`encode([height, index, self.to_array()])`: the stored receipt of the `index`-th
        transaction of block `height`. Packed directly: an event is the tuple
        ``(kind, addresses, data)`` of plain canonical leaves (`EventValue`, checked
        statically; an integer beyond 64 bits raises OverflowError), which msgpack packs as
        the same array as `Event.to_array`."""
        assert height >= 0 and index >= 0
        return pack_plain([height, index, self.events])


def apply_tx(ctx: ChainContext, view: Overlay, tx: Transaction, *,
             check_signature: bool = True, isolated: bool = True) -> Receipt:
    """Apply `tx` on `view` all-or-nothing. Raises ValidationError and changes nothing if
    the transaction is refused. The sender must hold the account reserve (or be a
    validator): reserve_required otherwise, after the nonce check.

    Pass `check_signature=False` only when the signature was verified already (the mempool
    verifies each signature once). `isolated=False` writes straight into `view` (no child
    overlay to merge): a refusal then leaves partial writes behind, so only a caller that
    throws `view` away on any refusal may pass it (a validator executing a block).
    """
    if tx.chain_id != ctx.chain_id:
        raise ValidationError(ErrorCode.WRONG_CHAIN, f"transaction is for chain {tx.chain_id}")
    if check_signature and not tx.verify_signature():
        raise ValidationError(ErrorCode.BAD_SIGNATURE, "signature does not verify")
    body = tx.body
    handler = HANDLERS.get(type(body))
    if handler is None:
        raise ValidationError(ErrorCode.UNKNOWN_TYPE, f"no rule for type {tx.type!r}")
    child = view.child() if isolated else view
    sender = tx.sender_address
    balance = bump_nonce(child, sender, tx.nonce)
    reserve = ctx.params.account_reserve_minor
    if balance < reserve:  # (the validators' scan only then)
        require_can_act(balance, tx.sender, reserve, ctx.validators)
    events = handler(ctx, child, tx, body)
    if EVENT_HOOKS:
        for event in events:
            hook = EVENT_HOOKS.get(event[0])
            if hook is not None:
                hook(ctx, child, tx, event)
    if isolated:
        child.merge_into_parent()
    return _new_tuple(Receipt, (tuple(events),))  # Receipt(...) without its Python __new__


@dataclass(slots=True)
class BlockResult:
    """The outcome of executing a block's transactions on a state.

    `txs` and `receipts` are the transactions that succeeded, in order; `rejected` lists the
    ones dropped (only with `drop_invalid`); `writes` is the block's whole write set;
    `next_validators_hash` is the hash of the set in force at the next height (the header
    commits to it).
    """

    txs: list[Transaction]
    receipts: list[Receipt]
    end_events: list[Event]
    writes: dict[bytes, bytes | None]
    state_root: bytes
    rejected: list[tuple[Transaction, Rejection]] = field(default_factory=list)
    block_bytes: int = 0
    next_validators_hash: bytes = b""


def execute_block(reader: StateReader, ctx: ChainContext, prev_root: bytes,
                  txs: list[Transaction] | tuple[Transaction, ...], *,
                  drop_invalid: bool, check_signatures: bool = False,
                  max_txs: int | None = None, max_bytes: int | None = None) -> BlockResult:
    """Execute `txs` in order over `reader`, then the end-of-block hooks.

    With `drop_invalid`, a failing transaction is left out (the proposer's mode) and block
    limits are applied; otherwise the first failure raises ValidationError(bad_block) (the
    validator's mode). The result's state root commits to the block's write set.
    """
    limit_txs = max_txs if max_txs is not None else ctx.params.max_block_txs
    limit_bytes = max_bytes if max_bytes is not None else ctx.params.max_block_bytes
    if drop_invalid:
        # A proposer's transactions passed the mempool's checks and nearly always all
        # succeed: they run first as a validator's do, straight into the block's overlay.
        # On the first refusal that overlay holds the refused transaction's partial writes,
        # so it is dropped and the block runs again with a child overlay per transaction,
        # which leaves the refused ones out. With no refusal both runs give the same result
        # (a child's writes merged into its parent are the writes made straight into it);
        # a block with a refusal costs once more the work before the refusal.
        try:
            return _execute(reader, ctx, prev_root, txs, limit_txs, limit_bytes,
                            drop_invalid=True, isolated=False,
                            check_signatures=check_signatures)
        except _Refused:
            pass
    return _execute(reader, ctx, prev_root, txs, limit_txs, limit_bytes,
                    drop_invalid=drop_invalid, isolated=drop_invalid,
                    check_signatures=check_signatures)


class _Refused(Exception):
    """A transaction was refused in a proposer's first run (see `execute_block`)."""


def _execute(reader: StateReader, ctx: ChainContext, prev_root: bytes,
             txs: list[Transaction] | tuple[Transaction, ...], limit_txs: int,
             limit_bytes: int, *, drop_invalid: bool, isolated: bool,
             check_signatures: bool) -> BlockResult:
    """One run of `execute_block`. Not `isolated` with `drop_invalid`: a refusal raises
    _Refused (the overlay then holds partial writes)."""
    assert isolated <= drop_invalid, "a validator's run never isolates its transactions"
    overlay = Overlay(reader)
    kept: list[Transaction] = []
    receipts: list[Receipt] = []
    rejected: list[tuple[Transaction, Rejection]] = []
    size = 0
    for tx in txs:
        if len(kept) >= limit_txs or size + len(tx.raw) > limit_bytes:
            if not drop_invalid:
                raise ValidationError(ErrorCode.BLOCK_LIMIT, "block over its limits")
            break
        try:
            # Without isolation the transaction writes straight into `overlay`, which a
            # refusal then throws away (a validator refuses the whole block).
            receipt = apply_tx(ctx, overlay, tx, check_signature=check_signatures,
                               isolated=isolated)
        except ValidationError as exc:
            if not drop_invalid:
                raise ValidationError(
                    ErrorCode.BAD_BLOCK, f"tx {tx.tx_id.hex()[:16]} refused: {exc}"
                ) from exc
            if not isolated:
                raise _Refused from exc
            rejected.append((tx, Rejection(exc.code, exc.message)))
            continue
        kept.append(tx)
        receipts.append(receipt)
        size += len(tx.raw)
    end_events: list[Event] = []
    for _, _, hook in END_BLOCK_HOOKS:
        end_events.extend(hook(ctx, overlay))
    root = next_state_root(prev_root, ctx.height, overlay.writes)
    assert len(kept) == len(receipts)
    return BlockResult(kept, receipts, end_events, overlay.writes, root, rejected, size,
                       next_set_hash(overlay, ctx))


def next_set_hash(view: StateReader | Overlay, ctx: ChainContext) -> bytes:
    """The hash of the validator set in force at `ctx.height + 1`, over the state after
    block `ctx.height` (`view`). With no recorded set by then, the set is the one in force
    at `ctx.height` (the genesis set, which `ctx.validators` holds when built by `at`)."""
    if ctx.genesis is not None:
        return validator_set_hash(validators_in_force(view, ctx.genesis, ctx.height + 1))
    record = recorded_set_at(view, ctx.height + 1)
    keys = ctx.validators if record is None else tuple(v[1] for v in record.validators)
    return validator_set_hash(keys)
