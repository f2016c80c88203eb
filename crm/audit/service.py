"""Write audit rows beside the change they describe, in the same transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, overload

from sqlalchemy import select
from sqlmodel import Session, SQLModel

from crm.authz import require_admin
from crm.context import current_ip
from crm.models.accounts import User
from crm.models.audit import AuditRecord

_SKIP = {
    "password_hash",
    "search_text",
    "name_pinyin",
    "name_initials",
    "furthest_stage",  # derived from the stage history, like the search columns
    "ical_token",
    "token_hash",
    "webhook_secret",
    "webhook_url",
}  # a robot URL carries its key


@overload
def snapshot(obj: SQLModel | dict[str, Any]) -> dict[str, Any]: ...
@overload
def snapshot(obj: None) -> None: ...
@overload
def snapshot(obj: SQLModel | dict[str, Any] | None) -> dict[str, Any] | None: ...
def snapshot(obj: SQLModel | dict[str, Any] | None) -> dict[str, Any] | None:
    """The fields of a row as JSON-friendly values, secrets left out."""
    if obj is None:
        return None
    data = obj if isinstance(obj, dict) else obj.model_dump()
    out: dict[str, Any] = {}
    for k, v in data.items():
        if k in _SKIP:
            continue
        if isinstance(v, Decimal):
            v = str(v)
        elif isinstance(v, datetime | date):
            v = v.isoformat()
        out[k] = v
    return out


def record(
    session: Session,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditRecord:
    """Add one audit row (flushed with the caller's change, rolled back with it)."""
    if before is not None and after is not None:
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        before = {k: before.get(k) for k in changed}
        after = {k: after.get(k) for k in changed}
    row = AuditRecord(
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=json.dumps(before, ensure_ascii=False, default=str) if before is not None else None,
        after=json.dumps(after, ensure_ascii=False, default=str) if after is not None else None,
        ip=session.info.get("client_ip") or current_ip(),
    )
    session.add(row)
    return row


@dataclass
class AuditFilters:
    actor_id: int | None = None
    actor_username: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive, UTC
    until: datetime | None = None  # exclusive, UTC


@dataclass
class AuditPage:
    rows: list[tuple[AuditRecord, str | None]]  # (row, actor's user name)
    page: int
    has_next: bool


def list_audit(
    session: Session, actor: Any, f: AuditFilters, page: int = 1, per_page: int = 50
) -> AuditPage:
    """The audit trail, newest first (admins only). Read-only: nothing here changes a row."""

    require_admin(actor)
    page = max(1, min(page, 10_000))
    q = select(AuditRecord, User.username).outerjoin(User, User.id == AuditRecord.actor_id)
    # each filter given (an empty text is none; an actor id may be any number) narrows by equality
    for column, value in (
        (AuditRecord.actor_id, f.actor_id),
        (User.username, f.actor_username or None),
        (AuditRecord.entity, f.entity or None),
        (AuditRecord.entity_id, f.entity_id or None),
        (AuditRecord.action, f.action or None),
    ):
        if value is not None:
            q = q.where(column == value)
    if f.since is not None:
        q = q.where(AuditRecord.at >= f.since)
    if f.until is not None:
        q = q.where(AuditRecord.at < f.until)
    q = q.order_by(AuditRecord.id.desc()).offset((page - 1) * per_page).limit(per_page + 1)
    rows = [(r, name) for r, name in session.execute(q)]
    return AuditPage(rows=rows[:per_page], page=page, has_next=len(rows) > per_page)


def audit_vocabulary(session: Session) -> tuple[list[str], list[str]]:
    """The entities and actions that occur, for the filter menus."""
    entities = list(
        session.scalars(select(AuditRecord.entity).distinct().order_by(AuditRecord.entity))
    )
    actions = list(
        session.scalars(select(AuditRecord.action).distinct().order_by(AuditRecord.action))
    )
    return entities, actions
