"""The contacts import applies the contact service's edit rule (SPEC §3): a manager changes
contacts of his own department's firms (or ownerless ones) only, and every update is audited
with its values before and after, as an edit through the API is."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from crm.errors import PermissionDenied
from crm.firms.contacts import create_contact, update_contact
from crm.firms.schemas import ContactCreate, ContactUpdate
from crm.i18n import render
from crm.imports.service import import_contacts
from crm.models.audit import AuditRecord
from crm.models.firms import Contact
from tests.factories import make_department, make_firm, make_user

HEAD = ["企业名称", "姓名", "职务", "电话", "邮箱"]


def _csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in [HEAD, *rows]).encode()


@pytest.fixture
def world(session):
    d1, d2 = make_department(session), make_department(session)
    officer1 = make_user(session, "officer", d1)
    officer2 = make_user(session, "officer", d2)
    manager2 = make_user(session, "manager", d2)
    theirs = make_firm(session, "邦益环境工程有限责任公司", owner_id=officer1.id)
    ours = make_firm(session, "望江工业有限公司", owner_id=officer2.id)
    c_theirs = create_contact(
        session,
        officer1,
        theirs.id,
        ContactCreate(name="梁曦鹏", title="总监", phone="15784311348"),
    )
    c_ours = create_contact(
        session, officer2, ours.id, ContactCreate(name="王经理", title="经理", phone="13800000000")
    )
    return {
        "manager": manager2,
        "theirs": theirs,
        "ours": ours,
        "c_theirs": c_theirs,
        "c_ours": c_ours,
    }


def _row(session, cid: int) -> dict:
    session.expire_all()
    return session.get(Contact, cid).model_dump()


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_the_api_refuses_what_the_import_must_refuse_too(session, world):
    with pytest.raises(PermissionDenied) as api:
        update_contact(
            session,
            world["manager"],
            world["c_theirs"].id,
            ContactUpdate(title="被劫持的职务", version=1),
        )
    before = _row(session, world["c_theirs"].id)
    contacts = _count(session, Contact)
    data = _csv(
        [["邦益环境工程有限责任公司", "梁曦鹏", "被劫持的职务", "15784311348", "evil@x.example"]]
    )
    rep = import_contacts(session, world["manager"], data, "c.csv", update_matching=True)
    assert not rep.applied and rep.updated == 0
    assert [(e.row, e.field) for e in rep.rejected] == [(2, "firm")]
    assert render(rep.rejected[0].message, "zh_CN") == render(api.value.message, "zh_CN")
    assert render(rep.rejected[0].message, "en") == render(api.value.message, "en")
    # skip-invalid: the refused row is still refused, nothing of it written
    rep = import_contacts(
        session, world["manager"], data, "c.csv", update_matching=True, skip_invalid=True
    )
    assert rep.applied and rep.updated == 0 and len(rep.rejected) == 1
    assert _row(session, world["c_theirs"].id) == before
    assert _count(session, Contact) == contacts
    assert not session.scalar(
        select(AuditRecord.id).where(
            AuditRecord.entity == "contact",
            AuditRecord.entity_id == str(world["c_theirs"].id),
            AuditRecord.action == "update",
        )
    )


def test_no_new_contact_on_another_departments_firm(session, world):
    contacts = _count(session, Contact)
    data = _csv([["邦益环境工程有限责任公司", "新联系人", "", "13900000000", ""]])
    rep = import_contacts(session, world["manager"], data, "c.csv", skip_invalid=True)
    assert rep.imported == 0 and [(e.row, e.field) for e in rep.rejected] == [(2, "firm")]
    assert _count(session, Contact) == contacts


def test_own_departments_firm_is_updated_and_audited_with_before_and_after(session, world):
    cid = world["c_ours"].id
    data = _csv([["望江工业有限公司", "王经理", "总经理", "13800000000", "wang@example.com"]])
    rep = import_contacts(session, world["manager"], data, "c.csv", update_matching=True)
    assert rep.applied and rep.updated == 1 and not rep.rejected
    row = _row(session, cid)
    assert row["title"] == "总经理" and row["email"] == "wang@example.com"
    assert row["version"] == 2
    audit = session.scalars(
        select(AuditRecord).where(
            AuditRecord.entity == "contact",
            AuditRecord.entity_id == str(cid),
            AuditRecord.action == "update",
        )
    ).all()
    assert len(audit) == 1 and audit[0].actor_id == world["manager"].id
    before, after = json.loads(audit[0].before), json.loads(audit[0].after)
    assert before["title"] == "经理" and after["title"] == "总经理"
    assert before["email"] is None and after["email"] == "wang@example.com"
    # the same file again changes nothing and writes no second audit row
    rep = import_contacts(session, world["manager"], data, "c.csv", update_matching=True)
    assert rep.updated == 0 and rep.unchanged == 1
    assert _row(session, cid)["version"] == 2


def test_an_ownerless_firm_is_everyones(session, world):
    make_firm(session, "无主企业")
    data = _csv([["无主企业", "张三", "", "13700000000", ""]])
    rep = import_contacts(session, world["manager"], data, "c.csv")
    assert rep.applied and rep.imported == 1
