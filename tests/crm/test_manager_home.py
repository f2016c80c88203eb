"""A manager's home on hand-built data: the department's week, conflicts, stale projects and the
officers with overdue work; another department's figures never count."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.errors import PermissionDenied
from crm.models.projects import StageChange
from crm.reports.manager_home import manager_home
from crm.types import utcnow
from tests.crm.test_notices import conflict, world
from tests.factories import make_firm, make_followup, make_project, make_user


def test_manager_home_figures(session):
    w = world(session)
    conflict(session, w)  # two leads this week: d_a's (first) and d_b's (later)
    now = utcnow()
    f = make_firm(session, "首页企业")
    make_project(session, f, "COMM", "signed", owner=w["oa"])  # opened at signed this week
    old = make_project(
        session, f, "IC", "contacted", owner=w["oa"], created_at=now - timedelta(days=90)
    )
    old.last_activity_at = now - timedelta(days=45)
    make_project(session, f, "BIO", "lead", owner=w["ob"], created_at=now - timedelta(days=90))
    make_followup(session, w["oa"], due_in=-timedelta(days=2))
    make_followup(session, w["oa"], due_in=-timedelta(hours=1))
    make_followup(session, w["oa"], due_in=timedelta(days=1))  # not yet due
    make_followup(session, w["ob"], due_in=-timedelta(days=1))  # another department
    session.commit()
    h = manager_home(session, w["ma"])
    # department a: first (NB lead), COMM (signed) opened this week; the IC project is old
    assert h.new_leads == 2 and h.signings == 1 and h.landings == 0
    assert h.overdue_followups == 2
    assert [(o.name, o.overdue) for o in h.officers] == [(w["oa"].display_name, 2)]
    assert h.stale_count == 1 and h.stale[0].id == old.id and h.stale[0].idle_days == 45
    assert h.conflicts_count == 1 and h.conflicts[0].first_label == "雪松"
    hb = manager_home(session, w["mb"])
    assert hb.new_leads == 1 and hb.overdue_followups == 1 and hb.stale_count == 1
    with pytest.raises(PermissionDenied):
        manager_home(session, w["oa"])


def test_signings_and_landings_count_the_first_time_this_week(session):
    """A project counts as signed (landed) this week when its first move into a secured
    (landed) stage falls in the week: signed last month and landed now is a landing, not a
    signing; landed last month and operating now is neither; another department's never."""
    w = world(session)
    now = utcnow()
    f = make_firm(session, "首页签约")
    long_ago = now - timedelta(days=40)

    def moved(p, *changes):  # (to_stage, when) after the project was opened long ago
        for stage, at in changes:
            session.add(
                StageChange(project_id=p.id, from_stage=None, to_stage=stage, changed_at=at)
            )
        p.stage = changes[-1][0]

    def opened(owner):
        return make_project(session, f, "IC", "lead", owner=owner, created_at=long_ago)

    moved(opened(w["oa"]), ("signed", long_ago), ("landed", now))  # a landing
    moved(opened(w["oa"]), ("landed", long_ago), ("operating", now))  # neither
    moved(opened(w["oa"]), ("signed", now), ("landed", now))  # a signing and a landing
    moved(opened(w["oa"]), ("signed", now))  # a signing
    moved(opened(w["ob"]), ("signed", now), ("landed", now))  # another department
    session.commit()
    h = manager_home(session, w["ma"])
    assert (h.signings, h.landings) == (2, 2)
    hb = manager_home(session, w["mb"])
    assert (hb.signings, hb.landings) == (1, 1)


def test_the_figures_without_stale_projects_and_for_an_admin(session):
    """A department with nothing stale still has its week's figures (read apart from the stale
    list they otherwise come with); an admin's count every department's."""
    w = world(session)
    f = make_firm(session, "首页无停滞")
    make_project(session, f, "IC", "signed", owner=w["oa"])  # opened at signed this week
    make_project(session, f, "BIO", "lead", owner=w["ob"])
    old = make_project(
        session, f, "COMM", "lead", owner=w["ob"], created_at=utcnow() - timedelta(days=90)
    )
    admin = make_user(session, "admin", w["a"])
    session.commit()
    h = manager_home(session, w["ma"])
    assert (h.new_leads, h.signings, h.landings, h.stale_count, h.stale) == (1, 1, 0, 0, [])
    ha = manager_home(session, admin)
    assert ha.department_id is None
    assert (ha.new_leads, ha.signings, ha.stale_count) == (2, 1, 1)
    assert [p.id for p in ha.stale] == [old.id]
