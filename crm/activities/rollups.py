"""A project's first contact and last activity (the activity report's response time), kept by
the contacts it is linked to: moved forward when one is logged (``touch_projects``), computed
again from the contacts it still has when one is edited, unlinked or deleted
(``recompute_rollups``); both under the projects' row locks (``locked_fresh``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from crm.audit.service import record
from crm.authz import can_edit_owned
from crm.authz.rules import Editor
from crm.clock import as_utc
from crm.models.accounts import User
from crm.models.activities import (
    Activity,
    ActivityProject,
)
from crm.models.projects import Project
from crm.types import stored_id, utcnow

# a contact up to a day before the lead was entered is the one it came out of (met in the
# morning, entered back at the office): a response of 0 hours; the same day's slack as the
# future-date check (zones and clocks apart)
RESPONSE_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class _Logger:
    """Who logged a contact, as they were then (the activity keeps their department)."""

    id: int | None
    role: str
    department_id: int | None


# who logged an activity, as the edit rule sees them (_Logger): its author, the author's role, and
# the department the activity keeps (theirs when they logged it)
_LOGGED_BY = (Activity.created_by_id, User.role, Activity.department_id)


def _counts_as_response(p: Project, when: datetime, logger: Editor) -> bool:
    """Whether a contact is the lead's response (its ``first_contact_at``; SPEC §3 "the time from
    its creation as a lead to its first logged contact"): logged by the project's own people
    (crm.authz's edit rule) and dated after the project's creation, or at most a day before it
    (the activity report counts that as 0 hours). A contact dated earlier is the firm's
    history (the office logs past visits), not a response to the lead: it never makes a lead
    look answered."""
    return when >= as_utc(p.created_at) - RESPONSE_SLACK and can_edit_owned(
        logger, p.owner_id, p.department_id
    )


def _save_rollups(
    session: Session, actor: User, p: Project, first: datetime | None, last: datetime | None
) -> None:
    touched = {
        k: v
        for k, v in (("first_contact_at", first), ("last_activity_at", last))
        if (as_utc(getattr(p, k)) if getattr(p, k) else None) != v
    }
    if not touched:
        return
    before = {k: getattr(p, k) for k in touched}
    for k, v in touched.items():
        setattr(p, k, v)
    p.updated_at = utcnow()
    session.add(p)
    record(session, actor.id, "touch", "project", p.id, before=before, after=touched)


def locked_fresh(session: Session, project_ids: list[int]) -> list[Project]:
    """Projects whose rollups are about to be written, their rows locked (PostgreSQL
    ``FOR UPDATE`` in id order; SQLite's writer holds the database) and read afresh: a contact
    logged or deleted on them at the same moment finishes first, and then its effect is seen —
    never a rollup computed from what another writer was changing (ATTACK8 P2-6: a project's
    last contact left empty though a contact had just been logged). The rollups are written
    without a version bump, so the version check cannot catch this race."""
    if not project_ids:
        return []
    return list(
        session.scalars(
            select(Project)
            .where(Project.id.in_(sorted(project_ids)))
            .order_by(Project.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def touch_projects(session: Session, actor: User, projects: list[Project], when: datetime) -> None:
    """A new contact: it can only move a project's first contact earlier and its last later."""
    for p in projects:
        first, last = p.first_contact_at, p.last_activity_at
        if (first is None or when < first) and _counts_as_response(p, when, actor):
            first = when
        if last is None or when > last:
            last = when
        _save_rollups(session, actor, p, first, last)


def recompute_rollups(session: Session, actor: User, project_ids: set[int]) -> None:
    """A project's ``first_contact_at`` and ``last_activity_at`` from the activities it still
    has — after an activity's date is edited, it is unlinked from a project or deleted (the one
    place every path comes through: API, pages). The first contact follows the rule of
    ``_counts_as_response`` with the one who logged each contact (their department when they
    logged it)."""
    if not project_ids:
        return
    session.flush()
    ids = sorted(project_ids)
    projects = locked_fresh(session, ids)  # before their contacts are read
    rows: dict[int, list[tuple[datetime, Editor]]] = {i: [] for i in ids}
    loggers: dict[tuple[Any, ...], Editor] = {}  # one per distinct (author, role, department)
    for pid, when, *logged_by in session.execute(
        select(ActivityProject.project_id, Activity.occurred_at, *_LOGGED_BY)
        .join(Activity, Activity.id == ActivityProject.activity_id)
        .outerjoin(User, User.id == Activity.created_by_id)
        .where(ActivityProject.project_id.in_(ids))
    ):
        key = tuple(logged_by)
        if key not in loggers:
            uid, role, dept = key
            loggers[key] = _Logger(uid, role or "", dept)
        rows[pid].append((as_utc(when), loggers[key]))
    for p in projects:
        dated = rows[stored_id(p)]
        counted = [w for w, who in dated if _counts_as_response(p, w, who)]
        _save_rollups(
            session,
            actor,
            p,
            min(counted, default=None),
            max((w for w, _ in dated), default=None),
        )
    session.flush()
