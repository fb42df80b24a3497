"""Goal: the replica is total over what peers and its own log can shape: any sequence of
`MessageReceived` bytes leaves `step` raising nothing, finalizing only certified blocks and
ready for the next step; any log record makes the constructor raise only
ConsensusLocalProtocolError."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import settings as Settings
from hypothesis import strategies as st

from consensus.errors import ConsensusLocalProtocolError
from consensus.events import FinalizeBlock, MessageReceived, Started, TimerFired
from consensus.messages import PeerId, sha256_digest, verify_certificate
from consensus.replica import Replica

from .mutate import TIERS, fuzz_bytes, pack
from .samples import (
    CONSENSUS_CHAIN_ID,
    VALIDATOR_KEYS,
    VALIDATORS,
    blocks,
    messages,
    records,
)

MESSAGES = messages(1, blocks()[0]) + messages(2, blocks()[1])
RECORDS = records()
SENDERS = st.sampled_from([PeerId(key) for key in VALIDATORS] + [PeerId(b"observer")])


def _replica(records: list[bytes] | None = None) -> Replica:
    """Validator 1 of 4 at height 1 (validator 0 is the primary of view 0), sha256 digests."""
    return Replica(chain_id=CONSENSUS_CHAIN_ID, validators=VALIDATORS,
                   signing_key=VALIDATOR_KEYS[1], records=records or ())


@pytest.mark.parametrize("tier", TIERS)
def test_replica_step_any_message_bytes_raises_nothing_and_finalizes_only_certified(
    tier: Settings,
) -> None:
    @tier
    @given(st.lists(st.tuples(SENDERS, fuzz_bytes(MESSAGES, max_size=1024)),
                    min_size=1, max_size=6))
    @example([(PeerId(VALIDATORS[0]), MESSAGES[0]), (PeerId(b"x"), MESSAGES[5] + b"\x00")])
    def check(inputs: list[tuple[PeerId, bytes]]) -> None:
        replica = _replica()
        now_ms = 1_000
        replica.step(Started(), now_ms)
        for sender, data in inputs:
            now_ms += 10
            for effect in replica.step(MessageReceived(sender, data), now_ms):
                if isinstance(effect, FinalizeBlock):
                    assert sha256_digest(effect.block) == effect.digest
                    verify_certificate(effect.certificate, effect.height, effect.digest,
                                       VALIDATORS, CONSENSUS_CHAIN_ID)
        # Nothing stranded: the replica takes its next event.
        replica.step(TimerFired("fuzz-unknown-timer"), now_ms + 10)

    check()


@pytest.mark.parametrize("tier", TIERS)
def test_replica_restore_any_record_raises_only_local_protocol_error(tier: Settings) -> None:
    @settings(tier, report_multiple_bugs=False)
    @given(st.lists(fuzz_bytes(RECORDS, max_size=512), min_size=1, max_size=3))
    @example([pack([1, 2, 3])])
    @example([pack([3, "x"])])
    def check(records: list[bytes]) -> None:
        try:
            replica = _replica(records)
        except ConsensusLocalProtocolError:
            return
        replica.step(Started(), 1_000)

    check()
