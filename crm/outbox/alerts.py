"""Failures in sight: when messages start failing, the people who can act get one message.

Each active admin with an e-mail address gets one message a day at most while messages fail;
for a department's group robot that fails, the department's managers get one too (they can check
the robot in the group). The alert goes through the outbox like any message (kind ``alert``); a
failed alert never triggers another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from crm.clock import today_local
from crm.models.accounts import Role, User
from crm.models.outbox import OutboxMessage
from crm.outbox.render import email_message, render_message
from crm.outbox.service import enqueue_many, existing_keys
from crm.types import utcnow

M = OutboxMessage


def compose_failure_alerts(session: Session, now: datetime | None = None) -> int:
    """Write today's alert for each admin (and each manager of a department whose robot
    messages failed) who has not had one today; returns how many were written."""
    now = now or utcnow()
    day = today_local(now).isoformat()
    failing = (M.status == "failed", M.kind != "alert")
    by_channel = session.execute(
        select(M.channel, func.count()).where(*failing).group_by(M.channel).order_by(M.channel)
    ).all()
    if not by_channel:
        return 0
    errors = [
        e
        for e in session.scalars(
            select(M.last_error).where(*failing).order_by(M.id.desc()).limit(20)
        )
        if e
    ]
    errors = list(dict.fromkeys(errors))[:3]
    robot_depts = set(
        session.scalars(select(M.department_id).where(*failing, M.channel != "email").distinct())
    )
    people = list(
        session.execute(
            select(User.id, User.display_name, User.email, User.language, User.role).where(
                User.is_active.is_(True),
                User.email.is_not(None),
                (User.role == Role.admin.value)
                | (
                    (User.role == Role.manager.value)
                    & User.department_id.in_([d for d in robot_depts if d is not None])
                ),
            )
        )
    )
    keys = {p.id: f"alert:{p.id}:{day}" for p in people}
    done = existing_keys(session, keys.values())
    messages: list[dict[str, Any]] = []
    for p in people:
        if keys[p.id] in done:
            continue
        r = render_message(
            "outbox_failing",
            p.language,
            {
                "name": p.display_name,
                "total": sum(n for _, n in by_channel),
                "by_channel": [tuple(row) for row in by_channel],
                "errors": errors,
            },
        )
        messages.append(email_message(keys[p.id], "alert", p.email, p.id, r))
    return enqueue_many(session, messages, now=now)
