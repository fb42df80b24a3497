"""Agora's PBFT consensus core: sans-I/O, deterministic, generic over the application.

Public API (see consensus/replica.py for the node contract, docs/CONSENSUS.md for the
protocol):
  Replica, ReplicaConfig                   the state machine: step(event, now_ms)
  ValidatorSchedule, ValidatorSet          the validator set in force at each height
  events: Started, MessageReceived, TimerFired, WorkPending, BlockProposed,
          BlockValidated, BlocksFetched, ValidatorsKnown
  effects: Persist, Send, Broadcast, SetTimer, CancelTimer, ProposeBlock,
           ValidateBlock, FinalizeBlock, FetchBlocks, Note
  verify_certificate, encode_certificate, decode_certificate, Verifier
"""

from consensus.events import (
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
    ValidatorsKnown,
    WorkPending,
)
from consensus.messages import (
    Certificate,
    Verifier,
    decode_certificate,
    encode_certificate,
    quorum_size,
    sha256_digest,
    verify_certificate,
)
from consensus.replica import Replica, ReplicaConfig
from consensus.schedule import ValidatorSchedule, ValidatorSet

__all__ = [
    "BlockProposed", "BlockValidated", "BlocksFetched", "Broadcast", "CancelTimer",
    "Certificate", "Effect", "Event", "FetchBlocks", "FinalizeBlock", "MessageReceived",
    "Note", "Persist", "ProposeBlock", "Replica", "ReplicaConfig", "Send", "SetTimer",
    "Started", "TimerFired", "ValidateBlock", "ValidatorSchedule", "ValidatorSet",
    "ValidatorsKnown", "Verifier", "WorkPending",
    "decode_certificate", "encode_certificate", "quorum_size", "sha256_digest",
    "verify_certificate",
]
