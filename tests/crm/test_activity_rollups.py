"""A project's first contact and last activity follow the contacts it has: logged, re-dated,
unlinked or deleted (the activities service, for every path), and the activity report's
response time is SPEC §3's "time from its creation as a lead to its first logged contact"."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from crm.activities.schemas import ActivityCreate, ActivityUpdate
from crm.activities.service import delete_activity, log_activity, update_activity
from crm.reports import registry
from crm.reports.common import ReportFilters
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_project, make_user


def _log(session, who, firm, project, when):
    return log_activity(
        session,
        who,
        ActivityCreate(
            kind="visit",
            occurred_at=when,
            summary="拜访",
            firm_ids=[firm.id],
            project_ids=[project.id],
        ),
    ).activity


def _rollups(session, p):
    session.flush()
    session.refresh(p)
    return p.first_contact_at, p.last_activity_at


def test_first_and_last_contact_follow_edits_unlinks_and_deletes(session):
    d1, d2 = make_department(session), make_department(session)
    owner, colleague = make_user(session, "officer", d1), make_user(session, "officer", d2)
    firm = make_firm(session, "回算企业")
    t = utcnow().replace(microsecond=0) - timedelta(days=3)
    p = make_project(session, firm, "NB", "lead", owner=owner, created_at=t)

    before = _log(session, owner, firm, p, t - timedelta(days=5))  # the firm's history
    # a contact before the lead existed is not its response: no first contact yet
    assert _rollups(session, p) == (None, t - timedelta(days=5))
    early = _log(session, owner, firm, p, t + timedelta(hours=3))
    later = _log(session, owner, firm, p, t + timedelta(hours=30))
    _log(session, colleague, firm, p, t + timedelta(hours=1))  # another department's: last only
    assert _rollups(session, p) == (t + timedelta(hours=3), t + timedelta(hours=30))

    # the first contact re-dated later: the next one is the first, the re-dated one the last
    update_activity(
        session,
        owner,
        early.id,
        ActivityUpdate(occurred_at=t + timedelta(hours=40), version=early.version),
    )
    assert _rollups(session, p) == (t + timedelta(hours=30), t + timedelta(hours=40))

    # the last contact re-dated back: the last activity goes back with it
    update_activity(
        session,
        owner,
        early.id,
        ActivityUpdate(occurred_at=t + timedelta(hours=20), version=early.version),
    )
    assert _rollups(session, p) == (t + timedelta(hours=20), t + timedelta(hours=30))

    # unlinked from the project: as if it had not happened for the project
    update_activity(session, owner, early.id, ActivityUpdate(project_ids=[], version=early.version))
    assert _rollups(session, p) == (t + timedelta(hours=30), t + timedelta(hours=30))

    delete_activity(session, owner, later.id, later.version)
    assert _rollups(session, p) == (None, t + timedelta(hours=1))

    # the history contact moved after the creation: now it is the response
    update_activity(
        session,
        owner,
        before.id,
        ActivityUpdate(occurred_at=t + timedelta(hours=2), version=before.version),
    )
    assert _rollups(session, p) == (t + timedelta(hours=2), t + timedelta(hours=2))


def test_the_response_time_is_from_the_creation_to_the_first_contact_after_it(session):
    """Hand-worked: four leads of one officer created at t. A: contacts at t-30d (the firm's
    history) and t+4h → 4 h. B: a contact at t+1h re-dated to t+10h → 10 h. C: a contact at
    t+2h, then deleted, and one at t-3d (history) → awaiting its first contact. D: the visit it
    came out of, at t-2h, entered afterwards → 0 h. Median of 0, 4 and 10 = 4.00 h; the old code
    counted A's t-30d (clamped to 0), B's t+1h and the deleted t+2h: median of 0, 0, 1, 2 = 0.50,
    and nothing awaiting."""
    d = make_department(session)
    officer, manager = make_user(session, "officer", d), make_user(session, "manager", d)
    firm = make_firm(session, "响应企业")
    t = utcnow().replace(microsecond=0) - timedelta(days=2)
    a, b, c, e = (
        make_project(session, firm, code, "lead", owner=officer, created_at=t)
        for code in ("NB", "COMM", "IC", "NEV")
    )
    _log(session, officer, firm, a, t - timedelta(days=30))
    _log(session, officer, firm, a, t + timedelta(hours=4))
    moved = _log(session, officer, firm, b, t + timedelta(hours=1))
    update_activity(
        session,
        officer,
        moved.id,
        ActivityUpdate(occurred_at=t + timedelta(hours=10), version=moved.version),
    )
    gone = _log(session, officer, firm, c, t + timedelta(hours=2))
    delete_activity(session, officer, gone.id, gone.version)
    _log(session, officer, firm, c, t - timedelta(days=3))
    _log(session, officer, firm, e, t - timedelta(hours=2))
    session.commit()

    r = registry.run(session, manager, "activity", ReportFilters())
    me = next(x for x in r.officers if x.officer_id == officer.id)
    assert (me.new_leads, me.awaiting_contact) == (4, 1)
    assert me.median_response_hours == Decimal("4.00")
