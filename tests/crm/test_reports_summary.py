"""The contacts-per-officer-per-week summary (activity_officer_week) stays equal to the raw
activities through logging, editing and deleting, and the officer-activity report gives the
same figures from it as counted from the raw rows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from crm.activities.models import Activity, ActivityOfficerWeek
from crm.activities.schemas import ActivityCreate, ActivityUpdate
from crm.activities.service import delete_activity, log_activity, update_activity
from crm.activities.summary import rebuild_officer_weeks, week_of
from crm.clock import local_tz
from crm.reports import registry
from crm.reports.activity import activity_report
from crm.reports.common import ReportFilters
from crm.types import utcnow
from tests.factories import make_firm
from tests.reports_data import people


def summary(session) -> dict[tuple[date, int], int]:
    return {(r.week_start, r.user_id): r.contacts
            for r in session.scalars(select(ActivityOfficerWeek)) if r.contacts}


def raw(session) -> dict[tuple[date, int], int]:
    """Counted from the activities themselves, the local week worked out in Python."""
    c: Counter[tuple[date, int]] = Counter()
    for by, at in session.execute(select(Activity.created_by_id, Activity.created_at)):
        if by is not None:
            local = at.astimezone(local_tz()).date()
            c[(local - timedelta(days=local.weekday()), by)] += 1
    return dict(c)


def test_week_of_is_the_local_monday():
    # Sunday 23:30 in Shanghai is Sunday 15:30 UTC; Monday 00:30 local is Sunday 16:30 UTC
    assert week_of(datetime(2026, 11, 22, 15, 30, tzinfo=UTC)) == date(2026, 11, 16)
    assert week_of(datetime(2026, 11, 22, 16, 30, tzinfo=UTC)) == date(2026, 11, 23)


def test_summary_follows_log_edit_and_delete(session):
    w = people(session)
    f = make_firm(session, "汇总企业")
    o1, o2 = w.officer1, w.officer2
    a1 = log_activity(session, o1, ActivityCreate(kind="call", summary="一", firm_ids=[f.id]))
    log_activity(session, o1, ActivityCreate(kind="visit", summary="二", firm_ids=[f.id]))
    a3 = log_activity(session, o2, ActivityCreate(kind="call", summary="三", firm_ids=[f.id]))
    session.commit()
    wk = week_of(utcnow())
    assert summary(session) == raw(session) == {(wk, o1.id): 2, (wk, o2.id): 1}

    # an edit changes neither who logged it nor when: the counts stay
    update_activity(session, o1, a1.activity.id, ActivityUpdate(
        version=a1.activity.version, summary="一(改)",
        occurred_at=datetime.now(UTC) - timedelta(days=30)))
    session.commit()
    assert summary(session) == raw(session) == {(wk, o1.id): 2, (wk, o2.id): 1}

    delete_activity(session, o2, a3.activity.id)
    delete_activity(session, o1, a1.activity.id)
    session.commit()
    assert summary(session) == raw(session) == {(wk, o1.id): 1}

    # rows written straight through the ORM (as a test's factory does) count too, in the week
    # they were logged — also an earlier one
    old = utcnow() - timedelta(weeks=3)
    session.add(Activity(kind="call", occurred_at=old, summary="补录", created_by_id=o2.id,
                         department_id=w.d2.id, created_at=old))
    session.add(Activity(kind="call", occurred_at=old, summary="无人", created_at=old))
    session.commit()
    assert summary(session) == raw(session)
    assert summary(session)[(week_of(old), o2.id)] == 1

    # moving a row to another officer or week (not something the service does) moves its count
    moved = session.scalars(select(Activity).where(Activity.summary == "补录")).one()
    moved.created_by_id = o1.id
    moved.created_at = utcnow()
    session.commit()
    assert summary(session) == raw(session) == {(wk, o1.id): 2}

    # the rebuild (migration, demo loader) gives the same table
    rebuild_officer_weeks(session)
    session.commit()
    assert summary(session) == raw(session) == {(wk, o1.id): 2}


def test_report_from_summary_equals_the_raw_count(session):
    """A manager's report reads the summary; an officer's (no hidden project here, so the same
    activities) counts the raw rows: both agree, per officer and week."""
    w = people(session)
    f = make_firm(session, "对照企业")
    now = utcnow()
    for i, (who, weeks_ago) in enumerate([(w.officer1, 0), (w.officer1, 0), (w.officer1, 2),
                                          (w.officer2, 1), (w.manager, 5), (w.officer2, 14)]):
        at = now - timedelta(weeks=weeks_ago)
        session.add(Activity(kind="call", occurred_at=at, summary=f"第{i}次",
                             created_by_id=who.id, department_id=who.department_id,
                             created_at=at))
    session.commit()
    log_activity(session, w.officer2, ActivityCreate(kind="visit", summary="现场",
                                                     firm_ids=[f.id]))
    session.commit()

    detail = ReportFilters(detail=True)
    from_summary = registry.run(session, w.manager, "activity", detail)
    from_raw = activity_report(session, w.officer1, detail)
    cells = {(r.officer_id, r.week_start): r.contacts for r in from_summary.rows if r.contacts}
    assert cells == {(r.officer_id, r.week_start): r.contacts for r in from_raw.rows
                     if r.contacts}
    this_week = week_of(now)
    assert cells == {(w.officer1.id, this_week): 2,
                     (w.officer1.id, this_week - timedelta(weeks=2)): 1,
                     (w.officer2.id, this_week - timedelta(weeks=1)): 1,
                     (w.officer2.id, this_week): 1,
                     (w.manager.id, this_week - timedelta(weeks=5)): 1}   # 14 weeks ago: out
    totals = {o.officer_id: o.contacts for o in from_summary.officers}
    assert totals[w.officer1.id] == 3 and totals[w.officer2.id] == 2
    assert sum(x.contacts for x in from_summary.week_totals) == 6
    # one officer: the rows come without asking; the department filter holds
    one = registry.run(session, w.manager, "activity", ReportFilters(officer_id=w.officer2.id))
    assert {r.week_start: r.contacts for r in one.rows if r.contacts} == {
        this_week - timedelta(weeks=1): 1, this_week: 1}
    d2 = registry.run(session, w.manager, "activity", ReportFilters(department_id=w.d2.id))
    assert {o.officer_id for o in d2.officers if o.contacts} == {w.officer2.id}
    assert d2.rows == [] and d2.rows_listed is False
