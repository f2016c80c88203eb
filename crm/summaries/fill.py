"""Closed local weeks in rollup tables, filled by an idempotent job (Zulip's ``FillState`` and
``*Count`` pattern); the open week is always counted live.

Two rollups, each (week_start, user_id, n) per local week (Monday to Sunday):

- ``activity_officer_week.contacts``: activities per creator, by ``created_at``;
- ``followup_officer_week.done``: done follow-ups per assignee, by ``completed_at``.

``fill`` moves each rollup's watermark (``summary_fill_state.end_week``) up to the open week,
counting each closed week afresh from the raw rows (that week's rows are deleted first), so a
second run changes nothing. Readers take weeks before the watermark from the rollup and count
every later week — always the open one — from the raw rows (``filled_until``). A rollup stamped
with another zone than the configured one is not read, and the next fill empties and rebuilds
it. ``fill(refill_weeks=n)`` (nightly) lowers the watermark by ``n`` weeks first, so writes that
bypass the services (Core updates, deletes) in recent weeks heal overnight; the services that
change a closed week (deleting an activity, reopening or moving a done follow-up) lower the
watermark to that week at once (``touch``), so the figures stay equal to the raw rows.
``rebuild`` (``crm rebuild-summaries``) starts from nothing.

No mapper events: any writer, ORM or Core, is caught by the next fill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Date, Table, delete, func, insert, literal, select, update
from sqlalchemy.engine import Connection, Engine

from crm.clock import local_tz, today_local, week_bounds, week_of, week_start
from crm.db import get_engine
from crm.models.activities import Activity, ActivityOfficerWeek
from crm.models.followups import Followup, FollowupOfficerWeek
from crm.models.summaries import SummaryFillState
from crm.types import utcnow
from crm.vocabulary import FollowupStatus

STATE: Table = SummaryFillState.__table__
NIGHTLY_REFILL_WEEKS = 8


@dataclass(frozen=True)
class Rollup:
    name: str  # the rollup table's name, the key of its fill state
    table: Table
    column: str  # the count column
    ts: Column[Any]  # the raw rows' timestamp that places them in a week
    user: Column[Any]  # the officer they count for
    where: tuple[Any, ...] = ()  # which raw rows count

    def condition(self) -> tuple[Any, ...]:
        return (self.user.is_not(None), *self.where)


_A: Table = Activity.__table__
_F: Table = Followup.__table__
CONTACTS = Rollup(
    "activity_officer_week",
    ActivityOfficerWeek.__table__,
    "contacts",
    _A.c.created_at,
    _A.c.created_by_id,
)
DONE = Rollup(
    "followup_officer_week",
    FollowupOfficerWeek.__table__,
    "done",
    _F.c.completed_at,
    _F.c.assignee_id,
    (_F.c.status == FollowupStatus.done.value,),
)
ROLLUPS = (CONTACTS, DONE)


def zone() -> str:
    return local_tz().key


class _Moved(Exception):
    """The watermark moved under a fill (a service lowered it): fill again."""


def filled_until(conn: Connection, rollup: Rollup) -> date | None:
    """The first week NOT in the rollup (every earlier week is), or None when nothing may be
    read from it (never filled, or filled in another zone)."""
    row = conn.execute(
        select(STATE.c.end_week, STATE.c.zone).where(STATE.c.property == rollup.name)
    ).first()
    if row is None or row.zone != zone():
        return None
    return row.end_week  # type: ignore[no-any-return]


def filled_until_each(conn: Connection, rollups: list[Rollup]) -> dict[str, date | None]:
    """``filled_until`` of each rollup (by name), read at once."""
    here = zone()
    found = {
        name: end if z == here else None
        for name, end, z in conn.execute(
            select(STATE.c.property, STATE.c.end_week, STATE.c.zone).where(
                STATE.c.property.in_([r.name for r in rollups])
            )
        )
    }
    return {r.name: found.get(r.name) for r in rollups}


def touch(conn: Connection, rollup: Rollup, at: datetime | None) -> None:
    """A raw row of the week of ``at`` changed: count that week live again until refilled."""
    if at is None:
        return
    wk = week_of(at)
    conn.execute(
        update(STATE)
        .where(STATE.c.property == rollup.name, STATE.c.end_week > wk)
        .values(end_week=wk, last_modified=utcnow())
    )


def _fill_week(conn: Connection, r: Rollup, monday: date) -> None:
    start, end = week_bounds(monday)
    conn.execute(delete(r.table).where(r.table.c.week_start == monday))
    counted = (
        select(literal(monday, Date), r.user, func.count())
        .where(r.ts >= start, r.ts < end, *r.condition())
        .group_by(r.user)
    )
    conn.execute(insert(r.table).from_select(["week_start", "user_id", r.column], counted))


def fill_one(
    conn: Connection, r: Rollup, now: datetime | None = None, refill_weeks: int = 0
) -> int:
    """Bring one rollup up to the open week inside the caller's transaction; weeks counted."""
    open_week = week_start(today_local(now))
    here = zone()
    row = conn.execute(
        select(STATE.c.end_week, STATE.c.zone).where(STATE.c.property == r.name)
    ).first()
    if row is None:
        conn.execute(insert(STATE).values(property=r.name, end_week=None, zone=here))
        seen = None
    elif row.zone != here:  # keyed in another zone: every week is wrong
        conn.execute(delete(r.table))
        conn.execute(
            update(STATE)
            .where(STATE.c.property == r.name)
            .values(end_week=None, zone=here, last_modified=utcnow())
        )
        seen = None
    else:
        seen = row.end_week
    monday = seen
    if monday is not None and refill_weeks:
        monday = min(monday, open_week - timedelta(weeks=refill_weeks))
    if monday is None:
        first = conn.scalar(select(func.min(r.ts)).where(*r.condition()))
        monday = min(week_of(first), open_week) if first is not None else open_week
    weeks = 0
    while monday < open_week:
        _fill_week(conn, r, monday)
        monday += timedelta(weeks=1)
        weeks += 1
    if monday == seen:
        return weeks
    # compare-and-set: a service may have lowered the watermark since it was read
    same = STATE.c.end_week.is_(None) if seen is None else STATE.c.end_week == seen
    moved = conn.execute(
        update(STATE)
        .where(STATE.c.property == r.name, same)
        .values(end_week=monday, last_modified=utcnow())
    )
    if moved.rowcount != 1:
        raise _Moved(r.name)
    return weeks


def fill(
    engine: Engine | None = None, now: datetime | None = None, refill_weeks: int = 0
) -> dict[str, int]:
    """The job: every rollup brought up to the open week, each in its own transaction (retried
    once when a service moved the watermark meanwhile); weeks counted per rollup."""
    engine = engine or get_engine()
    done: dict[str, int] = {}
    for r in ROLLUPS:
        for attempt in (1, 2):
            try:
                with engine.begin() as conn:
                    done[r.name] = fill_one(conn, r, now, refill_weeks)
                break
            except _Moved:
                if attempt == 2:
                    raise
    return done


def rebuild_on(conn: Connection, now: datetime | None = None) -> dict[str, int]:
    """Empty every rollup and fill it again from the raw rows, inside the caller's transaction
    (the demo loader, which writes through Core)."""
    done = {}
    for r in ROLLUPS:
        conn.execute(delete(r.table))
        conn.execute(delete(STATE).where(STATE.c.property == r.name))
        done[r.name] = fill_one(conn, r, now)
    return done


def rebuild(engine: Engine | None = None, now: datetime | None = None) -> dict[str, int]:
    """``crm rebuild-summaries``: every rollup emptied and refilled, in one transaction."""
    with (engine or get_engine()).begin() as conn:
        return rebuild_on(conn, now)
