"""Import contacts: matched to their firm, re-imports leave them as they are."""

from __future__ import annotations

import re

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlmodel import Session

from crm.audit.service import record
from crm.authz import require_manager
from crm.firms.schemas import ContactCreate
from crm.i18n import _l
from crm.imports import progress
from crm.imports.common import (
    ImportReport,
    RowError,
    _firm_ids_by_name,
    _insert_many,
    _pydantic_errors,
    _row_firm,
    _without_cyclic_gc,
)
from crm.imports.reader import accepted_headers, read_rows
from crm.models.accounts import User
from crm.models.firms import Contact
from crm.types import utcnow

CONTACT_HEADERS = accepted_headers(
    {
        "企业名称": "firm",
        "企业": "firm",
        "firm": "firm",
        "姓名": "name",
        "name": "name",
        "职务": "title",
        "title": "title",
        "电话": "phone",
        "phone": "phone",
        "邮箱": "email",
        "email": "email",
        "微信": "wechat",
        "wechat": "wechat",
        "备注": "notes",
        "notes": "notes",
    }
)


def _contact_key(
    firm_id: int, name: str, phone: str | None, email: str | None
) -> tuple[int, str, str]:
    """A contact's match key: firm + name + phone (digits), or email when there is no phone."""
    digits = re.sub(r"\D", "", phone or "")
    return (firm_id, (name or "").strip().lower(), digits or (email or "").strip().lower())


@_without_cyclic_gc
def import_contacts(
    session: Session,
    actor: User,
    data: bytes,
    filename: str,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
    update_matching: bool = False,
) -> ImportReport:
    """Import contacts; each row names its firm (name, alias or credit code). A row matching a
    contact already there (firm + name + phone or email) is left as it is — or, with
    ``update_matching``, given the row's values — so re-importing a file changes nothing."""
    require_manager(actor)
    sheet = read_rows(data, filename, CONTACT_HEADERS)
    rep = ImportReport(
        "contacts", len(sheet.rows), dry_run=dry_run, labels=sheet.labels, sheet=sheet
    )
    firms = _firm_ids_by_name(session)
    existing = {
        _contact_key(f, n, p, e): (cid, ver)
        for cid, f, n, p, e, ver in session.execute(
            select(
                Contact.id,
                Contact.firm_id,
                Contact.name,
                Contact.phone,
                Contact.email,
                Contact.version,
            )
        )
    }
    seen: dict[tuple[int, str, str], int] = {}
    good = []
    updates = []
    now = utcnow()
    for i, row in progress.rows(sheet.rows, "checking"):
        errs: list[RowError] = []
        fid = _row_firm(firms, i, row, errs)
        try:
            c = ContactCreate(
                **{
                    k: (row.get(k) or None)
                    for k in ("name", "title", "phone", "email", "wechat", "notes")
                }
            )
        except ValidationError as exc:
            errs.extend(_pydantic_errors(i, exc))
        if errs or fid is None:
            rep.rejected.extend(errs)
            continue
        key = _contact_key(fid, c.name, c.phone, c.email)
        if key in seen:
            rep.rejected.append(RowError(i, "name", _l("与第 %(row)s 行重复", row=seen[key])))
            continue
        seen[key] = i
        if key in existing:
            if update_matching:
                cid, ver = existing[key]
                updates.append(
                    {"b_id": cid, **c.model_dump(), "updated_at": now, "version": ver + 1}
                )
            else:
                rep.unchanged += 1
            continue
        good.append(
            {"firm_id": fid, **c.model_dump(), "created_at": now, "updated_at": now, "version": 1}
        )
    rep.updated = len(updates)
    if dry_run or (rep.rejected and not skip_invalid):
        rep.imported = len(good) if dry_run else 0
        return rep
    progress.tick("importing", 0, len(good) + len(updates))
    _insert_many(session, Contact.__table__, good)
    if updates:
        from sqlalchemy import bindparam

        t = Contact.__table__
        session.execute(
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values({k: bindparam(k) for k in updates[0] if k != "b_id"}),
            updates,
        )
    rep.imported, rep.applied = len(good), True
    record(
        session,
        actor.id,
        "import",
        "contact",
        None,
        after={
            "file": filename[:200],
            "imported": len(good),
            "updated": len(updates),
            "rejected": len(rep.rejected),
        },
    )
    session.flush()
    return rep
