"""The follow-ups-done-per-officer-per-week summary (``followup_officer_week``).

The officer-activity report (SPEC §5) counts each officer's follow-ups completed per local week.
A follow-up counts +1 at (the local week of its ``completed_at``, its assignee) while its status
is ``done``; completing, reopening, reassigning, editing and deleting move that count through the
mapper events below, so every ORM write keeps the table right. ``rebuild_done_weeks`` refills it
from the raw rows (the migration that added it, the demo loader, a repair).

It counts every follow-up; the report reads it only for actors who see every follow-up
(``crm.authz.hidden_projects(actor) is None``) and counts the raw rows otherwise.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection
from sqlmodel import Session

from crm.activities.summary import bump, rebuild_per_week, week_of
from crm.followups.models import Followup, FollowupOfficerWeek, FollowupStatus

T = FollowupOfficerWeek.__table__
DONE = FollowupStatus.done.value


def _key(
    status: str | None, completed_at: datetime | None, assignee_id: int | None
) -> tuple[date, int] | None:
    if status != DONE or completed_at is None or assignee_id is None:
        return None
    return week_of(completed_at), assignee_id


def _move(conn: Connection, old: tuple[date, int] | None, new: tuple[date, int] | None) -> None:
    if old == new:
        return
    if old is not None:
        bump(conn, T, "done", old[0], old[1], -1)
    if new is not None:
        bump(conn, T, "done", new[0], new[1], +1)


@event.listens_for(Followup, "after_insert")
def _inserted(_mapper, conn: Connection, fu: Followup) -> None:  # type: ignore[no-untyped-def]
    _move(conn, None, _key(fu.status, fu.completed_at, fu.assignee_id))


@event.listens_for(Followup, "before_delete")  # its columns still load, if expired
def _deleted(_mapper, conn: Connection, fu: Followup) -> None:  # type: ignore[no-untyped-def]
    _move(conn, _key(fu.status, fu.completed_at, fu.assignee_id), None)


@event.listens_for(Followup, "after_update")
def _updated(_mapper, conn: Connection, fu: Followup) -> None:  # type: ignore[no-untyped-def]
    attrs = inspect(fu).attrs

    def before(name: str):  # type: ignore[no-untyped-def]
        h = getattr(attrs, name).history
        return h.deleted[0] if h.deleted else getattr(fu, name)

    _move(
        conn,
        _key(before("status"), before("completed_at"), before("assignee_id")),
        _key(fu.status, fu.completed_at, fu.assignee_id),
    )


def rebuild_done_weeks(conn: Connection | Session) -> int:
    """Refill the summary from every done follow-up; rows written."""
    f = Followup.__table__
    return rebuild_per_week(conn, T, "done", f.c.completed_at, f.c.assignee_id, f.c.status == DONE)
