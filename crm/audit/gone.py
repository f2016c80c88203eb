"""A record added under a firm or a project that is being deleted, or was: the add and the
deletion lock the parent rows first, in one order (the firm, then the project:
``crm.db.lock_parents``), and an add whose parent is gone is refused as a conflict saying so
(409) — never "not found" for a record that was there, never a foreign-key error or a
deadlock, nothing half-written. The deletions (``crm.firms.service.delete_firm``,
``crm.projects.service.delete_project``) take the same locks before they count what still
refers to the row."""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session

from crm.authz import may_know_project
from crm.db import lock_parents
from crm.errors import Conflict
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.audit import AuditRecord
from crm.models.firms import Firm
from crm.models.projects import Project

GONE = {
    "firm": _l("该企业已被删除或合并，本次未保存，请刷新后查看"),
    "project": _l("该项目已被删除，本次未保存，请刷新后查看"),
}
# how many merges a firm's record is followed through to the firm it is part of now
MERGE_HOPS = 8


class ParentGone(Conflict):
    """The 409 of an add whose firm or project is gone (deleted, or merged into another firm:
    ``merged_into``, that firm's id, when the merge is known and the firm is still there)."""


def gone(entity: str, *, field: str | None = None) -> Conflict:
    """The 409 for an add whose parent (``entity``: "firm" or "project") is gone."""
    return ParentGone(GONE[entity], field=field)


def merged_into(session: Session, firm_id: int) -> tuple[int, str] | None:
    """The firm (id, name) a merged-away firm's record is part of now — through later merges
    too — from the merges' audit rows, or None (not merged, or that firm deleted since). Read
    only when an add names a missing firm: a scan of the few merge rows."""
    merges: dict[int, int] = {}  # other → survivor, the latest merge of each
    rows = session.execute(
        select(AuditRecord.entity_id, AuditRecord.after)
        .where(AuditRecord.entity == "firm", AuditRecord.action == "merge")
        .order_by(AuditRecord.id)
    )
    for survivor, after in rows:
        try:
            other = json.loads(after or "{}")["before"]["other"]["id"]
            merges[int(other)] = int(survivor)
        except (ValueError, KeyError, TypeError):
            continue
    at = firm_id
    for _ in range(MERGE_HOPS):
        if at not in merges:
            break
        at = merges[at]
        name = session.scalar(select(Firm.name_zh).where(Firm.id == at))
        if name is not None:
            return at, name
    return None


def refuse_if_deleted(
    session: Session, actor: User, entity: str, row_id: int, *, field: str | None = None
) -> None:
    """An add names a firm or project that is not there: if it was there and was deleted or
    (a firm) merged into another (its audit trail says so; ids are never reused), the add lost
    to the deletion or came from a page older than it, and is refused as a conflict saying so
    — a merged firm's with the firm it went into. A confidential project's deletion is told
    only to those who could see the project; anything else returns (the caller's own "not
    found" follows)."""
    before = session.scalar(
        select(AuditRecord.before)
        .where(
            AuditRecord.entity == entity,
            AuditRecord.entity_id == str(row_id),
            AuditRecord.action == "delete",
        )
        .limit(1)
    )
    if before is None:
        if entity == "firm" and (went := merged_into(session, row_id)) is not None:
            raise ParentGone(
                _l(
                    "该企业已合并到“%(name)s”，本次未保存，请在该企业下重新填写",
                    name=went[1],
                ),
                field=field,
                merged_into=went[0],
            )
        return
    if entity == "project":
        was = json.loads(before)
        if not may_know_project(actor, bool(was.get("is_confidential")), was.get("department_id")):
            return
    raise gone(entity, field=field)


def hold_parents(
    session: Session,
    firm_ids: Iterable[int | None] = (),
    project_ids: Iterable[int | None] = (),
    *,
    firm_field: str | None = None,
    project_field: str | None = None,
) -> None:
    """Lock the firms, then the projects, a record is about to be added under (PostgreSQL;
    SQLite's writer holds the database); one deleted or merged away while this waited → 409."""
    for model, ids, entity, field in (
        (Firm, firm_ids, "firm", firm_field),
        (Project, project_ids, "project", project_field),
    ):
        wanted = {i for i in ids if i is not None}
        if wanted and lock_parents(session, model, wanted) != wanted:
            raise gone(entity, field=field)
