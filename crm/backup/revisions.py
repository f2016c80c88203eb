"""Which migration a copy is at: the revisions this code knows, its head, and the refusal of a
copy that is not a CRM database or is at a migration this code does not know."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.script import ScriptDirectory

from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.migrate import alembic_config

# tables every CRM database has had since its first migration
CORE_TABLES = ("alembic_version", "firm", "project")


def known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def crm_revision(tables: set[str], execute: Callable[[str], Any]) -> str:
    """A copy to restore is a CRM database (it has the core tables, checked first) at one
    migration this code knows (read with ``execute``, a connection's)."""
    missing = [t for t in CORE_TABLES if t not in tables]
    if missing:
        raise ValidationFailed(
            _l("这不是CRM数据库（缺少表 %(tables)s）", tables=", ".join(missing))
        )
    rows = execute("select version_num from alembic_version").fetchall()
    return known_revision(rows[0][0] if len(rows) == 1 else None)


def known_revision(rev: str | None) -> str:
    if rev is None or rev not in known_revisions():
        raise ValidationFailed(
            _l(
                "备份的数据库版本未知（%(rev)s）：不是本系统的CRM数据库，或来自更新的版本",
                rev=str(rev)[:60],
            )
        )
    return rev
