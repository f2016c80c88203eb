"""Read-only questions about conflicts (撞单): the ones opened in a period (the managers' digest)
and the ones waiting for a decision (the managers' home and the conflicts page). They sit under
both the notices, which tell of a new conflict and resolve it, and the outbox's digest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, and_, or_, select
from sqlmodel import Session

from crm.authz import require_manager
from crm.authz.disclosure import conflict_pair_labels, project_label
from crm.db import plan_once
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


_FIRST = Project.__table__.alias("first")
_FLAGGED = Project.__table__.alias("flagged")


def _pairs(*columns: Any) -> Select[Any]:
    """Each flagged project with the project it conflicts with (``_FIRST``) and its cluster,
    when that one came first (created earlier, or at the same instant with a smaller id): the
    ``columns`` asked, then of each side its title, confidentiality, code name and department
    (the first project's four, then the later one's)."""
    First = _FIRST
    return (
        select(
            *columns,
            First.c.title,
            First.c.is_confidential,
            First.c.code_name,
            First.c.department_id,
            Project.title,
            Project.is_confidential,
            Project.code_name,
            Project.department_id,
        )
        .join(First, First.c.id == Project.conflict_with_id)
        .join(Cluster, Cluster.id == Project.cluster_id)
        .where(
            or_(
                First.c.created_at < Project.created_at,
                and_(First.c.created_at == Project.created_at, First.c.id < Project.id),
            )
        )
    )


def conflicts_between(session: Session, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Conflicts opened in [since, until) (the later project's creation), for the digest: each
    project by its code name when confidential."""
    rows = session.execute(
        _pairs(Cluster.name_zh, Cluster.name_en)
        .where(Project.created_at >= since, Project.created_at < until)
        .order_by(Project.created_at, Project.id)
    ).all()
    dept_ids = {d for r in rows for d in (r[5], r[9]) if d is not None}
    names = {
        i: n
        for i, n in session.execute(
            select(Department.id, Department.name).where(Department.id.in_(dept_ids))
        )
    }
    out = []
    for r in rows:
        # a message: beside a code name the twin is named by its department only (P3-17)
        first, later, _, _ = conflict_pair_labels(
            (r[2], r[3], r[4]), (r[6], r[7], r[8]), names.get(r[5]), names.get(r[9])
        )
        out.append(
            {
                "first": first,
                "first_dept_id": r[5],
                "later": later,
                "later_dept_id": r[9],
                "cluster": Named(r[0], r[1]),  # shown in the reader's language
            }
        )
    return out


def open_conflicts(session: Session, actor: User) -> list[ConflictRow]:
    """Conflicts waiting for a decision: the later project of each flagged pair, with the first.
    A manager sees those touching their department; an admin all."""
    require_manager(actor)
    First = _FIRST
    # only the flagged projects (a partial index holds them): asked as an IN over their ids so
    # the plan never depends on statistics (a scan in creation order looked cheaper to SQLite)
    flagged = select(_FLAGGED.c.id).where(_FLAGGED.c.conflict_with_id.is_not(None))
    stmt = (
        _pairs(First.c.id, Project.id, Cluster.code, Project.created_at)
        .where(
            Project.id.in_(flagged),
            Project.stage != Stage.lost.value,
            First.c.stage != Stage.lost.value,
        )
        .order_by(Project.created_at.desc(), Project.id.desc())
        .limit(200)
    )
    if actor.role != "admin":
        mine = actor.department_id
        stmt = stmt.where(or_(First.c.department_id == mine, Project.department_id == mine))
    rows = session.execute(plan_once(stmt)).all()
    depts = {r[7] for r in rows} | {r[11] for r in rows}
    names = (
        {
            i: n
            for i, n in session.execute(
                plan_once(
                    select(Department.id, Department.name).where(Department.id.in_(depts - {None}))
                )
            )
        }
        if rows
        else {}
    )
    return [
        ConflictRow(
            first_id=r[0],
            first_label=project_label(r[4], r[5], r[6]),
            first_department=names.get(r[7]),
            later_id=r[1],
            later_label=project_label(r[8], r[9], r[10]),
            later_department=names.get(r[11]),
            cluster=r[2],
            opened_at=r[3],
        )
        for r in rows
    ]
