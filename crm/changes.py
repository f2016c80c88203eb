"""The one way a versioned row changes, so that a refused change saves nothing.

``apply_change`` checks the caller's version, drops the fields that would not change, validates
a *copy* of the row with the new values (nothing is assigned before every check has passed),
then assigns, bumps the version, flushes and writes the audit row. A change that changes
nothing writes no row and bumps nothing. Services call it for every update of a row with a
``version`` column."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, SQLModel

from crm.audit.service import record, snapshot
from crm.errors import StaleVersion, ValidationFailed
from crm.i18n import Message, _l
from crm.types import utcnow

STALE = _l("记录已被他人修改")


def check_version(
    row: Any,
    version: int | None,
    current: Callable[[], Any] | None = None,
    message: Message = STALE,
) -> None:
    """The caller's version must be the row's current one (else 409). The transports require
    it (API schemas, ``web`` forms); None is the domain's own callers (jobs, CLI)."""
    if version is not None and version != row.version:
        raise StaleVersion(message, current=current() if current else None)


@dataclass(frozen=True)
class LinkChange:
    """A set held in another table (a firm's aliases, its clusters): its value before and
    after, and how to write it. It changes (and is audited) only when ``before != after``."""

    before: Any
    after: Any
    write: Callable[[], None]


def apply_change(
    session: Session,
    actor_id: int | None,
    row: SQLModel,
    entity: str,
    version: int | None,
    changes: dict[str, Any],
    *,
    validate: Callable[[Any], None] | None = None,
    current: Callable[[], Any] | None = None,
    action: str = "update",
    stale_message: Message = STALE,
    touch: bool = True,
    links: Mapping[str, LinkChange] | None = None,
    note: Mapping[str, Any] | None = None,
) -> bool:
    """Check version → validate a copy → assign → bump → flush → audit. True if it changed.

    ``links``: sets kept in other tables, written after the row's own fields and audited
    beside them. ``note``: what the audit row says beside the columns, in its ``after`` only (a
    撞单 decision's kind and the project kept). Secrets are left out of the audit row
    (``audit.service.snapshot``)."""
    check_version(row, version, current, stale_message)
    changed = {k: v for k, v in changes.items() if getattr(row, k) != v}
    moved = {k: link for k, link in (links or {}).items() if link.before != link.after}
    if not changed and not moved:
        return False
    columns = row.__table__.columns  # type: ignore[attr-defined]
    for k, v in changed.items():
        # null on a required column (a project's title): the caller's error, never the database's
        if v is None and k in columns and not columns[k].nullable:
            raise ValidationFailed(_l("必填"), field=k)
    if validate is not None:
        validate(SimpleNamespace(**{**row.model_dump(), **changed}))
    before = {**(snapshot(row) or {}), **{k: link.before for k, link in moved.items()}}
    for k, v in changed.items():
        setattr(row, k, v)
    for link in moved.values():
        link.write()
    row.version += 1  # type: ignore[attr-defined]
    if touch and hasattr(row, "updated_at"):
        row.updated_at = utcnow()
    session.add(row)
    try:
        session.flush()
    except StaleDataError:  # another writer saved this version first (crm.types.Versioned)
        raise StaleVersion(stale_message, current=_after_lost_race(session, current)) from None
    after = {
        **(snapshot(row) or {}),
        **{k: link.after for k, link in moved.items()},
        **(note or {}),
    }
    record(session, actor_id, action, entity, row.id, before=before, after=after)  # type: ignore[attr-defined]
    return True


def _after_lost_race(session: Session, current: Callable[[], Any] | None) -> Any:
    """The row as the writer who won saved it, for the 409. The failed flush left the
    transaction needing a rollback (PostgreSQL: the guarded UPDATE waited for the winner, then
    matched nothing), so reading the row now would raise — the 500 ATTACK8 P2-11 saw. Nothing of
    this transaction may be kept, so it is rolled back and the row read afresh. Inside a
    savepoint (an import's row, a form's nested write) the savepoint is its owner's to roll
    back: the 409 then goes without the row."""
    if session.get_nested_transaction() is not None:
        return None
    session.rollback()
    return current() if current else None
