"""Import firms, contacts and projects from .xlsx / .csv: every row checked first, a row-by-row
report of what was rejected and why, and nothing half-imported (one transaction, all or nothing;
with ``skip_invalid`` the valid rows go in together and the rejected ones are listed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.imports.common import ImportReport, RowError
from crm.imports.contacts import CONTACT_HEADERS, import_contacts
from crm.imports.firms import FIRM_HEADERS, import_firms
from crm.imports.projects import PROJECT_HEADERS, import_projects
from crm.models.accounts import User

IMPORTERS: dict[str, Callable[..., ImportReport]] = {
    "firms": import_firms,
    "contacts": import_contacts,
    "projects": import_projects,
}


def run_import(
    session: Session, actor: User, kind: str, data: bytes, filename: str, **kw: Any
) -> ImportReport:
    if kind == "firms":
        kw.pop("update_matching", None)  # a firm matches by its name: nothing to update
    else:
        kw.pop("confirmed", None)  # possible duplicates are a firm's question
    if kind not in IMPORTERS:
        raise ValidationFailed(_l("未知导入类型：%(kind)s", kind=kind[:20]), field="kind")
    return IMPORTERS[kind](session, actor, data, filename, **kw)


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
