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
    try:
        check_certificate(cert, s.chain_id, s.validators, s.verify, s.quorum)
    except ConsensusValidationError as exc:
        s.count("drop_" + exc.code)
        return
    if cert.height == s.height:
        block = msg.block
        if block is not None and s.digest_fn(block) != cert.digest:
            s.blame(sender, "digest_mismatch")
            block = None
        if block is None:
            block = s.find_block(cert.digest)
        if block is not None:
            finalize(s, cert, block)
            return
    # The sender holds the block unless it just showed otherwise (a body that is not
    # the certified block). A valid but lower certificate never lowers the known-final
    # height (nor replaces its holder): any allowed peer can send an old DECIDED.
    holder = None if msg.block is not None and cert.height == s.height else sender
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
        holders = {PeerId(s.validators[signer])
                   for signer, signed in s.signer_heights.items()
                   if signed > height and signer != s.index}
        holders.update(proven)
        if holders:
            target, peers = height, sorted(holders)
    # A validator signs at height h only after it finalized h - 1, and among f+1
    # signers one is honest: below the (f+1)-th highest claim every height is final.
    # Fetch as soon as that includes our own height: its round is over for them, so
    # no more of its messages will come, while those of the next round wait in the
    # one-height buffer. Waiting until they work two heights ahead would let that
    # next round end too, and a node would keep trailing the head by a round or two.
    claims = sorted(((height - 1, signer) for signer, height in s.signer_heights.items()
                     if signer != s.index), reverse=True)
    if len(claims) > s.f:
        claimed = claims[s.f][0]
        if claimed >= s.height and claimed > target:
            target = claimed
            peers = [PeerId(s.validators[signer]) for h, signer in claims if h >= claimed]
    return target, sorted(peers)


def maybe_fetch(s: ReplicaState) -> None:
    """Ask the next holder for the blocks we lack, unless a fetch or cool-down runs."""
    if s.fetch is not None:
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
    for block, cert_bytes in event.blocks[skipped:limits.MAX_FETCH_BLOCKS]:
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
            # An honest peer serves only certified blocks of its own chain.
            s.note("bad_fetched_block", f"h={s.height} {exc.code}")
            s.effects.append(Blame(event.peer, "bad_fetched_block"))
            break
        finalize(s, cert, block)
    if s.height == asked_height:
        # Nothing gained since we asked: ask the next peer, but only after a
        # cool-down, so that an empty or bad answer cannot turn into a tight loop.
        # (Every other way out needs a height gained, and heights are bounded.)
        s.fetch_attempts += 1
        s.fetch_failed_peer = event.peer
        s.fetch = FetchInFlight(None, s.height, s.now_ms + s.config.fetch_timeout_ms)


def on_fetch_timer(s: ReplicaState) -> None:
    """The fetch got no answer in time, or its cool-down is over."""
    assert s.fetch is not None, "the fetch timer runs only with a fetch"
    if s.fetch.peer is not None:  # no answer: the next try goes to the next peer
        s.fetch_attempts += 1
        s.fetch_failed_peer = s.fetch.peer
    # (A cool-down counted its fruitless answer already: counting it twice would
    # bring the turn back to the same peer whenever two peers hold the blocks.)
    s.fetch = None
