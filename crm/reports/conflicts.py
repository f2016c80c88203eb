"""Read-only questions about conflicts (撞单): the ones opened in a period (the managers' digest)
and the ones waiting for a decision (the managers' home and the conflicts page). They sit under
both the notices, which tell of a new conflict and resolve it, and the outbox's digest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, or_, select
from sqlmodel import Session

from crm.authz import require_manager
from crm.authz.disclosure import project_label
from crm.i18n import Named
from crm.models.accounts import Department, User
from crm.models.policy import Cluster
from crm.models.projects import Project, Stage


class ConflictRow(BaseModel):
    first_id: int
    first_label: str
    first_department: str | None
    later_id: int
    later_label: str
    later_department: str | None
    cluster: str
    opened_at: datetime


def conflicts_between(session: Session, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Conflicts opened in [since, until) (the later project's creation), for the digest: each
    project by its code name when confidential."""
    First = Project.__table__.alias("first")  # type: ignore[attr-defined]
    rows = session.execute(
        select(
            First.c.title,
            First.c.is_confidential,
            First.c.code_name,
            First.c.department_id,
            Project.title,
            Project.is_confidential,
            Project.code_name,
            Project.department_id,
            Cluster.name_zh,
            Cluster.name_en,
        )
        .join(First, First.c.id == Project.conflict_with_id)
        .join(Cluster, Cluster.id == Project.cluster_id)
        .where(
            Project.created_at >= since,
            Project.created_at < until,
            or_(
                First.c.created_at < Project.created_at,
                and_(First.c.created_at == Project.created_at, First.c.id < Project.id),
            ),
        )
        .order_by(Project.created_at, Project.id)
    ).all()
    return [
        {
            "first": project_label(r[0], r[1], r[2]),
            "first_dept_id": r[3],
            "later": project_label(r[4], r[5], r[6]),
            "later_dept_id": r[7],
            "cluster": Named(r[8], r[9]),  # shown in the reader's language
        }
        for r in rows
    ]


_FIRST = Project.__table__.alias("first")  # type: ignore[attr-defined]
_FLAGGED = Project.__table__.alias("flagged")  # type: ignore[attr-defined]


def open_conflicts(session: Session, actor: User) -> list[ConflictRow]:
    """Conflicts waiting for a decision: the later project of each flagged pair, with the first.
    A manager sees those touching their department; an admin all."""
    require_manager(actor)
    First = _FIRST
    # only the flagged projects (a partial index holds them): asked as an IN over their ids so
    # the plan never depends on statistics (a scan in creation order looked cheaper to SQLite)
    flagged = select(_FLAGGED.c.id).where(_FLAGGED.c.conflict_with_id.is_not(None))
    stmt = (
        select(
            First.c.id,
            First.c.title,
            First.c.is_confidential,
            First.c.code_name,
            First.c.department_id,
            Project.id,
            Project.title,
            Project.is_confidential,
            Project.code_name,
            Project.department_id,
            Cluster.code,
            Project.created_at,
        )
        .join(First, First.c.id == Project.conflict_with_id)
        .join(Cluster, Cluster.id == Project.cluster_id)
        .where(
            Project.id.in_(flagged),
            Project.stage != Stage.lost.value,
            First.c.stage != Stage.lost.value,
            or_(
                First.c.created_at < Project.created_at,
                and_(First.c.created_at == Project.created_at, First.c.id < Project.id),
            ),
        )
        .order_by(Project.created_at.desc(), Project.id.desc())
        .limit(200)
    )
    if actor.role != "admin":
        mine = actor.department_id
        stmt = stmt.where(or_(First.c.department_id == mine, Project.department_id == mine))
    rows = session.execute(stmt).all()
    depts = {r[4] for r in rows} | {r[9] for r in rows}
    names = (
        {
            i: n
            for i, n in session.execute(
                select(Department.id, Department.name).where(Department.id.in_(depts - {None}))
            )
        }
        if rows
        else {}
    )
    return [
        ConflictRow(
            first_id=r[0],
            first_label=project_label(r[1], r[2], r[3]),
            first_department=names.get(r[4]),
            later_id=r[5],
            later_label=project_label(r[6], r[7], r[8]),
            later_department=names.get(r[9]),
            cluster=r[10],
            opened_at=r[11],
        )
        for r in rows
    ]
