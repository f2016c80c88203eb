"""Deleting a contact takes it off every activity that named it — another department's
confidential meeting too, which the one deleting may not see. Each activity so changed is
audited with its contacts before and after (ATTACK8 P3-9): only the contact's deletion was."""

from __future__ import annotations

import json

from sqlalchemy import select

from crm.activities.schemas import ActivityCreate
from crm.activities.service import log_activity
from crm.firms.contacts import create_contact, delete_contact
from crm.firms.schemas import ContactCreate
from crm.models.activities import ActivityContact
from crm.models.audit import AuditRecord
from tests.factories import make_department, make_firm, make_project, make_user


def test_deleting_a_contact_is_audited_on_each_activity_it_leaves(session):
    d1, d2 = make_department(session), make_department(session)
    owner = make_user(session, "officer", d1)
    other = make_user(session, "officer", d2)
    firm = make_firm(session, "联系人删除审计企业", owner_id=owner.id)
    gone = create_contact(session, owner, firm.id, ContactCreate(name="张三"))
    stays = create_contact(session, owner, firm.id, ContactCreate(name="李四"))
    secret = make_project(
        session, firm, "IC", owner=other, is_confidential=True, code_name="审计-1项目"
    )
    hidden = log_activity(
        session,
        other,
        ActivityCreate(
            kind="meeting",
            summary="保密会谈",
            firm_ids=[firm.id],
            project_ids=[secret.id],
            contact_ids=[gone.id, stays.id],
        ),
    ).activity
    own = log_activity(
        session,
        owner,
        ActivityCreate(kind="call", summary="电话", firm_ids=[firm.id], contact_ids=[gone.id]),
    ).activity

    delete_contact(session, owner, gone.id, version=gone.version)

    left = set(session.execute(select(ActivityContact.activity_id, ActivityContact.contact_id)))
    assert left == {(hidden.id, stays.id)}
    audited = {
        int(a.entity_id): (json.loads(a.before), json.loads(a.after), a.actor_id)
        for a in session.scalars(
            select(AuditRecord).where(
                AuditRecord.entity == "activity", AuditRecord.action == "unlink_contact"
            )
        )
    }
    assert audited == {
        hidden.id: (
            {"contact_ids": sorted([gone.id, stays.id])},
            {"contact_ids": [stays.id]},
            owner.id,
        ),
        own.id: ({"contact_ids": [gone.id]}, {"contact_ids": []}, owner.id),
    }
