"""Deleting a firm: the refusal names only what the actor may see (ATTACK8 P1-4).

A firm owner refused because of another department's confidential project — or a follow-up on
one — must not learn it is a project (or a follow-up): he is told about his own records
precisely, and about hidden ones by one message whatever they are."""

from __future__ import annotations

import pytest

from crm.errors import Conflict
from crm.firms.service import delete_firm
from crm.models.firms import Firm
from tests.factories import make_department, make_firm, make_followup, make_project, make_user

HIDDEN = "企业还有关联记录，不能删除；请联系主管"


@pytest.fixture
def world(session):
    d1, d2 = make_department(session), make_department(session)
    owner = make_user(session, "officer", d1)
    other = make_user(session, "officer", d2)
    firm = make_firm(session, owner_id=owner.id)
    return owner, other, firm


def _refusal(session, actor, firm) -> str:
    with pytest.raises(Conflict) as err:
        delete_firm(session, actor, firm.id)
    assert session.get(Firm, firm.id) is not None
    return err.value.text("zh_CN")


def test_hidden_project_gets_the_generic_refusal(session, world):
    owner, other, firm = world
    make_project(session, firm, "IC", owner=other, is_confidential=True, code_name="隐删-1项目")
    assert _refusal(session, owner, firm) == HIDDEN
    admin = make_user(session, "admin", None)
    assert _refusal(session, admin, firm) == "企业还有项目，不能删除"


def test_hidden_followup_gets_the_same_refusal(session, world):
    owner, other, firm = world
    p = make_project(session, firm, "IC", owner=other, is_confidential=True, code_name="隐删-2项目")
    make_followup(session, other, firm_id=firm.id, project_id=p.id)
    assert _refusal(session, owner, firm) == HIDDEN


def test_visible_records_are_named(session, world):
    owner, other, firm = world
    make_project(session, firm, "IC", owner=other)  # not confidential: visible to all
    assert _refusal(session, owner, firm) == "企业还有项目，不能删除"
    assert _refusal(session, owner, firm) != HIDDEN


def test_english(session, world):
    owner, other, firm = world
    make_project(session, firm, "IC", owner=other, is_confidential=True, code_name="隐删-3项目")
    with pytest.raises(Conflict) as err:
        delete_firm(session, owner, firm.id)
    assert err.value.text("en") == "This firm still has records; ask a manager to delete it"
