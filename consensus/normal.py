"""The normal case: PRE-PREPARE, PREPARE, COMMIT, and finalizing a block.

Step functions over one `ReplicaState`. The primary asks the application for a block
(ProposeBlock) and broadcasts it; every validator asks the application to re-execute
it (ValidateBlock), signs PREPARE when it matches, COMMIT on a quorum of PREPAREs, and
finalizes on a quorum of COMMITs. A block that fails validation, or a primary that
equivocates, hands over to `consensus.view_change`.
"""

from __future__ import annotations

from consensus import limits
from consensus.errors import ConsensusLocalProtocolError
from consensus.events import (
    BlockProposed,
    BlockValidated,
    FinalizeBlock,
    ProposeBlock,
    ValidateBlock,
)
from consensus.messages import (
    PHASE_COMMIT,
    PHASE_PREPARE,
    Certificate,
    Digest,
    Height,
    PeerId,
    PrePrepare,
    View,
    Vote,
    cert_obj,
    encode_certificate,
    pack,
)
from consensus.records import REC_COMMIT
from consensus.state import BlockCheck, ReplicaState, Slot, proposal_slot
from consensus.view_change import on_equivocation, start_view_change, sync_view

# --- messages in ------------------------------------------------------------------------


def vote_in_window(s: ReplicaState, sender: PeerId, vote: Vote) -> bool:
    """Checks shared by PRE-PREPARE, PREPARE and COMMIT before any signature check.
    Membership is that of the vote's height: a key outside that height's set never
    counts there, whatever it was at another height."""
    vset = s.set_at(vote.height)
    if vset is not None:
        if vote.signer >= vset.n:
            s.count("drop_unknown_validator")
            return False
        if vote.signer == s.index_in(vset):
            s.count("drop_own_echo")
            return False
    if vote.height < s.height:
        s.help_lagging_peer(sender, vote.height, vote.view)
        s.count("drop_old_height")
        return False
    if vote.height > s.height + limits.MAX_FUTURE_HEIGHTS:
        if vset is None:
            s.note_claim(sender, vote.height - 1)  # unverifiable: a hint for catch-up
        elif s.verify_vote(vote):
            s.note_signer_height(vset.keys[vote.signer], vote.height)
        s.count("drop_future_height")
        return False
    if vset is None:
        # The host reports the next height's set right after it finalizes: a vote that
        # comes first is dropped (its signer retransmits), never judged by another set.
        s.count("drop_unknown_validator_set")
        return False
    low = s.view - limits.MAX_FUTURE_VIEWS if vote.phase == PHASE_COMMIT else s.view
    if vote.view < low:
        s.help_lagging_peer(sender, vote.height, vote.view)
        s.count("drop_old_view")
        return False
    if vote.view > s.view + limits.MAX_FUTURE_VIEWS:
        s.count("drop_future_view")
        return False
    return True


def on_preprepare(s: ReplicaState, sender: PeerId, pp: PrePrepare) -> None:
    vote = pp.vote
    if not vote_in_window(s, sender, vote):
        return
    vset = s.set_at(vote.height)
    assert vset is not None, "vote_in_window checked the height's set"
    if vote.signer != vset.primary(vote.view):
        s.count("drop_not_primary")
        return
    existing = s.proposals.get(proposal_slot(vote.view, vote.height))
    if existing is not None and existing.vote.digest == vote.digest:
        s.count("drop_duplicate")
        return
    if s.digest_fn(pp.block) != vote.digest:
        # Honest nodes send only blocks they named themselves: this body is not the
        # block the primary signed (a Byzantine primary or a lying link).
        s.blame(sender, "digest_mismatch")
        return
    if not s.verify_vote(vote):
        return
    s.note_signer_height(vset.keys[vote.signer], vote.height)
    if existing is not None:
        on_equivocation(s, vote)
        return
    s.store_proposal(pp)


def on_vote(s: ReplicaState, sender: PeerId, vote: Vote) -> None:
    if not vote_in_window(s, sender, vote):
        return
    slot = Slot(vote.view, vote.height, vote.phase)
    votes = s.votes.get(slot)
    existing = votes.get(vote.signer) if votes is not None else None
    if existing is not None and existing.digest == vote.digest:
        s.count("drop_duplicate")
        return
    if not s.verify_vote(vote):
        return
    vset = s.set_at(vote.height)
    assert vset is not None, "verify_vote checked the height's set"
    s.note_signer_height(vset.keys[vote.signer], vote.height)
    if existing is not None:
        s.count("equivocating_vote")
        return
    s.votes.setdefault(slot, {})[vote.signer] = vote


# --- proposing --------------------------------------------------------------------------------


def maybe_propose(s: ReplicaState) -> None:
    """As the active primary, ask for a block when work is pending or the idle time is up
    (or send the proposal again that we signed before a restart)."""
    if not s.active or not s.is_primary():
        return
    h, v = s.height, s.view
    slot = proposal_slot(v, h)
    if h < s.view_start_height or slot in s.proposals or s.proposal_asked == slot:
        return
    if slot in s.signed:
        block = s.restored_proposals.pop(slot, None)
        if block is not None:  # we proposed it before a crash: send the same again
            propose_block(s, Digest(s.signed[slot]), block)
        return
    idle = s.timers_in_force().idle_block_interval_ms
    due = s.work_pending or (idle is not None and s.now_ms >= s.last_finalize_ms + idle)
    if not due:
        return
    s.proposal_asked = slot
    s.effects.append(ProposeBlock(Height(h), View(v)))


def on_block_proposed(s: ReplicaState, event: BlockProposed) -> None:
    if len(event.block) > limits.MAX_BLOCK_BYTES:
        raise ConsensusLocalProtocolError("bad_argument", "proposed block over MAX_BLOCK_BYTES")
    if s.proposal_asked != proposal_slot(event.view, event.height) or not s.active \
            or (event.height, event.view) != (s.height, s.view):
        s.count("stale_proposal")
        return
    digest = s.digest_fn(event.block)
    if digest is None:
        raise ConsensusLocalProtocolError("bad_argument", "proposed bytes are not a block")
    s.proposal_asked = None
    propose_block(s, Digest(digest), event.block)


def propose_block(s: ReplicaState, digest: Digest, block: bytes) -> None:
    slot = proposal_slot(s.view, s.height)
    vote = s.sign(slot, digest, block=block)
    if vote is None:
        return
    pp = PrePrepare(vote, block)
    s.block_checks[digest] = BlockCheck.VALID
    s.store_proposal(pp)
    s.broadcast(pp, "pp")
    assert slot in s.proposals


def on_block_validated(s: ReplicaState, event: BlockValidated) -> None:
    if event.height != s.height or s.block_checks.get(event.digest) != BlockCheck.PENDING:
        s.count("stale_validation")
        return
    s.block_checks[event.digest] = BlockCheck.VALID if event.valid else BlockCheck.INVALID
    if not event.valid:
        s.note("invalid_block", f"h={event.height} view={event.view} "
                                f"reason={event.reason[:200]}")


# --- prepare, commit, finalize -------------------------------------------------------------


def advance(s: ReplicaState) -> None:
    """Take every step the current votes allow: validate, prepare, commit, finalize."""
    for _ in range(4 * (limits.MAX_FUTURE_HEIGHTS + 1)):
        if not advance_once(s):
            return


def commit_quorum(s: ReplicaState) -> Certificate | None:
    """A commit certificate for our height, from the COMMITs we hold, if there is one."""
    for slot, votes in sorted(s.votes.items()):
        if slot.phase != PHASE_COMMIT or slot.height != s.height or len(votes) < s.quorum:
            continue
        by_digest: dict[bytes, list[Vote]] = {}
        for signer in sorted(votes):
            by_digest.setdefault(votes[signer].digest, []).append(votes[signer])
        for digest, group in sorted(by_digest.items()):
            if len(group) >= s.quorum:
                sigs = tuple((v.signer, v.signature) for v in group)
                return Certificate(PHASE_COMMIT, View(slot.view), Height(slot.height),
                                   Digest(digest), sigs)
    return None


def advance_once(s: ReplicaState) -> bool:
    """One step: finalize on a commit quorum, else validate, PREPARE or COMMIT the
    current proposal. Returns True when the step may enable another."""
    cert = commit_quorum(s)
    if cert is not None:
        block = s.find_block(cert.digest)
        if block is not None:
            if not s.can_finalize():
                # The next height's set comes with the host's next ValidatorsKnown.
                s.count("finalize_waits_for_validators")
                return False
            finalize(s, cert, block)
            return True
        # Its signers prepared the block but may not have finalized it yet.
        s.learn_final(cert.height, None)
    if not s.active or s.index is None or s.height < s.view_start_height:
        return False
    h, v = s.height, s.view
    prepare_slot = Slot(v, h, PHASE_PREPARE)
    pp = s.proposals.get(prepare_slot)
    if pp is None:
        return False
    digest = pp.vote.digest
    if prepare_slot not in s.signed:
        check = s.block_checks.get(digest)
        if check is None:
            s.block_checks[digest] = BlockCheck.PENDING
            s.effects.append(ValidateBlock(Height(h), View(v), digest, pp.block,
                                           reproposal=prepare_slot == s.reproposal))
            return False
        if check == BlockCheck.PENDING:
            return False
        if check == BlockCheck.INVALID:
            start_view_change(s, View(v + 1), "invalid_block")
            return False
        vote = s.sign(prepare_slot, digest)
        if vote is None:
            return False
        s.votes.setdefault(prepare_slot, {})[vote.signer] = vote
        s.broadcast(vote, "prepare")
    commit_slot = Slot(v, h, PHASE_COMMIT)
    if s.signed[prepare_slot] != digest or commit_slot in s.signed:
        return False
    prepares = [vote for _, vote in sorted(s.votes.get(prepare_slot, {}).items())
                if vote.digest == digest]
    if len(prepares) < s.quorum:
        return False
    prepared = Certificate(PHASE_PREPARE, View(v), Height(h), digest,
                           tuple((vote.signer, vote.signature) for vote in prepares))
    record = pack([REC_COMMIT, v, h, digest, cert_obj(prepared), pp.block])
    commit = s.sign(commit_slot, digest, record)
    if commit is None:
        return False
    s.prepared_cert, s.prepared_block = prepared, pp.block
    s.votes.setdefault(commit_slot, {})[commit.signer] = commit
    s.broadcast(commit, "commit")
    return True


def finalize(s: ReplicaState, cert: Certificate, block: bytes) -> None:
    """`block` is final at our height by `cert`: emit FinalizeBlock and move to the next
    height, keeping only what concerns heights from there on."""
    assert cert.height == s.height, f"finalize {cert.height} at {s.height}"
    assert s.digest_fn(block) == cert.digest, "finalized block digest"
    assert len(cert.signatures) >= s.quorum
    assert s.can_finalize(), "the next height's validator set is known"
    s.effects.append(FinalizeBlock(s.height, cert.digest, block, encode_certificate(cert)))
    s.count("finalized")
    s.finalized_digest = cert.digest
    s.last_certificate, s.last_block = cert, block
    s.height = Height(s.height + 1)
    s.enter_height()
    s.view_change_streak = 0
    # The pending work may have been this block's: the node reports WorkPending again
    # after running each FinalizeBlock, so no empty block is proposed in between.
    s.work_pending = False
    s.round_started_ms = s.last_finalize_ms = s.now_ms
    s.proposal_seen_ms = None
    s.proposal_asked = None
    s.prepared_cert, s.prepared_block = None, None
    s.resend.clear()
    s.block_checks.clear()
    if s.final_ahead is not None and s.final_ahead.height < s.height:
        s.final_ahead = None
    s.height_claims = {peer: h for peer, h in s.height_claims.items() if h >= s.height}
    s.proposals = {slot: pp for slot, pp in s.proposals.items() if slot.height >= s.height}
    s.votes = {slot: votes for slot, votes in s.votes.items() if slot.height >= s.height}
    s.signed = {slot: digest for slot, digest in s.signed.items() if slot.height >= s.height}
    if cert.view != s.view and (not s.active or cert.view > s.view) \
            or (cert.view == s.view and not s.active):
        sync_view(s, View(cert.view))
    if s.proposals.get(proposal_slot(s.view, s.height)) is not None:
        s.proposal_seen_ms = s.now_ms
    s.view_change_stale = True
