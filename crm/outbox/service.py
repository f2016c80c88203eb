"""The outbox: write each message once (a unique dedup key), claim due rows atomically, record
what happened. Sending itself (SMTP, group robots) is in channels.py; the lanes in jobs/tasks.py.

Exactly once, as far as SMTP allows: ``enqueue`` inserts with ON CONFLICT DO NOTHING on the
dedup key, so a job run twice (or by two schedulers) writes nothing twice; ``claim_due`` moves
rows pending → sending in one statement (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: one
``UPDATE … RETURNING``, SQLite serialising writers), so two drainers never take the same row; a
claim older than the lease is a crashed sender's and is taken again. The remaining window — a
process dying after the server accepted a mail and before it was marked sent — is covered by the
stable Message-ID, which mail clients fold.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from crm.authz import require_admin
from crm.config import get_settings
from crm.models.accounts import Department, User
from crm.models.outbox import JobRun, OutboxMessage
from crm.outbox.channels import Webhook
from crm.outbox.limits import limit_of, split_message
from crm.types import utcnow

T = OutboxMessage.__table__
STATUSES = ("pending", "sending", "sent", "failed")
BACKOFF_CAP = timedelta(hours=1)


def message_id_for(dedup_key: str) -> str:
    """A new Message-ID for the message ``dedup_key`` names, made once when it is queued and kept
    on its outbox row, so every retry of that message carries the same one (a client folds the
    twins of one send). Its random part makes it unique: another installation, or this one after
    a restore or an id reused, queueing a different message under the same key does not give it
    the Message-ID of a mail already in the mailboxes (ATTACK8 P2-5: clients drop such a mail)."""
    domain = get_settings().smtp_from.rpartition("@")[2] or "crm.localhost"
    digest = hashlib.sha256(dedup_key.encode()).hexdigest()[:16]
    return f"<{digest}.{secrets.token_hex(12)}.crm@{domain}>"


def _row(
    now: datetime,
    *,
    dedup_key: str,
    kind: str,
    channel: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    user_id: int | None = None,
    department_id: int | None = None,
) -> dict[str, Any]:
    return {
        "dedup_key": dedup_key[:200],
        "kind": kind,
        "channel": channel,
        "recipient": recipient[:500],
        "user_id": user_id,
        "department_id": department_id,
        "subject": subject[:300],
        "body_text": body_text,
        "body_html": body_html,
        "message_id": message_id_for(dedup_key),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(T)
    return sqlite.insert(T)


def enqueue_many(
    session: Session, messages: Sequence[dict[str, Any]], now: datetime | None = None
) -> int:
    """Write messages (dicts of ``enqueue``'s keywords); a dedup key already present is skipped.

    Returns how many were written. One multi-row INSERT … ON CONFLICT DO NOTHING per batch.
    """
    if not messages:
        return 0
    now = now or utcnow()
    rows = [_row(now, **part) for m in messages for part in split_message(m)]
    stmt = _insert(session).on_conflict_do_nothing(index_elements=["dedup_key"])
    written = 0
    for i in range(0, len(rows), 500):
        res = session.execute(stmt.returning(T.c.id), rows[i : i + 500])
        written += len(res.all())
    return written


def enqueue(session: Session, *, now: datetime | None = None, **message: Any) -> bool:
    """Write one message unless its dedup key is already in the outbox; True if written."""
    return enqueue_many(session, [message], now=now) > 0


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are already in the outbox (so composers skip rendering them)."""
    keys = list(keys)
    found: set[str] = set()
    for i in range(0, len(keys), 900):
        found.update(
            session.scalars(select(T.c.dedup_key).where(T.c.dedup_key.in_(keys[i : i + 900])))
        )
    return found


@dataclass
class Claimed:
    id: int
    kind: str
    channel: str
    recipient: str
    user_id: int | None
    department_id: int | None
    subject: str
    body_text: str
    body_html: str | None
    message_id: str
    attempts: int
    claimed_at: datetime


@dataclass(frozen=True)
class Lane:
    """Messages that are sent one after another: all email, or one department's robot. Lanes
    drain independently, so a hung SMTP server delays only email."""

    channel: str  # email | wecom | dingtalk
    department_id: int | None = None

    @property
    def is_robot(self) -> bool:
        return self.channel != "email"

    def where(self) -> Any:
        if not self.is_robot:
            return T.c.channel == "email"
        return and_(T.c.channel == self.channel, T.c.department_id == self.department_id)


def _due(now: datetime) -> Any:
    lease = timedelta(seconds=get_settings().outbox_lease_seconds)
    return or_(
        and_(T.c.status == "pending", T.c.next_attempt_at <= now),
        and_(T.c.status == "sending", T.c.claimed_at < now - lease),
    )


def due_lanes(session: Session, now: datetime | None = None) -> list[Lane]:
    """The lanes with a message due now."""
    now = now or utcnow()
    rows = session.execute(select(T.c.channel, T.c.department_id).where(_due(now)).distinct()).all()
    lanes = {Lane("email") if c == "email" else Lane(c, d) for c, d in rows}
    return sorted(lanes, key=lambda lane: (lane.is_robot, lane.channel, lane.department_id or 0))


def sent_in_window(session: Session, lane: Lane, now: datetime) -> tuple[int, datetime | None]:
    """How many messages this robot was sent within its channel's rate window before ``now``,
    and the oldest of those sends (the window frees a place when it is older than the window)."""
    lim = limit_of(lane.channel)
    since = now - lim.window
    n, oldest = session.execute(
        select(func.count(), func.min(T.c.sent_at)).where(
            lane.where(), T.c.status == "sent", T.c.sent_at > since
        )
    ).one()
    return int(n or 0), oldest


def claim_due(
    session: Session, now: datetime | None = None, limit: int = 50, lane: Lane | None = None
) -> list[Claimed]:
    """Take up to ``limit`` due messages (of one ``lane``) for sending (pending → sending),
    atomically.

    Due: pending with ``next_attempt_at`` passed, or sending with a claim older than the lease.
    A claim is not an attempt: ``attempts`` counts real sends (``mark_sent``, ``mark_failed``),
    so a claim taken again after a crash does not use up a message's tries.
    The caller commits at once, sends, then calls ``mark_sent`` / ``mark_failed`` / ``release``.
    """
    now = now or utcnow()
    due = _due(now)
    if lane is not None:
        due = and_(due, lane.where())
    ids = select(T.c.id).where(due).order_by(T.c.next_attempt_at, T.c.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # a CTE runs once; an IN (… LIMIT … SKIP LOCKED) subquery may be rescanned by the
        # planner and then update more rows than the limit
        cte = ids.with_for_update(skip_locked=True).cte("due")
        target = T.c.id == cte.c.id
    else:
        target = T.c.id.in_(ids.scalar_subquery())
    stmt = (
        update(T)
        .where(target, due)
        .values(status="sending", claimed_at=now)
        .returning(
            T.c.id,
            T.c.kind,
            T.c.channel,
            T.c.recipient,
            T.c.user_id,
            T.c.department_id,
            T.c.subject,
            T.c.body_text,
            T.c.body_html,
            T.c.message_id,
            T.c.attempts,
            T.c.claimed_at,
        )
    )
    rows = session.execute(stmt).all()
    return sorted((Claimed(*r) for r in rows), key=lambda c: c.id)


def _mine(msg: Claimed) -> Any:
    return and_(T.c.id == msg.id, T.c.status == "sending", T.c.claimed_at == msg.claimed_at)


def mark_sent(session: Session, msg: Claimed, now: datetime | None = None) -> None:
    session.execute(
        update(T)
        .where(_mine(msg))
        .values(status="sent", sent_at=now or utcnow(), last_error=None, attempts=msg.attempts + 1)
    )


def release(
    session: Session, msg: Claimed, not_before: datetime | None = None, note: str | None = None
) -> None:
    """Give a claimed message back unsent and not tried (its lane stopped, or the robot's rate
    is used up): pending again, due at ``not_before``, its attempts unchanged."""
    values: dict[str, Any] = {"status": "pending", "claimed_at": None}
    if not_before is not None:
        values["next_attempt_at"] = not_before
    if note:
        values["last_error"] = note[:2000]
    session.execute(update(T).where(_mine(msg)).values(**values))


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: base·2^(n-1), capped at 1 h."""
    base = timedelta(seconds=get_settings().outbox_backoff_seconds)
    return min(base * int(2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def mark_failed(
    session: Session,
    msg: Claimed,
    error: str,
    now: datetime | None = None,
    permanent: bool = False,
    unreachable: bool = False,
) -> str:
    """Record a failed try: back to pending after a back-off, or failed past the limit (or at
    once when the refusal is ``permanent``). When the channel was ``unreachable`` (its server
    down, not the message's fault) the message stays pending however long the outage lasts,
    tried again at most an hour apart (``backoff``); the try is still counted and shown."""
    now = now or utcnow()
    attempts = msg.attempts + 1
    final = permanent or (not unreachable and attempts >= get_settings().outbox_max_attempts)
    values: dict[str, Any] = {"last_error": error[:2000], "claimed_at": None, "attempts": attempts}
    if final:
        values["status"] = "failed"
    else:
        values.update(status="pending", next_attempt_at=now + backoff(attempts))
    session.execute(update(T).where(_mine(msg)).values(**values))
    return str(values["status"])


# ---- job runs ---------------------------------------------------------------------------------


def start_run(session: Session, job: str, now: datetime | None = None) -> JobRun:
    run = JobRun(job=job, started_at=now or utcnow())
    session.add(run)
    session.flush()
    return run


def finish_run(
    session: Session,
    run_id: int,
    status: str,
    detail: str | None = None,
    now: datetime | None = None,
) -> None:
    run = session.get(JobRun, run_id)
    if run is not None:
        run.finished_at, run.status, run.detail = now or utcnow(), status, (detail or "")[:2000]
        session.add(run)
        session.flush()


def last_success(session: Session, job: str) -> datetime | None:
    return session.scalar(
        select(func.max(JobRun.started_at)).where(JobRun.job == job, JobRun.status == "ok")
    )


def has_run(session: Session, job: str) -> bool:
    """Whether ``job`` ever ran here (any outcome): False on a fresh install."""
    return session.scalar(select(JobRun.id).where(JobRun.job == job).limit(1)) is not None


def recent_runs(session: Session, actor: User, limit: int = 30) -> list[JobRun]:
    require_admin(actor)
    return list(session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(limit)))


def webhooks_for(session: Session, department_ids: set[int]) -> dict[int, Any]:
    """The group-robot webhooks of these departments (read at send time, never copied)."""

    if not department_ids:
        return {}
    rows = session.execute(
        select(
            Department.id,
            Department.webhook_kind,
            Department.webhook_url,
            Department.webhook_secret,
        ).where(Department.id.in_(department_ids))
    ).all()
    return {
        r.id: Webhook(r.webhook_kind, r.webhook_url, r.webhook_secret)
        for r in rows
        if r.webhook_url and r.webhook_kind
    }
