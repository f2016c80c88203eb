"""The per-officer-week rollups heal themselves: closed local weeks filled by an idempotent job
with a watermark and a zone stamp, the open week counted live. The officer-activity report
gives the raw counts through Core writes, deletes, reopened follow-ups and a zone change."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, insert, select, update
from typer.testing import CliRunner

from cli.main import app as cli_app
from crm.activities.schemas import ActivityCreate
from crm.activities.service import delete_activity, log_activity
from crm.clock import local_tz, today_local, week_of, week_start
from crm.config import get_settings
from crm.db import get_engine
from crm.followups.service import reopen_followup
from crm.models.activities import Activity, ActivityOfficerWeek
from crm.models.followups import Followup, FollowupOfficerWeek
from crm.models.summaries import SummaryFillState
from crm.reports import registry
from crm.reports.common import ReportFilters
from crm.summaries.fill import CONTACTS, DONE, fill, filled_until
from crm.types import utcnow
from tests.factories import make_firm
from tests.reports_data import people

WEEKS_BACK = (0, 0, 1, 2, 2, 5, 9)


def _week(at: datetime) -> date:
    local = at.astimezone(local_tz()).date()
    return local - timedelta(days=local.weekday())


def raw_contacts(session) -> dict[tuple[int, date], int]:
    """Counted from the activities themselves, the local week worked out in Python."""
    c: Counter[tuple[int, date]] = Counter()
    for by, at in session.execute(select(Activity.created_by_id, Activity.created_at)):
        if by is not None:
            c[(by, _week(at))] += 1
    return dict(c)


def raw_done(session) -> dict[tuple[int, date], int]:
    c: Counter[tuple[int, date]] = Counter()
    for who, at in session.execute(
        select(Followup.assignee_id, Followup.completed_at).where(Followup.status == "done")
    ):
        c[(who, _week(at))] += 1
    return dict(c)


def rollup(session, table) -> dict[tuple[int, date], int]:
    col = "contacts" if table is ActivityOfficerWeek else "done"
    return {
        (r.user_id, r.week_start): getattr(r, col)
        for r in session.scalars(select(table))
        if getattr(r, col)
    }


def closed(counts: dict[tuple[int, date], int]) -> dict[tuple[int, date], int]:
    open_week = week_start(today_local())
    return {k: n for k, n in counts.items() if k[1] < open_week}


def report(session, actor) -> tuple[dict, dict]:
    """(contacts, done) per (officer, week) from the report, as a manager sees it (the rollups)."""
    f = ReportFilters(detail=True, date_from=today_local() - timedelta(weeks=12))
    r = registry.run(session, actor, "activity", f)
    session.rollback()
    contacts = {(x.officer_id, x.week_start): x.contacts for x in r.rows if x.contacts}
    done = {(x.officer_id, x.week_start): x.followups_done for x in r.rows if x.followups_done}
    return contacts, done


def assert_report_is_raw(session, actor) -> None:
    contacts, done = report(session, actor)
    assert contacts == raw_contacts(session)
    assert done == raw_done(session)


def _core_activity(conn, who, at: datetime, summary: str = "补录") -> int:
    return conn.execute(
        insert(Activity.__table__).values(
            kind="call",
            occurred_at=at,
            summary=summary,
            created_by_id=who.id,
            department_id=who.department_id,
            created_at=at,
            updated_at=at,
            version=1,
        )
    ).inserted_primary_key[0]


def _core_done(conn, who, at: datetime) -> int:
    return conn.execute(
        insert(Followup.__table__).values(
            title="补录事项",
            due_at=at,
            assignee_id=who.id,
            created_by_id=who.id,
            status="done",
            completed_at=at,
            created_at=at,
            updated_at=at,
            version=1,
        )
    ).inserted_primary_key[0]


@pytest.fixture
def world(session):
    """Officers with activities and done follow-ups written through Core, over ten weeks."""
    w = people(session)
    session.commit()
    now = utcnow()
    with get_engine().begin() as conn:
        for i, weeks_ago in enumerate(WEEKS_BACK):
            who = (w.officer1, w.officer2, w.manager)[i % 3]
            at = now - timedelta(weeks=weeks_ago, hours=i)
            _core_activity(conn, who, at)
            _core_done(conn, who, at)
    return w


def test_week_of_is_the_local_monday():
    # Sunday 23:30 in Shanghai is Sunday 15:30 UTC; Monday 00:30 local is Sunday 16:30 UTC
    assert week_of(datetime(2026, 11, 22, 15, 30, tzinfo=UTC)) == date(2026, 11, 16)
    assert week_of(datetime(2026, 11, 22, 16, 30, tzinfo=UTC)) == date(2026, 11, 23)


def test_the_fill_counts_closed_weeks_only_stamps_its_zone_and_is_idempotent(session, world):
    assert filled_until(session.connection(), CONTACTS) is None  # never filled: all live
    assert_report_is_raw(session, world.manager)
    weeks = fill()
    assert weeks["activity_officer_week"] >= 9 and weeks["followup_officer_week"] >= 9
    assert rollup(session, ActivityOfficerWeek) == closed(raw_contacts(session))
    assert rollup(session, FollowupOfficerWeek) == closed(raw_done(session))
    states = {s.property: s for s in session.scalars(select(SummaryFillState))}
    assert {s.zone for s in states.values()} == {"Asia/Shanghai"}
    assert {s.end_week for s in states.values()} == {week_start(today_local())}
    session.rollback()
    before = (rollup(session, ActivityOfficerWeek), rollup(session, FollowupOfficerWeek))
    assert fill() == {"activity_officer_week": 0, "followup_officer_week": 0}
    assert fill(refill_weeks=8) == {"activity_officer_week": 8, "followup_officer_week": 8}
    session.rollback()
    assert (rollup(session, ActivityOfficerWeek), rollup(session, FollowupOfficerWeek)) == before
    assert_report_is_raw(session, world.manager)


def test_the_report_equals_the_raw_counts_through_core_writes_and_deletes(session, world):
    fill()
    assert_report_is_raw(session, world.manager)
    now = utcnow()
    # Core writes in the open week: counted live, at once
    with get_engine().begin() as conn:
        _core_activity(conn, world.officer2, now)
        _core_done(conn, world.officer2, now)
    assert_report_is_raw(session, world.manager)
    # Core writes and deletes in closed weeks (nothing tells the rollup): healed by the nightly
    # refill of recent weeks
    old = now - timedelta(weeks=2)
    with get_engine().begin() as conn:
        _core_activity(conn, world.officer1, old)
        _core_done(conn, world.manager, old)
        first = conn.scalar(select(Activity.id).order_by(Activity.created_at).limit(1))
        conn.execute(delete(Activity.__table__).where(Activity.id == first))
    contacts, _ = report(session, world.manager)
    assert contacts != raw_contacts(session)  # the rollup does not know yet
    fill(refill_weeks=10)
    assert_report_is_raw(session, world.manager)


def test_services_that_change_a_closed_week_keep_the_report_exact(session, world):
    fill()
    f = make_firm(session, "汇总企业")
    logged = log_activity(
        session, world.officer1, ActivityCreate(kind="call", summary="新", firm_ids=[f.id])
    )
    session.commit()
    assert_report_is_raw(session, world.manager)
    # an activity of three weeks ago deleted through the service: that week is counted live
    old = utcnow() - timedelta(weeks=3)
    with get_engine().begin() as conn:
        aid = _core_activity(conn, world.officer1, old, "旧")
    fill(refill_weeks=4)
    assert_report_is_raw(session, world.manager)
    delete_activity(session, world.officer1, aid)
    session.commit()
    assert filled_until(session.connection(), CONTACTS) == week_of(old)
    assert_report_is_raw(session, world.manager)
    # a follow-up done two weeks ago, reopened: no longer counted in that week
    done_at = utcnow() - timedelta(weeks=2)
    with get_engine().begin() as conn:
        fid = _core_done(conn, world.officer2, done_at)
    fill(refill_weeks=4)
    assert_report_is_raw(session, world.manager)
    reopen_followup(session, world.officer2, fid)
    session.commit()
    assert filled_until(session.connection(), DONE) == week_of(done_at)
    assert_report_is_raw(session, world.manager)
    # ... and one reopened by a Core update: right again after the nightly refill
    with get_engine().begin() as conn:
        other = conn.scalar(
            select(Followup.id).where(Followup.status == "done", Followup.completed_at < done_at)
        )
        conn.execute(
            update(Followup.__table__)
            .where(Followup.id == other)
            .values(status="open", completed_at=None)
        )
    fill(refill_weeks=12)
    assert_report_is_raw(session, world.manager)
    # the next fill brings the watermark back up, with the same figures
    fill()
    assert filled_until(session.connection(), CONTACTS) == week_start(today_local())
    assert_report_is_raw(session, world.manager)
    assert logged.activity.id


@pytest.fixture
def zone(monkeypatch):
    """Switch CRM_TIMEZONE for a test (settings and the zone are cached)."""

    def switch(name: str) -> None:
        monkeypatch.setenv("CRM_TIMEZONE", name)
        get_settings.cache_clear()
        local_tz.cache_clear()

    yield switch
    monkeypatch.delenv("CRM_TIMEZONE", raising=False)
    get_settings.cache_clear()
    local_tz.cache_clear()


def test_a_zone_change_is_never_read_and_rebuilds_the_rollups(session, world, zone):
    # Sunday 20:00 UTC: Monday 04:00 in Shanghai, still Sunday in Los Angeles
    sunday = week_start(today_local()) - timedelta(weeks=3, days=1)
    edge = datetime(sunday.year, sunday.month, sunday.day, 20, tzinfo=UTC)
    with get_engine().begin() as conn:
        _core_activity(conn, world.officer1, edge, "周界")
        _core_done(conn, world.officer1, edge)
    fill()
    shanghai = rollup(session, ActivityOfficerWeek)
    session.rollback()
    assert shanghai[(world.officer1.id, _week(edge))] >= 1
    zone("America/Los_Angeles")
    assert _week(edge) == sunday - timedelta(days=6)  # the edge row moved a week back
    assert filled_until(session.connection(), CONTACTS) is None  # stamped Shanghai: not read
    assert_report_is_raw(session, world.manager)
    fill()
    state = session.get(SummaryFillState, "activity_officer_week")
    assert state is not None and state.zone == "America/Los_Angeles"
    assert rollup(session, ActivityOfficerWeek) == closed(raw_contacts(session))
    assert rollup(session, FollowupOfficerWeek) == closed(raw_done(session))
    session.rollback()
    assert_report_is_raw(session, world.manager)


def test_crm_rebuild_summaries(session, world):
    fill()
    with get_engine().begin() as conn:  # a rollup damaged by hand
        conn.execute(update(ActivityOfficerWeek.__table__).values(contacts=99))
    out = CliRunner().invoke(cli_app, ["rebuild-summaries"])
    assert out.exit_code == 0, out.output
    assert "activity_officer_week" in out.output
    assert rollup(session, ActivityOfficerWeek) == closed(raw_contacts(session))
    session.rollback()
    assert_report_is_raw(session, world.manager)
