"""The team life cycle as a table: status x action -> next statuses.

A team opens (team_open) and is open until it fills (the team_join that takes the last
seat) or its window closes unfilled (the timer at its deadline, run by the end-of-block
step); filled and expired are final. `TEAM_LIFE_CYCLE` names every move there is: a pair
missing from it is refused with team_closed, and every status a team is given is checked
against it (`team_move`). docs/COMMERCE.md ("Team life cycle") shows the same table; a
test compares them. Every open team has its deadline in state, so no team escrow can stay
locked for ever.

Pure data and checks on a record: the rules that read and write state are in
commerce/teams.py.
"""

from __future__ import annotations

from enum import StrEnum

from commerce.errors import ErrorCode, ValidationError
from commerce.teams_schema import TeamRecord, TeamStatus

OPEN, FILLED, EXPIRED = TeamStatus.OPEN, TeamStatus.FILLED, TeamStatus.EXPIRED


class TeamAction(StrEnum):
    """What moves a team: a join, or its deadline falling due."""

    JOIN = "team_join"
    TIMER = "timer"


TEAM_LIFE_CYCLE: dict[tuple[int, TeamAction], tuple[TeamStatus, ...]] = {
    # Open while seats are left; the join that takes the last seat fills the team.
    (OPEN, TeamAction.JOIN): (OPEN, FILLED),
    # The window closed unfilled: every member refunded, the reserved stock back.
    (OPEN, TeamAction.TIMER): (EXPIRED,),
}
"""(status, action) -> the statuses the action may leave the team in."""

OPEN_TEAM_STATUSES = tuple(sorted({status for status, _ in TEAM_LIFE_CYCLE}))
"""The statuses a team can leave: it holds escrow and reserved stock in them."""

assert all((status, TeamAction.TIMER) in TEAM_LIFE_CYCLE for status in OPEN_TEAM_STATUSES)


def require_team_move(status: int, action: TeamAction, team: int) -> None:
    """Refuse team_closed unless `action` may move a team in `status`."""
    if (status, action) not in TEAM_LIFE_CYCLE:
        raise ValidationError(ErrorCode.TEAM_CLOSED, f"team {team} is not open")


def team_move(record: TeamRecord, action: TeamAction, status_next: TeamStatus) -> None:
    """Give the team `status_next`, asserting that the table lets `action` lead there."""
    status = record.status
    assert (status, action) in TEAM_LIFE_CYCLE, f"{action} does not apply to status {status}"
    assert status_next in TEAM_LIFE_CYCLE[status, action], f"{action} leads not to {status_next}"
    record.status = status_next
