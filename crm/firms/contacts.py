"""A firm's contacts: list, add, change, remove (edits follow the firm's edit rule)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session

from crm.audit.service import record, snapshot
from crm.authz import require_edit
from crm.changes import apply_change, check_version
from crm.errors import NotFound, StaleVersion, ValidationFailed
from crm.firms.queries import _owner_department, get_firm
from crm.firms.schemas import ContactCreate, ContactPublic, ContactUpdate
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.activities import ActivityContact
from crm.models.firms import Contact


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
    total = (
        session.scalar(
            select(func.count()).select_from(
                stmt.with_only_columns(Contact.id).limit(10_001).subquery()
            )
        )
        or 0
    )
    return rows, total


def contact_public(c: Contact) -> dict[str, Any]:
    return ContactPublic.model_validate(c, from_attributes=True).model_dump(mode="json")


def get_contact(session: Session, actor: User, contact_id: int) -> Contact:
    c = session.get(Contact, contact_id)
    if c is None:
        raise NotFound(_l("联系人不存在"))
    return c


def create_contact(session: Session, actor: User, firm_id: int, data: ContactCreate) -> Contact:
    firm = get_firm(session, actor, firm_id)
    require_edit(actor, firm.owner_id, _owner_department(session, firm.owner_id))
    c = Contact(firm_id=firm_id, **data.model_dump())
    session.add(c)
    session.flush()
    record(session, actor.id, "create", "contact", c.id, after=snapshot(c))
    return c


def update_contact(session: Session, actor: User, contact_id: int, data: ContactUpdate) -> Contact:
    c = get_contact(session, actor, contact_id)
    firm = get_firm(session, actor, c.firm_id)
    require_edit(actor, firm.owner_id, _owner_department(session, firm.owner_id))
    check_version(c, data.version, lambda: contact_public(c), _l("记录已被他人修改"))
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
        stale_message=_l("记录已被他人修改"),
    )
    return c


def delete_contact(
    session: Session, actor: User, contact_id: int, version: int | None = None
) -> None:

    c = get_contact(session, actor, contact_id)
    firm = get_firm(session, actor, c.firm_id)
    require_edit(actor, firm.owner_id, _owner_department(session, firm.owner_id))
    if version is not None and version != c.version:
        raise StaleVersion(_l("记录已被他人修改"), current=contact_public(c))
    session.execute(delete(ActivityContact).where(ActivityContact.contact_id == contact_id))
    record(session, actor.id, "delete", "contact", c.id, before=snapshot(c))
    session.delete(c)
    session.flush()
