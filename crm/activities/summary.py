"""The contacts-per-officer-per-week summary (``activity_officer_week``).

The officer-activity report (SPEC §5) counts the activities each officer logged per local week
(by ``created_at``, Monday to Sunday in crm.clock's zone). Counting a million activities on each
request is too slow, so this table is kept in step with every activity written through the ORM
(the activity service logs and deletes; ``created_at`` and ``created_by_id`` never change after
logging) by the mapper events below, and ``rebuild_officer_weeks`` fills it from the raw rows
(the migration that added it, the demo loader, a repair).

It counts every activity; the report reads it only for actors who see every activity
(``crm.authz.hidden_projects(actor) is None``) and counts the raw rows otherwise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Table, delete, event, func, insert, inspect, literal, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session

from crm.activities.models import Activity, ActivityOfficerWeek
from crm.clock import local_tz, week_start

T = ActivityOfficerWeek.__table__


def week_of(created_at: datetime) -> date:
    """The local Monday of the week an activity was logged in."""
    return week_start(created_at.astimezone(local_tz()).date())


def week_bounds(monday: date) -> tuple[datetime, datetime]:
    """The UTC instants where the local week starting ``monday`` starts and ends."""
    tz = local_tz()
    start = datetime.combine(monday, time.min, tzinfo=tz)
    end = datetime.combine(monday + timedelta(weeks=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def bump(conn: Connection, table: Table, column: str, wk: date, user_id: int, delta: int) -> None:
    """Add ``delta`` to ``column`` of the (week, officer) row of a per-officer-week summary."""
    col = table.c[column]
    if delta < 0:
        conn.execute(
            update(table)
            .where(table.c.week_start == wk, table.c.user_id == user_id)
            .values({column: col + delta})
        )
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table).values({"week_start": wk, "user_id": user_id, column: delta})
    # a concurrent first row of the same officer and week: add to the row it made
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.week_start, table.c.user_id], set_={column: col + delta}
        )
    )


def count_contact(
    conn: Connection, user_id: int | None, created_at: datetime | None, delta: int
) -> None:
    """Add ``delta`` (+1 logged, -1 deleted) to the officer's week."""
    if user_id is None or created_at is None or not delta:
        return
    bump(conn, T, "contacts", week_of(created_at), user_id, delta)


def rebuild_per_week(
    conn: Connection | Session, table: Table, column: str, ts: Any, user: Any, *where: Any
) -> int:
    """Refill a per-officer-week summary: rows of ``ts``'s table matching ``where``, counted
    per local week of ``ts`` and per ``user``, one week at a time; rows written."""
    conn.execute(delete(table))
    lo, hi = conn.execute(select(func.min(ts), func.max(ts)).where(*where)).one()
    if lo is None:
        return 0
    rows = 0
    monday, last = week_of(lo), week_of(hi)
    while monday <= last:
        start, end = week_bounds(monday)
        sel = (
            select(literal(monday, Date), user, func.count())
            .where(ts >= start, ts < end, user.is_not(None), *where)
            .group_by(user)
        )
        res = conn.execute(insert(table).from_select(["week_start", "user_id", column], sel))
        rows += max(0, res.rowcount or 0)  # type: ignore[attr-defined]
        monday += timedelta(weeks=1)
    return rows


# Kept on the ORM's own flush, so every path that writes an Activity through a session (the
# activity service, a test's factory) keeps the summary right; Core bulk loads (the demo data)
# call rebuild_officer_weeks afterwards.


@event.listens_for(Activity, "after_insert")
def _inserted(_mapper, conn: Connection, a: Activity) -> None:  # type: ignore[no-untyped-def]
    count_contact(conn, a.created_by_id, a.created_at, +1)


@event.listens_for(Activity, "before_delete")  # its columns still load, if expired
def _deleted(_mapper, conn: Connection, a: Activity) -> None:  # type: ignore[no-untyped-def]
    count_contact(conn, a.created_by_id, a.created_at, -1)


@event.listens_for(Activity, "after_update")
def _updated(_mapper, conn: Connection, a: Activity) -> None:  # type: ignore[no-untyped-def]
    # the service never changes who logged it or when; anything else that does moves the count
    by, at = inspect(a).attrs.created_by_id.history, inspect(a).attrs.created_at.history
    if not (by.has_changes() or at.has_changes()):
        return
    old_by = by.deleted[0] if by.deleted else a.created_by_id
    old_at = at.deleted[0] if at.deleted else a.created_at
    count_contact(conn, old_by, old_at, -1)
    count_contact(conn, a.created_by_id, a.created_at, +1)


def rebuild_officer_weeks(conn: Connection | Session) -> int:
    """Refill the contacts summary from every activity; rows written."""
    a = Activity.__table__
    return rebuild_per_week(conn, T, "contacts", a.c.created_at, a.c.created_by_id)
