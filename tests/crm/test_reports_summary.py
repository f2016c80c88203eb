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
    return {
        (r.week_start, r.user_id): r.contacts
        for r in session.scalars(select(ActivityOfficerWeek))
        if r.contacts
    }


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
    update_activity(
        session,
        o1,
        a1.activity.id,
        ActivityUpdate(
            version=a1.activity.version,
            summary="一(改)",
            occurred_at=datetime.now(UTC) - timedelta(days=30),
        ),
    )
    session.commit()
    assert summary(session) == raw(session) == {(wk, o1.id): 2, (wk, o2.id): 1}

    delete_activity(session, o2, a3.activity.id)
    delete_activity(session, o1, a1.activity.id)
    session.commit()
    assert summary(session) == raw(session) == {(wk, o1.id): 1}

    # rows written straight through the ORM (as a test's factory does) count too, in the week
    # they were logged — also an earlier one
    old = utcnow() - timedelta(weeks=3)
    session.add(
        Activity(
            kind="call",
            occurred_at=old,
            summary="补录",
            created_by_id=o2.id,
            department_id=w.d2.id,
            created_at=old,
        )
    )
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
    for i, (who, weeks_ago) in enumerate(
        [
            (w.officer1, 0),
            (w.officer1, 0),
            (w.officer1, 2),
            (w.officer2, 1),
            (w.manager, 5),
            (w.officer2, 14),
        ]
    ):
        at = now - timedelta(weeks=weeks_ago)
        session.add(
            Activity(
                kind="call",
                occurred_at=at,
                summary=f"第{i}次",
                created_by_id=who.id,
                department_id=who.department_id,
                created_at=at,
            )
        )
    session.commit()
    log_activity(session, w.officer2, ActivityCreate(kind="visit", summary="现场", firm_ids=[f.id]))
    session.commit()

    detail = ReportFilters(detail=True)
    from_summary = registry.run(session, w.manager, "activity", detail)
    from_raw = activity_report(session, w.officer1, detail)
    cells = {(r.officer_id, r.week_start): r.contacts for r in from_summary.rows if r.contacts}
    assert cells == {(r.officer_id, r.week_start): r.contacts for r in from_raw.rows if r.contacts}
    this_week = week_of(now)
    assert cells == {
        (w.officer1.id, this_week): 2,
        (w.officer1.id, this_week - timedelta(weeks=2)): 1,
        (w.officer2.id, this_week - timedelta(weeks=1)): 1,
        (w.officer2.id, this_week): 1,
        (w.manager.id, this_week - timedelta(weeks=5)): 1,
    }  # 14 weeks ago: out
    totals = {o.officer_id: o.contacts for o in from_summary.officers}
    assert totals[w.officer1.id] == 3 and totals[w.officer2.id] == 2
    assert sum(x.contacts for x in from_summary.week_totals) == 6
    # one officer: the rows come without asking; the department filter holds
    one = registry.run(session, w.manager, "activity", ReportFilters(officer_id=w.officer2.id))
    assert {r.week_start: r.contacts for r in one.rows if r.contacts} == {
        this_week - timedelta(weeks=1): 1,
        this_week: 1,
    }
    d2 = registry.run(session, w.manager, "activity", ReportFilters(department_id=w.d2.id))
    assert {o.officer_id for o in d2.officers if o.contacts} == {w.officer2.id}
    assert d2.rows == [] and d2.rows_listed is False


def done_summary(session) -> dict[tuple[date, int], int]:
    from crm.followups.models import FollowupOfficerWeek

    return {
        (r.week_start, r.user_id): r.done
        for r in session.scalars(select(FollowupOfficerWeek))
        if r.done
    }


def done_raw(session) -> dict[tuple[date, int], int]:
    from crm.followups.models import Followup

    c: Counter[tuple[date, int]] = Counter()
    for who, at in session.execute(
        select(Followup.assignee_id, Followup.completed_at).where(Followup.status == "done")
    ):
        local = at.astimezone(local_tz()).date()
        c[(local - timedelta(days=local.weekday()), who)] += 1
    return dict(c)


def test_done_summary_follows_the_followup_lifecycle(session):
    from crm.followups.schemas import FollowupCreate, FollowupUpdate
    from crm.followups.service import (
        cancel_followup,
        complete_followup,
        create_followup,
        delete_followup,
        reopen_followup,
        update_followup,
    )
    from crm.followups.summary import rebuild_done_weeks
    from tests.factories import make_followup

    w = people(session)
    m, o1 = w.manager, w.officer1
    due = utcnow() + timedelta(days=1)
    a = create_followup(session, m, FollowupCreate(title="甲", due_at=due, assignee_id=o1.id))
    b = create_followup(session, m, FollowupCreate(title="乙", due_at=due, assignee_id=o1.id))
    c = create_followup(session, m, FollowupCreate(title="丙", due_at=due, assignee_id=m.id))
    session.commit()
    assert done_summary(session) == done_raw(session) == {}
    complete_followup(session, m, a.id)
    complete_followup(session, m, b.id)
    cancel_followup(session, m, c.id)  # cancelled is not done
    session.commit()
    wk = week_of(utcnow())
    assert done_summary(session) == done_raw(session) == {(wk, o1.id): 2}
    reopen_followup(session, m, b.id)
    session.commit()
    assert done_summary(session) == done_raw(session) == {(wk, o1.id): 1}
    # reassigning a done follow-up moves its count to the new assignee
    a = session.get(type(a), a.id)
    update_followup(session, m, a.id, FollowupUpdate(version=a.version, assignee_id=m.id))
    session.commit()
    assert done_summary(session) == done_raw(session) == {(wk, m.id): 1}
    delete_followup(session, m, a.id)
    session.commit()
    assert done_summary(session) == done_raw(session) == {}
    # written straight through the ORM (a factory), done three weeks ago
    old = utcnow() - timedelta(weeks=3)
    make_followup(session, o1, status="done", completed_at=old)
    session.commit()
    assert done_summary(session) == done_raw(session) == {(week_of(old), o1.id): 1}
    rebuild_done_weeks(session)
    session.commit()
    assert done_summary(session) == done_raw(session) == {(week_of(old), o1.id): 1}


def test_report_done_from_summary_equals_the_raw_count(session):
    from tests.factories import make_followup

    w = people(session)
    now = utcnow()
    for who, weeks_ago, status in [
        (w.officer1, 0, "done"),
        (w.officer1, 0, "done"),
        (w.officer1, 3, "done"),
        (w.officer2, 1, "done"),
        (w.officer2, 1, "cancelled"),
        (w.officer2, 20, "done"),
        (w.manager, 2, "open"),
    ]:
        at = now - timedelta(weeks=weeks_ago)
        make_followup(
            session,
            who,
            due_in=-timedelta(weeks=weeks_ago),
            status=status,
            completed_at=at if status == "done" else None,
        )
    session.commit()
    detail = ReportFilters(detail=True)
    from_summary = registry.run(session, w.manager, "activity", detail)
    from_raw = activity_report(session, w.officer1, detail)  # raw rows (no hidden ones here)

    def done(r):
        return {(x.officer_id, x.week_start): x.followups_done for x in r.rows if x.followups_done}

    this_week = week_of(now)
    assert (
        done(from_summary)
        == done(from_raw)
        == {
            (w.officer1.id, this_week): 2,
            (w.officer1.id, this_week - timedelta(weeks=3)): 1,
            (w.officer2.id, this_week - timedelta(weeks=1)): 1,
        }
    )
    assert {o.officer_id: o.followups_done for o in from_summary.officers if o.followups_done} == {
        w.officer1.id: 3,
        w.officer2.id: 1,
    }
