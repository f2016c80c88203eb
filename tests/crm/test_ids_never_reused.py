"""A removed row's id is never handed out again (ATTACK7 P2-7): on SQLite a table without
AUTOINCREMENT gives the next row max(id) + 1, so a new firm took the id of the firm just merged
away or deleted, and the old firm's audit history, its merge's undo and old links named the new
one. Migration 0017 makes those tables AUTOINCREMENT; PostgreSQL's sequences never go back."""

from __future__ import annotations

import json

from sqlalchemy import select

from crm.activities.schemas import ActivityCreate
from crm.activities.service import delete_activity, log_activity
from crm.firms.contacts import create_contact
from crm.firms.merge import merge_firms
from crm.firms.schemas import ContactCreate, FirmCreate
from crm.firms.service import create_firm, delete_firm
from crm.firms.unmerge import undo_merge
from crm.models.audit import AuditRecord
from crm.models.firms import Contact, Firm
from tests.factories import make_department, make_user


def test_a_firm_merged_away_keeps_its_id_and_the_merge_can_be_undone(session):
    d = make_department(session)
    admin = make_user(session, "admin", d)
    keep = create_firm(session, admin, FirmCreate(name_zh="汇川驱控股份有限公司"))
    gone = create_firm(session, admin, FirmCreate(name_zh="汇川驱控（重庆）有限公司"), confirm=True)
    gone_id = gone.id
    rec = merge_firms(session, admin, keep.id, gone_id)
    session.flush()

    new = create_firm(session, admin, FirmCreate(name_zh="惠普（重庆）有限公司"), confirm=True)
    session.flush()
    assert new.id != gone_id  # the old code: the same id (max + 1)
    history = session.exec(
        select(AuditRecord.action).where(
            AuditRecord.entity == "firm", AuditRecord.entity_id == str(new.id)
        )
    ).all()
    assert [a for (a,) in history] == ["create"]  # only its own history

    undo_merge(session, admin, rec.id)
    session.flush()
    assert session.get(Firm, gone_id).name_zh == "汇川驱控（重庆）有限公司"
    assert session.get(Firm, new.id).name_zh == "惠普（重庆）有限公司"


def test_a_deleted_firm_or_contact_log_keeps_its_id(session):
    d = make_department(session)
    admin = make_user(session, "admin", d)
    firm = create_firm(session, admin, FirmCreate(name_zh="澜沧精密机械股份有限公司"))
    old = create_firm(session, admin, FirmCreate(name_zh="澜沧精机"), confirm=True)
    old_id = old.id
    delete_firm(session, admin, old_id)
    session.flush()
    again = create_firm(session, admin, FirmCreate(name_zh="另一家企业"), confirm=True)
    session.flush()
    assert again.id != old_id

    logged = log_activity(
        session, admin, ActivityCreate(kind="call", summary="电话", firm_ids=[firm.id])
    )
    first = logged.activity.id
    delete_activity(session, admin, first)
    session.flush()
    second = log_activity(
        session, admin, ActivityCreate(kind="visit", summary="拜访", firm_ids=[firm.id])
    )
    assert second.activity.id != first


def test_a_deleted_firm_s_contacts_are_each_audited_as_deleted(session):
    """A firm's people go with it, and each leaves a delete row with what it held (ATTACK11
    F1): the old code erased them with no audit, so a contact added a moment before the firm's
    deletion could not be told of, nor rebuilt."""
    d = make_department(session)
    manager = make_user(session, "manager", d)
    officer = make_user(session, "officer", d)
    firm = create_firm(session, manager, FirmCreate(name_zh="紫荆花开探针有限公司"))
    person = create_contact(session, officer, firm.id, ContactCreate(name="李四", phone="023-1"))
    session.flush()
    person_id = person.id
    delete_firm(session, manager, firm.id, firm.version)
    session.flush()
    assert session.get(Contact, person_id) is None
    rows = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.entity == "contact", AuditRecord.entity_id == str(person_id))
        .order_by(AuditRecord.id)
    ).all()
    assert [r.action for r in rows] == ["create", "delete"]
    held = json.loads(rows[-1].before or "{}")
    assert held["name"] == "李四" and held["phone"] == "023-1"
    assert rows[-1].actor_id == manager.id
