"""The officer-activity report's figures per officer, per week and per officer × week agree with
each other and with the rows they count, worked out here from the definitions (SPEC §5): closed
weeks from the rollups and the open week live, the overdue follow-ups and the new leads by
their week, anyone who appears without being an active officer, the filters."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal as D

from sqlalchemy import insert

from crm.clock import local_tz
from crm.db import get_engine
from crm.models.activities import Activity
from crm.reports import registry
from crm.reports.activity import contacts_per_department
from crm.reports.common import ReportFilters
from crm.summaries.fill import fill
from crm.types import utcnow
from tests.factories import make_firm, make_followup, make_project, make_user
from tests.reports_data import people


def _week(at: datetime) -> date:
    local = at.astimezone(local_tz()).date()
    return local - timedelta(days=local.weekday())


def test_officers_weeks_and_cells_agree_and_count_by_the_definitions(session):
    w = people(session)
    o1, o2, m = w.officer1, w.officer2, w.manager
    gone = make_user(session, "officer", w.d1)
    gone.is_active = False
    firm = make_firm(session, "工作量企业")
    session.commit()
    now = utcnow()
    contacts = [(o1, 0), (o1, 0), (o1, 2), (o2, 3), (m, 0), (o2, 5)]  # (who, weeks ago)
    with get_engine().begin() as conn:
        for who, back in contacts:
            at = now - timedelta(weeks=back, minutes=5)
            conn.execute(
                insert(Activity.__table__).values(
                    kind="call",
                    occurred_at=at,
                    summary="电话",
                    created_by_id=who.id,
                    department_id=who.department_id,
                    created_at=at,
                    updated_at=at,
                    version=1,
                )
            )
    done_at = now - timedelta(weeks=1)
    make_followup(session, o1, due_in=timedelta(weeks=-1), status="done", completed_at=done_at)
    make_followup(session, o2, due_in=timedelta(weeks=-2))  # overdue, two weeks back
    make_followup(session, o2, due_in=timedelta(weeks=-4))  # overdue, four weeks back
    make_followup(session, o1, due_in=timedelta(days=2))  # not due yet
    lead_at = now - timedelta(weeks=1, hours=3)
    make_project(session, firm, "NB", owner=o1, created_at=lead_at,
                 first_contact_at=lead_at + timedelta(hours=4))  # fmt: skip
    make_project(
        session,
        firm,
        "IC",
        owner=o2,
        created_at=lead_at,
        first_contact_at=lead_at - timedelta(hours=1),
    )  # contacted before: 0 h
    make_project(session, firm, "NEV", owner=gone, created_at=now - timedelta(hours=1))
    make_project(session, firm, "RAIL", "signed", owner=o1, created_at=lead_at)  # not a lead
    session.commit()
    fill()  # the closed weeks from the rollups, the open one live

    f = ReportFilters(date_from=(now - timedelta(weeks=6)).date())
    r = registry.run(session, m, "activity", f)
    by = {x.officer_id: x for x in r.officers}
    # every active officer of the office (others' departments too), and those who appear
    # without being one: the manager who logged a contact, the inactive officer's lead
    assert {o1.id, o2.id, m.id, gone.id} <= set(by) and all(x in by for x in (o1.id, o2.id))
    fig = {
        u.id: (x.contacts, x.followups_done, x.followups_overdue, x.new_leads, x.awaiting_contact)
        for u in (o1, o2, m, gone)
        for x in [by[u.id]]
    }
    assert fig == {
        o1.id: (3, 1, 0, 1, 0),
        o2.id: (2, 0, 2, 1, 0),
        m.id: (1, 0, 0, 0, 0),
        gone.id: (0, 0, 0, 1, 1),
    }
    assert (by[o1.id].median_response_hours, by[o2.id].median_response_hours) == (
        D("4.00"),
        D("0.00"),
    )
    assert by[gone.id].median_response_hours is None
    # the weeks: each figure in the week of its own time
    weekly = {x.week_start: x for x in r.week_totals}
    expect = Counter(_week(now - timedelta(weeks=b, minutes=5)) for _, b in contacts)
    assert {d: x.contacts for d, x in weekly.items() if x.contacts} == dict(expect)
    assert weekly[_week(done_at)].followups_done == 1
    assert sum(x.followups_overdue for x in r.week_totals) == 2
    assert weekly[_week(lead_at)].new_leads == 2
    # listed (the workbook, the API's detail): the cells add up to the same totals
    d = registry.run(session, m, "activity", ReportFilters(date_from=f.date_from, detail=True))
    assert d.rows_listed and [x.model_dump() for x in d.officers] == [
        x.model_dump() for x in r.officers
    ]
    assert [x.model_dump() for x in d.week_totals] == [x.model_dump() for x in r.week_totals]
    for u in (o1, o2, m, gone):
        cells = [x for x in d.rows if x.officer_id == u.id]
        got = tuple(
            sum(getattr(x, k) for x in cells)
            for k in ("contacts", "followups_done", "followups_overdue", "new_leads")
        )
        assert got == fig[u.id][:4]
    lead_cell = next(x for x in d.rows if x.officer_id == o1.id and x.new_leads)
    assert (lead_cell.week_start, lead_cell.median_response_hours) == (_week(lead_at), D("4.00"))
    # one officer: the same figures, that officer's cells only
    one = registry.run(
        session, m, "activity", ReportFilters(date_from=f.date_from, officer_id=o2.id)
    )
    assert [x.officer_id for x in one.officers] == [o2.id]
    assert one.officers[0].model_dump() == by[o2.id].model_dump()
    assert {x.officer_id for x in one.rows} == {o2.id}
    # one department: its officers only (d2: officer2 alone)
    d2 = registry.run(
        session, m, "activity", ReportFilters(date_from=f.date_from, department_id=w.d2.id)
    )
    assert [x.officer_id for x in d2.officers] == [o2.id]
    assert d2.officers[0].model_dump() == by[o2.id].model_dump()
    assert sum(x.contacts for x in d2.week_totals) == 2
    # the briefing's contacts per department: the same contacts
    per_dept = contacts_per_department(session, m, f)
    assert per_dept == {w.d1.name: 4, w.d2.name: 2}
