"""The PBFT replica: everything that changes consensus state lives here.

`Replica` is a plain object driven by `step(event, now_ms) -> list[Effect]`. It never
reads a clock, touches a socket or a disk: the node feeds it events and runs the effects
in order (see `consensus.events.Effect`). One height is in flight at a time; the view
(and so the primary) stays the same from height to height until a view change.

Contract with the node
----------------------
* Construct with the chain id, the ordered validator public keys (primary(view) is
  validators[view % n]), this node's SigningKey (None for an observer that only follows
  finalized blocks), the last finalized height, digest and commit certificate from the
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

Safety rule kept here: the replica never signs two different votes for one
(phase, view, height), across restarts too, because `_sign` emits the Persist record
before the vote exists, and restore rebuilds `_signed` from the records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, assert_never

from nacl.signing import SigningKey

from consensus import limits
from consensus.errors import LocalProtocolError, RemotePeerError, ValidationError
from consensus.events import (
    Blame,
    BlockProposed,
    BlocksFetched,
    BlockValidated,
    Broadcast,
    CancelTimer,
    Effect,
    Event,
    FetchBlocks,
    FinalizeBlock,
    MessageReceived,
    Note,
    Persist,
    ProposeBlock,
    Send,
    SetTimer,
    Started,
    TimerFired,
    ValidateBlock,
    WorkPending,
)
from consensus.messages import (  # the field checkers decode records as they do messages
    PHASE_COMMIT,
    PHASE_PREPARE,
    Certificate,
    Decided,
    Digest,
    Height,
    Message,
    NewView,
    PeerId,
    PrePrepare,
    ValidatorIndex,
    Verifier,
    VerifyFn,
    View,
    ViewChange,
    Vote,
    _block,
    _digest,
    _int,
    _list,
    cert_from_obj,
    cert_obj,
    check_certificate,
    decode_message,
    encode_certificate,
    encode_message,
    new_view_payload,
    pack,
    quorum_size,
    sha256_digest,
    sign_vote,
    unpack_canonical,
    verify_certificate,
    view_change_payload,
    vote_payload,
)

REC_VOTE = 1  # [1, phase, view, height, digest, block|None]: we signed this PREPARE;
#               block is set for our own PRE-PREPARE (re-sent after a restart)
REC_COMMIT = 2  # [2, view, height, digest, prepared_cert, block]: we signed this COMMIT
REC_VIEW_CHANGE = 3  # [3, view, height]: we sent VIEW-CHANGE for this view at height


def record_position(record: bytes) -> tuple[Height, View]:
    """The (height, view) its Persist named, read back from a record (for a log written
    before Persist carried them). Raises LocalProtocolError("bad_record") if undecodable."""
    try:
        fields = record_fields(unpack_canonical(record, limits.MAX_RECORD_BYTES))
    except RemotePeerError as exc:
        raise LocalProtocolError("bad_record", f"undecodable record: {exc}") from exc
    if fields[0] == REC_VOTE:
        return Height(fields[3]), View(fields[2])
    return Height(fields[2]), View(fields[1])


def record_fields(obj: Any) -> list[Any]:
    """A decoded record's fields, each checked for its type and range (the prepared
    certificate of a REC_COMMIT decoded); raises RemotePeerError naming the field."""
    kind = _int(_list(obj, "record")[0] if obj else None, "record.kind")
    if kind == REC_VOTE:
        _, phase, view, height, digest, block = _list(obj, "vote record", 6)
        if _int(phase, "record.phase") not in (PHASE_PREPARE, PHASE_COMMIT):
            raise RemotePeerError("malformed_message", f"record phase {phase}")
        return [kind, phase, _int(view, "record.view"), _int(height, "record.height", 1),
                _digest(digest), None if block is None else _block(block)]
    if kind == REC_COMMIT:
        _, view, height, digest, prepared, block = _list(obj, "commit record", 6)
        cert = cert_from_obj(prepared)
        if cert is None:
            raise RemotePeerError("malformed_message", "commit record without certificate")
        return [kind, _int(view, "record.view"), _int(height, "record.height", 1),
                _digest(digest), cert, _block(block)]
    if kind == REC_VIEW_CHANGE:
        _, view, height = _list(obj, "view-change record", 3)
        return [kind, _int(view, "record.view"), _int(height, "record.height", 1)]
    raise RemotePeerError("malformed_message", f"record kind {kind}")


TIMER_VIEW_CHANGE = "view_change"
TIMER_RETRANSMIT = "retransmit"
TIMER_PROPOSE = "propose"
TIMER_FETCH = "fetch"

_PENDING, _VALID, _INVALID = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Fetch:
    """The block fetch in flight, or the cool-down after a fruitless one (peer None)."""

    peer: PeerId | None  # who was asked; None during the cool-down
    from_height: int  # our height when we asked: the answer's first block is for it
    deadline_ms: int  # give up on the answer (or end the cool-down) then


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    """Tunables; the defaults live in consensus/limits.py."""

    view_change_timeout_ms: int = limits.VIEW_CHANGE_TIMEOUT_MS  # first timeout
    view_change_timeout_max_ms: int = limits.VIEW_CHANGE_TIMEOUT_MAX_MS  # backoff cap
    retransmit_interval_ms: int = limits.RETRANSMIT_INTERVAL_MS
    fetch_timeout_ms: int = limits.FETCH_TIMEOUT_MS
    idle_block_interval_ms: int | None = None  # propose empty blocks this often; None=never
    quorum_override: int | None = None  # TEST HOOK ONLY: deliberately break the quorum


def select_new_view(vcs: Sequence[ViewChange]) -> tuple[Height, ViewChange | None]:
    """The height a NEW-VIEW starts at (the highest proven next height) and the
    VIEW-CHANGE whose prepared certificate must be re-proposed there, if any.

    Pure and deterministic: ties on the prepared view break on digest then signer.
    """
    assert vcs, "select_new_view needs view changes"
    height = Height(max(vc.height for vc in vcs))
    best: ViewChange | None = None
    for vc in vcs:
        if vc.height != height or vc.prepared is None:
            continue
        if best is None:
            best = vc
            continue
        assert best.prepared is not None
        if (vc.prepared.view, vc.prepared.digest) > (best.prepared.view, best.prepared.digest):
            best = vc
    assert best is None or best.height == height
    return height, best


class Replica:
    """One PBFT replica (or observer). Feed it events with `step`; run the effects."""

    def __init__(
        self,
        *,
        chain_id: bytes,
        validators: Sequence[bytes],
        signing_key: SigningKey | None,
        finalized_height: int = 0,
        finalized_digest: bytes = b"",
        finalized_certificate: bytes | None = None,
        records: Sequence[bytes] = (),
        digest_fn: Callable[[bytes], bytes | None] = sha256_digest,
        config: ReplicaConfig | None = None,
        verifier: VerifyFn | None = None,
    ) -> None:
        """Raises LocalProtocolError on bad arguments or undecodable records."""
        if not 1 <= len(validators) <= limits.MAX_VALIDATORS_COUNT:
            raise LocalProtocolError("bad_argument", f"{len(validators)} validators")
        if len(set(validators)) != len(validators):
            raise LocalProtocolError("bad_argument", "duplicate validator key")
        if not 0 < len(chain_id) <= limits.MAX_CHAIN_ID_BYTES:
            raise LocalProtocolError("bad_argument", "chain_id length")
        if finalized_height < 0:
            raise LocalProtocolError("bad_argument", "negative finalized_height")
        self.chain_id = bytes(chain_id)
        self.validators: tuple[bytes, ...] = tuple(bytes(v) for v in validators)
        self.n = len(self.validators)
        self.f = (self.n - 1) // 3
        self.config = config or ReplicaConfig()
        self.quorum = self.config.quorum_override or quorum_size(self.n)
        self._key = signing_key
        self.index: ValidatorIndex | None = None
        if signing_key is not None:
            public = bytes(signing_key.verify_key)
            if public not in self.validators:
                raise LocalProtocolError("bad_argument", "signing key is not a validator")
            self.index = ValidatorIndex(self.validators.index(public))
        self._digest_fn = digest_fn
        self._verify: VerifyFn = verifier if verifier is not None else Verifier()

        self.height = Height(finalized_height + 1)  # the height being decided
        self.view = View(0)
        self.active = True  # False while waiting for NEW-VIEW of self.view
        self.finalized_digest = Digest(bytes(finalized_digest))
        self._last_cert: Certificate | None = None
        self._last_block: bytes | None = None
        if finalized_height > 0:
            if finalized_certificate is None:
                raise LocalProtocolError("bad_argument", "finalized_certificate missing")
            try:
                self._last_cert = verify_certificate(
                    finalized_certificate, finalized_height, finalized_digest,
                    self.validators, self.chain_id, self._verify)
            except ValidationError as exc:
                raise LocalProtocolError("bad_argument", f"stored certificate: {exc}") from exc

        self._now_ms = 0
        self._out: list[Effect] = []
        self.counters: dict[str, int] = {}
        self._timers: dict[str, int] = {}
        # Messages and votes of the heights/views in the window (limits.MAX_FUTURE_*).
        self._pp: dict[tuple[int, int], PrePrepare] = {}  # (height, view)
        self._votes: dict[tuple[int, int, int], dict[int, Vote]] = {}  # (phase, height, view)
        self._validation: dict[bytes, int] = {}  # digest -> _PENDING/_VALID/_INVALID
        self._signed: dict[tuple[int, int, int], bytes] = {}  # (phase, view, height)
        self._prepared: Certificate | None = None  # highest prepared cert at self.height
        self._prepared_block: bytes | None = None
        self._own: dict[str, bytes] = {}  # our messages for the current slot: retransmitted
        self._vc_latest: dict[int, ViewChange] = {}  # signer -> highest VIEW-CHANGE
        self._vc_persisted = (0, 0)  # (view, height) of our last persisted VIEW-CHANGE
        self._vc_dirty = False
        self._nv_bytes: bytes | None = None  # NEW-VIEW we accepted for self.view
        self._nv_sent_view = -1
        self._reproposal: tuple[int, int] | None = None  # (height, view) of the NEW-VIEW's
        self._view_min_height = 1  # no fresh proposals below this height in self.view
        self._peer_height: dict[int, int] = {}  # validator -> highest height it voted at
        # Highest height a valid commit certificate proved final, and a peer that proved it
        # holds the block (None when only the votes of a commit quorum told us).
        self._cert_ahead: tuple[int, tuple[PeerId, ...]] | None = None
        self._fetch: _Fetch | None = None
        self._fetch_attempts = 0
        self._fetch_failed: PeerId | None = None  # the last peer whose answer gained nothing
        self._help_sent: dict[bytes, int] = {}
        self._work_pending = False
        self._work_since_ms = 0
        self._activity_ms: int | None = None
        self._proposing: tuple[int, int] | None = None
        self._anchor_ms = 0
        self._last_finalize_ms = 0
        self._last_retransmit_ms = 0
        self._vc_started_ms = 0
        self._vc_streak = 0  # consecutive view changes since the last finalized block
        self._restored_blocks: dict[tuple[int, int], bytes] = {}  # our proposals (h, view)
        self._restore(records)

    # --- public read-only helpers ----------------------------------------------------

    @property
    def finalized_height(self) -> int:
        return self.height - 1

    def primary(self, view: int) -> ValidatorIndex:
        return ValidatorIndex(view % self.n)

    @property
    def catching_up(self) -> bool:
        """True while a certificate proves blocks above ours exist or a fetch is running."""
        return self._fetch is not None or (
            self._cert_ahead is not None and self._cert_ahead[0] >= self.height)

    def next_deadline_ms(self) -> int | None:
        """The earliest armed timer, for a driver that keeps only one OS timer."""
        return min(self._timers.values()) if self._timers else None

    def timeout_ms(self) -> int:
        """Current view-change timeout: base doubled per consecutive view change, capped."""
        shift = min(self._vc_streak, limits.MAX_BACKOFF_SHIFT)
        timeout = min(self.config.view_change_timeout_ms << shift,
                      self.config.view_change_timeout_max_ms)
        assert 0 < timeout <= self.config.view_change_timeout_max_ms
        return timeout

    # --- the one entry point -----------------------------------------------------------

    def step(self, event: Event, now_ms: int) -> list[Effect]:
        """Advance the replica by one event. The caller runs the effects in order.

        Raises LocalProtocolError if `now_ms` goes backwards or an application answer is
        malformed; bad peer input is counted and dropped, never raised.
        """
        if now_ms < self._now_ms:
            raise LocalProtocolError("bad_argument", "now_ms went backwards")
        assert not self._out, "step is not re-entrant"
        self._now_ms = now_ms
        match event:
            case Started():
                self._on_started()
            case MessageReceived():
                self._on_message(event)
            case TimerFired():
                self._on_timer(event.name)
            case WorkPending():
                if event.pending and not self._work_pending:
                    self._work_since_ms = now_ms
                self._work_pending = event.pending
            case BlockProposed():
                self._on_block_proposed(event)
            case BlockValidated():
                self._on_block_validated(event)
            case BlocksFetched():
                self._on_blocks_fetched(event)
            case _:
                assert_never(event)
        self._advance()
        self._maybe_join()
        self._maybe_new_view()
        self._advance()
        if self._vc_dirty and not self.active:
            self._send_view_change()
        self._vc_dirty = False
        self._maybe_propose()
        self._maybe_fetch()
        self._sync_timers()
        out, self._out = self._out, []
        return out

    # --- helpers shared by every role --------------------------------------------------

    def _count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def _note(self, kind: str, detail: str) -> None:
        self._count(kind)
        self._out.append(Note(kind, detail))

    def _broadcast(self, msg: Message, own_slot: str | None = None) -> bytes:
        data = encode_message(msg)
        self._out.append(Broadcast(data))
        if own_slot is not None:
            self._own[own_slot] = data
        return data

    def _sign(self, phase: int, view: int, height: int, digest: bytes,
              record: bytes | None = None, block: bytes | None = None) -> Vote | None:
        """Sign a vote, persisting it first; refuse a vote that conflicts with a signed one."""
        assert self._key is not None and self.index is not None, "observers never sign"
        assert phase in (PHASE_PREPARE, PHASE_COMMIT)
        key = (phase, view, height)
        previous = self._signed.get(key)
        if previous is not None and previous != digest:
            self._count("refused_conflicting_vote")
            return None
        if previous is None:
            self._out.append(Persist(record or pack([REC_VOTE, phase, view, height, digest,
                                                       block]), Height(height), View(view)))
            self._signed[key] = digest
        vote = sign_vote(self._key, self.chain_id, phase, view, height, digest, self.index)
        assert self._signed[key] == vote.digest
        return vote

    def _verify_vote(self, vote: Vote) -> bool:
        payload = vote_payload(self.chain_id, vote.phase, vote.view, vote.height, vote.digest)
        if self._verify(self.validators[vote.signer], payload, vote.signature):
            return True
        self._count("drop_bad_signature")
        return False

    def _blame(self, peer: PeerId, reason: str) -> None:
        """`peer` sent what no honest node sends: drop it (counted) and tell the node."""
        self._count("drop_" + reason)
        self._out.append(Blame(peer, reason))

    def _learn_final(self, height: int, holder: PeerId | None) -> None:
        """A valid commit certificate proved `height` final; `holder`, when not None,
        showed it holds the block. The known-final height never goes down (any allowed
        peer can send an old certificate); the holders of that height accumulate, capped,
        and the fetch turns through them, so one lying holder cannot stall catch-up."""
        current = self._cert_ahead
        if current is None or height > current[0]:
            self._cert_ahead = (height, () if holder is None else (holder,))
        elif height == current[0] and holder is not None and holder not in current[1] \
                and len(current[1]) < limits.MAX_CATCH_UP_HOLDERS:
            self._cert_ahead = (height, tuple(sorted((*current[1], holder))))

    def _claim(self, signer: int, height: int) -> None:
        """A validator proved (by signing) that it works at `height`."""
        if height > self._peer_height.get(signer, 0):
            self._peer_height[signer] = height

    def _find_block(self, digest: bytes) -> bytes | None:
        for (height, _view), pp in sorted(self._pp.items()):
            if height == self.height and pp.vote.digest == digest:
                return pp.block
        if self._prepared is not None and self._prepared.digest == digest:
            return self._prepared_block
        return None

    # --- restore and start ---------------------------------------------------------------

    def _restore(self, records: Sequence[bytes]) -> None:
        if len(records) > limits.MAX_RESTORE_RECORDS:
            raise LocalProtocolError("bad_record", "too many records")
        view_max = 0
        for record in records:
            try:
                obj = unpack_canonical(record, limits.MAX_RECORD_BYTES)
                view_max = max(view_max, self._restore_one(obj))
            except RemotePeerError as exc:
                raise LocalProtocolError("bad_record", f"undecodable record: {exc}") from exc
        if view_max > 0:
            # We may have been active in view_max; re-enter it through its NEW-VIEW
            # (peers send it when they see our VIEW-CHANGE) so we learn its constraints.
            self.view = View(view_max)
            self.active = False
        self._vc_persisted = (view_max, 0)

    def _restore_one(self, obj: Any) -> int:
        """Replay one record; returns the view it names. Raises RemotePeerError (the
        record's bytes are as untrusted as a peer's: a disk can be corrupt) naming the
        field, or LocalProtocolError when a record contradicts itself."""
        fields = record_fields(obj)
        kind = fields[0]
        if kind == REC_VOTE:
            _, phase, view, height, digest, block = fields
            if height >= self.height:
                self._signed[(phase, view, height)] = digest
            if height == self.height and block is not None:
                if self._digest_fn(block) != digest:
                    raise LocalProtocolError("bad_record", "restored proposal digest")
                self._restored_blocks[(height, view)] = block
            return int(view)
        if kind == REC_COMMIT:
            _, view, height, digest, cert, block = fields
            if height >= self.height:
                self._signed[(PHASE_COMMIT, view, height)] = digest
            if cert.digest != digest:
                raise LocalProtocolError("bad_record", "prepared certificate digest")
            if height == self.height and (self._prepared is None
                                          or cert.view > self._prepared.view):
                self._prepared, self._prepared_block = cert, block
            return int(view)
        assert kind == REC_VIEW_CHANGE
        return int(fields[1])

    def _on_started(self) -> None:
        self._anchor_ms = self._last_finalize_ms = self._last_retransmit_ms = self._now_ms
        self._vc_started_ms = self._now_ms
        if not self.active and self.index is not None:
            self._send_view_change()

    # --- messages --------------------------------------------------------------------

    def _on_message(self, event: MessageReceived) -> None:
        try:
            msg = decode_message(event.msg)
        except RemotePeerError as exc:
            self._count("drop_" + exc.code)
            return
        match msg:
            case PrePrepare():
                self._on_preprepare(event.sender, msg)
            case Vote():
                self._on_vote(event.sender, msg)
            case ViewChange():
                self._on_view_change(event.sender, msg)
            case NewView():
                self._on_new_view(event.sender, msg)
            case Decided():
                self._on_decided(event.sender, msg)
            case _:
                assert_never(msg)

    def _vote_in_window(self, sender: PeerId, vote: Vote) -> bool:
        """Checks shared by PRE-PREPARE, PREPARE and COMMIT before any signature check."""
        if vote.signer >= self.n:
            self._count("drop_unknown_validator")
            return False
        if vote.signer == self.index:
            self._count("drop_own_echo")
            return False
        if vote.height < self.height:
            self._help(sender, vote.height, vote.view)
            self._count("drop_old_height")
            return False
        if vote.height > self.height + limits.MAX_FUTURE_HEIGHTS:
            if self._verify_vote(vote):
                self._claim(vote.signer, vote.height)
            self._count("drop_future_height")
            return False
        low = self.view - limits.MAX_FUTURE_VIEWS if vote.phase == PHASE_COMMIT else self.view
        if vote.view < low:
            self._help(sender, vote.height, vote.view)
            self._count("drop_old_view")
            return False
        if vote.view > self.view + limits.MAX_FUTURE_VIEWS:
            self._count("drop_future_view")
            return False
        return True

    def _on_preprepare(self, sender: PeerId, pp: PrePrepare) -> None:
        vote = pp.vote
        if not self._vote_in_window(sender, vote):
            return
        if vote.signer != self.primary(vote.view):
            self._count("drop_not_primary")
            return
        slot = (vote.height, vote.view)
        existing = self._pp.get(slot)
        if existing is not None and existing.vote.digest == vote.digest:
            self._count("drop_duplicate")
            return
        if self._digest_fn(pp.block) != vote.digest:
            # Honest nodes send only blocks they named themselves: this body is not the
            # block the primary signed (a Byzantine primary or a lying link).
            self._blame(sender, "digest_mismatch")
            return
        if not self._verify_vote(vote):
            return
        self._claim(vote.signer, vote.height)
        if existing is not None:
            self._on_equivocation(vote)
            return
        self._store_preprepare(pp)

    def _store_preprepare(self, pp: PrePrepare) -> None:
        vote = pp.vote
        self._pp[(vote.height, vote.view)] = pp
        self._votes.setdefault((PHASE_PREPARE, vote.height, vote.view), {})[vote.signer] = vote
        if (vote.height, vote.view) == (self.height, self.view) and self._activity_ms is None:
            self._activity_ms = self._now_ms

    def _on_equivocation(self, vote: Vote) -> None:
        self._note("equivocation", f"primary {vote.signer} view={vote.view} h={vote.height}")
        if (vote.height, vote.view) == (self.height, self.view) and self.active:
            self._start_view_change(View(self.view + 1), "equivocating_primary")

    def _on_vote(self, sender: PeerId, vote: Vote) -> None:
        if not self._vote_in_window(sender, vote):
            return
        slot = self._votes.get((vote.phase, vote.height, vote.view))
        existing = slot.get(vote.signer) if slot is not None else None
        if existing is not None and existing.digest == vote.digest:
            self._count("drop_duplicate")
            return
        if not self._verify_vote(vote):
            return
        self._claim(vote.signer, vote.height)
        if existing is not None:
            self._count("equivocating_vote")
            return
        self._votes.setdefault((vote.phase, vote.height, vote.view), {})[vote.signer] = vote

    def _help(self, peer: PeerId, their_height: int, their_view: int) -> None:
        """Send a peer that is behind our last commit certificate and/or our NEW-VIEW.

        Rate-limited per peer by retransmit_interval_ms; the table is capped.
        """
        behind_height = their_height < self.height and self._last_cert is not None
        behind_view = self.active and their_view <= self.view and self._nv_bytes is not None
        if not (behind_height or behind_view):
            return
        last = self._help_sent.get(peer)
        if last is not None and self._now_ms - last < self.config.retransmit_interval_ms:
            return
        if len(self._help_sent) >= 2 * limits.MAX_VALIDATORS_COUNT:
            self._help_sent.clear()
        self._help_sent[peer] = self._now_ms
        if behind_height:
            assert self._last_cert is not None
            block = self._last_block if their_height == self.height - 1 else None
            self._count("help_decided")
            self._out.append(Send(peer, encode_message(Decided(self._last_cert, block))))
        if behind_view:
            assert self._nv_bytes is not None
            self._count("help_new_view")
            self._out.append(Send(peer, self._nv_bytes))

    def _on_decided(self, sender: PeerId, msg: Decided) -> None:
        cert = msg.certificate
        if cert.height < self.height:
            self._count("drop_old_height")
            return
        ahead = self._cert_ahead
        if ahead is not None and cert.height != self.height and (
                cert.height < ahead[0] or sender in ahead[1]
                or len(ahead[1]) >= limits.MAX_CATCH_UP_HOLDERS):
            self._count("drop_duplicate")
            return
        try:
            check_certificate(cert, self.chain_id, self.validators, self._verify, self.quorum)
        except ValidationError as exc:
            self._count("drop_" + exc.code)
            return
        if cert.height == self.height:
            block = msg.block
            if block is not None and self._digest_fn(block) != cert.digest:
                self._blame(sender, "digest_mismatch")
                block = None
            if block is None:
                block = self._find_block(cert.digest)
            if block is not None:
                self._finalize(cert, block)
                return
        # The sender holds the block unless it just showed otherwise (a body that is not
        # the certified block). A valid but lower certificate never lowers the known-final
        # height (nor replaces its holder): any allowed peer can send an old DECIDED.
        holder = None if msg.block is not None and cert.height == self.height else sender
        self._learn_final(cert.height, holder)

    # --- view change -------------------------------------------------------------------

    def _check_view_change(self, vc: ViewChange) -> None:
        """Raise ValidationError unless the VIEW-CHANGE is signed and its certs hold."""
        if vc.signer >= self.n:
            raise ValidationError("unknown_validator", f"signer {vc.signer}")
        payload = view_change_payload(self.chain_id, vc)
        if not self._verify(self.validators[vc.signer], payload, vc.signature):
            raise ValidationError("bad_signature", "view change")
        if vc.last_cert is not None:
            check_certificate(vc.last_cert, self.chain_id, self.validators, self._verify,
                              self.quorum)
        if vc.prepared is not None:
            check_certificate(vc.prepared, self.chain_id, self.validators, self._verify,
                              self.quorum)

    def _on_view_change(self, sender: PeerId, vc: ViewChange) -> None:
        if vc.signer == self.index:
            self._count("drop_own_echo")
            return
        previous = self._vc_latest.get(vc.signer)
        if previous is not None and (previous.view, previous.height) >= (vc.view, vc.height):
            if previous.signature == vc.signature:
                self._help(sender, vc.height, vc.view)  # a retransmission: it is stuck
            self._count("drop_duplicate")
            return
        if vc.prepared is not None:
            if vc.block is None:
                self._count("drop_missing_block")
                return
            if self._digest_fn(vc.block) != vc.prepared.digest:
                self._blame(sender, "digest_mismatch")
                return
        try:
            self._check_view_change(vc)
        except ValidationError as exc:
            self._count("drop_" + exc.code)
            return
        self._vc_latest[vc.signer] = vc
        self._claim(vc.signer, vc.height)
        if vc.last_cert is not None and vc.last_cert.height >= self.height:
            self._learn_final(vc.last_cert.height, PeerId(self.validators[vc.signer]))
        self._help(sender, vc.height, vc.view)

    def _maybe_join(self) -> None:
        """Join the highest view that f+1 validators ask for (one of them is honest)."""
        if self.index is None:
            return
        views = sorted((vc.view for signer, vc in self._vc_latest.items()
                        if signer != self.index and vc.view > self.view), reverse=True)
        if len(views) > self.f:
            self._start_view_change(View(views[self.f]), "joined_higher_view")

    def _start_view_change(self, target: View, reason: str) -> None:
        assert target > self.view, f"view change to {target} from {self.view}"
        self.view = target
        self.active = False
        self._vc_started_ms = self._now_ms
        self._vc_streak += 1
        self._proposing = None
        self._activity_ms = None
        self._nv_bytes = None
        self._own.clear()
        self._note("view_change", f"reason={reason} view={target} height={self.height} "
                                  f"timeout_ms={self.timeout_ms()}")
        self._count("view_change_" + reason)
        self._prune_views()
        if self.index is not None:
            self._send_view_change()

    def _send_view_change(self) -> None:
        assert self._key is not None and self.index is not None
        assert not self.active
        prepared, block = self._prepared, self._prepared_block
        if prepared is not None and (prepared.height != self.height
                                     or prepared.view >= self.view):
            prepared, block = None, None
        if (self.view, self.height) > self._vc_persisted:
            self._out.append(Persist(pack([REC_VIEW_CHANGE, self.view, self.height]),
                                     self.height, self.view))
            self._vc_persisted = (self.view, self.height)
        unsigned = ViewChange(self.view, self.height, self._last_cert, prepared, self.index,
                              b"", block)
        signature = self._key.sign(view_change_payload(self.chain_id, unsigned)).signature
        vc = ViewChange(self.view, self.height, self._last_cert, prepared, self.index,
                        signature, block)
        self._vc_latest[self.index] = vc
        self._broadcast(vc, "vc")

    def _maybe_new_view(self) -> None:
        """As the primary of self.view, send NEW-VIEW once a quorum asked for the view."""
        if self.active or self.index is None or self.primary(self.view) != self.index:
            return
        if self._nv_sent_view == self.view:
            return
        vcs = sorted((vc for vc in self._vc_latest.values() if vc.view == self.view),
                     key=lambda vc: vc.signer)
        if not vcs:
            return
        # Every VIEW-CHANGE of a NEW-VIEW is at one height (see _check_new_view).
        top = max(vc.height for vc in vcs)
        vcs = [vc for vc in vcs if vc.height == top]
        if len(vcs) < self.quorum:
            return
        height, best = select_new_view(vcs)
        pp: PrePrepare | None = None
        if best is not None:
            assert best.prepared is not None and best.block is not None
            vote = self._sign(PHASE_PREPARE, self.view, height, best.prepared.digest,
                              block=best.block)
            if vote is None:
                return
            pp = PrePrepare(vote, best.block)
        stripped = tuple(ViewChange(vc.view, vc.height, vc.last_cert, vc.prepared, vc.signer,
                                    vc.signature, None) for vc in vcs)
        unsigned = NewView(self.view, stripped, pp, self.index, b"")
        assert self._key is not None
        signature = self._key.sign(new_view_payload(self.chain_id, unsigned)).signature
        nv = NewView(self.view, stripped, pp, self.index, signature)
        self._nv_sent_view = self.view
        data = self._broadcast(nv)
        self._enter_view(nv, height, data)

    def _check_new_view(self, nv: NewView) -> Height:
        """Validate a NEW-VIEW as every replica must; returns the height it starts at."""
        if nv.signer != self.primary(nv.view):
            raise ValidationError("not_primary", f"signer {nv.signer}")
        if not self._verify(self.validators[nv.signer], new_view_payload(self.chain_id, nv),
                            nv.signature):
            raise ValidationError("bad_signature", "new view")
        signers = [vc.signer for vc in nv.view_changes]
        if len(set(signers)) != len(signers):
            raise ValidationError("duplicate_signer", "view changes")
        if len(signers) < self.quorum:
            raise ValidationError("insufficient_quorum", f"{len(signers)} view changes")
        heights = {vc.height for vc in nv.view_changes}
        if len(heights) != 1:
            # A replica that left a view-change to rejoin a lower view by a certificate
            # (see _finalize) may have a stale VIEW-CHANGE out; one height keeps it inert.
            raise ValidationError("bad_new_view", "view changes at different heights")
        for vc in nv.view_changes:
            if vc.view != nv.view:
                raise ValidationError("bad_new_view", "view change for another view")
            self._check_view_change(vc)
        height, best = select_new_view(nv.view_changes)
        pp = nv.preprepare
        if best is None:
            if pp is not None:
                raise ValidationError("bad_new_view", "re-proposal without prepared block")
            return height
        assert best.prepared is not None
        if pp is None:
            raise ValidationError("bad_new_view", "prepared block not re-proposed")
        vote = pp.vote
        if (vote.view, vote.height, vote.digest) != (nv.view, height, best.prepared.digest):
            raise ValidationError("bad_new_view", "re-proposal does not match")
        if vote.signer != nv.signer or not self._verify_vote(vote):
            raise ValidationError("bad_signature", "re-proposal")
        if self._digest_fn(pp.block) != vote.digest:
            raise ValidationError("digest_mismatch", "re-proposed block")
        return height

    def _on_new_view(self, sender: PeerId, nv: NewView) -> None:
        if nv.view < self.view or (nv.view == self.view and self.active):
            self._count("drop_old_view")
            return
        try:
            height = self._check_new_view(nv)
        except ValidationError as exc:
            if exc.code == "digest_mismatch":
                self._blame(sender, exc.code)
            else:
                self._count("drop_" + exc.code)
            return
        for vc in nv.view_changes:
            self._claim(vc.signer, vc.height)
            if vc.last_cert is not None and vc.last_cert.height >= self.height:
                self._learn_final(vc.last_cert.height, PeerId(self.validators[vc.signer]))
        self._enter_view(nv, height, encode_message(nv))

    def _enter_view(self, nv: NewView, height: Height, data: bytes) -> None:
        assert nv.view >= self.view
        if nv.view > self.view:
            self.view = nv.view
            self._prune_views()
        self.active = True
        self._nv_bytes = data
        self._view_min_height = height
        self._anchor_ms = self._now_ms
        self._activity_ms = None
        self._own.clear()
        self._note("new_view", f"view={nv.view} height={height} "
                               f"reproposal={nv.preprepare is not None}")
        pp = nv.preprepare
        for slot in [slot for slot in self._pp if slot[1] == nv.view and slot[0] < height]:
            del self._pp[slot]  # heights below the NEW-VIEW height are decided already
        if pp is None or pp.vote.height < self.height:
            return
        existing = self._pp.get((pp.vote.height, pp.vote.view))
        if existing is not None and existing.vote.digest != pp.vote.digest:
            self._on_equivocation(pp.vote)
            return
        self._reproposal = (pp.vote.height, pp.vote.view)
        self._store_preprepare(pp)

    def _prune_views(self) -> None:
        low_commit = self.view - limits.MAX_FUTURE_VIEWS
        self._votes = {key: votes for key, votes in self._votes.items()
                       if key[2] >= (low_commit if key[0] == PHASE_COMMIT else self.view)}
        self._pp = {slot: pp for slot, pp in self._pp.items() if slot[1] >= low_commit}

    # --- the normal case -----------------------------------------------------------------

    def _advance(self) -> None:
        """Take every step the current votes allow: validate, prepare, commit, finalize."""
        for _ in range(4 * (limits.MAX_FUTURE_HEIGHTS + 1)):
            if not self._advance_once():
                return

    def _commit_quorum(self) -> Certificate | None:
        for (phase, height, view), votes in sorted(self._votes.items()):
            if phase != PHASE_COMMIT or height != self.height or len(votes) < self.quorum:
                continue
            by_digest: dict[bytes, list[Vote]] = {}
            for signer in sorted(votes):
                by_digest.setdefault(votes[signer].digest, []).append(votes[signer])
            for digest, group in sorted(by_digest.items()):
                if len(group) >= self.quorum:
                    sigs = tuple((v.signer, v.signature) for v in group)
                    return Certificate(PHASE_COMMIT, View(view), Height(height),
                                       Digest(digest), sigs)
        return None

    def _advance_once(self) -> bool:
        cert = self._commit_quorum()
        if cert is not None:
            block = self._find_block(cert.digest)
            if block is not None:
                self._finalize(cert, block)
                return True
            # Its signers prepared the block but may not have finalized it yet.
            self._learn_final(cert.height, None)
        if not self.active or self.index is None or self.height < self._view_min_height:
            return False
        h, v = self.height, self.view
        pp = self._pp.get((h, v))
        if pp is None:
            return False
        digest = pp.vote.digest
        if (PHASE_PREPARE, v, h) not in self._signed:
            state = self._validation.get(digest)
            if state is None:
                self._validation[digest] = _PENDING
                self._out.append(ValidateBlock(Height(h), View(v), digest, pp.block,
                                               reproposal=(h, v) == self._reproposal))
                return False
            if state == _PENDING:
                return False
            if state == _INVALID:
                self._start_view_change(View(v + 1), "invalid_block")
                return False
            vote = self._sign(PHASE_PREPARE, v, h, digest)
            if vote is None:
                return False
            self._votes.setdefault((PHASE_PREPARE, h, v), {})[vote.signer] = vote
            self._broadcast(vote, "prepare")
        if self._signed[(PHASE_PREPARE, v, h)] != digest:
            return False
        if (PHASE_COMMIT, v, h) in self._signed:
            return False
        prepares = [vote for _, vote in sorted(self._votes.get((PHASE_PREPARE, h, v), {}).items())
                    if vote.digest == digest]
        if len(prepares) < self.quorum:
            return False
        prepared = Certificate(PHASE_PREPARE, View(v), Height(h), digest,
                               tuple((vote.signer, vote.signature) for vote in prepares))
        record = pack([REC_COMMIT, v, h, digest, cert_obj(prepared), pp.block])
        commit = self._sign(PHASE_COMMIT, v, h, digest, record)
        if commit is None:
            return False
        self._prepared, self._prepared_block = prepared, pp.block
        self._votes.setdefault((PHASE_COMMIT, h, v), {})[commit.signer] = commit
        self._broadcast(commit, "commit")
        return True

    def _finalize(self, cert: Certificate, block: bytes) -> None:
        assert cert.height == self.height, f"finalize {cert.height} at {self.height}"
        assert self._digest_fn(block) == cert.digest, "finalized block digest"
        assert len(cert.signatures) >= self.quorum
        self._out.append(FinalizeBlock(self.height, cert.digest, block,
                                       encode_certificate(cert)))
        self._count("finalized")
        self.finalized_digest = cert.digest
        self._last_cert, self._last_block = cert, block
        self.height = Height(self.height + 1)
        self._vc_streak = 0
        # The pending work may have been this block's: the node reports WorkPending again
        # after running each FinalizeBlock, so no empty block is proposed in between.
        self._work_pending = False
        self._anchor_ms = self._last_finalize_ms = self._now_ms
        self._activity_ms = None
        self._proposing = None
        self._prepared, self._prepared_block = None, None
        self._own.clear()
        self._validation.clear()
        if self._cert_ahead is not None and self._cert_ahead[0] < self.height:
            self._cert_ahead = None
        self._pp = {slot: pp for slot, pp in self._pp.items() if slot[0] >= self.height}
        self._votes = {key: votes for key, votes in self._votes.items() if key[1] >= self.height}
        self._signed = {key: d for key, d in self._signed.items() if key[2] >= self.height}
        if cert.view != self.view and (not self.active or cert.view > self.view) \
                or (cert.view == self.view and not self.active):
            self._sync_view(View(cert.view))
        if self._pp.get((self.height, self.view)) is not None:
            self._activity_ms = self._now_ms
        self._vc_dirty = True

    def _sync_view(self, view: View) -> None:
        """Follow the view a commit certificate was made in, up or down.

        The certificate proves a quorum was active in `view` at the height below ours,
        so its NEW-VIEW constrains no height we will vote on. Going down is safe because
        our VIEW-CHANGEs for higher views are all at heights already final, and a
        NEW-VIEW only uses VIEW-CHANGEs of one height. This is what keeps a replica that
        view-changed alone (partitioned, restarted) from staying out of the quorum.
        """
        assert view != self.view or not self.active
        self._note("view_sync", f"view={view} from={self.view} height={self.height}")
        self.view = view
        self.active = True
        self._view_min_height = self.height
        self._nv_bytes = None
        self._own.clear()
        self._prune_views()

    def _maybe_propose(self) -> None:
        if self.index is None or not self.active or self.primary(self.view) != self.index:
            return
        h, v = self.height, self.view
        if h < self._view_min_height or (h, v) in self._pp or self._proposing == (h, v):
            return
        if (PHASE_PREPARE, v, h) in self._signed:
            block = self._restored_blocks.pop((h, v), None)
            if block is not None:  # we proposed it before a crash: send the same again
                self._propose_block(Digest(self._signed[(PHASE_PREPARE, v, h)]), block)
            return
        idle = self.config.idle_block_interval_ms
        due = self._work_pending or (idle is not None
                                     and self._now_ms >= self._last_finalize_ms + idle)
        if not due:
            return
        self._proposing = (h, v)
        self._out.append(ProposeBlock(Height(h), View(v)))

    def _on_block_proposed(self, event: BlockProposed) -> None:
        if len(event.block) > limits.MAX_BLOCK_BYTES:
            raise LocalProtocolError("bad_argument", "proposed block over MAX_BLOCK_BYTES")
        if self._proposing != (event.height, event.view) or not self.active \
                or (event.height, event.view) != (self.height, self.view):
            self._count("stale_proposal")
            return
        digest = self._digest_fn(event.block)
        if digest is None:
            raise LocalProtocolError("bad_argument", "proposed bytes are not a block")
        self._proposing = None
        self._propose_block(Digest(digest), event.block)

    def _propose_block(self, digest: Digest, block: bytes) -> None:
        vote = self._sign(PHASE_PREPARE, self.view, self.height, digest, block=block)
        if vote is None:
            return
        pp = PrePrepare(vote, block)
        self._validation[digest] = _VALID
        self._store_preprepare(pp)
        self._broadcast(pp, "pp")
        assert (self.height, self.view) in self._pp

    def _on_block_validated(self, event: BlockValidated) -> None:
        if event.height != self.height or self._validation.get(event.digest) != _PENDING:
            self._count("stale_validation")
            return
        self._validation[event.digest] = _VALID if event.valid else _INVALID
        if not event.valid:
            self._note("invalid_block", f"h={event.height} view={event.view} "
                                        f"reason={event.reason[:200]}")

    # --- catch-up ----------------------------------------------------------------------

    def _catch_up_target(self) -> tuple[int, list[PeerId]]:
        """The highest height we know to be final and lack, and who holds it."""
        target, peers = 0, []
        if self._cert_ahead is not None and self._cert_ahead[0] >= self.height:
            # Ask a peer that proved it holds the block: the sender of the certificate
            # (DECIDED, VIEW-CHANGE), or a validator that signed above that height. The
            # signers of a commit quorum may not have finalized it yet: asked too early,
            # such a peer has nothing to send, and an empty answer costs a cool-down.
            height, proven = self._cert_ahead
            holders = {PeerId(self.validators[signer])
                       for signer, signed in self._peer_height.items()
                       if signed > height and signer != self.index}
            holders.update(proven)
            if holders:
                target, peers = height, sorted(holders)
        # A validator signs at height h only after it finalized h - 1, and among f+1
        # signers one is honest: below the (f+1)-th highest claim every height is final.
        # Fetch as soon as that includes our own height: its round is over for them, so
        # no more of its messages will come, while those of the next round wait in the
        # one-height buffer. Waiting until they work two heights ahead would let that
        # next round end too, and a node would keep trailing the head by a round or two.
        claims = sorted(((height - 1, signer) for signer, height in self._peer_height.items()
                         if signer != self.index), reverse=True)
        if len(claims) > self.f:
            claimed = claims[self.f][0]
            if claimed >= self.height and claimed > target:
                target = claimed
                peers = [PeerId(self.validators[s]) for h, s in claims if h >= claimed]
        return target, sorted(peers)

    def _maybe_fetch(self) -> None:
        if self._fetch is not None:
            return
        target, peers = self._catch_up_target()
        if target < self.height or not peers:
            return
        peer = peers[self._fetch_attempts % len(peers)]
        if peer == self._fetch_failed and len(peers) > 1:
            peer = peers[(self._fetch_attempts + 1) % len(peers)]
        last = min(target, self.height + limits.MAX_FETCH_BLOCKS - 1)
        self._fetch = _Fetch(peer, self.height, self._now_ms + self.config.fetch_timeout_ms)
        self._count("fetch")
        self._out.append(FetchBlocks(peer, self.height, Height(last)))

    def _on_blocks_fetched(self, event: BlocksFetched) -> None:
        if self._fetch is None or self._fetch.peer != event.peer:
            self._count("drop_unsolicited_blocks")
            return
        asked_height = self._fetch.from_height
        self._fetch = None
        assert asked_height <= self.height, "heights only grow"
        # Consensus may have finalized the first heights asked for while the request was
        # out: those blocks are skipped unchecked (we have them), not taken for bad ones.
        skipped = self.height - asked_height
        if skipped:
            self._count("fetched_blocks_known")
        for block, cert_bytes in event.blocks[skipped:limits.MAX_FETCH_BLOCKS]:
            try:
                if len(block) > limits.MAX_BLOCK_BYTES:
                    raise ValidationError("block_too_large", f"{len(block)} bytes")
                digest = self._digest_fn(block)
                if digest is None:
                    raise ValidationError("digest_mismatch", "fetched bytes are not a block")
                cert = verify_certificate(cert_bytes, self.height, digest,
                                          self.validators, self.chain_id, self._verify)
                if len(cert.signatures) < self.quorum:
                    raise ValidationError("insufficient_quorum", "fetched certificate")
            except ValidationError as exc:
                # An honest peer serves only certified blocks of its own chain.
                self._note("bad_fetched_block", f"h={self.height} {exc.code}")
                self._out.append(Blame(event.peer, "bad_fetched_block"))
                break
            self._finalize(cert, block)
        if self.height == asked_height:
            # Nothing gained since we asked: ask the next peer, but only after a
            # cool-down, so that an empty or bad answer cannot turn into a tight loop.
            # (Every other way out needs a height gained, and heights are bounded.)
            self._fetch_attempts += 1
            self._fetch_failed = event.peer
            self._fetch = _Fetch(None, self.height,
                                 self._now_ms + self.config.fetch_timeout_ms)

    # --- timers ------------------------------------------------------------------------

    def _on_timer(self, name: str) -> None:
        deadline = self._timers.get(name)
        if deadline is None or deadline > self._now_ms:
            self._count("stale_timer")
            return
        del self._timers[name]
        if name == TIMER_VIEW_CHANGE:
            if not self.active:
                reason = "new_view_timeout"
            elif (self.height, self.view) in self._pp:
                reason = "stalled"
            else:
                reason = "no_proposal"
            self._start_view_change(View(self.view + 1), reason)
        elif name == TIMER_RETRANSMIT:
            self._last_retransmit_ms = self._now_ms
            self._count("retransmit")
            for slot in ("vc", "pp", "prepare", "commit"):
                if slot in self._own:
                    self._out.append(Broadcast(self._own[slot]))
            if self.active and self._nv_bytes is not None \
                    and self.primary(self.view) == self.index \
                    and self._last_finalize_ms <= self._anchor_ms:
                self._out.append(Broadcast(self._nv_bytes))
        elif name == TIMER_FETCH:
            assert self._fetch is not None, "the fetch timer runs only with a fetch"
            if self._fetch.peer is not None:  # no answer: the next try goes to the next peer
                self._fetch_attempts += 1
                self._fetch_failed = self._fetch.peer
            # (A cool-down counted its fruitless answer already: counting it twice would
            # bring the turn back to the same peer whenever two peers hold the blocks.)
            self._fetch = None

    def _expecting_since_ms(self) -> int | None:
        starts: list[int] = []
        if self._work_pending:
            starts.append(max(self._anchor_ms, self._work_since_ms))
        idle = self.config.idle_block_interval_ms
        if idle is not None:
            starts.append(max(self._anchor_ms, self._last_finalize_ms + idle))
        if self._activity_ms is not None:
            starts.append(max(self._anchor_ms, self._activity_ms))
        return min(starts) if starts else None

    def _desired_timers(self) -> dict[str, int]:
        timers: dict[str, int] = {}
        if self._fetch is not None:
            timers[TIMER_FETCH] = self._fetch.deadline_ms
        if self.index is None:
            return timers
        retransmit_from = max(self._anchor_ms, self._last_retransmit_ms)
        if not self.active:
            timers[TIMER_VIEW_CHANGE] = self._vc_started_ms + self.timeout_ms()
            timers[TIMER_RETRANSMIT] = retransmit_from + self.config.retransmit_interval_ms
            return timers
        since = self._expecting_since_ms()
        if since is not None:
            timers[TIMER_VIEW_CHANGE] = since + self.timeout_ms()
        if self._own or (since is not None and since <= self._now_ms):
            timers[TIMER_RETRANSMIT] = retransmit_from + self.config.retransmit_interval_ms
        idle = self.config.idle_block_interval_ms
        if idle is not None and self.primary(self.view) == self.index and \
                (self.height, self.view) not in self._pp and not self._work_pending \
                and self._proposing is None and self.height >= self._view_min_height \
                and (PHASE_PREPARE, self.view, self.height) not in self._signed:
            timers[TIMER_PROPOSE] = max(self._now_ms, self._last_finalize_ms + idle)
        return timers

    def _sync_timers(self) -> None:
        desired = self._desired_timers()
        for name in sorted(self._timers):
            if name not in desired:
                del self._timers[name]
                self._out.append(CancelTimer(name))
        for name, deadline in sorted(desired.items()):
            if self._timers.get(name) != deadline:
                self._timers[name] = deadline
                self._out.append(SetTimer(name, deadline))
