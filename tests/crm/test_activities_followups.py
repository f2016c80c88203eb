"""Logging contacts (with a follow-up in the same step), My day, follow-up rules, visibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from crm.activities.schemas import ActivityCreate, InlineFollowup
from crm.activities.service import ActivityFilters, list_activities, log_activity
from crm.errors import Conflict, PermissionDenied, ValidationFailed
from crm.followups.schemas import FollowupCreate
from crm.followups.service import (
    cancel_followup,
    complete_followup,
    create_followup,
    my_day,
    reschedule_followup,
)
from crm.models.audit import AuditRecord
from crm.models.followups import Followup
from crm.projects.schemas import ProjectCreate
from crm.projects.service import create_project
from tests.factories import make_department, make_firm, make_user


@pytest.fixture
def world(session):
    a, b = make_department(session), make_department(session)
    return {
        "oa": make_user(session, "officer", a),
        "ob": make_user(session, "officer", b),
        "firm": make_firm(session, "宏碁", is_leader=True),
    }


def test_log_contact_with_followup_touches_the_project(session, world):
    oa, firm = world["oa"], world["firm"]
    p = create_project(session, oa, ProjectCreate(firm_id=firm.id, cluster="NB"))
    when = datetime.now(UTC) - timedelta(hours=2)
    due = datetime.now(UTC) + timedelta(hours=1)
    logged = log_activity(
        session,
        oa,
        ActivityCreate(
            kind="visit",
            occurred_at=when,
            summary="拜访宏碁重庆工厂",
            firm_ids=[firm.id],
            project_ids=[p.id],
            followup=InlineFollowup(title="发送园区资料", due_at=due),
        ),
    )
    assert logged.followup is not None and logged.followup.project_id == p.id
    assert logged.followup.assignee_id == oa.id
    assert p.first_contact_at == p.last_activity_at
    day = my_day(session, oa, now=due)  # its local day: an hour from now may be tomorrow
    assert [f.title for f in day.today + day.overdue] == ["发送园区资料"]
    rows, _ = list_activities(session, oa, ActivityFilters(firm_id=firm.id))
    assert [a.summary for a in rows] == ["拜访宏碁重庆工厂"]
    assert len(session.exec(select(AuditRecord).where(AuditRecord.entity == "activity")).all()) == 1


def test_bad_activity_changes_nothing(session, world):
    with pytest.raises(ValidationFailed):
        log_activity(
            session, world["oa"], ActivityCreate(kind="call", summary="x", firm_ids=[999999])
        )
    with pytest.raises(ValidationFailed):
        log_activity(
            session,
            world["oa"],
            ActivityCreate(
                kind="call",
                summary="x",
                firm_ids=[world["firm"].id],
                occurred_at=datetime.now(UTC) + timedelta(days=3),
            ),
        )


def test_confidential_activity_hidden_from_other_department(session, world):
    oa, ob, firm = world["oa"], world["ob"], world["firm"]
    p = create_project(
        session,
        oa,
        ProjectCreate(firm_id=firm.id, cluster="NB", is_confidential=True, code_name="青龙"),
    )
    log_activity(
        session,
        oa,
        ActivityCreate(kind="meeting", summary="秘密谈判", firm_ids=[firm.id], project_ids=[p.id]),
    )
    log_activity(session, oa, ActivityCreate(kind="call", summary="公开电话", firm_ids=[firm.id]))
    mine, _ = list_activities(session, oa, ActivityFilters(firm_id=firm.id))
    theirs, _ = list_activities(session, ob, ActivityFilters(firm_id=firm.id))
    assert {a.summary for a in mine} == {"秘密谈判", "公开电话"}
    assert {a.summary for a in theirs} == {"公开电话"}
    with pytest.raises(ValidationFailed):  # cannot link to a project one cannot see
        log_activity(
            session,
            ob,
            ActivityCreate(kind="call", summary="x", firm_ids=[firm.id], project_ids=[p.id]),
        )


def test_followup_lifecycle_and_rules(session, world):
    oa, ob = world["oa"], world["ob"]
    due = datetime.now(UTC) - timedelta(days=2)
    firm_id = world["firm"].id
    fu = create_followup(session, oa, FollowupCreate(title="回访", due_at=due, firm_id=firm_id))
    assert [f.id for f in my_day(session, oa).overdue] == [fu.id]
    with pytest.raises(PermissionDenied):
        complete_followup(session, ob, fu.id)
    moved = reschedule_followup(session, oa, fu.id, (datetime.now(UTC) + timedelta(days=3)).date())
    assert moved.due_at > datetime.now(UTC)
    assert my_day(session, oa).overdue == []
    complete_followup(session, oa, fu.id)
    with pytest.raises(Conflict):
        cancel_followup(session, oa, fu.id)
    with pytest.raises(ValidationFailed):
        create_followup(
            session, oa, FollowupCreate(title="x", due_at=due, remind_at=due + timedelta(hours=1))
        )
    with pytest.raises(ValidationFailed):  # officers assign within their department
        create_followup(
            session, oa, FollowupCreate(title="x", due_at=due, assignee_id=ob.id, firm_id=firm_id)
        )
    # SPEC §1: a follow-up is on a firm and/or a project, never on nothing
    with pytest.raises(ValidationFailed) as caught:
        create_followup(session, oa, FollowupCreate(title="无对象", due_at=due))
    assert caught.value.field == "firm_id"
    assert caught.value.text("zh_CN") == "请选择跟进的企业或项目"


def test_activity_list_statements_are_kept_per_viewer_and_filters(session, world):
    """The list's statements are built once per kind of viewer and set of filters, with the
    values bound: another department, another filter value or another page never gets a
    statement (or a count) built for someone or something else."""
    oa, ob, firm = world["oa"], world["ob"], world["firm"]
    other = make_firm(session, "联想")
    boss = make_user(session, "manager", None)
    p = create_project(
        session,
        oa,
        ProjectCreate(firm_id=firm.id, cluster="NB", is_confidential=True, code_name="白虎"),
    )
    t0 = datetime.now(UTC) - timedelta(days=3)
    for i, (kind, firms, projects) in enumerate(
        [
            ("meeting", [firm.id], [p.id]),
            ("call", [firm.id], []),
            ("visit", [other.id], []),
            ("call", [firm.id, other.id], []),
        ]
    ):
        log_activity(
            session,
            oa,
            ActivityCreate(
                kind=kind,
                summary=f"a{i}",
                occurred_at=t0 + timedelta(hours=i),
                firm_ids=firms,
                project_ids=projects,
            ),
        )

    def seen(actor, limit=50, offset=0, **filters):
        rows, total = list_activities(
            session, actor, ActivityFilters(**filters), limit=limit, offset=offset
        )
        return [a.summary for a in rows], total

    # the other department first, then the project's own, then a manager: same filters
    assert seen(ob, firm_id=firm.id) == (["a3", "a1"], 2)
    assert seen(oa, firm_id=firm.id) == (["a3", "a1", "a0"], 3)
    assert seen(boss, firm_id=firm.id) == (["a3", "a1", "a0"], 3)
    assert seen(ob, firm_id=firm.id) == (["a3", "a1"], 2)
    # another value of the same filter, more filters, a page, the count alone
    assert seen(ob, firm_id=other.id) == (["a3", "a2"], 2)
    assert seen(oa, firm_id=firm.id, kind="call") == (["a3", "a1"], 2)
    assert seen(oa, firm_id=firm.id, kind="meeting") == (["a0"], 1)
    assert seen(oa, project_id=p.id) == (["a0"], 1)
    assert seen(ob, project_id=p.id) == ([], 0)
    assert seen(
        oa, since=t0 + timedelta(minutes=30), until=t0 + timedelta(hours=2, minutes=30)
    ) == (
        ["a2", "a1"],
        2,
    )
    assert seen(oa, firm_id=firm.id, limit=1, offset=1) == (["a1"], 3)
    assert seen(oa, firm_id=firm.id, limit=0) == ([], 3)


def test_the_capped_count_runs_without_parallel_workers_and_only_it(session):
    """On PostgreSQL a parallel plan's workers read on past the capped count's LIMIT: the count
    runs serial, and the transaction's setting is the server's again after it."""
    from sqlalchemy import text

    from crm.db import is_postgres, serial_scalar

    setting = text("SELECT current_setting('max_parallel_workers_per_gather')")
    if not is_postgres(session):
        assert serial_scalar(session, text("SELECT 7")) == 7  # SQLite: the plain scalar
        return
    before = session.scalar(setting)
    assert serial_scalar(session, setting) == "0"
    assert session.scalar(setting) == before != "0"


def test_the_activities_capped_count_is_the_serial_one(session, world):
    from sqlalchemy import event

    from crm.db import is_postgres

    seen: list[str] = []

    def before(conn, cursor, statement, *_):  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split()))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", before)
    try:
        # past the first page: the count is asked (a whole first page is its own count)
        list_activities(session, world["oa"], ActivityFilters(), offset=1)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    count = next(i for i, s in enumerate(seen) if s.startswith("SELECT count(*)"))
    serial = "SET LOCAL max_parallel_workers_per_gather = 0"
    assert (seen[count - 1] == serial) == is_postgres(session), seen


def _activity_with_links(session, world):  # type: ignore[no-untyped-def]
    oa, firm = world["oa"], world["firm"]
    p = create_project(session, oa, ProjectCreate(firm_id=firm.id, cluster="NB"))
    logged = log_activity(
        session,
        oa,
        ActivityCreate(
            kind="visit",
            occurred_at=datetime.now(UTC) - timedelta(hours=2),
            summary="拜访",
            firm_ids=[firm.id],
            project_ids=[p.id],
        ),
    )
    session.commit()
    return logged.activity, p


def _state(session, activity_id):  # type: ignore[no-untyped-def]
    """The whole row, its links and its audit rows, read afresh."""
    from crm.activities.service import links
    from crm.models.activities import Activity

    session.expire_all()
    return (
        session.get(Activity, activity_id).model_dump(),
        {k: sorted(v) for k, v in links(session, [activity_id])[activity_id].items()},
        session.scalars(select(AuditRecord.id).order_by(AuditRecord.id)).all(),
    )


def test_update_activity_stale_refused_or_unchanged_saves_nothing(session, world):
    """crm.changes.apply_change (#15): a stale version is a 409 and changes nothing (the whole
    row, its links, no audit row); a refused change (a project not of its firms, no colleague)
    leaves it as it was; an edit that changes nothing — its own values and links given again —
    bumps nothing and writes no audit row."""
    from crm.activities.schemas import ActivityUpdate
    from crm.activities.service import update_activity
    from crm.errors import StaleVersion

    oa = world["oa"]
    a, p = _activity_with_links(session, world)
    other = make_firm(session, "别家")
    session.commit()
    before = _state(session, a.id)
    v = a.version
    with pytest.raises(StaleVersion):
        update_activity(
            session, oa, a.id, ActivityUpdate(summary="新", firm_ids=[other.id], version=v + 1)
        )
    session.rollback()
    assert _state(session, a.id) == before
    for bad in (
        ActivityUpdate(summary="新", firm_ids=[other.id], project_ids=[p.id], version=v),
        ActivityUpdate(summary="新", officer_ids=[], version=v),
        ActivityUpdate(summary="新", occurred_at=datetime.now(UTC) + timedelta(days=3), version=v),
    ):
        with pytest.raises(ValidationFailed):
            update_activity(session, oa, a.id, bad)
        session.rollback()
        assert _state(session, a.id) == before
    row = before[0]
    same = ActivityUpdate(
        kind=row["kind"],
        summary=row["summary"],
        occurred_at=row["occurred_at"],
        firm_ids=[world["firm"].id],
        project_ids=[p.id],
        officer_ids=[oa.id],
        version=v,
    )
    update_activity(session, oa, a.id, same)
    session.commit()
    assert _state(session, a.id) == before  # the version, updated_at and audit as they were


def test_update_activity_audits_the_fields_and_link_sets_that_changed(session, world):
    from crm.activities.schemas import ActivityUpdate
    from crm.activities.service import update_activity

    oa, ob = world["oa"], world["ob"]
    a, _p = _activity_with_links(session, world)
    v = a.version
    update_activity(
        session, oa, a.id, ActivityUpdate(summary="改", officer_ids=[ob.id, oa.id], version=v)
    )
    session.commit()
    row, linked, _ = _state(session, a.id)
    assert row["version"] == v + 1 and row["summary"] == "改"
    assert linked["officer_ids"] == sorted([oa.id, ob.id])
    audit = session.scalars(
        select(AuditRecord).where(AuditRecord.entity == "activity", AuditRecord.action == "update")
    ).one()
    import json

    before, after = json.loads(audit.before), json.loads(audit.after)
    assert audit.entity_id == str(a.id) and audit.actor_id == oa.id
    # the changed columns and the one link set that changed (sorted); the unchanged sets left out
    assert set(before) == set(after) == {"summary", "version", "updated_at", "officer_ids"}
    assert (before["summary"], after["summary"]) == ("拜访", "改")
    assert (before["officer_ids"], after["officer_ids"]) == ([oa.id], sorted([oa.id, ob.id]))
    assert (before["version"], after["version"]) == (v, v + 1)


def test_a_closed_follow_up_is_not_rescheduled_and_stays_as_it_was(session, world):
    """Rescheduling a done (or cancelled) follow-up is refused as completing it again is
    (ATTACK11 F2): the old code moved a done item's day, bumped its version and audited it."""
    oa, firm = world["oa"], world["firm"]
    due = datetime.now(UTC) + timedelta(hours=1)
    fu = create_followup(session, oa, FollowupCreate(title="回访", due_at=due, firm_id=firm.id))
    done = complete_followup(session, oa, fu.id, fu.version)
    session.flush()
    before = done.model_dump()
    audits = session.scalar(select(func.count()).select_from(AuditRecord))
    with pytest.raises(Conflict) as caught:
        reschedule_followup(session, oa, fu.id, (due + timedelta(days=3)).date(), done.version)
    assert caught.value.field == "status"
    session.expire_all()
    assert session.get(Followup, fu.id).model_dump() == before
    assert session.scalar(select(func.count()).select_from(AuditRecord)) == audits
