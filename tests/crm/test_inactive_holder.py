"""Nothing is given to an inactive user (ATTACK9 P2-1, SPEC §3).

A deactivated officer could still be named owner of a firm or a project — on creating, editing
— and on PostgreSQL a bulk reassign racing the deactivation gave him work too: nobody is
reminded of what an inactive user holds. Every giving now refuses an inactive user
(``crm.authz.holder_refusal``), reading him under the row lock the deactivation counts his
holdings under (``crm.authz.locked_holder``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from crm.accounts.users import update_user
from crm.authz import owner_choices
from crm.db import begin_write, get_engine
from crm.errors import Conflict, ValidationFailed
from crm.firms.schemas import FirmCreate, FirmUpdate
from crm.firms.service import create_firm, update_firm
from crm.models.accounts import User
from crm.models.firms import Firm
from crm.models.projects import Project
from crm.projects.schemas import ProjectCreate, ProjectUpdate
from crm.projects.service import create_project, update_project
from crm.reassign import bulk_reassign
from tests.factories import make_department, make_firm, make_project, make_user
from tests.races import second_writer

INACTIVE = "该人员已停用，不能接手工作"


def _held(session: Session, user_id: int) -> int:
    return sum(
        session.scalar(select(func.count()).select_from(m).where(m.owner_id == user_id)) or 0
        for m in (Firm, Project)
    )


@pytest.fixture
def world(session):
    d = make_department(session)
    manager = make_user(session, "manager", d)
    keeper = make_user(session, "officer", d)
    leaver = make_user(session, "officer", d)
    firm = make_firm(session, owner_id=keeper.id)
    project = make_project(session, firm, "IC", owner=keeper)
    leaver.is_active = False
    session.flush()
    return d, manager, leaver, firm, project


GIVINGS: dict[str, Callable[[Session, Any], Any]] = {
    "create a firm": lambda s, w: create_firm(
        s, w[1], FirmCreate(name_zh="给停用者的企业", owner_id=w[2].id), confirm=True
    ),
    "edit a firm": lambda s, w: update_firm(
        s, w[1], w[3].id, FirmUpdate(owner_id=w[2].id, version=w[3].version)
    ),
    "create a project": lambda s, w: create_project(
        s,
        w[1],
        ProjectCreate(firm_id=w[3].id, cluster="NEV", owner_id=w[2].id, department_id=w[0].id),
    ),
    "edit a project": lambda s, w: update_project(
        s, w[1], w[4].id, ProjectUpdate(owner_id=w[2].id, version=w[4].version)
    ),
}


@pytest.mark.parametrize("giving", sorted(GIVINGS))
def test_an_inactive_user_is_given_nothing(session, world, giving):
    leaver = world[2]
    with pytest.raises(ValidationFailed) as err:
        GIVINGS[giving](session, world)
    assert err.value.field == "owner_id"
    assert err.value.text("zh_CN") == INACTIVE
    assert err.value.text("en") == "This person is deactivated and cannot take on work"
    assert _held(session, leaver.id) == 0


@pytest.mark.parametrize("kind", ["firm", "project"])
def test_bulk_reassign_to_an_inactive_user_is_refused(session, world, kind):
    _, manager, leaver, firm, project = world
    row = firm if kind == "firm" else project
    with pytest.raises(ValidationFailed):
        bulk_reassign(session, manager, kind, [row.id], leaver.id)
    assert _held(session, leaver.id) == 0


def test_no_picker_offers_an_inactive_user_but_the_current_owner_stays(session, world):
    _, manager, leaver, _, _ = world
    users = session.scalars(select(User)).all()
    assert leaver not in owner_choices(manager, users, None)
    assert leaver in owner_choices(manager, users, leaver.id)  # what it is now, shown as such


def _deactivating(ids: dict[str, int]) -> Session:
    """An admin's deactivation of the leaver, checked and written, not yet committed."""
    s = Session(get_engine())
    begin_write(s)
    update_user(s, s.get(User, ids["admin"]), ids["leaver"], version=1, is_active=False)
    s.flush()
    return s


RACING: dict[str, Callable[[Session, dict[str, int]], Any]] = {
    "bulk reassign": lambda s, ids: bulk_reassign(
        s, s.get(User, ids["manager"]), "firm", [ids["firm"]], ids["leaver"]
    ),
    "edit a firm": lambda s, ids: update_firm(
        s, s.get(User, ids["manager"]), ids["firm"], FirmUpdate(owner_id=ids["leaver"], version=1)
    ),
    "create a project": lambda s, ids: create_project(
        s,
        s.get(User, ids["manager"]),
        ProjectCreate(firm_id=ids["firm"], cluster="NEV", owner_id=ids["leaver"]),
    ),
}


@pytest.mark.parametrize("giving", sorted(RACING))
def test_a_giving_racing_the_deactivation_waits_and_is_refused(session, giving):
    """The deactivation holds the user's row; the giving waits for it, then sees him inactive
    (PostgreSQL: it read him active before and gave him the work)."""
    d = make_department(session)
    admin = make_user(session, "admin", d)
    manager = make_user(session, "manager", d)
    leaver = make_user(session, "officer", d)
    firm = make_firm(session, "竞态停用企业", owner_id=manager.id)
    session.commit()
    ids = {"admin": admin.id, "manager": manager.id, "leaver": leaver.id, "firm": firm.id}

    deactivating = _deactivating(ids)
    t, outcome = second_writer(lambda s: RACING[giving](s, ids) and "saved")
    deactivating.commit()
    deactivating.close()
    t.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], ValidationFailed), outcome
    with Session(get_engine()) as s:
        assert not s.get(User, ids["leaver"]).is_active
        assert _held(s, ids["leaver"]) == 0


def test_a_deactivation_racing_a_giving_waits_and_sees_the_work(session):
    """The other order: the giving holds the user's row; the deactivation waits, then counts
    the work it was given and is refused (nothing is left on an inactive user)."""
    d = make_department(session)
    admin = make_user(session, "admin", d)
    manager = make_user(session, "manager", d)
    leaver = make_user(session, "officer", d)
    firm = make_firm(session, "竞态转交企业", owner_id=manager.id)
    session.commit()
    ids = {"admin": admin.id, "manager": manager.id, "leaver": leaver.id, "firm": firm.id}

    giving = Session(get_engine())
    begin_write(giving)
    RACING["bulk reassign"](giving, ids)
    giving.flush()
    t, outcome = second_writer(
        lambda s: (
            update_user(s, s.get(User, ids["admin"]), ids["leaver"], version=1, is_active=False)
            and "deactivated"
        )
    )
    giving.commit()
    giving.close()
    t.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    with Session(get_engine()) as s:
        assert s.get(User, ids["leaver"]).is_active
        assert _held(s, ids["leaver"]) == 1
