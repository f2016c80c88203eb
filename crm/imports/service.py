"""Import firms, contacts and projects from .xlsx / .csv: every row checked first, a row-by-row
report of what was rejected and why, and nothing half-imported (one transaction, all or nothing;
with ``skip_invalid`` the valid rows go in together and the rejected ones are listed)."""

from __future__ import annotations

from typing import Unpack

from sqlmodel import Session

from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.imports.common import ImportReport, RowError
from crm.imports.contacts import CONTACT_HEADERS, import_contacts
from crm.imports.firms import FIRM_HEADERS, import_firms
from crm.imports.importer import Importer, ImportOptions
from crm.imports.projects import PROJECT_HEADERS, import_projects
from crm.models.accounts import User

IMPORTERS: dict[str, Importer] = {
    "firms": import_firms,
    "contacts": import_contacts,
    "projects": import_projects,
}


def run_import(
    session: Session,
    actor: User,
    kind: str,
    data: bytes,
    filename: str,
    **options: Unpack[ImportOptions],
) -> ImportReport:
    """Import ``kind``: each kind takes the options that are its question (a firm matches by
    its name: nothing to update; possible duplicates are a firm's question) and ignores the
    others."""
    if kind not in IMPORTERS:
        raise ValidationFailed(_l("未知导入类型：%(kind)s", kind=kind[:20]), field="kind")
    return IMPORTERS[kind](session, actor, data, filename, **options)


__all__ = [
    "CONTACT_HEADERS",
    "FIRM_HEADERS",
    "IMPORTERS",
    "PROJECT_HEADERS",
    "ImportReport",
    "RowError",
    "import_contacts",
    "import_firms",
    "import_projects",
    "run_import",
]
