"""Events into and effects out of `Replica.step`: frozen dataclasses, no behaviour.

Events are what the node tells the replica: a message arrived, a timer fired, the
application answered. Effects are what the replica asks of the node. See `Effect` for
the order in which the node must run them.
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus.messages import Digest, Height, PeerId, View

# --- events ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Started:
    """Send once after constructing the replica (fresh or restored): it re-arms timers
    and re-broadcasts what a restored replica had signed."""


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A consensus message from the network."""

    sender: PeerId  # who handed us the bytes (a validator's public key, or a peer id)
    msg: bytes  # canonical msgpack wire bytes; the replica decodes and checks them


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer set by SetTimer reached its deadline (stale fires are ignored)."""

    name: str


@dataclass(frozen=True, slots=True)
class WorkPending:
    """The mempool has (True) or has no (False) transactions waiting."""

    pending: bool


@dataclass(frozen=True, slots=True)
class BlockProposed:
    """Answer to ProposeBlock: the block the application built (executed) at height."""

    height: Height
    view: View
    block: bytes  # opaque to consensus; digest_fn(block) identifies it


@dataclass(frozen=True, slots=True)
class BlockValidated:
    """Answer to ValidateBlock: whether re-execution matched the header."""

    height: Height
    view: View
    digest: Digest
    valid: bool
    reason: str  # why it is invalid, for the log; "" when valid


@dataclass(frozen=True, slots=True)
class BlocksFetched:
    """Answer to FetchBlocks: consecutive finalized blocks from `peer`, lowest first,
    each with its commit certificate bytes. Empty if the peer had none."""

    peer: PeerId
    blocks: tuple[tuple[bytes, bytes], ...]  # (block, certificate)


@dataclass(frozen=True, slots=True)
class ValidatorsKnown:
    """The application determined the validator sets of every height up to
    `through_height` (it does after each finalized block: a passed change takes effect
    at least two heights after the block that passed it). `changes` are the
    (from_height, keys in canonical order) of the sets taking effect above the last
    finalized height, ascending; repeating a change already reported is fine, changing
    a known height is a host bug (ConsensusLocalProtocolError). `timers` are the
    (from_height, view_change_timeout_ms, idle_block_interval_ms) of the consensus timers
    taking effect above the last finalized height, ascending, by the same rules (chain
    parameters: every validator waits the same at a height)."""

    through_height: int
    changes: tuple[tuple[int, tuple[bytes, ...]], ...] = ()
    timers: tuple[tuple[int, int, int | None], ...] = ()


Event = (Started | MessageReceived | TimerFired | WorkPending | BlockProposed
         | BlockValidated | BlocksFetched | ValidatorsKnown)

# --- effects ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Persist:
    """Append `record` to the consensus log and make it durable (fsync) before running
    any later effect of the same step. Pass the records back at restart, all but those
    the node may drop: once height h is finalized, a record whose `height` is below h,
    unless it is the last record left of the highest `view` of all records (restore
    re-enters the highest view a record names; a highest view of 0 needs no record)."""

    record: bytes
    height: Height  # the height the record is about (a vote's, a VIEW-CHANGE's)
    view: View  # the view it is about


@dataclass(frozen=True, slots=True)
class Send:
    """Send `msg` to one peer (best effort; the replica retransmits)."""

    to: PeerId
    msg: bytes


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send `msg` to every validator except this one (gossip to observers is fine)."""

    msg: bytes


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Arm (or re-arm) timer `name` to fire TimerFired(name) at `deadline_ms`."""

    name: str
    deadline_ms: int


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Disarm timer `name` (no-op if it is not armed)."""

    name: str


@dataclass(frozen=True, slots=True)
class ProposeBlock:
    """Build a block at `height` on the last finalized block (execute it on an overlay,
    put the state root in its header) and answer BlockProposed(height, view, block)."""

    height: Height
    view: View


@dataclass(frozen=True, slots=True)
class ValidateBlock:
    """Re-execute `block` on the last finalized state and answer BlockValidated."""

    height: Height
    view: View
    digest: Digest
    block: bytes
    # A NEW-VIEW's re-proposal of a block prepared in an earlier view: it was built by
    # that view's primary, so its proposer is any validator, not primary(view).
    reproposal: bool = False


@dataclass(frozen=True, slots=True)
class FinalizeBlock:
    """`block` is final at `height`: execute it (or apply the overlay kept from
    validation), store it with `certificate` in one atomic batch. Heights come in order,
    each exactly one above the last finalized height."""

    height: Height
    digest: Digest
    block: bytes
    certificate: bytes  # encoded commit certificate; verify with verify_certificate


@dataclass(frozen=True, slots=True)
class FetchBlocks:
    """Ask `peer` for finalized blocks from_height..to_height (inclusive) with their
    certificates and answer BlocksFetched (possibly empty, possibly fewer)."""

    peer: PeerId
    from_height: Height
    to_height: Height


@dataclass(frozen=True, slots=True)
class Blame:
    """`peer` sent bytes that prove it faulty (a block body that does not match the digest
    it was sent under, a sync reply that is not the chain). The node lowers the peer's
    standing (disconnects, bans); the replica has already dropped what it sent."""

    peer: PeerId
    reason: str  # stable snake_case name, e.g. "digest_mismatch"


@dataclass(frozen=True, slots=True)
class Note:
    """Something an operator should see in the log, e.g. a view change and its reason.
    The core never logs; the node logs notes and may count them by `kind`."""

    kind: str
    detail: str


Effect = (Persist | Send | Broadcast | SetTimer | CancelTimer | ProposeBlock
          | ValidateBlock | FinalizeBlock | FetchBlocks | Blame | Note)
"""Run the effects of one step in list order. The replica already orders them so that
etcd's Ready discipline holds: every Persist comes before the Send/Broadcast it
protects, and a FinalizeBlock comes after the sends of the same step that led to it.
The node must make a Persist durable before starting any later effect of that step."""
