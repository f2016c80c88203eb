"""The weekly briefing on a hand-built week: every figure worked by hand, and equal to the
reports' figure for the same week and filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.models.activities import Activity
from crm.models.projects import CapitalArrival, StageChange
from crm.reports.activity import activity_report
from crm.reports.briefing import _instant, briefing, default_week
from crm.reports.briefing_pdf import stamp
from crm.reports.common import ReportFilters
from crm.reports.coverage import coverage_report
from crm.reports.delivery import delivery_report
from crm.reports.pipeline import pipeline_report
from tests.factories import make_firm, make_project, make_user
from tests.reports_data import people

D = Decimal


def _moved(session, firm, cluster, stages, at, owner, **kw):
    """A project opened at ``stages[0][0]`` at ``stages[0][1]``, then moved at the given times."""
    (first, t0), *rest = stages
    p = make_project(session, firm, cluster, first, owner=owner, created_at=t0, **kw)
    sc = session.scalars(select(StageChange).where(StageChange.project_id == p.id)).one()
    sc.changed_at = t0
    prev = first
    for stage, t in rest:
        session.add(StageChange(project_id=p.id, from_stage=prev, to_stage=stage, changed_at=t))
        prev = stage
    p.stage = prev
    if prev == "lost":
        p.lost_reason = "放弃"
    session.add(p)
    session.flush()
    return p


def week_world(session):
    """The week W = the last full local week, from ``start`` (Monday 00:00 local) to ``end``.

    NB   global500 G lead (W-2) → signed (W+1d), planned 100, output 50: pursuing → covered,
         a signing and a movement
    COMM china500 C lead (W-2) → negotiating (W+1d), planned 30: pursuing both, a movement
    NEV  leader L signed (W-5d) → landed (W+2d), planned 200, output 80 at XY: covered both;
         a landing, not a signing (first signed before W); a movement; 10亿 arrived in W, 3亿
         the week before
    ENV  other O opened at signed (W+3d), planned 5: a signing, no movement, ENV stays gap
    RAIL global500 G3 lead (W-2) → signed (W+4d), confidential 青松, planned 80 (department d2)
    IC   global500 G2 signed (W-10d) → lost (W+5d): covered → gap, a movement
    WIND global500 G4 opened at signed after W: gap in W, covered now
    overdue as of the end of W: NEV's expected landing W+2d was kept (landed on W+2d: not late);
         COMM… none; G's NB project promised landing W+1d, not landed → late (1)
    conflict: an ENV project of d2 opened in W flagged against O's
    contacts in W: 2 by officer1 (d1), 1 by officer2 (d2); 1 by officer1 the week before
    """
    w = people(session)
    m = w.manager
    monday = default_week()
    start = _instant(monday)
    day = timedelta(days=1)
    g = make_firm(session, "环球甲", global500_rank=1)
    c = make_firm(session, "中华乙", china500_rank=2)
    lf = make_firm(session, "龙头丙", is_leader=True)
    o = make_firm(session, "普通丁")
    g2 = make_firm(session, "环球戊", global500_rank=3)
    g3 = make_firm(session, "环球己", global500_rank=4)
    g4 = make_firm(session, "环球庚", global500_rank=5)
    nb = _moved(
        session,
        g,
        "NB",
        [("lead", start - 14 * day), ("signed", start + day)],
        start,
        m,
        investment="100",
        output="50",
        park_code="LJ",
        expected_land_date=monday + timedelta(days=1),
    )
    _moved(
        session,
        c,
        "COMM",
        [("lead", start - 14 * day), ("negotiating", start + day + timedelta(hours=1))],
        start,
        m,
        investment="30",
    )
    nev = _moved(
        session,
        lf,
        "NEV",
        [("signed", start - 5 * day), ("landed", start + 2 * day)],
        start,
        m,
        investment="200",
        output="80",
        park_code="XY",
        expected_land_date=monday + timedelta(days=2),
        actual_land_date=monday + timedelta(days=2),
    )
    env_o = _moved(session, o, "ENV", [("signed", start + 3 * day)], start, m, investment="5")
    _moved(
        session,
        g3,
        "RAIL",
        [("lead", start - 14 * day), ("signed", start + 4 * day)],
        start,
        w.officer2,
        investment="80",
        is_confidential=True,
        code_name="青松",
        title="环球己轨交",
    )
    _moved(session, g2, "IC", [("signed", start - 10 * day), ("lost", start + 5 * day)], start, m)
    _moved(
        session,
        g4,
        "WIND",
        [("signed", start + 7 * day + timedelta(hours=1))],
        start,
        m,
        investment="999",
    )
    session.add(CapitalArrival(project_id=nev.id, amount=D("10"), arrived_on=monday + 2 * day))
    session.add(CapitalArrival(project_id=nev.id, amount=D("3"), arrived_on=monday - day))
    later = _moved(
        session, o, "ENV", [("lead", start + 3 * day + timedelta(hours=2))], start, w.officer2
    )
    later.conflict_with_id = env_o.id
    session.add(later)
    for who, t in (
        (w.officer1, start + day),
        (w.officer1, start + 2 * day),
        (w.officer2, start + 3 * day),
        (w.officer1, start - day),
    ):
        session.add(
            Activity(
                kind="visit",
                occurred_at=t,
                summary="拜访",
                created_by_id=who.id,
                department_id=who.department_id,
                created_at=t,
            )
        )
    session.commit()
    w.nb = nb  # type: ignore[attr-defined]
    return w, monday


def statuses(report):
    return {c.code: c.status for c in report.clusters}


def test_briefing_figures_worked_by_hand(session):
    w, monday = week_world(session)
    b = briefing(session, w.manager)  # the default week: the last full one
    assert b.week_start == monday and b.week_end == monday + timedelta(days=6)
    assert b.scope == "city"
    assert [(c.code, c.before, c.after) for c in b.coverage_changes] == [
        ("NB", "pursuing", "covered"),
        ("IC", "covered", "gap"),
        ("RAIL", "pursuing", "covered"),
    ]
    assert b.coverage["WIND"] == "gap"  # signed only after the week
    assert b.signings_total.count == 3  # NB, ENV, RAIL (NEV first signed before W)
    assert {p.label for p in b.signings} == {"环球甲-NB", "普通丁-ENV", "青松"}
    assert b.signings_total.planned_investment == D("185.0000")
    assert [p.cluster for p in b.landings] == ["NEV"]
    assert b.landings_total.planned_investment == D("200.0000")
    assert b.landings_total.expected_output == D("80.0000")
    assert (b.capital_arrived, b.capital_entries) == (D("10.0000"), 1)
    assert [(m.cluster, m.from_stage, m.stage) for m in b.movements] == [
        ("NEV", "signed", "landed"),
        ("NB", "lead", "signed"),
        ("RAIL", "lead", "signed"),
        ("COMM", "lead", "negotiating"),
        ("IC", "signed", "lost"),
    ]
    assert b.movements_count == 5
    assert [p.label for p in b.overdue] == ["环球甲-NB"] and b.overdue_count == 1
    assert [c.cluster for c in b.conflicts] == ["ENV"] and b.conflicts_count == 1
    by_dept = {x.department: x.contacts for x in b.contacts}
    assert by_dept == {w.d1.name: 2, w.d2.name: 1} and b.contacts_total == 3
    assert "环球己" not in b.model_dump_json()  # the confidential project: 青松 only


def test_briefing_equals_the_reports_for_the_same_week_and_filter(session):
    w, monday = week_world(session)
    sunday = monday + timedelta(days=6)
    for flt in (ReportFilters(), ReportFilters(cluster="NB"), ReportFilters(park="XY")):
        b = briefing(session, w.manager, monday, flt)
        week = ReportFilters(cluster=flt.cluster, park=flt.park, date_from=monday, date_to=sunday)
        pipe = pipeline_report(session, w.manager, week)
        assert b.signings_total.count == pipe.weeks[0].signings
        assert b.new_projects == pipe.weeks[0].new_projects
        late = delivery_report(
            session,
            w.manager,
            ReportFilters(cluster=flt.cluster, park=flt.park, as_of=monday + timedelta(weeks=1)),
        )
        assert b.overdue_count == late.late_count
        acts = activity_report(session, w.manager, week)
        assert b.contacts_total == sum(o.contacts for o in acts.officers)
    # the current week's coverage is the coverage report's
    this_week = briefing(session, w.manager, monday + timedelta(weeks=1))
    assert this_week.coverage == statuses(coverage_report(session, w.manager))
    nb = briefing(session, w.manager, monday, ReportFilters(cluster="NB"))
    assert list(nb.coverage) == ["NB"] and nb.signings_total.count == 1
    xy = briefing(session, w.manager, monday, ReportFilters(park="XY"))
    assert [p.cluster for p in xy.landings] == ["NEV"] and xy.signings_total.count == 0
    assert xy.capital_arrived == D("10.0000")


def test_briefing_respects_visibility(session):
    w, monday = week_world(session)
    officer = make_user(session, "officer", w.d1)
    b = briefing(session, officer, monday)
    assert "青松" not in b.model_dump_json()  # d2's confidential project does not exist for d1
    assert b.signings_total.count == 2


def test_unmoved_projects_and_a_second_signing(session):
    """Projects that did not move since the week began hold their cluster's status at both ends
    (BIO covered, DATA pursuing, INST gap: its firm is tier other); a project signed, lost and
    signed again in the week is a movement but not a signing (it first signed before); the
    same briefing equals the pipeline's signings and, for the week that has not ended, the
    coverage report."""
    w = people(session)
    m = w.manager
    monday = default_week()
    start = _instant(monday)
    day = timedelta(days=1)
    bio = make_firm(session, "环球生物", global500_rank=7)
    data = make_firm(session, "中华数据", china500_rank=8)
    inst = make_firm(session, "普通仪表")
    mat = make_firm(session, "环球材料", global500_rank=9)
    _moved(session, bio, "BIO", [("signed", start - 30 * day)], start, m, investment="7")
    _moved(session, data, "DATA", [("lead", start - 20 * day)], start, m)
    _moved(session, inst, "INST", [("signed", start - 20 * day)], start, m)
    _moved(
        session,
        mat,
        "MAT",
        [("signed", start - 20 * day), ("lost", start - 10 * day), ("signed", start + 2 * day)],
        start,
        m,
        investment="40",
    )
    session.commit()
    b = briefing(session, m)
    assert (b.coverage["BIO"], b.coverage["DATA"], b.coverage["INST"]) == (
        "covered",
        "pursuing",
        "gap",
    )
    assert [(c.code, c.before, c.after) for c in b.coverage_changes] == [("MAT", "gap", "covered")]
    assert b.coverage_before == {"covered": 1, "pursuing": 1, "gap": 10}
    assert b.coverage_after == {"covered": 2, "pursuing": 1, "gap": 9}
    assert b.signings_total.count == 0 and b.landings_total.count == 0
    assert [(x.cluster, x.from_stage, x.stage) for x in b.movements] == [("MAT", "lost", "signed")]
    pipe = pipeline_report(
        session, m, ReportFilters(date_from=monday, date_to=monday + timedelta(days=6))
    )
    assert pipe.weeks[0].signings == 0
    now = briefing(session, m, monday + timedelta(weeks=1))
    assert now.coverage == statuses(coverage_report(session, m))


def test_the_pdf_says_when_it_was_made_in_local_time():
    """SPEC §7: times shown in Asia/Shanghai (CRM_TIMEZONE), never UTC."""
    assert stamp(datetime(2026, 1, 1, 20, 5, tzinfo=UTC)) == "2026-01-02 04:05"


def test_briefing_contacts_per_department_are_the_activity_reports(session):
    """The briefing counts only the contacts, not the whole activity report: per department the
    same figures, for a manager (the rollups) and an officer (the rows they may see), for the
    city and for one department."""
    w, monday = week_world(session)
    sunday = monday + timedelta(days=6)
    for actor in (w.manager, w.officer1, w.officer2):
        for dept in (None, w.d1.id, w.d2.id):
            b = briefing(session, actor, monday, ReportFilters(department_id=dept))
            acts = activity_report(
                session,
                actor,
                ReportFilters(department_id=dept, date_from=monday, date_to=sunday),
            )
            expected: dict[str, int] = {}
            for o in acts.officers:
                if o.contacts:
                    expected[o.department or "—"] = (
                        expected.get(o.department or "—", 0) + o.contacts
                    )
            assert {x.department: x.contacts for x in b.contacts} == expected
            assert list(b.contacts) == sorted(b.contacts, key=lambda x: (-x.contacts, x.department))


def test_a_week_that_has_not_come_is_refused(session):
    """ATTACK7 P3-11: a future week was shown "overdue as of" a day that has not come."""
    from crm.clock import today_local
    from crm.errors import ValidationFailed
    from crm.reports.briefing import briefing
    from tests.factories import make_user

    admin = make_user(session, "admin")
    with pytest.raises(ValidationFailed) as exc:
        briefing(session, admin, week=today_local() + timedelta(days=14))
    assert exc.value.field == "week"
    assert briefing(session, admin, week=today_local()).week_start <= today_local()
