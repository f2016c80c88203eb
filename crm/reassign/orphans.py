"""Open follow-ups left with an inactive assignee, and the daily check that tells each
department's managers (admins where it has none) of them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session

from crm.config import get_settings
from crm.models.accounts import Role, User
from crm.models.followups import Followup
from crm.outbox.service import enqueue_many, existing_keys


def orphaned_followups(session: Session) -> list[tuple[Followup, User]]:
    """Open follow-ups whose assignee is inactive, each with that (inactive) assignee."""
    return [
        (f, u)
        for f, u in session.execute(
            select(Followup, User)
            .join(User, User.id == Followup.assignee_id)
            .where(and_(Followup.status == "open", User.is_active.is_(False)))
            .order_by(Followup.due_at, Followup.id)
        ).all()
    ]


def compose_orphan_notices(session: Session, day: date, now: datetime | None = None) -> int:
    """The daily check: each department's active managers (admins, where a department has
    none) are told by email of the open follow-ups whose assignee is inactive. Once a day per
    manager (dedup key); how many messages were written."""

    orphans = orphaned_followups(session)
    if not orphans:
        return 0
    by_dept: dict[int | None, list[tuple[Followup, User]]] = {}
    for f, u in orphans:
        by_dept.setdefault(u.department_id, []).append((f, u))
    managers = list(
        session.scalars(
            select(User).where(
                User.is_active.is_(True), User.role.in_((Role.manager.value, Role.admin.value))
            )
        )
    )
    admins = [m for m in managers if m.role == Role.admin.value]
    base = get_settings().base_url.rstrip("/")
    messages: list[dict[str, Any]] = []  # enqueue's keywords
    for dept, rows in by_dept.items():
        told = [m for m in managers if m.role == Role.manager.value and m.department_id == dept]
        for m in told or admins:
            if not m.email:
                continue
            en = m.language == "en"
            lines = [f"- {f.title} ({u.display_name}, {f.due_at:%Y-%m-%d})" for f, u in rows[:50]]
            handover = "Hand over" if en else "转交"
            lines += [
                f"{handover} {u.display_name}: {base}/users/{u.id}/handover"
                for u in {u.id: u for _, u in rows}.values()
            ]
            subject = (
                f"{len(rows)} open follow-ups have no active assignee"
                if en
                else f"{len(rows)} 条待办的负责人已停用，需要转交"
            )
            intro = (
                "These open follow-ups are assigned to inactive users; reassign them:"
                if en
                else "以下未完成的待办分配给了已停用的用户，请转交他人："
            )
            messages.append(
                {
                    "dedup_key": f"orphans:{m.id}:{day.isoformat()}",
                    "kind": "orphaned_followups",
                    "channel": "email",
                    "recipient": m.email,
                    "user_id": m.id,
                    "subject": subject,
                    "body_text": "\n".join([intro, *lines]),
                    "body_html": None,
                }
            )
    done = existing_keys(session, [m["dedup_key"] for m in messages])
    return enqueue_many(session, [m for m in messages if m["dedup_key"] not in done], now=now)
