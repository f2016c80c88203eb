"""Import contacts: matched to their firm, re-imports leave them as they are."""

from __future__ import annotations

import re

from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session

from crm.authz import require_edit
from crm.changes import apply_change
from crm.errors import PermissionDenied
from crm.firms.schemas import ContactCreate
from crm.i18n import Message, _l
from crm.imports import progress
from crm.imports.columns import headers_of
from crm.imports.common import (
    ImportReport,
    RowError,
    _firm_ids_by_name,
    _insert_many,
    _pydantic_errors,
    _row_firm,
)
from crm.imports.importer import Importer, Run
from crm.models.accounts import User
from crm.models.firms import Contact, Firm
from crm.types import utcnow

CONTACT_HEADERS = headers_of("contacts")


def _contact_key(
    firm_id: int, name: str, phone: str | None, email: str | None
) -> tuple[int, str, str]:
    """A contact's match key: firm + name + phone (digits), or email when there is no phone."""
    digits = re.sub(r"\D", "", phone or "")
    return (firm_id, (name or "").strip().lower(), digits or (email or "").strip().lower())


_FIELDS = ("name", "title", "phone", "email", "wechat", "notes")


def _edit_refusals(session: Session, actor: User) -> dict[int, Message]:
    """Why ``actor`` may not change each firm's contacts (the firms it may change are absent):
    the rule of the contact service, ``require_edit`` on the firm's owner and the owner's
    department, read for every firm in one query."""
    out: dict[int, Message] = {}
    owned = session.execute(
        select(Firm.id, Firm.owner_id, User.department_id).outerjoin(User, User.id == Firm.owner_id)
    )
    for fid, owner_id, dept in owned:
        try:
            require_edit(actor, owner_id, dept)
        except PermissionDenied as exc:
            out[fid] = exc.message
    return out


def _row_contact(
    firms: dict[str, int],
    refused: dict[int, Message],
    i: int,
    row: dict[str, str],
    errs: list[RowError],
) -> tuple[int | None, ContactCreate | None]:
    """A row's firm (one the importer may change) and contact, or the errors beside them."""
    fid = _row_firm(firms, i, row, errs)
    if fid is not None and fid in refused:
        errs.append(RowError(i, "firm", refused[fid]))
    try:
        return fid, ContactCreate(**{k: (row.get(k) or None) for k in _FIELDS})
    except ValidationError as exc:
        errs.extend(_pydantic_errors(i, exc))
        return fid, None


def _import_contacts(run: Run) -> ImportReport:
    """Import contacts; each row names its firm (name, alias or credit code). A row matching a
    contact already there (firm + name + phone or email) is left as it is — or, with
    ``update_matching``, given the row's values (the file's columns only) — so re-importing a
    file changes nothing. A row whose firm the importer may not change (the contact service's
    rule: owner, owning department, ownerless firm, admin) is rejected; each update goes
    through ``apply_change`` and is audited with its values before and after."""
    session, rep = run.session, run.rep
    firms = _firm_ids_by_name(session)
    refused = _edit_refusals(session, run.actor)
    columns = [k for k in _FIELDS if k in run.sheet.labels]
    existing = {
        _contact_key(f, n, p, e): (cid, (n, t, p, e, w, notes))
        for cid, f, n, t, p, e, w, notes in session.execute(
            select(
                Contact.id,
                Contact.firm_id,
                Contact.name,
                Contact.title,
                Contact.phone,
                Contact.email,
                Contact.wechat,
                Contact.notes,
            )
        )
    }
    seen: dict[tuple[int, str, str], int] = {}
    good = []
    updates: list[tuple[int, dict[str, str | None]]] = []
    now = utcnow()
    for i, row in progress.rows(run.sheet.rows, "checking"):
        errs: list[RowError] = []
        fid, c = _row_contact(firms, refused, i, row, errs)
        if errs or fid is None or c is None:
            rep.rejected.extend(errs)
            continue
        key = _contact_key(fid, c.name, c.phone, c.email)
        if key in seen:
            rep.rejected.append(RowError(i, "name", _l("与第 %(row)s 行重复", row=seen[key])))
            continue
        seen[key] = i
        if key in existing:
            cid, stored = existing[key]
            values = c.model_dump()
            fields = {k: values[k] for k in columns}
            if run.option("update_matching") and any(
                fields[k] != stored[_FIELDS.index(k)] for k in fields
            ):
                updates.append((cid, fields))
            else:
                rep.unchanged += 1
            continue
        good.append(
            {"firm_id": fid, **c.model_dump(), "created_at": now, "updated_at": now, "version": 1}
        )
    rep.updated = len(updates)
    if run.stops(len(good)):
        return rep
    progress.tick("importing", 0, len(good) + len(updates))
    _insert_many(session, Contact.__table__, good)
    for cid, fields in updates:
        contact = session.get(Contact, cid)
        if contact is not None:  # the contact service's audited change: before and after
            apply_change(session, run.actor.id, contact, "contact", None, fields)
    return run.applied("contact", len(good), updated=len(updates))


import_contacts = Importer("contacts", CONTACT_HEADERS, _import_contacts)
