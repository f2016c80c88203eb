"""Read-only questions about conflicts (撞单), for the digest as much as for the notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlmodel import Session

from crm.models.policy import Cluster
from crm.models.projects import Project
from crm.reports.common import project_label


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
            "cluster": r[8],
        }
        for r in rows
    ]
