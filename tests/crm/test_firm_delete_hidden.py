"""Deleting a firm never tells anyone of rows hidden from them (ATTACK8 P1-4, ATTACK9 P1-1).

What may still refer to a firm includes another department's confidential project and the
contacts and follow-ups on it. An officer's answer once depended on those rows (the named
refusal, then a generic one reached only when something hidden was there), so deleting a firm
is now for managers and admins — who see every row — and an officer gets one answer for every
firm, whatever refers to it."""

from __future__ import annotations

import pytest

from crm.errors import Conflict, PermissionDenied
from crm.firms.service import delete_firm
from crm.models.firms import Firm
from tests.factories import make_department, make_firm, make_followup, make_project, make_user

OFFICERS_ANSWER = "删除企业须由主管或管理员操作"


@pytest.fixture
def world(session):
    d1, d2 = make_department(session), make_department(session)
    owner = make_user(session, "officer", d1)
    other = make_user(session, "officer", d2)
    return d1, owner, other


def _officers_answer(session, owner, firm_id: int) -> tuple[type, str]:
    try:
        delete_firm(session, owner, firm_id, version=1)
    except (Conflict, PermissionDenied) as err:
        assert session.get(Firm, firm_id) is not None
        return type(err), err.text("zh_CN")
    return type(None), "deleted"


def test_an_officer_gets_one_answer_whatever_is_hidden_on_his_firm(session, world):
    """Three firms of his: nothing on one, another department's confidential project on the
    second, a follow-up on such a project on the third. He cannot tell them apart."""
    _, owner, other = world
    empty, secret, with_followup = (make_firm(session, owner_id=owner.id) for _ in range(3))
    make_project(session, secret, "IC", owner=other, is_confidential=True, code_name="隐删-1项目")
    p = make_project(
        session, with_followup, "IC", owner=other, is_confidential=True, code_name="隐删-2项目"
    )
    make_followup(session, other, firm_id=with_followup.id, project_id=p.id)
    answers = {_officers_answer(session, owner, f.id) for f in (empty, secret, with_followup)}
    assert answers == {(PermissionDenied, OFFICERS_ANSWER)}


def test_the_answer_comes_before_the_version_check(session, world):
    """A stale version must not open a second channel (409 stale only where nothing is hidden)."""
    _, owner, other = world
    firm = make_firm(session, owner_id=owner.id)
    make_project(session, firm, "IC", owner=other, is_confidential=True, code_name="隐删-3项目")
    with pytest.raises(PermissionDenied):
        delete_firm(session, owner, firm.id, version=99)


def test_a_manager_of_the_owning_department_deletes_or_is_told_what_is_left(session, world):
    d1, owner, other = world
    manager = make_user(session, "manager", d1)
    empty = make_firm(session, owner_id=owner.id)
    delete_firm(session, manager, empty.id, version=1)
    session.flush()
    assert session.get(Firm, empty.id) is None
    # he sees every project, the confidential one of another department included: named
    firm = make_firm(session, owner_id=owner.id)
    make_project(session, firm, "IC", owner=other, is_confidential=True, code_name="隐删-4项目")
    with pytest.raises(Conflict) as err:
        delete_firm(session, manager, firm.id, version=1)
    assert err.value.text("zh_CN") == "企业还有项目，不能删除"
    assert session.get(Firm, firm.id) is not None


def test_a_manager_of_another_department_may_not(session, world):
    _, owner, _ = world
    outsider = make_user(session, "manager", make_department(session))
    firm = make_firm(session, owner_id=owner.id)
    with pytest.raises(PermissionDenied):
        delete_firm(session, outsider, firm.id, version=1)
    admin = make_user(session, "admin", None)
    delete_firm(session, admin, firm.id, version=1)
    session.flush()
    assert session.get(Firm, firm.id) is None


def test_english(session, world):
    _, owner, _ = world
    firm = make_firm(session, owner_id=owner.id)
    with pytest.raises(PermissionDenied) as err:
        delete_firm(session, owner, firm.id, version=1)
    assert err.value.text("en") == "Deleting a firm is for managers and administrators"
