"""Handing over a leaving officer's work: nothing open points at an inactive user afterwards."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.demo import generate
from crm.errors import Conflict, PermissionDenied, ValidationFailed
from crm.models.accounts import User
from crm.models.firms import Firm
from crm.models.followups import Followup
from crm.models.projects import Project
from crm.projects.schemas import ProjectCreate, ProjectUpdate
from crm.projects.service import create_project, update_project
from crm.reassign import bulk_reassign, holdings, orphaned_followups, reassign
from tests.factories import make_department, make_firm, make_followup, make_project, make_user

FAKE_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


def open_on_inactive(session) -> dict[str, int]:
    inactive = select(User.id).where(User.is_active.is_(False))
    return {
        "firms": session.scalar(select(func.count()).where(Firm.owner_id.in_(inactive))),
        "projects": session.scalar(
            select(func.count()).where(Project.owner_id.in_(inactive), Project.stage != "lost")
        ),
        "followups": session.scalar(
            select(func.count()).where(
                Followup.assignee_id.in_(inactive), Followup.status == "open"
            )
        ),
    }


def test_deactivating_the_demos_busiest_officer_leaves_nothing_open_on_them(session):
    generate(session, "small", seed=42, password_hash=FAKE_HASH)
    session.flush()
    admin = session.scalar(select(User).where(User.role == "admin"))
    officers = list(session.scalars(select(User).where(User.role == "officer")))
    busiest = max(officers, key=lambda u: sum(holdings(session, admin, u.id).counts.values()))
    held = holdings(session, admin, busiest.id).counts
    assert held["firms"] and held["projects"] and held["followups"]
    heir = next(
        u for u in officers if u.id != busiest.id and u.department_id == busiest.department_id
    )
    moved = reassign(session, admin, busiest.id, to_user_id=heir.id, deactivate=True)
    assert moved == held
    assert not busiest.is_active
    assert open_on_inactive(session) == {"firms": 0, "projects": 0, "followups": 0}
    assert orphaned_followups(session) == []


@pytest.fixture
def team(session):
    d, other = make_department(session), make_department(session)
    return {
        "manager": make_user(session, "manager", d),
        "leaver": make_user(session, "officer", d),
        "a": make_user(session, "officer", d),
        "b": make_user(session, "officer", d),
        "stranger": make_user(session, "officer", other),
        "other_manager": make_user(session, "manager", other),
    }


def test_firm_by_firm_in_one_step_by_the_departments_manager(session, team):
    leaver = team["leaver"]
    f1 = make_firm(session, "甲企业", owner_id=leaver.id)
    f2 = make_firm(session, "乙企业", owner_id=leaver.id)
    p1 = make_project(session, f1, "NB", owner=leaver)
    p2 = make_project(session, f2, "IC", owner=leaver)
    fu1 = make_followup(session, leaver, project_id=p1.id)
    fu2 = make_followup(session, leaver, firm_id=f2.id)
    fu3 = make_followup(session, leaver)  # on no firm: goes to the "all" person
    with pytest.raises(PermissionDenied):
        reassign(session, team["other_manager"], leaver.id, to_user_id=team["a"].id)
    with pytest.raises(ValidationFailed):  # not in the manager's department
        reassign(session, team["manager"], leaver.id, to_user_id=team["stranger"].id)
    with pytest.raises(Conflict):  # f1's share has nobody to go to
        reassign(
            session, team["manager"], leaver.id, per_firm={f2.id: team["b"].id}, deactivate=True
        )
    reassign(
        session,
        team["manager"],
        leaver.id,
        to_user_id=team["a"].id,
        per_firm={f2.id: team["b"].id},
        deactivate=True,
    )
    session.expire_all()
    assert (f1.owner_id, p1.owner_id, fu1.assignee_id) == (team["a"].id,) * 3
    assert (f2.owner_id, p2.owner_id, fu2.assignee_id) == (team["b"].id,) * 3
    assert fu3.assignee_id == team["a"].id
    assert open_on_inactive(session) == {"firms": 0, "projects": 0, "followups": 0}


def test_orphans_are_found_and_bulk_reassign(session, team):
    leaver = team["leaver"]
    make_followup(session, leaver)
    leaver.is_active = False
    session.flush()
    assert [u.id for _, u in orphaned_followups(session)] == [leaver.id]
    f = make_firm(session, "丙企业", owner_id=team["a"].id)
    p = make_project(session, f, "NB", owner=team["a"])
    with pytest.raises(PermissionDenied):
        bulk_reassign(session, team["a"], "firm", [f.id], team["b"].id)
    assert bulk_reassign(session, team["manager"], "firm", [f.id], team["b"].id) == 1
    assert bulk_reassign(session, team["manager"], "project", [p.id], team["b"].id) == 1
    session.expire_all()
    assert f.owner_id == p.owner_id == team["b"].id
    with pytest.raises(ValidationFailed):  # never to an inactive user
        bulk_reassign(session, team["manager"], "firm", [f.id], leaver.id)


def test_the_departments_manager_is_told_of_orphaned_followups(session, team):
    from crm.clock import today_local
    from crm.models.outbox import OutboxMessage
    from crm.reassign import compose_orphan_notices

    team["manager"].email = "boss@example.com"
    leaver = team["leaver"]
    make_followup(session, leaver, title="回访甲")
    leaver.is_active = False
    session.flush()
    day = today_local()
    assert compose_orphan_notices(session, day) == 1
    assert compose_orphan_notices(session, day) == 0  # once a day
    msg = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "orphaned_followups"))
    assert msg.recipient == "boss@example.com" and "回访甲" in msg.body_text


def _row(session, p):
    session.expire_all()
    t = Project.__table__
    return session.execute(select(t).where(t.c.id == p.id)).one()


def test_a_confidential_project_is_never_given_to_an_officer_who_cannot_see_it(session, team):
    """ATTACK7 P2-8: an admin's bulk reassign, handover, edit or creation giving another
    department's officer a confidential project — an owner to whom it does not exist — is
    refused (one rule, ``crm.authz.require_owner_sees_project``); the row unchanged."""
    admin = make_user(session, "admin", make_department(session))
    leaver, stranger = team["leaver"], team["stranger"]
    f = make_firm(session, "保密企业", owner_id=leaver.id)
    p = make_project(session, f, "NB", owner=leaver, is_confidential=True, code_name="玄武")
    before = _row(session, p)
    with pytest.raises(ValidationFailed) as err:
        bulk_reassign(session, admin, "project", [p.id], stranger.id)
    assert err.value.field == "to_user_id"
    with pytest.raises(ValidationFailed):
        reassign(session, admin, leaver.id, to_user_id=stranger.id)
    with pytest.raises(ValidationFailed) as err:
        update_project(session, admin, p.id, ProjectUpdate(version=p.version, owner_id=stranger.id))
    assert err.value.field == "owner_id"
    assert _row(session, p) == before
    with pytest.raises(ValidationFailed):
        create_project(
            session,
            admin,
            ProjectCreate(
                firm_id=f.id,
                cluster="IC",
                is_confidential=True,
                code_name="白虎",
                owner_id=stranger.id,
                department_id=leaver.department_id,
            ),
        )
    # making a project confidential while its owner is of another department: refused too
    q = make_project(session, f, "IC", owner=stranger, department_id=leaver.department_id)
    with pytest.raises(ValidationFailed) as err:
        update_project(
            session,
            admin,
            q.id,
            ProjectUpdate(version=q.version, is_confidential=True, code_name="朱雀"),
        )
    assert err.value.field == "owner_id"
    # the open project and the department's own people are fine
    assert bulk_reassign(session, admin, "project", [q.id], team["a"].id) == 1
    assert bulk_reassign(session, admin, "project", [p.id], team["a"].id) == 1
    assert _row(session, p).owner_id == team["a"].id


def test_a_project_is_never_given_to_someone_of_another_department(session, team):
    """ATTACK8 P2-2: an admin's bulk reassign (or handover, edit, creation) giving a project
    to an officer of another department — owner and department then disagree, its manager could
    no longer edit it, nobody but an admin could straighten it — is refused with a clear error
    (one rule, ``crm.authz.require_project_owner``); the row unchanged. An admin may own any."""
    admin = make_user(session, "admin", make_department(session))
    leaver, stranger = team["leaver"], team["stranger"]
    f = make_firm(session, "公开企业", owner_id=leaver.id)
    p = make_project(session, f, "NB", owner=leaver)
    before = _row(session, p)
    with pytest.raises(ValidationFailed) as err:
        bulk_reassign(session, admin, "project", [p.id], stranger.id)
    assert err.value.field == "to_user_id"
    assert err.value.message.render("zh_CN") == f"负责人须是项目所属部门的人员：{p.id}"
    assert err.value.message.render("en") == (
        f"The owner must be of the project's department: {p.id}"
    )
    with pytest.raises(ValidationFailed):
        bulk_reassign(session, admin, "project", [p.id], team["other_manager"].id)
    with pytest.raises(ValidationFailed):  # the handover of everything the leaver holds
        reassign(session, admin, leaver.id, to_user_id=stranger.id)
    with pytest.raises(ValidationFailed) as err:
        update_project(session, admin, p.id, ProjectUpdate(version=p.version, owner_id=stranger.id))
    assert err.value.field == "owner_id" and "所属部门" in err.value.message.render("zh_CN")
    assert _row(session, p) == before
    with pytest.raises(ValidationFailed) as err:
        create_project(
            session,
            admin,
            ProjectCreate(
                firm_id=f.id, cluster="IC", owner_id=stranger.id, department_id=leaver.department_id
            ),
        )
    assert err.value.field == "owner_id"
    assert session.scalar(select(func.count()).select_from(Project)) == 1
    # the department's own people, and an admin, may own it
    assert bulk_reassign(session, admin, "project", [p.id], team["manager"].id) == 1
    assert bulk_reassign(session, admin, "project", [p.id], admin.id) == 1
    assert _row(session, p).owner_id == admin.id
