"""A firm's contacts: list, add, change, remove (edits follow the firm's edit rule)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlmodel import Session

from crm.audit.gone import hold_parents, refuse_if_deleted
from crm.audit.service import record, snapshot
from crm.authz import require_edit
from crm.changes import apply_change, check_version
from crm.db import capped_count, get_or_not_found, lowered
from crm.errors import NotFound, ValidationFailed
from crm.firms.queries import _owner_department, get_firm
from crm.firms.schemas import ContactCreate, ContactPublic, ContactUpdate
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.activities import ActivityContact
from crm.models.firms import Contact, Firm
from crm.sorting import Sort, order_by
from crm.text import like_pattern


def list_contacts(session: Session, actor: User, firm_id: int) -> list[Contact]:
    get_firm(session, actor, firm_id)
    return list(
        session.scalars(select(Contact).where(Contact.firm_id == firm_id).order_by(Contact.id))
    )


def list_contacts_page(
    session: Session, actor: User, firm_id: int, limit: int = 50, offset: int = 0
) -> tuple[list[Contact], int]:
    """A page of one firm's contacts and their total."""
    get_firm(session, actor, firm_id)
    stmt = select(Contact).where(Contact.firm_id == firm_id)
    rows = list(session.scalars(stmt.order_by(Contact.id).limit(limit).offset(offset)))
    return rows, capped_count(session, stmt, Contact.id)


# the contacts list's sortable columns (crm.sorting: only these keys reach the SQL); the firm
# by the reader's script: pinyin on a Chinese page, the English name (else pinyin) on an English
CONTACT_SORTS: dict[str, Any] = {
    "name": func.lower(Contact.name),
    "firm": Firm.name_pinyin,
    "firm_en": func.lower(func.coalesce(Firm.name_en, Firm.name_pinyin)),
    "updated": Contact.updated_at,
}


@dataclass
class ContactFilters:
    q: str | None = None
    firm_id: int | None = None
    sort: Sort | None = None  # "name", "firm", "updated" (CONTACT_SORTS)
    lang: str = "zh_CN"  # the reader's: how the firm column sorts


def list_all_contacts(
    session: Session, actor: User, f: ContactFilters, limit: int = 50, offset: int = 0
) -> tuple[list[tuple[Contact, str, str | None]], int]:
    """Every firm's contacts (firms are everyone's to see), filtered by a text in the name,
    title, phone, email or the firm's names, sorted by the reader's column (else the newest
    changed first); each with its firm's Chinese and English name; and the total (to 10,001)."""
    if actor is None:
        raise NotFound(_l("联系人不存在"))
    stmt = select(Contact, Firm.name_zh, Firm.name_en).join(Firm, Firm.id == Contact.firm_id)
    if f.firm_id:
        stmt = stmt.where(Contact.firm_id == f.firm_id)
    if f.q:
        like = like_pattern(f.q.lower())
        stmt = stmt.where(
            or_(
                *(
                    lowered(col, f.q).like(like, escape="\\")
                    for col in (
                        Contact.name,
                        Contact.title,
                        Contact.phone,
                        Contact.email,
                        Firm.name_zh,
                        Firm.name_en,
                    )
                )
            )
        )
    if f.sort is not None:
        key = f.sort
        if key.key == "firm" and f.lang == "en":
            key = Sort("firm_en", key.descending)
        order = order_by(key, CONTACT_SORTS, Contact.id)
    else:
        order = [Contact.updated_at.desc(), Contact.id.desc()]
    rows = [
        (c, zh, en)
        for c, zh, en in session.execute(stmt.order_by(*order).limit(limit).offset(offset))
    ]
    return rows, capped_count(session, stmt, Contact.id)


def contact_rows(rows: list[tuple[Contact, str, str | None]], lang: str) -> list[dict[str, Any]]:
    """The list's rows as an export writes them: the contact and its firm's name (the
    English one for an English reader, where the firm has one)."""
    return [
        {
            "id": c.id,
            "name": c.name,
            "title": c.title,
            "firm_id": c.firm_id,
            "firm": (en or zh) if lang == "en" else zh,
            "phone": c.phone,
            "email": c.email,
            "wechat": c.wechat,
            "notes": c.notes,
            "updated_at": c.updated_at,
        }
        for c, zh, en in rows
    ]


def contact_public(c: Contact) -> dict[str, Any]:
    return ContactPublic.model_validate(c, from_attributes=True).model_dump(mode="json")


def get_contact(session: Session, actor: User, contact_id: int) -> Contact:
    return get_or_not_found(session, Contact, contact_id, _l("联系人不存在"))


def create_contact(session: Session, actor: User, firm_id: int, data: ContactCreate) -> Contact:
    try:
        firm = get_firm(session, actor, firm_id)
    except NotFound:
        refuse_if_deleted(session, actor, "firm", firm_id)
        raise
    require_edit(actor, firm.owner_id, _owner_department(session, firm.owner_id))
    hold_parents(session, [firm_id])
    c = Contact(firm_id=firm_id, **data.model_dump())
    session.add(c)
    session.flush()
    record(session, actor.id, "create", "contact", c.id, after=snapshot(c))
    return c


def update_contact(session: Session, actor: User, contact_id: int, data: ContactUpdate) -> Contact:
    c = get_contact(session, actor, contact_id)
    firm = get_firm(session, actor, c.firm_id)
    require_edit(actor, firm.owner_id, _owner_department(session, firm.owner_id))
    check_version(c, data.version, lambda: contact_public(c))
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    if "name" in fields and not fields["name"]:
        raise ValidationFailed(_l("姓名必填"), field="name")
    apply_change(
        session,
        actor.id,
        c,
        "contact",
        data.version,
        fields,
        current=lambda: contact_public(c),
    )
    return c


def delete_contact(
    session: Session, actor: User, contact_id: int, version: int | None = None
) -> None:

    c = get_contact(session, actor, contact_id)
    firm = get_firm(session, actor, c.firm_id)
    require_edit(actor, firm.owner_id, _owner_department(session, firm.owner_id))
    check_version(c, version, lambda: contact_public(c))
    record(session, actor.id, "delete", "contact", c.id, before=snapshot(c))
    _unlink_from_activities(session, actor, contact_id)
    session.delete(c)
    session.flush()


def _unlink_from_activities(session: Session, actor: User, contact_id: int) -> None:
    """A deleted contact leaves every activity that named it — other departments' too, which
    the actor may not see (refusing because of them would tell of them). Each activity so
    changed is audited with its contacts before and after (ATTACK8 P3-9): the change shows in
    its history, not only in the contact's deletion."""
    named = list(
        session.scalars(
            select(ActivityContact.activity_id).where(ActivityContact.contact_id == contact_id)
        )
    )
    if not named:
        return
    contacts: dict[int, list[int]] = {a: [] for a in named}
    for aid, cid in session.execute(
        select(ActivityContact.activity_id, ActivityContact.contact_id)
        .where(ActivityContact.activity_id.in_(named))
        .order_by(ActivityContact.activity_id, ActivityContact.contact_id)
    ):
        contacts[aid].append(cid)
    session.execute(delete(ActivityContact).where(ActivityContact.contact_id == contact_id))
    for aid, before in contacts.items():
        after = [cid for cid in before if cid != contact_id]
        record(
            session,
            actor.id,
            "unlink_contact",
            "activity",
            aid,
            before={"contact_ids": before},
            after={"contact_ids": after},
        )
