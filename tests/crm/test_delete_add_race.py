"""A firm or a project deleted while another request adds something to it (a contact person, a
logged contact, a follow-up, a project on the firm, a capital arrival): whichever commits first,
the other either succeeds cleanly or is refused with a 409 saying what happened — never a 404
for a record that was there, never a foreign-key error or a PostgreSQL deadlock (a 503), and
nothing half-written (no child left pointing at nothing, no firm left that was deleted).

Both sides lock the parent rows first, in one order — the firm, then the project
(``crm.db.lock_parent``); on SQLite a writing request holds the database from its start."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from crm.activities.schemas import ActivityCreate
from crm.activities.service import log_activity
from crm.db import begin_write, get_engine
from crm.errors import Conflict, ValidationFailed
from crm.firms.contacts import create_contact
from crm.firms.schemas import ContactCreate
from crm.firms.service import delete_firm
from crm.followups.schemas import FollowupCreate
from crm.followups.service import create_followup
from crm.models.accounts import User
from crm.models.activities import ActivityFirm, ActivityProject
from crm.models.firms import Contact, Firm
from crm.models.followups import Followup
from crm.models.projects import CapitalArrival, Project
from crm.projects.schemas import CapitalArrivalCreate, ProjectCreate
from crm.projects.service import add_capital_arrival, create_project, delete_project
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_project, make_user
from tests.races import second_writer

Work = Callable[[Session, dict[str, int]], Any]


def _user(s: Session, ids: dict[str, int], who: str = "manager") -> User:
    user = s.get(User, ids[who])
    assert user is not None
    return user


def add_contact_person(s: Session, ids: dict[str, int]) -> Any:
    return create_contact(s, _user(s, ids), ids["firm"], ContactCreate(name="新联系人"))


def log_firm_contact(s: Session, ids: dict[str, int]) -> Any:
    return log_activity(
        s, _user(s, ids), ActivityCreate(kind="call", summary="电话", firm_ids=[ids["firm"]])
    )


def firm_followup(s: Session, ids: dict[str, int]) -> Any:
    data = FollowupCreate(title="回访", due_at=utcnow() + timedelta(days=1), firm_id=ids["firm"])
    return create_followup(s, _user(s, ids), data)


def firm_project(s: Session, ids: dict[str, int]) -> Any:
    return create_project(s, _user(s, ids), ProjectCreate(firm_id=ids["firm"], cluster="NEV"))


def project_followup(s: Session, ids: dict[str, int]) -> Any:
    data = FollowupCreate(
        title="回访", due_at=utcnow() + timedelta(days=1), project_id=ids["project"]
    )
    return create_followup(s, _user(s, ids), data)


def log_project_contact(s: Session, ids: dict[str, int]) -> Any:
    return log_activity(
        s,
        _user(s, ids),
        ActivityCreate(
            kind="visit", summary="拜访", firm_ids=[ids["firm"]], project_ids=[ids["project"]]
        ),
    )


def capital(s: Session, ids: dict[str, int]) -> Any:
    return add_capital_arrival(
        s,
        _user(s, ids),
        ids["project"],
        CapitalArrivalCreate(amount=Decimal("1"), arrived_on=utcnow().date()),
    )


def drop_firm(s: Session, ids: dict[str, int]) -> Any:
    return delete_firm(s, _user(s, ids), ids["firm"], version=1)


def drop_project(s: Session, ids: dict[str, int]) -> Any:
    return delete_project(s, _user(s, ids), ids["project"], version=1)


CASES = [
    ("firm", drop_firm, add_contact_person),
    ("firm", drop_firm, log_firm_contact),
    ("firm", drop_firm, firm_followup),
    ("firm", drop_firm, firm_project),
    ("project", drop_project, project_followup),
    ("project", drop_project, log_project_contact),
    ("project", drop_project, capital),
]


def _world(session: Session, parent: str) -> dict[str, int]:
    d = make_department(session)
    manager = make_user(session, "manager", d)
    firm = make_firm(session, f"竞态删除企业{parent}")
    ids = {"manager": manager.id, "firm": firm.id}
    if parent == "project":
        ids["project"] = make_project(session, firm, "NB", "signed", owner=manager).id
    session.commit()
    return ids


def _state(ids: dict[str, int]) -> dict[str, Any]:
    """What the database holds of the parent and its children."""
    with Session(get_engine()) as s:
        firm, project = ids["firm"], ids.get("project")

        def n(model: Any, *where: Any) -> int:
            return s.scalar(select(func.count()).select_from(model).where(*where)) or 0

        return {
            "firm": s.get(Firm, firm) is not None,
            "project": project is not None and s.get(Project, project) is not None,
            "children": n(Contact, Contact.firm_id == firm)
            + n(ActivityFirm, ActivityFirm.firm_id == firm)
            + n(Followup, Followup.firm_id == firm)
            + n(Project, Project.firm_id == firm, Project.id != (project or 0))
            + (
                n(Followup, Followup.project_id == project)
                + n(ActivityProject, ActivityProject.project_id == project)
                + n(CapitalArrival, CapitalArrival.project_id == project)
                if project
                else 0
            ),
        }


def _race(session: Session, parent: str, first: Work, second: Work) -> tuple[Any, dict]:
    ids = _world(session, parent)
    one = Session(get_engine())
    begin_write(one)
    first(one, ids)
    one.flush()  # written, not yet committed
    t, outcome = second_writer(lambda s: second(s, ids))
    one.commit()
    one.close()
    t.join(60)
    assert not t.is_alive()
    return outcome[0], _state(ids)


@pytest.mark.parametrize(
    ("parent", "delete", "add"), CASES, ids=[f"{d.__name__}-{a.__name__}" for _, d, a in CASES]
)
def test_the_add_that_loses_to_a_deletion_is_a_conflict(session, parent, delete, add):
    result, state = _race(session, parent, delete, add)
    assert isinstance(result, Conflict), repr(result)
    assert "删除" in result.text("zh_CN"), result.text("zh_CN")
    assert not state[parent] and state["children"] == 0, state


@pytest.mark.parametrize(
    ("parent", "delete", "add"), CASES, ids=[f"{a.__name__}-{d.__name__}" for _, d, a in CASES]
)
def test_the_deletion_that_loses_to_an_add_is_a_conflict_or_takes_it_along(
    session, parent, delete, add
):
    result, state = _race(session, parent, add, delete)
    if isinstance(result, BaseException):
        assert isinstance(result, Conflict), repr(result)
        assert state[parent] and state["children"] > 0, state
    else:  # the firm's contact people go with it
        assert add is add_contact_person, result
        assert not state["firm"] and state["children"] == 0, state


def test_an_add_under_a_firm_or_project_deleted_earlier_is_a_conflict_saying_so(session):
    """A page older than the deletion (or SQLite, where the add waited for the whole deletion):
    the firm or project is not there, and its audit row says it was deleted — a 409, not "not
    found"; a confidential project's deletion is told only to those who could see it."""
    d, other = make_department(session), make_department(session)
    manager = make_user(session, "manager", d)
    own = make_user(session, "officer", d)
    stranger = make_user(session, "officer", other)
    firm = make_firm(session, "已删除企业")
    secret = make_project(
        session, firm, "NB", owner=own, is_confidential=True, code_name="代号删除"
    )
    session.commit()
    ids = {"manager": manager.id, "own": own.id, "stranger": stranger.id, "firm": firm.id}
    ids["project"] = secret.id
    drop_project(session, ids)
    drop_firm(session, ids)
    session.commit()
    for add in (add_contact_person, log_firm_contact, firm_followup, firm_project):
        with pytest.raises(Conflict) as caught:
            add(session, ids)
        assert "删除" in caught.value.text("zh_CN")
        session.rollback()
    due = utcnow() + timedelta(days=1)
    for who, refused in (("own", Conflict), ("stranger", ValidationFailed)):
        with pytest.raises(refused):
            create_followup(
                session,
                _user(session, ids, who),
                FollowupCreate(title="回访", due_at=due, project_id=ids["project"]),
            )
        session.rollback()
