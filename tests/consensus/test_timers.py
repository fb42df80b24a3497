"""The consensus timers follow the chain by height: a replica waits what the chain says.

Method: the timer schedule unit by unit (known heights, repeats, contradictions, pruning),
then lone replicas fed hand-made certificates across a height where the chain's
view-change timeout base and idle block interval change: the view-change and propose
timers they arm before the boundary use the old values and after it the new ones, with no
clock read and no config involved.
"""

from __future__ import annotations

import pytest

from consensus.errors import ConsensusLocalProtocolError
from consensus.events import MessageReceived, SetTimer, ValidatorsKnown
from consensus.messages import Decided, PeerId, decode_certificate, encode_message
from consensus.replica import TIMER_PROPOSE, TIMER_VIEW_CHANGE, Replica
from consensus.schedule import Timers, TimerSchedule, ValidatorSchedule
from consensus.sim_app import CHAIN_ID
from tests.consensus.harness import CONFIG
from tests.consensus.test_reconfig import KEYS, PUB, SET_A, chain_of, started


def test_timer_schedule_answers_by_height_and_ignores_repeats() -> None:
    schedule = TimerSchedule([(1, 1_000, 300)])
    assert schedule.extend([(1, 1_000, 300), (5, 4_000, None)])
    assert not schedule.extend([(5, 4_000, None), (7, 4_000, None)])  # nothing new
    assert schedule.at(4) == Timers(1_000, 300)
    assert schedule.at(5) == schedule.at(10**6) == Timers(4_000, None)
    schedule.prune(6)
    assert schedule.at(1) == Timers(4_000, None)  # below the first entry: the first


@pytest.mark.parametrize("change", [(5, 2_000, None), (3, 2_000, 300), (0, 1, 1),
                                    (9, 0, 10), (9, 10, 0)])
def test_timer_schedule_refuses_contradictions_and_bad_values(
        change: tuple[int, int, int | None]) -> None:
    schedule = TimerSchedule([(1, 1_000, 300), (5, 4_000, None)])
    with pytest.raises(ConsensusLocalProtocolError):
        schedule.extend([change])


def _timer(effects: list, name: str) -> int | None:  # type: ignore[type-arg]
    armed = [e.deadline_ms for e in effects if isinstance(e, SetTimer) and e.name == name]
    return armed[-1] if armed else None


def test_replica_uses_the_chains_timers_of_the_height_it_decides() -> None:
    # Heights 1-2: base 1,000 ms, idle 300 ms; from height 3: base 5,000, idle 700. The
    # config says 1,000 and no idle blocks: the chain's values win.
    blocks = chain_of({1: SET_A}, 2)
    schedule = ValidatorSchedule([(1, SET_A)], known_through=2)
    backup = started(Replica(chain_id=CHAIN_ID, signing_key=KEYS[1], config=CONFIG,
                             schedule=schedule, timers=[(1, 1_000, 300)]))
    primary = started(Replica(chain_id=CHAIN_ID, signing_key=KEYS[0], config=CONFIG,
                              schedule=ValidatorSchedule([(1, SET_A)], known_through=2),
                              timers=[(1, 1_000, 300)]))
    assert backup.timeout_ms() == 1_000
    for replica in (backup, primary):
        replica.step(ValidatorsKnown(4, timers=((3, 5_000, 700),)), 5)
    deadlines = []
    for height, (block, cert) in enumerate(blocks, start=1):
        now = 1_000 * height
        decided = encode_message(Decided(decode_certificate(cert), block))
        back = backup.step(MessageReceived(PeerId(PUB[2]), decided), now)
        prim = primary.step(MessageReceived(PeerId(PUB[2]), decided), now)
        assert backup.finalized_height == primary.finalized_height == height
        deadlines.append((_timer(back, TIMER_VIEW_CHANGE), _timer(prim, TIMER_PROPOSE)))
    # After block 1 (deciding 2, old timers): idle 300, then the base of 1,000.
    # After block 2 (deciding 3, new timers): idle 700, then the base of 5,000.
    assert deadlines == [(1_000 + 300 + 1_000, 1_000 + 300), (2_000 + 700 + 5_000, 2_000 + 700)]
    assert backup.timeout_ms() == 5_000
    assert backup.state.timers_in_force() == Timers(5_000, 700)


def test_a_base_voted_above_the_configured_cap_is_not_cut_to_it() -> None:
    replica = started(Replica(chain_id=CHAIN_ID, signing_key=KEYS[1], config=CONFIG,
                              schedule=ValidatorSchedule([(1, SET_A)], known_through=2),
                              timers=[(1, 2 * CONFIG.view_change_timeout_max_ms, None)]))
    assert replica.timeout_ms() == 2 * CONFIG.view_change_timeout_max_ms
    replica.state.view_change_streak = 3
    assert replica.timeout_ms() == 2 * CONFIG.view_change_timeout_max_ms
