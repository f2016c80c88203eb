"""Write audit rows beside the change they describe, in the same transaction."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, SQLModel

from crm.audit.models import AuditRecord
from crm.context import current_ip

_SKIP = {"password_hash", "search_text", "name_pinyin", "name_initials", "ical_token",
         "token_hash", "webhook_secret"}


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
        ip=current_ip(),
    )
    session.add(row)
    return row
