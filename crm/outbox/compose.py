"""Compose the scheduled messages and write them to the outbox.

Each composer reads what it needs in one grouped query for every recipient at once (no query per
officer), renders the bodies from templates in each recipient's language and writes them with one
bulk INSERT … ON CONFLICT DO NOTHING, so running a composer twice writes nothing twice.
Visibility: each recipient sees only what ``crm.authz.project_visible_to_user`` lets them see,
and a confidential project is named only by its code name.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from crm.authz import project_visible_to_user
from crm.authz.disclosure import FOLLOWUP_KIND, project_label, with_followup_naming
from crm.clock import day_bounds, local_tz, today_local
from crm.config import get_settings
from crm.models.accounts import Department, User
from crm.models.firms import Firm
from crm.models.followups import Followup
from crm.models.projects import Project
from crm.outbox.render import email_message, render_message, render_robot
from crm.outbox.service import enqueue_many, existing_keys
from crm.types import utcnow
from crm.vocabulary import STALE_STAGES

MAX_ITEMS = 50  # items listed in one message; the rest are counted, with a link to the list


def _visible(user_cls: Any, project_cls: Any) -> Any:
    return or_(project_cls.id.is_(None), project_visible_to_user(user_cls, project_cls))


def department_robots(session: Session, dept_ids: set[int]) -> dict[int, Department]:
    if not dept_ids:
        return {}
    rows = session.scalars(
        select(Department).where(
            Department.id.in_(dept_ids),
            Department.webhook_url.is_not(None),
            Department.webhook_kind.in_(("wecom", "dingtalk")),
        )
    )
    return {d.id: d for d in rows if d.webhook_url}  # type: ignore[misc]


def robot_message(dept: Department, kind: str, key: str, ctx: dict[str, Any]) -> dict[str, Any]:
    r = render_robot(kind, get_settings().default_language, ctx)
    return {
        "dedup_key": key,
        "kind": kind,
        "channel": dept.webhook_kind or "wecom",
        "recipient": f"department:{dept.id}",
        "department_id": dept.id,
        "subject": r.subject,
        "body_text": r.text,
    }


# ---- daily reminders --------------------------------------------------------------------------


def compose_daily_reminders(
    session: Session, day: date | None = None, now: datetime | None = None
) -> int:
    """One message per officer with open follow-ups due on local ``day`` or overdue; returns
    how many messages were written (0 when they were already written for that day)."""
    now = now or utcnow()
    day = day or today_local(now)
    start, end = day_bounds(day)
    U, P, F = aliased(User), aliased(Project), aliased(Firm)
    part = Followup.assignee_id
    inner = (
        with_followup_naming(
            select(
                Followup.id,
                Followup.title,
                Followup.due_at,
                Followup.assignee_id,
                func.count().over(partition_by=part).label("total"),
                func.sum(case((Followup.due_at < start, 1), else_=0))
                .over(partition_by=part)
                .label("overdue"),
                func.row_number()
                .over(partition_by=part, order_by=(Followup.due_at, Followup.id))
                .label("rn"),
            ).join(U, U.id == Followup.assignee_id),
            P,
            F,
        )
        .where(
            Followup.status == "open", Followup.due_at < end, U.is_active.is_(True), _visible(U, P)
        )
        .subquery()
    )
    rows = session.execute(
        select(inner).where(inner.c.rn <= MAX_ITEMS).order_by(inner.c.assignee_id, inner.c.rn)
    ).all()
    if not rows:
        return 0
    by_user: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        by_user[r.assignee_id].append(r)
    users = {
        u.id: u
        for u in session.execute(
            select(User.id, User.display_name, User.email, User.language, User.department_id).where(
                User.id.in_(list(by_user))
            )
        )
    }
    keys = {uid: f"daily:{uid}:{day.isoformat()}" for uid in by_user}
    robots = department_robots(
        session, {u.department_id for u in users.values() if u.department_id}
    )
    robot_keys = {d: f"daily-robot:{d}:{day.isoformat()}" for d in robots}
    done = existing_keys(session, [*keys.values(), *robot_keys.values()])
    messages: list[dict[str, Any]] = []
    dept_lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for uid, items in by_user.items():
        u = users[uid]
        total, overdue = items[0].total, int(items[0].overdue or 0)
        if u.department_id in robots:
            dept_lines[u.department_id].append(
                {"name": u.display_name, "total": total, "overdue": overdue}
            )
        if keys[uid] in done or not u.email:
            continue
        ctx = {
            "name": u.display_name,
            "day": day,
            "total": total,
            "overdue": overdue,
            "more": total - len(items),
            "items": [_item(r, start) for r in items],
        }
        m = render_message("daily_reminder", u.language, ctx)
        messages.append(email_message(keys[uid], "daily_reminder", u.email, uid, m))
    for dept_id, lines in dept_lines.items():
        if robot_keys[dept_id] not in done:
            messages.append(
                robot_message(
                    robots[dept_id],
                    "daily_reminder",
                    robot_keys[dept_id],
                    {"day": day, "dept": robots[dept_id].name, "lines": lines},
                )
            )
    return enqueue_many(session, messages, now=now)


def _item(r: Any, start: datetime) -> dict[str, Any]:
    # a confidential project (its own, or one its activity names): code name and kind only
    secret = bool(r.is_confidential) or r.act_code is not None
    label = project_label(r.p_title, r.is_confidential, r.code_name)
    if label is None and r.act_code is not None:
        label = r.act_code
    if r.project_id is not None:
        link = f"/projects/{r.project_id}"
    elif r.firm_id is not None:
        link = f"/firms/{r.firm_id}"
    else:
        link = "/followups"
    return {
        "id": r.id,
        # the code name is shown beside it (``project``): the title is the kind of task alone
        "title": FOLLOWUP_KIND if secret else r.title,
        "due": r.due_at,
        "due_local": r.due_at.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M"),
        "overdue": r.due_at < start,
        "project": label,
        # a confidential project's firm would name it: only the code name is shown
        "firm": None if secret else r.firm,
        "link": link,
    }


# ---- a follow-up's own reminder time ----------------------------------------------------------


def compose_followup_reminders(
    session: Session, now: datetime | None = None, lookback: timedelta = timedelta(hours=24)
) -> int:
    """A message for each open follow-up whose ``remind_at`` has come (within ``lookback``, so a
    long outage does not replay stale reminders); dedup per follow-up and reminder time."""
    now = now or utcnow()
    U, P, F = aliased(User), aliased(Project), aliased(Firm)
    rows = session.execute(
        with_followup_naming(
            select(
                Followup.id,
                Followup.title,
                Followup.due_at,
                Followup.remind_at,
                Followup.assignee_id,
                U.display_name,
                U.email,
                U.language,
            ).join(U, U.id == Followup.assignee_id),
            P,
            F,
        )
        .where(
            Followup.status == "open",
            Followup.remind_at <= now,
            Followup.remind_at > now - lookback,
            U.is_active.is_(True),
            U.email.is_not(None),
            _visible(U, P),
        )
        .order_by(Followup.remind_at, Followup.id)
        .limit(5000)
    ).all()
    keys = {r.id: f"remind:{r.id}:{r.remind_at.strftime('%Y%m%dT%H%M%S')}" for r in rows}
    done = existing_keys(session, keys.values())
    start, _ = day_bounds(today_local(now))
    messages = []
    for r in rows:
        if keys[r.id] in done:
            continue
        m = render_message(
            "followup_reminder", r.language, {"name": r.display_name, "item": _item(r, start)}
        )
        messages.append(email_message(keys[r.id], "followup_reminder", r.email, r.assignee_id, m))
    return enqueue_many(session, messages, now=now)


# ---- stale projects ---------------------------------------------------------------------------


def iso_week(day: date) -> str:
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def compose_stale_alerts(session: Session, now: datetime | None = None) -> int:
    """Tell each owner, once a week, which of their active projects had no activity for
    ``stale_project_days``; the department's group robot gets the same list."""
    now = now or utcnow()
    days = get_settings().stale_project_days
    cutoff = now - timedelta(days=days)
    week = iso_week(today_local(now))
    U = aliased(User)
    last = func.coalesce(Project.last_activity_at, Project.created_at)
    rows = session.execute(
        select(
            Project.id,
            Project.title,
            Project.is_confidential,
            Project.code_name,
            Project.stage,
            Project.department_id,
            last.label("last"),
            Project.owner_id,
            U.display_name,
            U.email,
            U.language,
            Firm.name_zh.label("firm"),
        )
        .join(U, U.id == Project.owner_id)
        .join(Firm, Firm.id == Project.firm_id)
        .where(
            Project.stage.in_(STALE_STAGES),
            last < cutoff,
            U.is_active.is_(True),
            project_visible_to_user(U, Project),
        )
        .order_by(Project.owner_id, last)
    ).all()
    by_owner: dict[int, list[Any]] = defaultdict(list)
    by_dept: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        by_owner[r.owner_id].append(r)
        if r.department_id is not None:
            by_dept[r.department_id].append(r)
    robots = department_robots(session, set(by_dept))
    keys = {o: f"stale:{o}:{week}" for o in by_owner}
    robot_keys = {d: f"stale-robot:{d}:{week}" for d in robots}
    done = existing_keys(session, [*keys.values(), *robot_keys.values()])

    def items(rs: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                "project": project_label(r.title, r.is_confidential, r.code_name),
                "firm": None if r.is_confidential else r.firm,
                "stage": r.stage,
                "last": r.last,
                "idle_days": (now - r.last).days,
                "link": f"/projects/{r.id}",
            }
            for r in rs[:MAX_ITEMS]
        ]

    messages = []
    for owner, rs in by_owner.items():
        r0 = rs[0]
        if keys[owner] in done or not r0.email:
            continue
        m = render_message(
            "stale_projects",
            r0.language,
            {
                "name": r0.display_name,
                "days": days,
                "total": len(rs),
                "more": max(len(rs) - MAX_ITEMS, 0),
                "items": items(rs),
            },
        )
        messages.append(email_message(keys[owner], "stale", r0.email, owner, m))
    for dept_id, dept in robots.items():
        if robot_keys[dept_id] not in done:
            rs = by_dept[dept_id]
            messages.append(
                robot_message(
                    dept,
                    "stale_projects",
                    robot_keys[dept_id],
                    {
                        "dept": dept.name,
                        "days": days,
                        "total": len(rs),
                        "more": max(len(rs) - MAX_ITEMS, 0),
                        "items": items(rs),
                    },
                )
            )
    return enqueue_many(session, messages, now=now)
