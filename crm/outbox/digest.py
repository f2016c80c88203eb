"""The weekly digest (``compose_weekly_digest``): the week's new projects, stage moves,
signings, conflicts, coverage gaps and overdue follow-ups, written to the outbox once per week
for each manager (the city's figures) and each department's group robot (its own department's);
the composers' shared parts are in compose.py."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from crm.authz.disclosure import project_label
from crm.clock import day_bounds, today_local, week_start
from crm.models.accounts import Department, Role, User
from crm.models.firms import Firm
from crm.models.followups import Followup
from crm.models.policy import Cluster
from crm.models.projects import Project, StageChange
from crm.outbox.compose import MAX_ITEMS, department_robots, robot_message
from crm.outbox.render import email_message, render_message
from crm.outbox.service import enqueue_many, existing_keys
from crm.reports.conflicts import conflicts_between
from crm.reports.coverage import coverage_report
from crm.types import utcnow
from crm.vocabulary import Stage

# ---- weekly digest ----------------------------------------------------------------------------


def coverage_gaps(session: Session, actor: Any) -> list[Any]:
    """Clusters with no major investor's project at any active stage (SPEC §5 ``gap``), from
    the coverage report itself, as ``actor`` (a manager) sees it."""

    return [c for c in coverage_report(session, actor).clusters if c.status == "gap"]


def compose_weekly_digest(
    session: Session, day: date | None = None, now: datetime | None = None
) -> int:
    """The week's digest for each manager: new projects, stage moves, signings, coverage gaps
    and overdue follow-ups per officer (their department's; every department for admins)."""
    now = now or utcnow()
    day = day or today_local(now)
    this_week = week_start(day)
    since, _ = day_bounds(this_week - timedelta(days=7))
    until, _ = day_bounds(this_week)
    managers = list(
        session.execute(
            select(
                User.id, User.display_name, User.email, User.language, User.department_id, User.role
            ).where(
                User.role.in_((Role.manager.value, Role.admin.value)),
                User.is_active.is_(True),
                User.email.is_not(None),
            )
        )
    )
    keys = {m.id: f"digest:{m.id}:{this_week.isoformat()}" for m in managers}
    all_depts = {i for i in session.scalars(select(Department.id)) if i is not None}
    robots = department_robots(session, all_depts)
    robot_keys = {d: f"digest-robot:{d}:{this_week.isoformat()}" for d in robots}
    done = existing_keys(session, [*keys.values(), *robot_keys.values()])
    managers = [m for m in managers if keys[m.id] not in done]
    robots = {d: dept for d, dept in robots.items() if robot_keys[d] not in done}
    if not managers and not robots:
        return 0
    # the week's figures per department: managers read the city's, a department's group robot
    # (its officers read it) only its own department's (another's confidential projects do not
    # exist for them, SPEC §8)
    new_by_dept: dict[int | None, int] = dict(
        session.execute(
            select(Project.department_id, func.count())
            .where(Project.created_at >= since, Project.created_at < until)
            .group_by(Project.department_id)
        ).all()
    )
    move_rows = session.execute(
        select(Project.department_id, StageChange.to_stage, func.count())
        .join(Project, Project.id == StageChange.project_id)
        .where(
            StageChange.changed_at >= since,
            StageChange.changed_at < until,
            StageChange.from_stage.is_not(None),
        )
        .group_by(Project.department_id, StageChange.to_stage)
    ).all()
    signings = session.execute(
        select(
            Project.id,
            Project.title,
            Project.is_confidential,
            Project.code_name,
            Project.department_id,
            Firm.name_zh.label("firm"),
            Cluster.name_zh.label("cluster_zh"),
            Cluster.name_en.label("cluster_en"),
            StageChange.changed_at,
        )
        .join(StageChange, StageChange.project_id == Project.id)
        .join(Firm, Firm.id == Project.firm_id)
        .join(Cluster, Cluster.id == Project.cluster_id)
        .where(
            StageChange.to_stage == "signed",
            StageChange.changed_at >= since,
            StageChange.changed_at < until,
        )
        .order_by(StageChange.changed_at)
        .limit(MAX_ITEMS)
    ).all()
    reader = _digest_reader(session, managers)
    gaps = coverage_gaps(session, reader) if reader is not None else []
    overdue_rows = session.execute(
        select(User.department_id, User.display_name, func.count().label("n"))
        .join(Followup, Followup.assignee_id == User.id)
        .where(Followup.status == "open", Followup.due_at < until, User.is_active.is_(True))
        .group_by(User.department_id, User.id, User.display_name)
        .order_by(func.count().desc())
    ).all()
    sign_items = [
        {
            "project": project_label(s.title, s.is_confidential, s.code_name),
            "firm": None if s.is_confidential else s.firm,
            "cluster_zh": s.cluster_zh,
            "cluster_en": s.cluster_en,
            "link": f"/projects/{s.id}",
            "department_id": s.department_id,
        }
        for s in signings
    ]

    def figures(dept_id: int | None = None) -> dict[str, Any]:
        """New projects, stage moves and signings: the city's, or one department's."""
        mine = (lambda d: True) if dept_id is None else (lambda d: d == dept_id)
        moves: dict[str, int] = defaultdict(int)
        for d, stage, n in move_rows:
            if mine(d):
                moves[stage] += n
        return {
            "new_projects": sum(n for d, n in new_by_dept.items() if mine(d)),
            "moves": [(st.value, moves[st.value]) for st in Stage if st.value in moves],
            "move_total": sum(moves.values()),
            "signings": [s for s in sign_items if mine(s["department_id"])],
        }

    common = {
        "since": this_week - timedelta(days=7),
        "until": this_week - timedelta(days=1),
        **figures(),
        "gaps": gaps,
    }
    # conflicts (撞单) opened in the week, for the managers of the departments involved
    conflicts = conflicts_between(session, since, until)
    messages = []
    for m in managers:
        scope = [
            o
            for o in overdue_rows
            if m.role == Role.admin.value
            or m.department_id is None
            or o.department_id == m.department_id
        ]
        r = render_message(
            "weekly_digest",
            m.language,
            {
                **common,
                "name": m.display_name,
                "overdue": [(o.display_name, o.n) for o in scope[:MAX_ITEMS]],
                "conflicts": [
                    c
                    for c in conflicts
                    if m.role == Role.admin.value
                    or m.department_id in (c["first_dept_id"], c["later_dept_id"])
                ][:MAX_ITEMS],
                "briefing_link": f"/reports/briefing?week={common['since']}",
            },
        )
        messages.append(email_message(keys[m.id], "digest", m.email, m.id, r))
    # each department's group robot: its own department's figures and officers' overdue
    # follow-ups, the plan's coverage gaps
    for dept_id, dept in robots.items():
        own = [(o.display_name, o.n) for o in overdue_rows if o.department_id == dept_id]
        messages.append(
            robot_message(
                dept,
                "weekly_digest",
                robot_keys[dept_id],
                {**common, **figures(dept_id), "dept": dept.name, "overdue": own[:MAX_ITEMS]},
            )
            | {"kind": "digest"}
        )
    return enqueue_many(session, messages, now=now)


def _digest_reader(session: Session, managers: list[Any]) -> Any:
    """Whose view the coverage gaps are computed in: a manager of the digest, else an admin
    (the robots' digest when every manager already has theirs)."""
    if managers:
        return session.get(User, managers[0].id)
    return session.scalar(
        select(User)
        .where(User.role.in_((Role.admin.value, Role.manager.value)), User.is_active.is_(True))
        .order_by(User.role, User.id)
        .limit(1)
    )
