"""The replica rule by rule: normal case, persistence before send, view change and
NEW-VIEW checks, backoff, f+1 join, catch-up, bounds and odd validator counts.
Method: a scripted Cluster (tests/consensus/harness.py) or a lone Replica fed
hand-made messages; assertions on the effects it returns."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from consensus import limits
from consensus import messages as wire
from consensus.errors import ConsensusLocalProtocolError, ConsensusRemotePeerError
from consensus.events import (
    Blame,
    BlocksFetched,
    BlockValidated,
    Broadcast,
    FetchBlocks,
    FinalizeBlock,
    MessageReceived,
    Note,
    Persist,
    Send,
    Started,
    TimerFired,
    ValidateBlock,
    WorkPending,
)
from consensus.replica import Replica, record_position
from consensus.sim import CHAIN_ID, ToyApp, validator_keys
from tests.consensus.harness import CONFIG, Cluster

KEYS = validator_keys(4)
VALIDATORS = [bytes(k.verify_key) for k in KEYS]


def lone(index: int = 1, records: list[bytes] | None = None, n: int = 4) -> Replica:
    keys = validator_keys(n)
    replica = Replica(chain_id=CHAIN_ID, validators=[bytes(k.verify_key) for k in keys],
                      signing_key=keys[index], records=records or [], config=CONFIG)
    replica.step(Started(), 0)
    return replica


def preprepare(block: bytes, view: int = 0, height: int = 1, signer: int = 0) -> bytes:
    vote = wire.sign_vote(KEYS[signer], CHAIN_ID, wire.PHASE_PREPARE, view, height,
                          wire.sha256_digest(block), signer)
    return wire.encode_message(wire.PrePrepare(vote, block))


def received(msg: bytes, sender: int = 0) -> MessageReceived:
    return MessageReceived(wire.PeerId(VALIDATORS[sender]), msg)


def test_normal_case_four_validators_finalize_the_same_blocks() -> None:
    cluster = Cluster(4)
    cluster.work(3)
    cluster.stabilize()
    chains = [[d for d, _, _ in node.app.chain] for node in cluster.nodes]
    assert len(chains[0]) >= 3
    assert all(chain == chains[0] for chain in chains)
    assert all(cluster.replica(i).view == 0 for i in range(4))


def test_normal_case_takes_three_message_delays() -> None:
    cluster = Cluster(4)
    cluster.work(1)
    rounds = 0
    while min(cluster.heights()) < 1:
        assert cluster.deliver()
        rounds += 1
    assert rounds == 3  # PRE-PREPARE, PREPARE, COMMIT


def test_prepare_is_persisted_before_it_is_broadcast() -> None:
    replica = lone(1)
    app = ToyApp()
    block = app.build(1, b"txs")
    effects = replica.step(received(preprepare(block)), 10)
    validate = [e for e in effects if isinstance(e, ValidateBlock)]
    assert len(validate) == 1
    from consensus.events import BlockValidated
    effects = replica.step(
        BlockValidated(wire.Height(1), wire.View(0), validate[0].digest, True, ""), 11)
    kinds = [type(e).__name__ for e in effects]
    assert kinds.index("Persist") < kinds.index("Broadcast")
    sent = wire.decode_message([e for e in effects if isinstance(e, Broadcast)][0].msg)
    assert getattr(sent, "phase", None) == wire.PHASE_PREPARE


def test_restarted_replica_never_signs_a_conflicting_prepare() -> None:
    first = lone(1)
    block_a, block_b = ToyApp().build(1, b"a"), ToyApp().build(1, b"b")
    effects = first.step(received(preprepare(block_a)), 10)
    from consensus.events import BlockValidated
    effects += first.step(BlockValidated(wire.Height(1), wire.View(0),
                                         wire.Digest(wire.sha256_digest(block_a)),
                                         True, ""), 11)
    records = [e.record for e in effects if isinstance(e, Persist)]
    assert records
    # After a crash the (equivocating) primary shows the restarted replica block B.
    second = lone(1, records)
    effects = second.step(received(preprepare(block_b)), 20)
    for e in effects:
        if isinstance(e, ValidateBlock):
            effects += second.step(BlockValidated(wire.Height(1), e.view, e.digest, True, ""), 21)
    prepares = [wire.decode_message(e.msg) for e in effects if isinstance(e, Broadcast)]
    assert not any(getattr(m, "phase", None) == wire.PHASE_PREPARE
                   and getattr(m, "digest", None) == wire.sha256_digest(block_b) for m in prepares)


def test_view_change_reproposes_the_prepared_block() -> None:
    cluster = Cluster(4)
    cluster.work(1)
    cluster.deliver()  # PRE-PREPARE
    cluster.deliver()  # PREPAREs: every replica is prepared and sends COMMIT
    prepared = cluster.replica(1).state.prepared_cert
    assert prepared is not None
    cluster.crash(0)

    def old_commit(src: int, dst: int, msg: bytes) -> bool:
        decoded = wire.decode_message(msg)
        return (getattr(decoded, "phase", 0) == wire.PHASE_COMMIT
                and getattr(decoded, "view", 1) == 0)

    cluster.drop_filter = old_commit  # every COMMIT of view 0 is lost
    cluster.pending = [m for m in cluster.pending if not old_commit(*m)]
    cluster.tick(2_000)
    notes = [e for e in cluster.nodes[1].effects if isinstance(e, Note) and e.kind == "new_view"]
    assert notes and "reproposal=True" in notes[0].detail
    finalized = [e for e in cluster.nodes[2].effects if isinstance(e, FinalizeBlock)]
    assert finalized[0].digest == prepared.digest


def _view_change(signer: int, view: int, prepared: wire.Certificate | None,
                 block: bytes | None) -> wire.ViewChange:
    unsigned = wire.ViewChange(wire.View(view), wire.Height(1), None, prepared,
                               wire.ValidatorIndex(signer), b"", block)
    sig = KEYS[signer].sign(wire.view_change_payload(CHAIN_ID, unsigned)).signature
    return replace(unsigned, signature=sig)


def _prepared_cert(block: bytes) -> wire.Certificate:
    digest = wire.sha256_digest(block)
    sigs = tuple((wire.ValidatorIndex(i),
                  wire.sign_vote(KEYS[i], CHAIN_ID, wire.PHASE_PREPARE, 0, 1, digest,
                                 i).signature) for i in (0, 1, 2))
    return wire.Certificate(wire.PHASE_PREPARE, wire.View(0), wire.Height(1), wire.Digest(digest),
                            sigs)


def _new_view(vcs: list[wire.ViewChange], pp: wire.PrePrepare | None) -> bytes:
    stripped = tuple(replace(vc, block=None) for vc in vcs)
    unsigned = wire.NewView(wire.View(1), stripped, pp, wire.ValidatorIndex(1), b"")
    sig = KEYS[1].sign(wire.new_view_payload(CHAIN_ID, unsigned)).signature
    return wire.encode_message(replace(unsigned, signature=sig))


def test_view_change_last_certificate_must_be_the_commit_just_below_its_height() -> None:
    chain = _chain(2)
    commit1 = wire.decode_certificate(chain[0][2])  # the COMMIT certificate of height 1
    prepare1 = replace(commit1, phase=wire.PHASE_PREPARE)

    def decoded(height: int, last: wire.Certificate | None) -> wire.ViewChange:
        vc = wire.ViewChange(wire.View(1), wire.Height(height), last, None,
                             wire.ValidatorIndex(0), bytes(64), None)
        return wire.decode_message(wire.encode_message(vc))  # type: ignore[return-value]

    assert decoded(2, commit1).last_cert == commit1
    for height, last in ((2, prepare1), (3, commit1), (2, None)):
        with pytest.raises(ConsensusRemotePeerError) as caught:
            decoded(height, last)
        assert caught.value.code == "bad_view_change"
    # Its prepared certificate must be a PREPARE one of its height below its view.
    prepare2 = replace(wire.decode_certificate(chain[1][2]), phase=wire.PHASE_PREPARE)
    wrong_phase = replace(prepare2, phase=wire.PHASE_COMMIT)
    for prepared in (wrong_phase, replace(prepare2, view=wire.View(1))):
        vc = wire.ViewChange(wire.View(1), wire.Height(2), commit1, prepared,
                             wire.ValidatorIndex(0), bytes(64), None)
        with pytest.raises(ConsensusRemotePeerError) as caught:
            wire.decode_message(wire.encode_message(vc))
        assert caught.value.code == "bad_view_change"


def test_replica_that_followed_a_certificate_into_a_view_sends_no_new_view_it_lacks() -> None:
    # A replica that view-changed alone (to view 2) follows a commit certificate of view 1
    # back into view 1 (sync_view): it never saw view 1's NEW-VIEW, so a peer lagging in
    # view 0 gets none from it (no empty or stale message).
    cluster = Cluster(4)
    cluster.crash(0)  # the primary of view 0: height 1 is decided in view 1
    cluster.work(1)
    cluster.tick(10_000)
    cluster.stabilize()
    [(_, block, cert_bytes)] = cluster.nodes[1].app.chain
    cert = wire.decode_certificate(cert_bytes)
    assert cert.view == 1
    replica = lone(3)
    replica.step(WorkPending(True), 0)
    now = 0
    for _ in range(2):
        now = replica.state.timers["view_change"]
        replica.step(TimerFired("view_change"), now)
    assert (replica.view, replica.active) == (2, False)
    replica.step(received(wire.encode_message(wire.Decided(cert, block)), 1), now + 1)
    assert (replica.view, replica.active, replica.state.height) == (1, True, 2)
    effects = replica.step(
        received(_vote(wire.PHASE_PREPARE, b"a block of height 2", 2, 2, view=0), 2), now + 2)
    assert [e for e in effects if isinstance(e, Send)] == []
    assert "help_new_view" not in replica.counters


def test_new_view_signature_covers_its_reproposal() -> None:
    # A relay that swaps or strips the re-proposal of a signed NEW-VIEW breaks its signature.
    block = ToyApp().build(1, b"prepared")
    vote = wire.sign_vote(KEYS[1], CHAIN_ID, wire.PHASE_PREPARE, 1, 1, wire.sha256_digest(block), 1)
    signed = wire.NewView(wire.View(1), (), wire.PrePrepare(vote, block),
                          wire.ValidatorIndex(1), b"")
    payloads = {wire.new_view_payload(CHAIN_ID, signed),
                wire.new_view_payload(CHAIN_ID, replace(signed, preprepare=None))}
    assert len(payloads) == 2


def test_new_view_without_view_changes_is_dropped_as_insufficient_quorum() -> None:
    replica = lone(3)
    effects = replica.step(received(_new_view([], None), 1), 10)
    assert effects == []
    assert replica.counters.get("drop_insufficient_quorum") == 1
    assert (replica.view, replica.active) == (0, True)


def test_new_view_that_drops_a_prepared_block_is_rejected() -> None:
    block = ToyApp().build(1, b"prepared")
    vcs = [_view_change(0, 1, _prepared_cert(block), block), _view_change(2, 1, None, None),
           _view_change(3, 1, None, None)]
    replica = lone(3)
    replica.step(received(_new_view(vcs, None), 1), 10)
    assert replica.counters.get("drop_bad_new_view") == 1
    assert replica.view == 0


def _new_view_reproposing(block: bytes) -> tuple[Replica, list[Any]]:
    """A lone replica given view 1's NEW-VIEW re-proposing `block`, prepared in view 0: the
    replica and the effects."""
    vcs = [_view_change(0, 1, _prepared_cert(block), block), _view_change(2, 1, None, None),
           _view_change(3, 1, None, None)]
    vote = wire.sign_vote(KEYS[1], CHAIN_ID, wire.PHASE_PREPARE, 1, 1, wire.sha256_digest(block), 1)
    replica = lone(3)
    return replica, replica.step(received(_new_view(vcs, wire.PrePrepare(vote, block)), 1), 10)


def test_new_view_with_matching_reproposal_is_accepted() -> None:
    replica, effects = _new_view_reproposing(ToyApp().build(1, b"prepared"))
    assert (replica.view, replica.active) == (1, True)
    assert any(isinstance(e, ValidateBlock) for e in effects)


def test_new_view_reproposal_conflicting_with_a_held_proposal_leaves_the_view() -> None:
    # The new primary already sent another block for the same (view, height): it signed
    # two proposals for one slot, so the replica leaves view 1 as for any equivocation.
    block = ToyApp().build(1, b"prepared")
    vcs = [_view_change(0, 1, _prepared_cert(block), block), _view_change(2, 1, None, None),
           _view_change(3, 1, None, None)]
    vote = wire.sign_vote(KEYS[1], CHAIN_ID, wire.PHASE_PREPARE, 1, 1, wire.sha256_digest(block), 1)
    replica = lone(3)
    replica.step(received(preprepare(b"another block", view=1, height=1, signer=1), 1), 5)
    replica.step(received(_new_view(vcs, wire.PrePrepare(vote, block)), 1), 10)
    assert replica.counters.get("equivocation") == 1
    assert (replica.view, replica.active) == (2, False)


def test_prepares_for_a_view_received_before_its_new_view_still_count() -> None:
    # PREPAREs of view 1 that outran its NEW-VIEW are kept when the replica enters view 1:
    # with them the re-proposal reaches its quorum at once and the replica commits.
    block = ToyApp().build(1, b"prepared")
    digest = wire.sha256_digest(block)
    vcs = [_view_change(0, 1, _prepared_cert(block), block), _view_change(2, 1, None, None),
           _view_change(3, 1, None, None)]
    vote = wire.sign_vote(KEYS[1], CHAIN_ID, wire.PHASE_PREPARE, 1, 1, digest, 1)
    replica = lone(3)
    for signer in (0, 2):
        replica.step(received(_vote(wire.PHASE_PREPARE, block, 1, signer, view=1), signer), 5)
    replica.step(received(_new_view(vcs, wire.PrePrepare(vote, block)), 1), 10)
    validated = BlockValidated(wire.Height(1), wire.View(1), wire.Digest(digest), True, "")
    effects = replica.step(validated, 11)
    sent = [wire.decode_message(e.msg) for e in effects if isinstance(e, Broadcast)]
    assert any(isinstance(m, wire.Vote) and m.phase == wire.PHASE_COMMIT for m in sent)


def test_new_view_reproposal_is_validated_as_a_reproposal() -> None:
    # The re-proposed block was built by view 0's primary: the application must not hold
    # it to view 1's primary, or an honest replica refuses it alone and leaves the view.
    block = ToyApp().build(1, b"prepared")
    _, effects = _new_view_reproposing(block)
    [validate] = [e for e in effects if isinstance(e, ValidateBlock)]
    assert validate.reproposal
    fresh = lone(3)
    effects = fresh.step(received(preprepare(block), 0), 10)
    [validate] = [e for e in effects if isinstance(e, ValidateBlock)]
    assert not validate.reproposal


def test_new_view_with_too_few_view_changes_is_rejected() -> None:
    vcs = [_view_change(0, 1, None, None), _view_change(2, 1, None, None)]
    replica = lone(3)
    replica.step(received(_new_view(vcs, None), 1), 10)
    assert replica.counters.get("drop_insufficient_quorum") == 1


def test_view_change_with_fabricated_prepared_certificate_is_dropped() -> None:
    block = ToyApp().build(1, b"fake")
    cert = _prepared_cert(block)
    fake = replace(cert, signatures=cert.signatures[:1] + ((wire.ValidatorIndex(2), b"\0" * 64),
                                                           (wire.ValidatorIndex(3), b"\0" * 64)))
    replica = lone(1)
    replica.step(received(wire.encode_message(_view_change(2, 1, fake, block)), 2), 10)
    assert replica.counters.get("drop_bad_signature") == 1
    assert 2 not in replica.state.latest_view_changes


def test_f_plus_one_view_changes_make_a_replica_join() -> None:
    replica = lone(3)
    replica.step(received(wire.encode_message(_view_change(0, 5, None, None)), 0), 10)
    assert replica.view == 0
    effects = replica.step(received(wire.encode_message(_view_change(2, 7, None, None)), 2), 11)
    assert (replica.view, replica.active) == (5, False)
    assert any(isinstance(e, Note) and "joined_higher_view" in e.detail for e in effects)


def test_timeout_backs_off_exponentially_caps_and_resets_after_progress() -> None:
    replica = lone(3)
    timeouts = []
    now = 0
    replica.step(WorkPending(True), now)
    for _ in range(8):
        deadline = replica.state.timers["view_change"]
        now = deadline
        replica.step(TimerFired("view_change"), now)
        timeouts.append(replica.timeout_ms())
    assert timeouts[:3] == [2_000, 4_000, 8_000]
    assert max(timeouts) == CONFIG.view_change_timeout_max_ms
    assert replica.counters["view_change"] == 8
    cluster = Cluster(4)
    cluster.replica(1).state.view_change_streak = 5
    cluster.work(1)
    cluster.stabilize()
    assert cluster.replica(1).timeout_ms() == CONFIG.view_change_timeout_ms


def test_prepare_with_stale_view_is_ignored() -> None:
    replica = lone(3)
    replica.step(received(wire.encode_message(_view_change(0, 2, None, None)), 0), 1)
    replica.step(received(wire.encode_message(_view_change(1, 2, None, None)), 1), 2)
    assert replica.view == 2
    vote = wire.sign_vote(KEYS[1], CHAIN_ID, wire.PHASE_PREPARE, 0, 1, wire.sha256_digest(b"x"), 1)
    replica.step(received(wire.encode_message(vote), 1), 3)
    assert replica.counters.get("drop_old_view") == 1


def test_duplicate_message_is_dropped_before_signature_check() -> None:
    replica = lone(1)
    msg = received(preprepare(ToyApp().build(1, b"a")))
    replica.step(msg, 1)
    replica.step(msg, 2)
    assert replica.counters.get("drop_duplicate") == 1


def test_flood_of_future_messages_keeps_buffers_bounded() -> None:
    replica = lone(1)
    for i in range(2_000):
        vote = wire.sign_vote(KEYS[2], CHAIN_ID, wire.PHASE_COMMIT, i % 50, 1 + i % 30,
                              wire.sha256_digest(b"%d" % i), 2)
        replica.step(received(wire.encode_message(vote), 2), i)
        replica.step(received(b"\x93" + bytes([i % 256]) * 2, 2), i)
    slots = sum(len(votes) for votes in replica.state.votes.values())
    bound = 2 * (limits.MAX_FUTURE_HEIGHTS + 1) * (2 * limits.MAX_FUTURE_VIEWS + 1) * 4
    assert slots <= bound
    assert len(replica.state.proposals) == 0
    assert replica.counters["drop_future_view"] + replica.counters["drop_future_height"] > 0


def _chain(blocks_count: int) -> list[tuple[bytes, bytes, bytes]]:
    """(digest, block, certificate) of `blocks_count` blocks finalized by 4 validators."""
    cluster = Cluster(4)
    cluster.work(blocks_count)
    cluster.stabilize()
    chain = cluster.nodes[0].app.chain
    assert len(chain) == blocks_count
    return chain


def _fetches(effects: list[Any]) -> list[tuple[int, int, int]]:
    """(validator index, from, to) of each FetchBlocks effect."""
    return [(VALIDATORS.index(e.peer), e.from_height, e.to_height)
            for e in effects if isinstance(e, FetchBlocks)]


def _finalized(effects: list[Any]) -> list[int]:
    return [e.height for e in effects if isinstance(e, FinalizeBlock)]


def _vote(phase: int, block: bytes, height: int, signer: int, view: int = 0) -> bytes:
    return wire.encode_message(wire.sign_vote(KEYS[signer], CHAIN_ID, phase, view, height,
                                              wire.sha256_digest(block), signer))


def _decided(chain: list[tuple[bytes, bytes, bytes]], height: int,
             with_block: bool = False) -> bytes:
    _, block, cert = chain[height - 1]
    return wire.encode_message(wire.Decided(wire.decode_certificate(cert),
                                            block if with_block else None))


def test_catch_up_rejects_a_block_its_certificate_does_not_cover() -> None:
    chain = _chain(3)
    replica = lone(3)
    effects = replica.step(received(_decided(chain, 3)), 5)
    assert _fetches(effects) == [(0, 1, 3)]
    bad = ((chain[1][1], chain[0][2]),)
    effects = replica.step(BlocksFetched(wire.PeerId(VALIDATORS[0]), bad), 6)
    assert _finalized(effects) == []
    assert replica.counters.get("bad_fetched_block") == 1
    # A cool-down, then the next try; the good answer finalizes every block.
    assert _fetches(effects) == []
    effects = replica.step(TimerFired("fetch"), 6 + CONFIG.fetch_timeout_ms)
    assert _fetches(effects) == [(0, 1, 3)]
    good = tuple((block, cert) for _, block, cert in chain)
    effects = replica.step(BlocksFetched(wire.PeerId(VALIDATORS[0]), good),
                           7 + CONFIG.fetch_timeout_ms)
    assert _finalized(effects) == [1, 2, 3]


def test_one_height_behind_fetches_once_f_plus_one_validators_sign_above_it() -> None:
    chain = _chain(2)
    block2 = chain[1][1]
    replica = lone(3)  # at height 1; the others finalized 1 and now work on 2
    effects = replica.step(received(preprepare(block2, height=2), sender=0), 5)
    assert _fetches(effects) == []  # one signer above us may be the faulty one (f = 1)
    effects = replica.step(received(_vote(wire.PHASE_PREPARE, block2, 2, signer=1), sender=1), 6)
    # f+1 signers above height 1 make it final, and each of them holds it.
    [(peer, first, last)] = _fetches(effects)
    assert (first, last) == (1, 1)
    assert peer in (0, 1)
    effects = replica.step(received(_vote(wire.PHASE_COMMIT, block2, 2, signer=2), sender=2), 7)
    assert _fetches(effects) == []  # one fetch at a time
    effects = replica.step(BlocksFetched(wire.PeerId(VALIDATORS[peer]), (chain[0][1:],)), 8)
    # Height 1 from the fetch, then straight into height 2 from the buffered round.
    assert _finalized(effects) == [1]
    assert any(isinstance(e, ValidateBlock) and e.height == 2 for e in effects)
    assert replica.height == 2
    assert replica.counters.get("fetch") == 1


def test_replica_at_the_height_of_its_peers_does_not_fetch() -> None:
    chain = _chain(1)
    block1 = chain[0][1]
    replica = lone(3)
    effects = replica.step(received(preprepare(block1, height=1), sender=0), 5)
    effects += replica.step(received(_vote(wire.PHASE_PREPARE, block1, 1, signer=1), sender=1), 6)
    effects += replica.step(received(_vote(wire.PHASE_PREPARE, block1, 1, signer=2), sender=2), 7)
    assert _fetches(effects) == []
    assert "fetch" not in replica.counters


def test_commit_quorum_without_the_block_fetches_from_a_peer_that_finalized_it() -> None:
    chain = _chain(2)
    block1, block2 = chain[0][1], chain[1][1]
    replica = lone(3)
    # The commits of height 1 arrive, its proposal was lost: the height is final, but a
    # committer may not have finalized it yet, so nobody is asked.
    effects = []
    for signer in (0, 1, 2):
        effects += replica.step(received(_vote(wire.PHASE_COMMIT, block1, 1, signer), signer), 5)
    assert _fetches(effects) == []
    assert replica.catching_up
    # The primary proposes height 2: it finalized 1, so it is asked.
    effects = replica.step(received(preprepare(block2, height=2), sender=0), 6)
    assert _fetches(effects) == [(0, 1, 1)]


def test_fetched_blocks_consensus_finalized_meanwhile_are_skipped_not_rejected() -> None:
    chain = _chain(3)
    replica = lone(3)
    effects = replica.step(received(_decided(chain, 3), sender=0), 5)
    assert _fetches(effects) == [(0, 1, 3)]
    # While the request is out, another peer hands over height 1 with its certificate.
    effects = replica.step(received(_decided(chain, 1, with_block=True), sender=1), 6)
    assert _finalized(effects) == [1]
    answer = tuple((block, cert) for _, block, cert in chain)
    effects = replica.step(BlocksFetched(wire.PeerId(VALIDATORS[0]), answer), 7)
    assert _finalized(effects) == [2, 3]
    assert "bad_fetched_block" not in replica.counters
    assert replica.counters.get("fetched_blocks_known") == 1


def test_empty_fetch_answer_cools_down_then_asks_the_next_holder() -> None:
    chain = _chain(2)
    block2 = chain[1][1]
    replica = lone(3)
    replica.step(received(preprepare(block2, height=2), sender=0), 5)
    effects = replica.step(received(_vote(wire.PHASE_PREPARE, block2, 2, signer=1), sender=1), 6)
    [(peer, _, _)] = _fetches(effects)
    effects = replica.step(BlocksFetched(wire.PeerId(VALIDATORS[peer]), ()), 7)
    assert _fetches(effects) == []
    assert replica.catching_up
    effects = replica.step(TimerFired("fetch"), 7 + CONFIG.fetch_timeout_ms - 1)
    assert _fetches(effects) == []  # not due yet
    effects = replica.step(TimerFired("fetch"), 7 + CONFIG.fetch_timeout_ms)
    assert _fetches(effects) == [(1 - peer, 1, 1)]  # the other holder


def test_preprepare_whose_block_is_not_its_digest_blames_the_sender() -> None:
    replica = lone(1)
    digest = wire.sha256_digest(b"block a")
    vote = wire.sign_vote(KEYS[0], CHAIN_ID, wire.PHASE_PREPARE, 0, 1, digest, 0)
    effects = replica.step(received(wire.encode_message(wire.PrePrepare(vote, b"block b")), 2), 5)
    assert [e for e in effects if isinstance(e, Blame)] == [
        Blame(wire.PeerId(VALIDATORS[2]), "digest_mismatch")]
    assert replica.counters.get("drop_digest_mismatch") == 1
    assert not any(isinstance(e, ValidateBlock) for e in effects)  # the body is dropped


def test_replica_names_the_primary_and_the_set_of_each_known_height() -> None:
    replica = lone(1)
    assert [replica.primary(view) for view in range(5)] == [0, 1, 2, 3, 0]
    assert replica.validators_at(1) == tuple(VALIDATORS)
    assert replica.validators_at(0) is None  # below the first height: no set


def test_record_position_reads_back_the_height_and_view_each_persist_named() -> None:
    # A log written before Persist carried (height, view) is read back with them.
    cluster = Cluster(4)
    persisted: list[Persist] = []
    run_effect = cluster.run_effect

    def recording(node: Any, effect: Any) -> None:
        if isinstance(effect, Persist):
            persisted.append(effect)
        run_effect(node, effect)

    cluster.run_effect = recording  # type: ignore[method-assign]
    cluster.work(2)
    cluster.stabilize()
    cluster.crash(1)  # the primary of view 1 is down: a view change to view 2
    cluster.crash(0)
    cluster.work(1)
    cluster.tick(10_000)
    assert {p.view for p in persisted} >= {0, 1}
    assert {p.height for p in persisted} >= {1, 2, 3}
    for p in persisted:
        assert record_position(p.record) == (p.height, p.view)
    # Garbage, and each kind of record with one field too many, is a bad record.
    longer = [wire.pack([*wire.unpack_canonical(p.record, limits.MAX_RECORD_BYTES), None])
              for p in persisted]
    for record in [b"\xff not a record", *longer]:
        with pytest.raises(ConsensusLocalProtocolError) as caught:
            record_position(record)
        assert caught.value.code == "bad_record"


def test_equivocation_leaves_the_view_only_for_the_slot_being_decided() -> None:
    # Two proposals of the primary for a later height are counted, but the slot being
    # decided is not stalled by them: the view stays (docs/CONSENSUS.md, section 3).
    replica = lone(1)
    replica.step(received(preprepare(b"block a", height=2)), 5)
    replica.step(received(preprepare(b"block b", height=2)), 6)
    assert replica.counters.get("equivocation") == 1
    assert (replica.view, replica.active) == (0, True)
    # Two proposals for the height being decided: the replica leaves the view.
    replica.step(received(preprepare(b"block c", height=1)), 7)
    replica.step(received(preprepare(b"block d", height=1)), 8)
    assert replica.counters.get("equivocation") == 2
    assert (replica.view, replica.active) == (1, False)


def test_height_claims_table_full_takes_only_a_claim_above_the_lowest() -> None:
    # limits.MAX_HEIGHT_CLAIMS: a full table gives the lowest claim's place to a higher one.
    state = lone(1).state
    peers = [wire.PeerId(bytes([i + 1]) * 32) for i in range(limits.MAX_HEIGHT_CLAIMS + 1)]
    for i, peer in enumerate(peers[:-1]):
        state.note_claim(peer, 10 + i)
    newcomer = peers[-1]
    state.note_claim(newcomer, 10)  # no higher than the lowest claim (peers[0], 10)
    assert newcomer not in state.height_claims
    state.note_claim(newcomer, 11)
    assert newcomer in state.height_claims and peers[0] not in state.height_claims
    assert len(state.height_claims) == limits.MAX_HEIGHT_CLAIMS


def test_fetched_block_over_max_block_bytes_blames_the_peer_as_block_too_large() -> None:
    chain = _chain(1)
    replica = lone(3)
    assert _fetches(replica.step(received(_decided(chain, 1)), 5)) == [(0, 1, 1)]
    oversized = bytes(limits.MAX_BLOCK_BYTES + 1)
    fetched = BlocksFetched(wire.PeerId(VALIDATORS[0]), ((oversized, chain[0][2]),))
    effects = replica.step(fetched, 6)
    assert Blame(wire.PeerId(VALIDATORS[0]), "bad_fetched_block") in effects
    assert [n.detail for n in effects if isinstance(n, Note) and n.kind == "bad_fetched_block"
            ] == ["h=1 block_too_large"]
    assert _finalized(effects) == []


def test_fetch_timeouts_rotate_through_every_holder_and_back_to_the_first() -> None:
    # Three peers hold the blocks and each stays silent: every timeout asks the next one,
    # and after the last the turn comes back to the first (none is left out for good).
    chain = _chain(3)
    replica = lone(3)
    asked = []
    for sender in (0, 1, 2):  # the first claim is asked at once, before the others come
        asked += _fetches(replica.step(received(_decided(chain, 3), sender=sender), 5))
    now = 5
    for _ in range(4):
        now += CONFIG.fetch_timeout_ms
        asked += _fetches(replica.step(TimerFired("fetch"), now))
    holders = [peer for peer, _, _ in asked]
    assert len(holders) == 5
    assert sorted(holders[1:4]) == [0, 1, 2]  # one turn over all three holders
    assert holders[4] == holders[1]


def _retry_after_the_first_holder_fails(second_height: int) -> list[tuple[int, int, int]]:
    """A lone replica learns from validator 0 that height 3 is final, then from validator 2
    that `second_height` is; validator 0 answers the fetch with nothing: the next fetches."""
    chain = _chain(3)
    replica = lone(3)
    effects = replica.step(received(_decided(chain, 3), sender=0), 5)
    assert _fetches(effects) == [(0, 1, 3)]
    replica.step(received(_decided(chain, second_height), sender=2), 6)
    replica.step(BlocksFetched(wire.PeerId(VALIDATORS[0]), ()), 7)
    return _fetches(replica.step(TimerFired("fetch"), 7 + CONFIG.fetch_timeout_ms))


def test_old_decided_from_another_peer_never_lowers_the_catch_up_target() -> None:
    # Any allowed peer can replay the (valid) certificate of our own height.
    [(_, start, end)] = _retry_after_the_first_holder_fails(1)
    assert (start, end) == (1, 3)  # still the highest height proven final


def test_a_second_holder_of_the_same_height_is_asked_after_the_first_fails() -> None:
    assert _retry_after_the_first_holder_fails(3) == [(2, 1, 3)]


def test_restore_with_finalized_certificate_resumes_at_next_height() -> None:
    cluster = Cluster(4)
    cluster.work(2)
    cluster.stabilize()
    digest, _, cert = cluster.nodes[2].app.chain[-1]
    height = len(cluster.nodes[2].app.chain)
    replica = Replica(chain_id=CHAIN_ID, validators=VALIDATORS, signing_key=KEYS[2],
                      finalized_height=height, finalized_digest=digest,
                      finalized_certificate=cert, records=cluster.nodes[2].records,
                      config=CONFIG)
    assert replica.height == height + 1


def test_single_validator_makes_blocks_alone() -> None:
    cluster = Cluster(1)
    cluster.work(3)
    assert cluster.heights()[0] >= 3


def test_five_validators_need_four_votes_and_tolerate_one_crash() -> None:
    cluster = Cluster(5)
    assert cluster.replica(0).quorum == 4
    cluster.crash(4)
    cluster.work(2)
    cluster.stabilize()
    assert min(cluster.heights()[:4]) >= 2


def test_two_validators_need_both() -> None:
    cluster = Cluster(2)
    assert cluster.replica(0).quorum == 2
    cluster.work(1)
    cluster.stabilize()
    assert cluster.heights() == [1, 1]  # the one block of work, on both
    assert cluster.nodes[0].app.chain[0][0] == cluster.nodes[1].app.chain[0][0]
    alone = Cluster(2)
    alone.crash(1)
    alone.work(1)
    alone.stabilize()
    alone.tick(10_000)  # view changes come and go; one vote of two is never a quorum
    assert alone.heights()[0] == 0


def test_observer_follows_finalized_blocks_without_signing() -> None:
    cluster = Cluster(4)
    observer = Replica(chain_id=CHAIN_ID, validators=VALIDATORS, signing_key=None,
                       config=CONFIG)
    observer.step(Started(), 0)
    cluster.work(1)
    finalized: list[FinalizeBlock] = []
    for _ in range(10):
        batch = list(cluster.pending)
        for src, dst, msg in batch:
            if dst == 1:  # the observer sees what validator 1 sees
                effects = observer.step(received(msg, src), cluster.now_ms)
                finalized += [e for e in effects if isinstance(e, FinalizeBlock)]
                assert not any(isinstance(e, Persist | Broadcast) for e in effects)
        if not cluster.deliver():
            break
    assert finalized and finalized[0].height == 1


def test_invalid_block_triggers_view_change_with_reason() -> None:
    replica = lone(1)
    block = ToyApp().build(1, b"x", corrupt=True)
    effects = replica.step(received(preprepare(block)), 1)
    from consensus.events import BlockValidated
    digest = [e for e in effects if isinstance(e, ValidateBlock)][0].digest
    effects = replica.step(
        BlockValidated(wire.Height(1), wire.View(0), digest, False, "state_root"), 2)
    assert any(isinstance(e, Note) and "reason=invalid_block" in e.detail for e in effects)
    assert replica.counters["view_change_invalid_block"] == 1
