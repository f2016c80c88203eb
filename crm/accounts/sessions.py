"""Browser sessions (server-side rows behind the signed cookie) and ending a user's
sessions and tokens together."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from crm.audit.service import record
from crm.config import get_settings
from crm.db import (
    AsLoaded,
    DriverSelect,
    cache_version_columns,
    remember_cache_versions,
    write_or_skip,
)
from crm.models.accounts import ApiToken, User, WebSession
from crm.types import utcnow


def start_web_session(session: Session, user: User, ip: str | None, user_agent: str | None) -> str:
    """A new server-side session id (renewed at every login)."""
    assert user.id is not None  # a stored user
    sid = secrets.token_urlsafe(32)
    session.add(WebSession(id=sid, user_id=user.id, ip=ip, user_agent=(user_agent or "")[:300]))
    session.flush()
    return sid


# the session's times, its user's row and the per-process caches' versions in one statement,
# read on the driver's cursor: the first statement of every page request
# (``crm.db.DriverSelect``: 0.9 ms of CPU through the ORM). The versions come with it so that a
# page's cached lists (users, the plan, the countries) need no statement of their own to know
# they are current (``crm.db.cache_version``).
_USER = AsLoaded(User)
_SESSION_AND_USER = DriverSelect(
    select(
        WebSession.ended_at,
        WebSession.last_seen_at,
        WebSession.created_at,
        *_USER.columns,
        *cache_version_columns(),
    )
    .join_from(WebSession, User, User.id == WebSession.user_id)
    .where(WebSession.id == bindparam("sid"))
)
_USER_END = 3 + len(_USER.columns)
_IS_ACTIVE = 3 + [c.name for c in _USER.columns].index("is_active")


def resolve_web_session(session: Session, sid: str | None, *, writer: bool = False) -> User | None:
    """The user of a live session, touching it; None when absent, ended, idle or too old.
    ``writer``: ``session`` holds a writer's transaction (``crm.db.begin_write``), and the stamp
    is written in it — on SQLite a write on a connection of its own would wait for this very
    transaction's lock, then be skipped."""
    user, touch = check_web_session(session, sid)
    if touch:
        assert sid is not None  # a live session has an id
        if writer:
            session.execute(_touch(sid))
        else:
            touch_web_session(session, sid)
    return user


def check_web_session(session: Session, sid: str | None) -> tuple[User | None, bool]:
    """The user of a live session (None when absent, ended, idle or too old) and whether its
    "last seen" stamp is due (``touch_web_session``). One read by key, nothing written: an
    idle or too old session is marked ended in ``session`` (written when it commits)."""
    if not sid or len(sid) > 64:
        return None, False
    s = get_settings()
    row = _SESSION_AND_USER.first(session, {"sid": sid})
    if row is None:
        return None, False
    remember_cache_versions(session, row[_USER_END:])
    ended_at, last_seen_at, created_at = row[:3]
    if ended_at is not None:
        return None, False
    now = utcnow()
    if now - last_seen_at > timedelta(
        minutes=s.session_idle_minutes
    ) or now - created_at > timedelta(hours=s.session_max_hours):
        ws = session.get(WebSession, sid)
        if ws is not None and ws.ended_at is None:
            ws.ended_at = now
            session.add(ws)
        return None, False
    if not row[_IS_ACTIVE]:
        return None, False
    user: User = _USER.attach(session, row[3:_USER_END])
    return user, now - last_seen_at > timedelta(seconds=60)


def touch_web_session(session: Session, sid: str) -> None:
    """Stamp the session as seen now: best effort, outside the request's transaction (a page
    view must not take the database's write lock for the whole request, nor fail when another
    writer holds it)."""
    write_or_skip(session, _touch(sid))


def _touch(sid: str) -> Any:
    now = utcnow()
    return (
        update(WebSession)
        .where(WebSession.id == sid, WebSession.last_seen_at < now)
        .values(last_seen_at=now)
    )


def end_web_session(session: Session, sid: str | None) -> None:
    if not sid:
        return
    ws = session.get(WebSession, sid)
    if ws is not None and ws.ended_at is None:
        ws.ended_at = utcnow()
        session.add(ws)
        record(session, ws.user_id, "logout", "user", ws.user_id)


def end_sessions(session: Session, user_id: int, *, keep_sid: str | None = None) -> int:
    """End a user's browser sessions (but ``keep_sid``) and revoke all their API tokens."""
    now = utcnow()
    q = update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
    if keep_sid:
        q = q.where(WebSession.id != keep_sid)
    n = session.execute(q.values(ended_at=now)).rowcount or 0  # type: ignore[attr-defined]
    t = update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    session.execute(t.values(revoked_at=now))
    return n
