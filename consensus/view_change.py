"""The view-change phase: leaving a view, VIEW-CHANGE, NEW-VIEW, and entering a view.

Step functions over one `ReplicaState`. A replica leaves its view on a timeout, an
invalid block, an equivocating primary, or when f+1 validators ask for a higher view;
while it waits (`state.active` False) it sends VIEW-CHANGE, and the primary of the new
view sends NEW-VIEW once a quorum asked, re-proposing the best prepared block.
"""

from __future__ import annotations

from collections.abc import Sequence

from consensus import limits
from consensus.errors import ConsensusValidationError
from consensus.events import Persist
from consensus.messages import (
    PHASE_COMMIT,
    PHASE_PREPARE,
    Height,
    NewView,
    PeerId,
    PrePrepare,
    View,
    ViewChange,
    Vote,
    check_certificate,
    encode_message,
    new_view_payload,
    pack,
    view_change_payload,
)
from consensus.records import REC_VIEW_CHANGE
from consensus.schedule import ValidatorSet
from consensus.state import ReplicaState, Slot, proposal_slot


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


# --- leaving a view ---------------------------------------------------------------------


def start_view_change(s: ReplicaState, target: View, reason: str) -> None:
    """Leave the current view for `target` and ask for it (validators only send)."""
    assert target > s.view, f"view change to {target} from {s.view}"
    s.view = target
    s.active = False
    s.view_change_started_ms = s.now_ms
    s.view_change_streak += 1
    s.proposal_asked = None
    s.proposal_seen_ms = None
    s.new_view_bytes = None
    s.resend.clear()
    s.note("view_change", f"reason={reason} view={target} height={s.height} "
                          f"timeout_ms={s.timeout_ms()}")
    s.count("view_change_" + reason)
    prune_views(s)
    if s.index is not None:
        send_view_change(s)


def on_equivocation(s: ReplicaState, vote: Vote) -> None:
    """The primary signed two proposals for one slot: leave its view if it is ours."""
    s.note("equivocation", f"primary {vote.signer} view={vote.view} h={vote.height}")
    if (vote.height, vote.view) == (s.height, s.view) and s.active:
        start_view_change(s, View(s.view + 1), "equivocating_primary")


def send_view_change(s: ReplicaState) -> None:
    """Persist (once per view and height) and broadcast our VIEW-CHANGE for s.view."""
    assert s.signing_key is not None and s.index is not None
    assert not s.active
    prepared, block = s.prepared_cert, s.prepared_block
    if prepared is not None and (prepared.height != s.height or prepared.view >= s.view):
        prepared, block = None, None
    if (s.view, s.height) > s.view_change_persisted:
        s.effects.append(Persist(pack([REC_VIEW_CHANGE, s.view, s.height]), s.height, s.view))
        s.view_change_persisted = (s.view, s.height)
    unsigned = ViewChange(s.view, s.height, s.last_certificate, prepared, s.index, b"", block)
    signature = s.signing_key.sign(view_change_payload(s.chain_id, unsigned)).signature
    vc = ViewChange(s.view, s.height, s.last_certificate, prepared, s.index, signature, block)
    assert s.public_key is not None
    s.latest_view_changes[s.public_key] = vc
    s.broadcast(vc, "vc")


def resend_stale_view_change(s: ReplicaState) -> None:
    """After a finalize while view-changing, our VIEW-CHANGE names an old height."""
    if s.view_change_stale and not s.active:
        send_view_change(s)
    s.view_change_stale = False


def maybe_join(s: ReplicaState) -> None:
    """Join the highest view that f+1 validators of our height's set ask for (one of
    them is honest); a key outside that set does not count."""
    if s.index is None:
        return
    members = s.vset.index_of
    views = sorted((vc.view for key, vc in s.latest_view_changes.items()
                    if key != s.public_key and key in members and vc.view > s.view),
                   reverse=True)
    if len(views) > s.f:
        start_view_change(s, View(views[s.f]), "joined_higher_view")


def prune_views(s: ReplicaState) -> None:
    """Drop votes and proposals of views below the window of the current view."""
    low_commit = s.view - limits.MAX_FUTURE_VIEWS
    s.votes = {slot: votes for slot, votes in s.votes.items()
               if slot.view >= (low_commit if slot.phase == PHASE_COMMIT else s.view)}
    s.proposals = {slot: pp for slot, pp in s.proposals.items() if slot.view >= low_commit}


def sync_view(s: ReplicaState, view: View) -> None:
    """Follow the view a commit certificate was made in, up or down.

    The certificate proves a quorum was active in `view` at the height below ours,
    so its NEW-VIEW constrains no height we will vote on. Going down is safe because
    our VIEW-CHANGEs for higher views are all at heights already final, and a
    NEW-VIEW only uses VIEW-CHANGEs of one height. This is what keeps a replica that
    view-changed alone (partitioned, restarted) from staying out of the quorum.
    """
    assert view != s.view or not s.active
    s.note("view_sync", f"view={view} from={s.view} height={s.height}")
    s.view = view
    s.active = True
    s.view_start_height = s.height
    s.new_view_bytes = None
    s.resend.clear()
    prune_views(s)


# --- VIEW-CHANGE in -------------------------------------------------------------------------


def known_set(s: ReplicaState, height: int) -> ValidatorSet:
    """The set in force at `height`; raises ConsensusValidationError when unknown."""
    vset = s.set_at(height)
    if vset is None:
        raise ConsensusValidationError("unknown_validator_set", f"height {height}")
    return vset


def view_change_signer(s: ReplicaState, vc: ViewChange) -> bytes:
    """The key of a checked VIEW-CHANGE's signer (in the set of its height)."""
    return known_set(s, vc.height).keys[vc.signer]


def check_view_change(s: ReplicaState, vc: ViewChange) -> None:
    """Raise ConsensusValidationError unless the VIEW-CHANGE is signed by a validator of
    its height's set and its certificates hold, each against the set of its height."""
    vset = known_set(s, vc.height)
    if vc.signer >= vset.n:
        raise ConsensusValidationError("unknown_validator", f"signer {vc.signer}")
    payload = view_change_payload(s.chain_id, vc)
    if not s.verify(vset.keys[vc.signer], payload, vc.signature):
        raise ConsensusValidationError("bad_signature", "view change")
    if vc.last_cert is not None:
        below = known_set(s, vc.last_cert.height)
        check_certificate(vc.last_cert, s.chain_id, below.keys, s.verify, s.quorum_of(below))
    if vc.prepared is not None:
        check_certificate(vc.prepared, s.chain_id, vset.keys, s.verify, s.quorum_of(vset))


def on_view_change(s: ReplicaState, sender: PeerId, vc: ViewChange) -> None:
    vset = s.set_at(vc.height)
    if vset is not None and vc.signer == s.index_in(vset):
        s.count("drop_own_echo")
        return
    key = vset.keys[vc.signer] if vset is not None and vc.signer < vset.n else None
    previous = None if key is None else s.latest_view_changes.get(key)
    if previous is not None and (previous.view, previous.height) >= (vc.view, vc.height):
        if previous.signature == vc.signature:
            s.help_lagging_peer(sender, vc.height, vc.view)  # a retransmission: it is stuck
        s.count("drop_duplicate")
        return
    if vc.prepared is not None:
        if vc.block is None:
            s.count("drop_missing_block")
            return
        if s.digest_fn(vc.block) != vc.prepared.digest:
            s.blame(sender, "digest_mismatch")
            return
    try:
        check_view_change(s, vc)
    except ConsensusValidationError as exc:
        s.count("drop_" + exc.code)
        if exc.code == "unknown_validator_set":
            if vc.height > s.height:
                s.note_claim(sender, vc.height - 1)
            else:  # from a height whose set we pruned: the sender is far behind
                s.help_lagging_peer(sender, vc.height, vc.view)
        return
    key = view_change_signer(s, vc)
    s.latest_view_changes[key] = vc
    s.note_signer_height(key, vc.height)
    if vc.last_cert is not None and vc.last_cert.height >= s.height:
        s.learn_final(vc.last_cert.height, PeerId(key))
    s.help_lagging_peer(sender, vc.height, vc.view)


# --- NEW-VIEW out and in ----------------------------------------------------------------------


def maybe_new_view(s: ReplicaState) -> None:
    """As the primary of s.view, send NEW-VIEW once a quorum asked for the view. The
    VIEW-CHANGEs are at one height, and primary and quorum are those of its set."""
    if s.active or not s.is_primary() or s.new_view_sent_view == s.view:
        return
    vcs = sorted((vc for vc in s.latest_view_changes.values() if vc.view == s.view),
                 key=lambda vc: vc.signer)
    if not vcs:
        return
    # Every VIEW-CHANGE of a NEW-VIEW is at one height (see check_new_view).
    top = max(vc.height for vc in vcs)
    vcs = [vc for vc in vcs if vc.height == top]
    vset = s.set_at(top)
    me = None if vset is None else s.index_in(vset)
    if vset is None or me is None or vset.primary(s.view) != me \
            or len(vcs) < s.quorum_of(vset):
        return
    height, best = select_new_view(vcs)
    pp: PrePrepare | None = None
    if best is not None:
        assert best.prepared is not None and best.block is not None
        vote = s.sign(Slot(s.view, height, PHASE_PREPARE), best.prepared.digest,
                      block=best.block)
        if vote is None:
            return
        pp = PrePrepare(vote, best.block)
    stripped = tuple(ViewChange(vc.view, vc.height, vc.last_cert, vc.prepared, vc.signer,
                                vc.signature, None) for vc in vcs)
    assert s.signing_key is not None
    unsigned = NewView(s.view, stripped, pp, me, b"")
    signature = s.signing_key.sign(new_view_payload(s.chain_id, unsigned)).signature
    nv = NewView(s.view, stripped, pp, me, signature)
    s.new_view_sent_view = s.view
    data = s.broadcast(nv)
    enter_view(s, nv, height, data)


def check_new_view(s: ReplicaState, nv: NewView) -> Height:
    """Validate a NEW-VIEW as every replica must; returns the height it starts at. It is
    judged with the set of that height (primary, signatures, quorum)."""
    start = max((vc.height for vc in nv.view_changes), default=s.height)
    vset = known_set(s, start)
    if nv.signer != vset.primary(nv.view):
        raise ConsensusValidationError("not_primary", f"signer {nv.signer}")
    if not s.verify(vset.keys[nv.signer], new_view_payload(s.chain_id, nv), nv.signature):
        raise ConsensusValidationError("bad_signature", "new view")
    signers = [vc.signer for vc in nv.view_changes]
    if len(set(signers)) != len(signers):
        raise ConsensusValidationError("duplicate_signer", "view changes")
    if len(signers) < s.quorum_of(vset):
        raise ConsensusValidationError("insufficient_quorum", f"{len(signers)} view changes")
    heights = {vc.height for vc in nv.view_changes}
    if len(heights) != 1:
        # A replica that left a view-change to rejoin a lower view by a certificate
        # (see sync_view) may have a stale VIEW-CHANGE out; one height keeps it inert.
        raise ConsensusValidationError("bad_new_view", "view changes at different heights")
    for vc in nv.view_changes:
        if vc.view != nv.view:
            raise ConsensusValidationError("bad_new_view", "view change for another view")
        check_view_change(s, vc)
    height, best = select_new_view(nv.view_changes)
    pp = nv.preprepare
    if best is None:
        if pp is not None:
            raise ConsensusValidationError("bad_new_view", "re-proposal without prepared block")
        return height
    assert best.prepared is not None
    if pp is None:
        raise ConsensusValidationError("bad_new_view", "prepared block not re-proposed")
    vote = pp.vote
    if (vote.view, vote.height, vote.digest) != (nv.view, height, best.prepared.digest):
        raise ConsensusValidationError("bad_new_view", "re-proposal does not match")
    if vote.signer != nv.signer or not s.verify_vote(vote):
        raise ConsensusValidationError("bad_signature", "re-proposal")
    if s.digest_fn(pp.block) != vote.digest:
        raise ConsensusValidationError("digest_mismatch", "re-proposed block")
    return height


def on_new_view(s: ReplicaState, sender: PeerId, nv: NewView) -> None:
    if nv.view < s.view or (nv.view == s.view and s.active):
        s.count("drop_old_view")
        return
    try:
        height = check_new_view(s, nv)
    except ConsensusValidationError as exc:
        if exc.code == "digest_mismatch":
            s.blame(sender, exc.code)
        else:
            s.count("drop_" + exc.code)
        return
    for vc in nv.view_changes:
        key = view_change_signer(s, vc)
        s.note_signer_height(key, vc.height)
        if vc.last_cert is not None and vc.last_cert.height >= s.height:
            s.learn_final(vc.last_cert.height, PeerId(key))
    enter_view(s, nv, height, encode_message(nv))


def enter_view(s: ReplicaState, nv: NewView, height: Height, data: bytes) -> None:
    """Become active in nv.view from `height` on, keeping its re-proposal if any."""
    assert nv.view >= s.view
    if nv.view > s.view:
        s.view = nv.view
        prune_views(s)
    s.active = True
    s.new_view_bytes = data
    s.view_start_height = height
    s.round_started_ms = s.now_ms
    s.proposal_seen_ms = None
    s.resend.clear()
    s.note("new_view", f"view={nv.view} height={height} "
                       f"reproposal={nv.preprepare is not None}")
    pp = nv.preprepare
    for slot in [slot for slot in s.proposals if slot.view == nv.view and slot.height < height]:
        del s.proposals[slot]  # heights below the NEW-VIEW height are decided already
    if pp is None or pp.vote.height < s.height:
        return
    slot = proposal_slot(pp.vote.view, pp.vote.height)
    existing = s.proposals.get(slot)
    if existing is not None and existing.vote.digest != pp.vote.digest:
        on_equivocation(s, pp.vote)
        return
    s.reproposal = slot
    s.store_proposal(pp)
