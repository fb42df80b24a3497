"""The one state object of a replica, and the helpers every phase shares.

`ReplicaState` holds everything the phases (`consensus.normal`, `consensus.view_change`,
`consensus.catch_up`) read and change; `consensus.replica.Replica` owns one and feeds it
events. Its helpers only record effects in `effects` and update the state: they never
decide a phase transition. Every vote is keyed by a `Slot(view, height, phase)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from nacl.signing import SigningKey

from consensus import limits
from consensus.errors import ConsensusLocalProtocolError, ConsensusValidationError
from consensus.events import Blame, Broadcast, Effect, Note, Persist, Send
from consensus.messages import (
    PHASE_COMMIT,
    PHASE_PREPARE,
    Certificate,
    Decided,
    Digest,
    Height,
    Message,
    PeerId,
    PrePrepare,
    ValidatorIndex,
    Verifier,
    VerifyFn,
    View,
    ViewChange,
    Vote,
    encode_message,
    pack,
    sha256_digest,
    sign_vote,
    verify_certificate,
    vote_payload,
)
from consensus.records import REC_VOTE
from consensus.schedule import (
    TimerChange,
    Timers,
    TimerSchedule,
    ValidatorSchedule,
    ValidatorSet,
)

TIMER_VIEW_CHANGE = "view_change"
TIMER_RETRANSMIT = "retransmit"
TIMER_PROPOSE = "propose"
TIMER_FETCH = "fetch"

# Our own messages for the current slot, re-broadcast in this order by the retransmit timer.
RESEND_KINDS = ("vc", "pp", "prepare", "commit")


class Slot(NamedTuple):
    """The key of every vote: one (view, height, phase). A PRE-PREPARE is the primary's
    PREPARE, so proposals are keyed by the PREPARE slot of their (view, height)."""

    view: int
    height: int
    phase: int


def proposal_slot(view: int, height: int) -> Slot:
    """The slot of the PRE-PREPARE (the primary's PREPARE) for (view, height)."""
    return Slot(view, height, PHASE_PREPARE)


class BlockCheck(IntEnum):
    """Where the application's validation of a proposed block stands."""

    PENDING = 0
    VALID = 1
    INVALID = 2


@dataclass(frozen=True, slots=True)
class FetchInFlight:
    """The block fetch in flight, or the cool-down after a fruitless one (peer None)."""

    peer: PeerId | None  # who was asked; None during the cool-down
    from_height: int  # our height when we asked: the answer's first block is for it
    deadline_ms: int  # give up on the answer (or end the cool-down) then


@dataclass(frozen=True, slots=True)
class FinalAhead:
    """The highest height a valid commit certificate proved final, and the peers that
    proved they hold its block (none when only the votes of a commit quorum told us)."""

    height: int
    holders: tuple[PeerId, ...]


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    """Tunables; the defaults live in consensus/limits.py."""

    # The timers of every height unless the host gives the chain's (Replica(timers=...),
    # ValidatorsKnown.timers): the first view-change timeout, and how often an idle
    # primary proposes an empty block (None: never).
    view_change_timeout_ms: int = limits.VIEW_CHANGE_TIMEOUT_MS
    idle_block_interval_ms: int | None = None
    # The backoff cap; never below the base in force (a base voted above it wins).
    view_change_timeout_max_ms: int = limits.VIEW_CHANGE_TIMEOUT_MAX_MS
    retransmit_interval_ms: int = limits.RETRANSMIT_INTERVAL_MS
    fetch_timeout_ms: int = limits.FETCH_TIMEOUT_MS
    quorum_override: int | None = None  # TEST HOOK ONLY: deliberately break the quorum
    # TEST HOOK ONLY: judge every height by the first set of the schedule, so that a
    # removed validator's votes still count (the simulator must catch it).
    stale_membership: bool = False


class ReplicaState:
    """Everything a replica knows. Messages and votes are kept only for the heights and
    views in the window (limits.MAX_FUTURE_*)."""

    def __init__(
        self,
        *,
        chain_id: bytes,
        validators: Sequence[bytes] = (),
        schedule: ValidatorSchedule | None = None,
        signing_key: SigningKey | None,
        finalized_height: int = 0,
        finalized_digest: bytes = b"",
        finalized_certificate: bytes | None = None,
        digest_fn: Callable[[bytes], bytes | None] = sha256_digest,
        config: ReplicaConfig | None = None,
        verifier: VerifyFn | None = None,
        timers: Sequence[TimerChange] = (),
    ) -> None:
        """Pass either `validators` (one set for every height) or `schedule` (the sets
        by height, known at least through finalized_height + 1). With `validators` the
        signing key must be a validator's; with a schedule it may be in no set yet (an
        observer that votes once a set names it). `timers`: the chain's consensus timers
        from finalized_height + 1 on (see `TimerSchedule`); none: the config's. Raises
        ConsensusLocalProtocolError on bad arguments."""
        if (schedule is None) == (not validators):
            raise ConsensusLocalProtocolError("bad_argument", "validators or schedule")
        if not 0 < len(chain_id) <= limits.MAX_CHAIN_ID_BYTES:
            raise ConsensusLocalProtocolError("bad_argument", "chain_id length")
        if finalized_height < 0:
            raise ConsensusLocalProtocolError("bad_argument", "negative finalized_height")
        fixed = schedule is None
        if schedule is None:
            if len(set(validators)) != len(validators):
                raise ConsensusLocalProtocolError("bad_argument", "duplicate validator key")
            if not 1 <= len(validators) <= limits.MAX_VALIDATORS:
                raise ConsensusLocalProtocolError("bad_argument",
                                                  f"{len(validators)} validators")
            schedule = ValidatorSchedule.fixed(validators)
        self.chain_id = bytes(chain_id)
        self.schedule = schedule
        self.config = config or ReplicaConfig()
        self.timer_schedule = TimerSchedule(timers or [(
            1, self.config.view_change_timeout_ms, self.config.idle_block_interval_ms)])
        self.signing_key = signing_key
        self.public_key: bytes | None = (
            None if signing_key is None else bytes(signing_key.verify_key))
        self.digest_fn = digest_fn
        self.verify: VerifyFn = verifier if verifier is not None else Verifier()

        self.height = Height(finalized_height + 1)  # the height being decided
        first = schedule.at(max(1, finalized_height))
        if first is None or schedule.at(self.height) is None:
            raise ConsensusLocalProtocolError(
                "bad_argument", "schedule does not cover the finalized and next height")
        self._first_set = first  # for the stale_membership test hook
        # The set in force at self.height, and this node's place in it (enter_height).
        vset = self.set_at(self.height)
        assert vset is not None
        self.vset = vset
        self.validators: tuple[bytes, ...] = vset.keys
        self.n, self.f = vset.n, vset.f
        self.quorum = self.quorum_of(vset)
        self.index: ValidatorIndex | None = self.index_in(vset)
        if fixed and signing_key is not None and self.index is None:
            raise ConsensusLocalProtocolError("bad_argument", "signing key is not a validator")
        self.view = View(0)
        self.active = True  # False while waiting for NEW-VIEW of self.view
        self.finalized_digest = Digest(bytes(finalized_digest))
        self.last_certificate: Certificate | None = None  # of the last finalized block
        self.last_block: bytes | None = None  # the last finalized block, once we have it
        if finalized_height > 0:
            if finalized_certificate is None:
                raise ConsensusLocalProtocolError("bad_argument", "finalized_certificate missing")
            try:
                self.last_certificate = verify_certificate(
                    finalized_certificate, finalized_height, finalized_digest,
                    first.keys, self.chain_id, self.verify)
            except ConsensusValidationError as exc:
                raise ConsensusLocalProtocolError(
                    "bad_argument", f"stored certificate: {exc}") from exc

        self.now_ms = 0
        self.effects: list[Effect] = []  # the effects of the step under way, in order
        self.counters: dict[str, int] = {}
        self.timers: dict[str, int] = {}  # armed timer -> deadline_ms
        self.proposals: dict[Slot, PrePrepare] = {}  # by proposal_slot(view, height)
        self.votes: dict[Slot, dict[int, Vote]] = {}  # slot -> signer -> vote
        self.block_checks: dict[bytes, BlockCheck] = {}  # digest -> validation answer
        self.signed: dict[Slot, bytes] = {}  # slot -> digest we signed there (persisted)
        self.prepared_cert: Certificate | None = None  # highest prepared cert at self.height
        self.prepared_block: bytes | None = None
        self.resend: dict[str, bytes] = {}  # RESEND_KINDS -> our message of the current slot
        # signer's key -> its highest (signer indexes differ between heights' sets)
        self.latest_view_changes: dict[bytes, ViewChange] = {}
        self.view_change_persisted = (0, 0)  # (view, height) of our last persisted one
        self.view_change_stale = False  # finalized while view-changing: send a fresh one
        self.new_view_bytes: bytes | None = None  # the NEW-VIEW we accepted for self.view
        self.new_view_sent_view = -1  # the last view we sent a NEW-VIEW for
        self.reproposal: Slot | None = None  # the slot of the NEW-VIEW's re-proposal
        self.view_start_height = 1  # no fresh proposals below this height in self.view
        self.signer_heights: dict[bytes, int] = {}  # key -> highest height it signed at
        # peer -> the height it claimed in a message whose validator set we do not know
        # yet (unverifiable): catch-up asks these peers when nothing verified says more.
        self.height_claims: dict[bytes, int] = {}
        # Fetched blocks waiting for the validator set of the height after theirs:
        # (peer, height of the first, [(block, certificate)]).
        self.fetched_waiting: tuple[PeerId, int, list[tuple[bytes, bytes]]] | None = None
        self.final_ahead: FinalAhead | None = None
        self.fetch: FetchInFlight | None = None
        self.fetch_attempts = 0
        self.fetch_failed_peer: PeerId | None = None  # the last one whose answer gained nothing
        self.help_sent_ms: dict[bytes, int] = {}  # peer -> when we last helped it
        self.work_pending = False
        self.work_since_ms = 0
        self.proposal_seen_ms: int | None = None  # when this round's PRE-PREPARE arrived
        self.proposal_asked: Slot | None = None  # ProposeBlock out, no BlockProposed yet
        self.round_started_ms = 0  # the start of this round (start, finalize, new view)
        self.last_finalize_ms = 0
        self.last_retransmit_ms = 0
        self.view_change_started_ms = 0
        self.view_change_streak = 0  # consecutive view changes since the last finalized block
        self.restored_proposals: dict[Slot, bytes] = {}  # our proposals before a restart

    # --- membership (consensus.schedule) --------------------------------------------------

    def set_at(self, height: int) -> ValidatorSet | None:
        """The validator set in force at `height`, None while the host has not reported
        it (or it was pruned)."""
        if self.config.stale_membership:
            return self._first_set
        return self.schedule.at(height)

    def quorum_of(self, vset: ValidatorSet) -> int:
        return self.config.quorum_override or vset.quorum

    def index_in(self, vset: ValidatorSet) -> ValidatorIndex | None:
        """This node's index in `vset`, None when it is not a member (or an observer)."""
        return None if self.public_key is None else vset.index_of.get(self.public_key)

    def can_finalize(self) -> bool:
        """Finalizing our height moves us to the next, whose set must be known."""
        return self.set_at(self.height + 1) is not None

    def enter_height(self) -> None:
        """Take the set in force at self.height (known: `can_finalize` held before we
        moved here): quorum, f, primary rotation and whether this node votes."""
        vset = self.set_at(self.height)
        assert vset is not None, f"no validator set for height {self.height}"
        was_member = self.index is not None
        changed = vset != self.vset
        self.vset = vset
        self.validators = vset.keys
        self.n, self.f = vset.n, vset.f
        self.quorum = self.quorum_of(vset)
        self.index = self.index_in(vset)
        if changed:
            self.note("validators_changed", f"height={self.height} n={self.n} "
                      f"member={self.index is not None} was_member={was_member}")
            # Forget what keys outside the set in force (and the next, if known) asked
            # for: their VIEW-CHANGEs count nowhere any more, and keys come and go.
            upcoming = self.set_at(self.height + 1)
            keep = set(vset.keys) | (set(upcoming.keys) if upcoming is not None else set())
            self.latest_view_changes = {key: vc for key, vc in self.latest_view_changes.items()
                                        if key in keep}
        self.schedule.prune(self.height - 1)
        self.timer_schedule.prune(self.height)

    def note_claim(self, peer: PeerId, height: int) -> None:
        """`peer` claimed blocks up to `height` exist in a message we cannot check yet
        (its set is unknown to us). Capped: the lowest claim makes room."""
        claims = self.height_claims
        if height < self.height or claims.get(peer, -1) >= height:
            return
        if peer not in claims and len(claims) >= limits.MAX_HEIGHT_CLAIMS:
            lowest = min(sorted(claims), key=lambda key: claims[key])
            if claims[lowest] >= height:
                return
            del claims[lowest]
        claims[peer] = height

    # --- reading -------------------------------------------------------------------------

    def primary(self, view: int) -> ValidatorIndex:
        """The primary of `view` at the height being decided."""
        return self.vset.primary(view)

    def is_primary(self) -> bool:
        """True when this node is a validator and the primary of the current view."""
        return self.index is not None and self.primary(self.view) == self.index

    def timers_in_force(self) -> Timers:
        """The consensus timers in force at the height being decided."""
        return self.timer_schedule.at(self.height)

    def timeout_ms(self) -> int:
        """Current view-change timeout: the base in force at the height being decided,
        doubled per consecutive view change, capped (the cap never below the base)."""
        base = self.timers_in_force().view_change_timeout_ms
        cap = max(base, self.config.view_change_timeout_max_ms)
        shift = min(self.view_change_streak, limits.MAX_BACKOFF_SHIFT)
        timeout = min(base << shift, cap)
        assert base <= timeout <= cap
        return timeout

    def find_block(self, digest: bytes) -> bytes | None:
        """The block with `digest` at our height, from a proposal or our prepared cert."""
        for slot, pp in sorted(self.proposals.items()):
            if slot.height == self.height and pp.vote.digest == digest:
                return pp.block
        if self.prepared_cert is not None and self.prepared_cert.digest == digest:
            return self.prepared_block
        return None

    # --- recording effects -----------------------------------------------------------------

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def note(self, kind: str, detail: str) -> None:
        self.count(kind)
        self.effects.append(Note(kind, detail))

    def broadcast(self, msg: Message, resend_kind: str | None = None) -> bytes:
        """Broadcast `msg`; with `resend_kind`, also keep it for retransmission."""
        data = encode_message(msg)
        self.effects.append(Broadcast(data))
        if resend_kind is not None:
            assert resend_kind in RESEND_KINDS
            self.resend[resend_kind] = data
        return data

    def blame(self, peer: PeerId, reason: str) -> None:
        """`peer` sent what no honest node sends: drop it (counted) and tell the node."""
        self.count("drop_" + reason)
        self.effects.append(Blame(peer, reason))

    def sign(self, slot: Slot, digest: bytes, record: bytes | None = None,
             block: bytes | None = None) -> Vote | None:
        """Sign a vote, persisting it first; refuse a vote that conflicts with a signed one."""
        assert self.signing_key is not None, "observers never sign"
        assert slot.phase in (PHASE_PREPARE, PHASE_COMMIT)
        vset = self.set_at(slot.height)
        index = None if vset is None else self.index_in(vset)
        assert index is not None, f"not a validator at height {slot.height}"
        previous = self.signed.get(slot)
        if previous is not None and previous != digest:
            self.count("refused_conflicting_vote")
            return None
        if previous is None:
            record = record or pack([REC_VOTE, slot.phase, slot.view, slot.height, digest,
                                     block])
            self.effects.append(Persist(record, Height(slot.height), View(slot.view)))
            self.signed[slot] = digest
        vote = sign_vote(self.signing_key, self.chain_id, slot.phase, slot.view, slot.height,
                         digest, index)
        assert self.signed[slot] == vote.digest
        return vote

    def verify_vote(self, vote: Vote) -> bool:
        """Check the vote's signature by the key its index names at its height."""
        vset = self.set_at(vote.height)
        if vset is None or vote.signer >= vset.n:
            self.count("drop_unknown_validator")
            return False
        payload = vote_payload(self.chain_id, vote.phase, vote.view, vote.height, vote.digest)
        if self.verify(vset.keys[vote.signer], payload, vote.signature):
            return True
        self.count("drop_bad_signature")
        return False

    # --- what peers proved -------------------------------------------------------------------

    def note_signer_height(self, signer: bytes, height: int) -> None:
        """A validator (its key) proved by signing that it works at `height`."""
        if height > self.signer_heights.get(signer, 0):
            if signer not in self.signer_heights \
                    and len(self.signer_heights) >= limits.MAX_VERIFY_KEYS:
                self.signer_heights.clear()  # keys of many sets: start over (hints only)
            self.signer_heights[signer] = height

    def learn_final(self, height: int, holder: PeerId | None) -> None:
        """A valid commit certificate proved `height` final; `holder`, when not None,
        showed it holds the block. The known-final height never goes down (any allowed
        peer can send an old certificate); the holders of that height accumulate, capped,
        and the fetch turns through them, so one lying holder cannot stall catch-up."""
        current = self.final_ahead
        if current is None or height > current.height:
            self.final_ahead = FinalAhead(height, () if holder is None else (holder,))
        elif height == current.height and holder is not None \
                and holder not in current.holders \
                and len(current.holders) < limits.MAX_CATCH_UP_HOLDERS:
            self.final_ahead = FinalAhead(height, tuple(sorted((*current.holders, holder))))

    def help_lagging_peer(self, peer: PeerId, their_height: int, their_view: int) -> None:
        """Send a peer that is behind our last commit certificate and/or our NEW-VIEW.

        Rate-limited per peer by retransmit_interval_ms; the table is capped.
        """
        behind_height = their_height < self.height and self.last_certificate is not None
        behind_view = self.active and their_view <= self.view \
            and self.new_view_bytes is not None
        if not (behind_height or behind_view):
            return
        last = self.help_sent_ms.get(peer)
        if last is not None and self.now_ms - last < self.config.retransmit_interval_ms:
            return
        if len(self.help_sent_ms) >= 2 * limits.MAX_VALIDATORS:
            self.help_sent_ms.clear()
        self.help_sent_ms[peer] = self.now_ms
        if behind_height:
            assert self.last_certificate is not None
            block = self.last_block if their_height == self.height - 1 else None
            self.count("help_decided")
            self.effects.append(Send(peer, encode_message(Decided(self.last_certificate,
                                                                  block))))
        if behind_view:
            assert self.new_view_bytes is not None
            self.count("help_new_view")
            self.effects.append(Send(peer, self.new_view_bytes))

    def store_proposal(self, pp: PrePrepare) -> None:
        """Keep a checked PRE-PREPARE; it counts as its primary's PREPARE vote."""
        vote = pp.vote
        slot = proposal_slot(vote.view, vote.height)
        self.proposals[slot] = pp
        self.votes.setdefault(slot, {})[vote.signer] = vote
        if (vote.height, vote.view) == (self.height, self.view) \
                and self.proposal_seen_ms is None:
            self.proposal_seen_ms = self.now_ms
