"""The PBFT replica: the one entry point, `step`, over one state and three phases.

`Replica` is a plain object driven by `step(event, now_ms) -> list[Effect]`. It never
reads a clock, touches a socket or a disk: the node feeds it events and runs the effects
in order (see `consensus.events.Effect`). One height is in flight at a time; the view
(and so the primary) stays the same from height to height until a view change.

The state lives in `consensus.state.ReplicaState`; the rules live in one module per
phase, as step functions over that state: `consensus.normal` (PRE-PREPARE, PREPARE,
COMMIT, finalize), `consensus.view_change` (VIEW-CHANGE, NEW-VIEW) and
`consensus.catch_up` (DECIDED, fetching finalized blocks). This module routes each event
and message to its handler (`EVENT_HANDLERS`, `MESSAGE_HANDLERS`, `TIMER_HANDLERS`), then
applies `FOLLOW_UP_RULES` in their order, then re-arms the timers.

Contract with the node
----------------------
* Construct with the chain id, the validator schedule (`consensus.schedule`: the set in
  force at each height, known at least through the next height; or `validators` for a
  set that never changes; primary(view) at height h is set(h)[view % n(h)]), this
  node's SigningKey (None for an observer that only follows finalized blocks; a key in
  no set yet follows as an observer and votes from the height whose set names it), the
  last finalized height, digest and commit certificate from the
  block store, and the records emitted through Persist that the node kept: it may drop
  a record whose Persist.height is below the finalized height, except one record of the
  highest Persist.view of all (restore re-enters that view; see `consensus.events.Persist`).
  Then call step(Started(), now_ms).
* The block is opaque bytes. `digest_fn(block)` (default SHA-256) names it, or returns
  None for bytes that are not a block; it never raises. The node passes the header hash
  after checking that the body is the one the header commits to, so a digest names the
  whole block: a body that does not match is a different (invalid) block, dropped where
  it arrives and blamed on its sender (`Blame`), never finalized. Votes sign
  (DOMAIN_TAG, chain_id, phase, view, height, digest).
* Application answers (BlockProposed, BlockValidated, BlocksFetched) may come in any
  later step; stale answers are ignored.
* FinalizeBlock effects come in height order; the node executes and stores the block
  with its certificate atomically, then answers WorkPending(pending) for the new state
  (finalizing clears the replica's notion of pending work).
* Timers: run each SetTimer/CancelTimer; a TimerFired that is not due is ignored.
* Reconfiguration: after running the FinalizeBlock of height h, answer
  ValidatorsKnown(through, changes) with every set the application has determined
  (through >= h + 2: a change takes effect at least two heights after the block that
  passed it). The replica judges every message by the set of its height; it finalizes
  h + 1 only once the set of h + 2 is known, and waits (never guesses) until then.
* Timers: the view-change timeout base and the idle block interval in force at the
  height being decided come from `timers` (the chain's, from finalized_height + 1 on)
  and `ValidatorsKnown.timers` (later changes, reported like the sets); without them
  the config's values hold for every height.

Safety rule kept here: the replica never signs two different votes for one
Slot(view, height, phase), across restarts too, because `ReplicaState.sign` emits the
Persist record before the vote exists, and restore rebuilds `state.signed` from them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nacl.signing import SigningKey

from consensus import catch_up, limits, normal, view_change
from consensus import events as ev
from consensus.errors import ConsensusLocalProtocolError, ConsensusRemotePeerError
from consensus.messages import (
    PHASE_COMMIT,
    Decided,
    Height,
    NewView,
    PeerId,
    PrePrepare,
    ValidatorIndex,
    VerifyFn,
    View,
    ViewChange,
    Vote,
    decode_message,
    sha256_digest,
    unpack_canonical,
)
from consensus.records import (
    REC_COMMIT,
    REC_VIEW_CHANGE,
    REC_VOTE,
    record_fields,
    record_position,
)
from consensus.schedule import TimerChange, ValidatorSchedule
from consensus.state import (
    RESEND_KINDS,
    TIMER_FETCH,
    TIMER_PROPOSE,
    TIMER_RETRANSMIT,
    TIMER_VIEW_CHANGE,
    ReplicaConfig,
    ReplicaState,
    Slot,
    proposal_slot,
)
from consensus.view_change import select_new_view

__all__ = [
    "REC_COMMIT", "REC_VIEW_CHANGE", "REC_VOTE", "TIMER_FETCH", "TIMER_PROPOSE",
    "TIMER_RETRANSMIT", "TIMER_VIEW_CHANGE", "Replica", "ReplicaConfig", "ReplicaState",
    "Slot", "record_fields", "record_position", "select_new_view",
]

MessageHandler = Callable[[ReplicaState, PeerId, Any], None]

# A decoded message goes to the handler of its type (its phase's module).
MESSAGE_HANDLERS: dict[type, MessageHandler] = {
    PrePrepare: normal.on_preprepare,
    Vote: normal.on_vote,
    ViewChange: view_change.on_view_change,
    NewView: view_change.on_new_view,
    Decided: catch_up.on_decided,
}

# After every event, in this order (it is the priority between phases): finalize the
# fetched blocks that waited for their validator set; finalize or
# vote what the votes allow; join a view f+1 ask for; as the new primary send NEW-VIEW;
# vote again (the NEW-VIEW may carry a re-proposal); refresh a VIEW-CHANGE a finalize
# made stale; propose; fetch blocks known final.
FOLLOW_UP_RULES: tuple[Callable[[ReplicaState], None], ...] = (
    catch_up.drain_fetched,
    normal.advance,
    view_change.maybe_join,
    view_change.maybe_new_view,
    normal.advance,
    view_change.resend_stale_view_change,
    normal.maybe_propose,
    catch_up.maybe_fetch,
)


class Replica:
    """One PBFT replica (or observer). Feed it events with `step`; run the effects."""

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
        records: Sequence[bytes] = (),
        digest_fn: Callable[[bytes], bytes | None] = sha256_digest,
        config: ReplicaConfig | None = None,
        verifier: VerifyFn | None = None,
        timers: Sequence[TimerChange] = (),
    ) -> None:
        """Raises ConsensusLocalProtocolError on bad arguments or undecodable records."""
        self.state = ReplicaState(
            chain_id=chain_id, validators=validators, schedule=schedule,
            signing_key=signing_key,
            finalized_height=finalized_height, finalized_digest=finalized_digest,
            finalized_certificate=finalized_certificate, digest_fn=digest_fn, config=config,
            verifier=verifier, timers=timers)
        _restore(self.state, records)
        self._event_handlers: dict[type, Callable[[Any], None]] = {
            ev.Started: self._on_started,
            ev.MessageReceived: self._on_message,
            ev.TimerFired: self._on_timer,
            ev.WorkPending: self._on_work_pending,
            ev.BlockProposed: lambda event: normal.on_block_proposed(self.state, event),
            ev.BlockValidated: lambda event: normal.on_block_validated(self.state, event),
            ev.BlocksFetched: lambda event: catch_up.on_blocks_fetched(self.state, event),
            ev.ValidatorsKnown: self._on_validators_known,
        }

    # --- public read-only view (the rest is in `state`) -----------------------------

    @property
    def quorum(self) -> int:
        return self.state.quorum

    @property
    def height(self) -> Height:
        """The height being decided (one above the last finalized)."""
        return self.state.height

    @property
    def view(self) -> View:
        return self.state.view

    @property
    def active(self) -> bool:
        """False while waiting for the NEW-VIEW of `view`."""
        return self.state.active

    @property
    def finalized_digest(self) -> bytes:
        return self.state.finalized_digest

    @property
    def finalized_height(self) -> int:
        return self.state.height - 1

    @property
    def counters(self) -> dict[str, int]:
        """What happened, by name (drops, view changes, fetches...), for metrics."""
        return self.state.counters

    def primary(self, view: int) -> ValidatorIndex:
        """The primary of `view` at the height being decided."""
        return self.state.primary(view)

    @property
    def validators(self) -> tuple[bytes, ...]:
        """The set in force at the height being decided (canonical order)."""
        return self.state.validators

    @property
    def is_validator(self) -> bool:
        """True when this node's key is in the set of the height being decided."""
        return self.state.index is not None

    def validators_at(self, height: int) -> tuple[bytes, ...] | None:
        """The set in force at `height`, None when not (or no longer) known here."""
        vset = self.state.set_at(height)
        return None if vset is None else vset.keys

    @property
    def finalize_pending(self) -> bool:
        """True while fetched blocks wait for the host's next ValidatorsKnown."""
        return self.state.fetched_waiting is not None

    @property
    def validators_known_through(self) -> int:
        """The highest height whose validator set the host has reported."""
        return self.state.schedule.known_through

    @property
    def catching_up(self) -> bool:
        """True while a certificate proves blocks above ours exist or a fetch is running."""
        s = self.state
        return s.fetch is not None or (s.final_ahead is not None
                                       and s.final_ahead.height >= s.height)

    def timeout_ms(self) -> int:
        """Current view-change timeout: base doubled per consecutive view change, capped."""
        return self.state.timeout_ms()

    # --- the one entry point -----------------------------------------------------------

    def step(self, event: ev.Event, now_ms: int) -> list[ev.Effect]:
        """Advance the replica by one event. The caller runs the effects in order.

        Raises ConsensusLocalProtocolError if `now_ms` goes backwards or an application answer is
        malformed; bad peer input is counted and dropped, never raised.
        """
        s = self.state
        if now_ms < s.now_ms:
            raise ConsensusLocalProtocolError("bad_argument", "now_ms went backwards")
        assert not s.effects, "step is not re-entrant"
        s.now_ms = now_ms
        self._event_handlers[type(event)](event)
        for rule in FOLLOW_UP_RULES:
            rule(s)
        _sync_timers(s)
        out, s.effects = s.effects, []
        return out

    # --- event handlers ----------------------------------------------------------------

    def _on_started(self, _event: ev.Started) -> None:
        s = self.state
        s.round_started_ms = s.last_finalize_ms = s.last_retransmit_ms = s.now_ms
        s.view_change_started_ms = s.now_ms
        if not s.active and s.index is not None:
            view_change.send_view_change(s)

    def _on_message(self, event: ev.MessageReceived) -> None:
        try:
            msg = decode_message(event.msg)
        except ConsensusRemotePeerError as exc:
            self.state.count("drop_" + exc.code)
            return
        MESSAGE_HANDLERS[type(msg)](self.state, event.sender, msg)

    def _on_validators_known(self, event: ev.ValidatorsKnown) -> None:
        if self.state.schedule.extend(event.through_height, event.changes):
            self.state.count("validators_known")
        if self.state.timer_schedule.extend(event.timers):
            self.state.count("timers_known")

    def _on_work_pending(self, event: ev.WorkPending) -> None:
        s = self.state
        if event.pending and not s.work_pending:
            s.work_since_ms = s.now_ms
        s.work_pending = event.pending

    def _on_timer(self, event: ev.TimerFired) -> None:
        s = self.state
        deadline = s.timers.get(event.name)
        if deadline is None or deadline > s.now_ms:
            s.count("stale_timer")
            return
        del s.timers[event.name]
        handler = TIMER_HANDLERS.get(event.name)
        if handler is not None:
            handler(s)


# --- timers ----------------------------------------------------------------------------------


def _on_view_change_timer(s: ReplicaState) -> None:
    if not s.active:
        reason = "new_view_timeout"
    elif proposal_slot(s.view, s.height) in s.proposals:
        reason = "stalled"
    else:
        reason = "no_proposal"
    view_change.start_view_change(s, View(s.view + 1), reason)


def _on_retransmit_timer(s: ReplicaState) -> None:
    s.last_retransmit_ms = s.now_ms
    s.count("retransmit")
    for kind in RESEND_KINDS:
        if kind in s.resend:
            s.effects.append(ev.Broadcast(s.resend[kind]))
    if s.active and s.new_view_bytes is not None and s.is_primary() \
            and s.last_finalize_ms <= s.round_started_ms:
        s.effects.append(ev.Broadcast(s.new_view_bytes))


# A due timer runs its handler; the propose timer only wakes the follow-up rules.
TIMER_HANDLERS: dict[str, Callable[[ReplicaState], None]] = {
    TIMER_VIEW_CHANGE: _on_view_change_timer,
    TIMER_RETRANSMIT: _on_retransmit_timer,
    TIMER_FETCH: catch_up.on_fetch_timer,
}


def _expecting_since_ms(s: ReplicaState) -> int | None:
    """Since when this replica expects progress (work, the idle interval, a proposal)."""
    starts: list[int] = []
    if s.work_pending:
        starts.append(max(s.round_started_ms, s.work_since_ms))
    idle = s.timers_in_force().idle_block_interval_ms
    if idle is not None:
        starts.append(max(s.round_started_ms, s.last_finalize_ms + idle))
    if s.proposal_seen_ms is not None:
        starts.append(max(s.round_started_ms, s.proposal_seen_ms))
    return min(starts) if starts else None


def _desired_timers(s: ReplicaState) -> dict[str, int]:
    timers: dict[str, int] = {}
    if s.fetch is not None:
        timers[TIMER_FETCH] = s.fetch.deadline_ms
    if s.index is None:
        return timers
    retransmit_from = max(s.round_started_ms, s.last_retransmit_ms)
    if not s.active:
        timers[TIMER_VIEW_CHANGE] = s.view_change_started_ms + s.timeout_ms()
        timers[TIMER_RETRANSMIT] = retransmit_from + s.config.retransmit_interval_ms
        return timers
    since = _expecting_since_ms(s)
    if since is not None:
        timers[TIMER_VIEW_CHANGE] = since + s.timeout_ms()
    if s.resend or (since is not None and since <= s.now_ms):
        timers[TIMER_RETRANSMIT] = retransmit_from + s.config.retransmit_interval_ms
    idle = s.timers_in_force().idle_block_interval_ms
    slot = proposal_slot(s.view, s.height)
    if idle is not None and s.is_primary() and slot not in s.proposals \
            and not s.work_pending and s.proposal_asked is None \
            and s.height >= s.view_start_height and slot not in s.signed:
        timers[TIMER_PROPOSE] = max(s.now_ms, s.last_finalize_ms + idle)
    return timers


def _sync_timers(s: ReplicaState) -> None:
    """Emit SetTimer/CancelTimer for what changed in the timers the state calls for."""
    desired = _desired_timers(s)
    for name in sorted(s.timers):
        if name not in desired:
            del s.timers[name]
            s.effects.append(ev.CancelTimer(name))
    for name, deadline in sorted(desired.items()):
        if s.timers.get(name) != deadline:
            s.timers[name] = deadline
            s.effects.append(ev.SetTimer(name, deadline))


# --- restore ---------------------------------------------------------------------------------


def _restore(s: ReplicaState, records: Sequence[bytes]) -> None:
    """Rebuild what we signed from the consensus-log records (see consensus.records)."""
    if len(records) > limits.MAX_RESTORE_RECORDS:
        raise ConsensusLocalProtocolError("bad_record", "too many records")
    view_max = 0
    for record in records:
        try:
            obj = unpack_canonical(record, limits.MAX_RECORD_BYTES)
            view_max = max(view_max, _restore_one(s, obj))
        except ConsensusRemotePeerError as exc:
            raise ConsensusLocalProtocolError("bad_record", f"undecodable record: {exc}") from exc
    if view_max > 0:
        # We may have been active in view_max; re-enter it through its NEW-VIEW
        # (peers send it when they see our VIEW-CHANGE) so we learn its constraints.
        s.view = View(view_max)
        s.active = False
    s.view_change_persisted = (view_max, 0)


def _restore_one(s: ReplicaState, obj: Any) -> int:
    """Replay one record; returns the view it names. Raises ConsensusRemotePeerError (the
    record's bytes are as untrusted as a peer's: a disk can be corrupt) naming the
    field, or ConsensusLocalProtocolError when a record contradicts itself."""
    fields = record_fields(obj)
    kind = fields[0]
    if kind == REC_VOTE:
        _, phase, view, height, digest, block = fields
        if height >= s.height:
            s.signed[Slot(view, height, phase)] = digest
        if height == s.height and block is not None:
            if s.digest_fn(block) != digest:
                raise ConsensusLocalProtocolError("bad_record", "restored proposal digest")
            s.restored_proposals[proposal_slot(view, height)] = block
        return int(view)
    if kind == REC_COMMIT:
        _, view, height, digest, cert, block = fields
        if height >= s.height:
            s.signed[Slot(view, height, PHASE_COMMIT)] = digest
        if cert.digest != digest:
            raise ConsensusLocalProtocolError("bad_record", "prepared certificate digest")
        if height == s.height and (s.prepared_cert is None
                                   or cert.view > s.prepared_cert.view):
            s.prepared_cert, s.prepared_block = cert, block
        return int(view)
    assert kind == REC_VIEW_CHANGE
    return int(fields[1])

