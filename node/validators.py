"""The validator set by height as the node uses it: the replica's schedule (and its
consensus timers, chain parameters too), what the driver reports after each finalized
block, and the P2P allow-list that follows the set.

The chain (`Chain.validators_at`, `validators_known_through`, `validator_changes`) is the
only source: these helpers translate it for consensus and P2P and decide nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from commerce.limits import MIN_ACTIVATION_BLOCKS
from consensus.events import ValidatorsKnown
from consensus.schedule import ValidatorSchedule
from node.chain import Chain

RemovedPolicy = Literal["observer", "refuse"]


# A change takes effect at least this many heights after the block that passed it: the
# replica finalizes h only once it knows the set of h + 1, so with 1 it would wait for
# itself (docs/CONSENSUS.md section 10). The genesis bound of the delay is this constant.
ACTIVATION_DELAY_MIN = MIN_ACTIVATION_BLOCKS


def _known_through(chain: Chain) -> int:
    through = chain.validators_known_through()
    assert through >= chain.height + ACTIVATION_DELAY_MIN, \
        f"validator sets known through {through} at head {chain.height}: delay below 2"
    return through


def replica_schedule(chain: Chain) -> ValidatorSchedule:
    """The schedule a replica starts with: the set of the last finalized height (its
    certificate is checked against it) and every change the state already determined."""
    head = chain.height
    first = max(1, head)
    entries = [(first, chain.validators_at(first))]
    entries += [(h, keys) for h, keys in chain.validator_changes(first) if h > first]
    return ValidatorSchedule(entries, _known_through(chain))


def replica_timers(chain: Chain) -> list[tuple[int, int, int | None]]:
    """The consensus timers a replica starts with: those of the next height and every
    change the state already determined (`consensus.schedule.TimerSchedule`)."""
    first = chain.height + 1
    return [(first, *chain.timers_at(first)), *chain.timer_changes(first)]


def validators_report(chain: Chain) -> ValidatorsKnown:
    """What the driver tells the replica after a finalized block (repeats are fine): the
    sets and the consensus timers the chain determined above the head."""
    head = chain.height
    return ValidatorsKnown(_known_through(chain), tuple(chain.validator_changes(head)),
                           tuple(chain.timer_changes(head)))


def scheduled_keys(chain: Chain) -> set[bytes]:
    """Every key of the set in force at the next height and of the sets scheduled after."""
    head = chain.height
    keys = set(chain.validators_at(head + 1))
    for _, members in chain.validator_changes(head):
        keys.update(members)
    return keys


def allowed_peer_keys(chain: Chain, configured: Iterable[bytes], former: Iterable[bytes],
                      policy: RemovedPolicy) -> set[bytes]:
    """The P2P allow-list: the current and scheduled validators (a validator added by vote
    may connect and sync before its height), the configured observers, and, unless
    `policy` is "refuse", the validators removed since (kept as observers)."""
    allowed = scheduled_keys(chain) | set(configured)
    if policy == "observer":
        allowed |= set(former)
    return allowed


def primary_at(chain: Chain, height: int, view: int) -> bytes:
    """The key of the primary of `view` at `height` (its set's rotation)."""
    keys = chain.validators_at(height)
    return keys[view % len(keys)]
