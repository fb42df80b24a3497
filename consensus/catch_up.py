"""Catch-up: learning that blocks above ours are final, and fetching them.

Step functions over one `ReplicaState`. A DECIDED (or the certificate in a VIEW-CHANGE)
proves a height final; f+1 validators signing above our height prove the same. The
replica then asks one holder at a time for the blocks (FetchBlocks), verifies each
certificate, and finalizes them in order; a fruitless answer costs a cool-down.
"""

from __future__ import annotations

from consensus import limits
from consensus.errors import ConsensusValidationError
from consensus.events import Blame, BlocksFetched, FetchBlocks
from consensus.messages import Decided, Height, PeerId, check_certificate, verify_certificate
from consensus.normal import finalize
from consensus.state import FetchInFlight, ReplicaState


def on_decided(s: ReplicaState, sender: PeerId, msg: Decided) -> None:
    cert = msg.certificate
    if cert.height < s.height:
        s.count("drop_old_height")
        return
    ahead = s.final_ahead
    if ahead is not None and cert.height != s.height and (
            cert.height < ahead.height or sender in ahead.holders
            or len(ahead.holders) >= limits.MAX_CATCH_UP_HOLDERS):
        s.count("drop_duplicate")
        return
    vset = s.set_at(cert.height)
    if vset is None:
        # Signed by a set we do not know yet (a change on the way): only a hint.
        s.note_claim(sender, cert.height)
        s.count("drop_unknown_validator_set")
        return
    try:
        check_certificate(cert, s.chain_id, vset.keys, s.verify, s.quorum_of(vset))
    except ConsensusValidationError as exc:
        s.count("drop_" + exc.code)
        return
    lied = False
    if cert.height == s.height:
        block = msg.block
        if block is not None and s.digest_fn(block) != cert.digest:
            s.blame(sender, "digest_mismatch")
            block, lied = None, True
        if block is None:
            block = s.find_block(cert.digest)
        if block is not None and s.can_finalize():
            finalize(s, cert, block)
            return
    # The sender holds the block unless it just showed otherwise (a body that is not
    # the certified block). A valid but lower certificate never lowers the known-final
    # height (nor replaces its holder): any allowed peer can send an old DECIDED.
    holder = None if lied else sender
    s.learn_final(cert.height, holder)


def catch_up_target(s: ReplicaState) -> tuple[int, list[PeerId]]:
    """The highest height we know to be final and lack, and who holds it."""
    target, peers = 0, []
    if s.final_ahead is not None and s.final_ahead.height >= s.height:
        # Ask a peer that proved it holds the block: the sender of the certificate
        # (DECIDED, VIEW-CHANGE), or a validator that signed above that height. The
        # signers of a commit quorum may not have finalized it yet: asked too early,
        # such a peer has nothing to send, and an empty answer costs a cool-down.
        height, proven = s.final_ahead.height, s.final_ahead.holders
        holders = {PeerId(key) for key, signed in s.signer_heights.items()
                   if signed > height and key != s.public_key}
        holders.update(proven)
        if holders:
            target, peers = height, sorted(holders)
    # A validator signs at height h only after it finalized h - 1, and among f+1
    # signers one is honest: below the (f+1)-th highest claim every height is final.
    # Fetch as soon as that includes our own height: its round is over for them, so
    # no more of its messages will come, while those of the next round wait in the
    # one-height buffer. Waiting until they work two heights ahead would let that
    # next round end too, and a node would keep trailing the head by a round or two.
    # Only keys of our height's set count toward the f + 1.
    members = s.vset.index_of
    claims = sorted(((height - 1, key) for key, height in s.signer_heights.items()
                     if key != s.public_key and key in members), reverse=True)
    if len(claims) > s.f:
        claimed = claims[s.f][0]
        if claimed >= s.height and claimed > target:
            target = claimed
            peers = [PeerId(key) for h, key in claims if h >= claimed]
    if s.height_claims:
        # The sets above ours are not known yet, so their messages are only claims: ask
        # the peers that claimed our height or more too, in turn. Each answer is verified
        # block by block, so a false claim costs its turn and a cool-down, never a wrong
        # block. They join the proven holders as well: a holder proven by one certificate
        # that then answers nothing must not be the only peer we ever ask.
        claimers = sorted(PeerId(peer) for peer, h in s.height_claims.items()
                          if h >= max(target, s.height))
        if claimers and target < s.height:
            target = max(s.height_claims[peer] for peer in claimers)
            peers = claimers
        elif claimers:
            peers = sorted({*peers, *claimers})
    return target, sorted(peers)


def maybe_fetch(s: ReplicaState) -> None:
    """Ask the next holder for the blocks we lack, unless a fetch or cool-down runs
    or fetched blocks wait for their validator set."""
    if s.fetch is not None or s.fetched_waiting is not None:
        return
    target, peers = catch_up_target(s)
    if target < s.height or not peers:
        return
    peer = peers[s.fetch_attempts % len(peers)]
    if peer == s.fetch_failed_peer and len(peers) > 1:
        peer = peers[(s.fetch_attempts + 1) % len(peers)]
    last = min(target, s.height + limits.MAX_FETCH_BLOCKS - 1)
    s.fetch = FetchInFlight(peer, s.height, s.now_ms + s.config.fetch_timeout_ms)
    s.count("fetch")
    s.effects.append(FetchBlocks(peer, s.height, Height(last)))


def on_blocks_fetched(s: ReplicaState, event: BlocksFetched) -> None:
    if s.fetch is None or s.fetch.peer != event.peer:
        s.count("drop_unsolicited_blocks")
        return
    asked_height = s.fetch.from_height
    s.fetch = None
    assert asked_height <= s.height, "heights only grow"
    # Consensus may have finalized the first heights asked for while the request was
    # out: those blocks are skipped unchecked (we have them), not taken for bad ones.
    skipped = s.height - asked_height
    if skipped:
        s.count("fetched_blocks_known")
    finalize_fetched(s, event.peer, list(event.blocks[skipped:limits.MAX_FETCH_BLOCKS]))
    if s.height == asked_height and s.fetched_waiting is None:
        # Nothing gained since we asked: ask the next peer, but only after a
        # cool-down, so that an empty or bad answer cannot turn into a tight loop.
        # (Every other way out needs a height gained, and heights are bounded.)
        s.fetch_attempts += 1
        s.fetch_failed_peer = event.peer
        s.fetch = FetchInFlight(None, s.height, s.now_ms + s.config.fetch_timeout_ms)


def finalize_fetched(s: ReplicaState, peer: PeerId, items: list[tuple[bytes, bytes]]) -> None:
    """Verify and finalize fetched blocks from our height on, each certificate against
    the set in force at its height. Stops at the first block whose next height's set is
    not known yet, keeping the rest in `fetched_waiting` (`drain_fetched` resumes once
    the host reports it); a bad block blames `peer` and drops the rest."""
    assert len(items) <= limits.MAX_FETCHED_WAITING
    for offset, (block, cert_bytes) in enumerate(items):
        if not s.can_finalize():
            s.fetched_waiting = (peer, s.height, items[offset:])
            return
        try:
            if len(block) > limits.MAX_BLOCK_BYTES:
                raise ConsensusValidationError("block_too_large", f"{len(block)} bytes")
            digest = s.digest_fn(block)
            if digest is None:
                raise ConsensusValidationError("digest_mismatch", "fetched bytes are not a block")
            cert = verify_certificate(cert_bytes, s.height, digest,
                                      s.validators, s.chain_id, s.verify)
            if len(cert.signatures) < s.quorum:
                raise ConsensusValidationError("insufficient_quorum", "fetched certificate")
        except ConsensusValidationError as exc:
            # An honest peer serves only certified blocks of its own chain: a block
            # certified by another set (a removed one) is as bad as a forged one.
            s.note("bad_fetched_block", f"h={s.height} {exc.code}")
            s.effects.append(Blame(peer, "bad_fetched_block"))
            return
        finalize(s, cert, block)


def drain_fetched(s: ReplicaState) -> None:
    """Resume finalizing fetched blocks once the set they waited for is known."""
    waiting = s.fetched_waiting
    if waiting is None or not s.can_finalize():
        return
    s.fetched_waiting = None
    peer, first, items = waiting
    finalize_fetched(s, peer, items[s.height - first:])


def on_fetch_timer(s: ReplicaState) -> None:
    """The fetch got no answer in time, or its cool-down is over."""
    assert s.fetch is not None, "the fetch timer runs only with a fetch"
    if s.fetch.peer is not None:  # no answer: the next try goes to the next peer
        s.fetch_attempts += 1
        s.fetch_failed_peer = s.fetch.peer
    # (A cool-down counted its fruitless answer already: counting it twice would
    # bring the turn back to the same peer whenever two peers hold the blocks.)
    s.fetch = None
