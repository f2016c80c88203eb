"""The outbox for admins: counts, the message list, retrying failed messages, and the health
of the queue and the scheduled jobs (the admin pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlmodel import Session

from crm.audit.service import record
from crm.authz import require_admin
from crm.db import get_or_not_found
from crm.errors import Conflict
from crm.i18n import _l
from crm.models.accounts import Department, User
from crm.models.outbox import JobRun, OutboxMessage
from crm.outbox.schedule import next_runs
from crm.outbox.service import STATUSES, T, recent_runs
from crm.types import utcnow

# ---- for admins -------------------------------------------------------------------------------


def outbox_counts(session: Session, actor: User) -> dict[str, int]:
    require_admin(actor)
    counts = dict.fromkeys(STATUSES, 0)
    for status, n in session.execute(select(T.c.status, func.count()).group_by(T.c.status)):
        counts[status] = n
    return counts


CHANNELS = ("email", "wecom", "dingtalk")
PER_PAGE = 50


@dataclass
class MessagePage:
    rows: list[Any]
    total: int
    page: int
    per_page: int
    status: str | None = None
    channel: str | None = None
    recipient: str | None = None

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


def _message_filters(
    status: str | None, channel: str | None, recipient: str | None
) -> tuple[list[Any], Any]:

    U = User.__table__
    D = Department.__table__
    joined = T.outerjoin(U, U.c.id == T.c.user_id).outerjoin(D, D.c.id == T.c.department_id)
    where = []
    if status in STATUSES:
        where.append(T.c.status == status)
    if channel in CHANNELS:
        where.append(T.c.channel == channel)
    if recipient and recipient.strip():
        like = f"%{recipient.strip()}%"
        where.append(
            or_(T.c.recipient.ilike(like), U.c.display_name.ilike(like), D.c.name.ilike(like))
        )
    return where, joined


def list_messages(
    session: Session,
    actor: User,
    status: str | None = None,
    channel: str | None = None,
    recipient: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> MessagePage:
    """A page of messages, newest first, filtered by status, channel and recipient (address,
    user or department name), each with the user's or department's name; bodies left out."""

    require_admin(actor)
    where, joined = _message_filters(status, channel, recipient)
    U = User.__table__
    D = Department.__table__
    total = session.scalar(select(func.count()).select_from(joined).where(*where)) or 0
    page = max(1, min(page, max((total + per_page - 1) // per_page, 1)))
    stmt = (
        select(
            T.c.id,
            T.c.kind,
            T.c.channel,
            T.c.recipient,
            T.c.subject,
            T.c.status,
            T.c.attempts,
            T.c.next_attempt_at,
            T.c.last_error,
            T.c.created_at,
            T.c.sent_at,
            U.c.display_name.label("user_name"),
            D.c.name.label("department_name"),
        )
        .select_from(joined)
        .where(*where)
        .order_by(T.c.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return MessagePage(
        rows=list(session.execute(stmt).all()),
        total=total,
        page=page,
        per_page=per_page,
        status=status if status in STATUSES else None,
        channel=channel if channel in CHANNELS else None,
        recipient=(recipient or "").strip() or None,
    )


def retry_failed(
    session: Session,
    actor: User,
    channel: str | None = None,
    recipient: str | None = None,
    now: datetime | None = None,
) -> int:
    """An admin sends every failed message (of the filter) again at once; returns how many."""
    require_admin(actor)
    where, joined = _message_filters("failed", channel, recipient)
    ids = list(session.scalars(select(T.c.id).select_from(joined).where(*where)))
    for i in range(0, len(ids), 900):
        session.execute(
            update(T)
            .where(T.c.id.in_(ids[i : i + 900]), T.c.status == "failed")
            .values(status="pending", attempts=0, next_attempt_at=now or utcnow(), claimed_at=None)
        )
    session.flush()
    record(
        session,
        actor.id,
        "retry_all",
        "outbox_message",
        None,
        after={"count": len(ids), "channel": channel, "recipient": recipient},
    )
    return len(ids)


def retry_message(
    session: Session, actor: User, message_id: int, now: datetime | None = None
) -> None:
    """An admin sends a failed message again: pending now, its attempts counted afresh."""
    require_admin(actor)
    msg = get_or_not_found(session, OutboxMessage, message_id, _l("消息不存在"))
    if msg.status != "failed":
        raise Conflict(_l("只能重发失败的消息"), field="status")
    before = {"status": msg.status, "attempts": msg.attempts}
    msg.status, msg.attempts, msg.next_attempt_at = "pending", 0, now or utcnow()
    msg.claimed_at = None
    session.add(msg)
    session.flush()
    record(
        session,
        actor.id,
        "retry",
        "outbox_message",
        msg.id,
        before=before,
        after={"status": msg.status, "attempts": msg.attempts},
    )


@dataclass
class JobStatus:
    job: str
    next_run: datetime | None
    last_ok: datetime | None
    last_run: JobRun | None  # the latest run, whatever its outcome


@dataclass
class Health:
    failed: int
    late: int  # due more than LATE ago and still not sent
    jobs: list[JobStatus]

    @property
    def troubled(self) -> bool:
        return bool(self.failed or self.late) or any(
            j.last_run is not None and j.last_run.status == "error" for j in self.jobs
        )


LATE = timedelta(minutes=15)


def outbox_health(session: Session, actor: User, now: datetime | None = None) -> Health:
    """For the admin overview: failed and late messages, and each job's last run."""

    require_admin(actor)
    now = now or utcnow()
    failed = session.scalar(select(func.count()).where(T.c.status == "failed")) or 0
    # late: due long ago, or written long ago and already tried (waiting out an outage)
    late = (
        session.scalar(
            select(func.count()).where(
                T.c.status.in_(("pending", "sending")),
                or_(
                    T.c.next_attempt_at < now - LATE,
                    and_(T.c.attempts > 0, T.c.created_at < now - LATE),
                ),
            )
        )
        or 0
    )
    last_ok = dict(
        session.execute(
            select(JobRun.job, func.max(JobRun.started_at))
            .where(JobRun.status == "ok")
            .group_by(JobRun.job)
        ).all()
    )
    latest_ids = select(func.max(JobRun.id)).group_by(JobRun.job)
    latest = {r.job: r for r in session.scalars(select(JobRun).where(JobRun.id.in_(latest_ids)))}
    jobs = [JobStatus(job, nxt, last_ok.get(job), latest.get(job)) for job, nxt in next_runs(now)]
    return Health(failed=failed, late=late, jobs=jobs)


@dataclass
class Overview:
    counts: dict[str, int]
    messages: MessagePage
    runs: list[JobRun]
    health: Health
    status: str | None


def admin_overview(
    session: Session,
    actor: User,
    status: str | None = None,
    now: datetime | None = None,
    channel: str | None = None,
    recipient: str | None = None,
    page: int = 1,
) -> Overview:
    """The admin outbox page: counts, a filtered page of messages, the jobs and recent runs."""
    require_admin(actor)
    messages = list_messages(session, actor, status, channel, recipient, page)
    return Overview(
        counts=outbox_counts(session, actor),
        messages=messages,
        runs=recent_runs(session, actor),
        health=outbox_health(session, actor, now),
        status=messages.status,
    )
