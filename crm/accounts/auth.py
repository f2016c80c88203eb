"""Logins: checking a password, throttling by account and by address, lockouts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from crm.accounts.passwords import verify_dummy, verify_password
from crm.audit.service import record
from crm.config import get_settings
from crm.errors import AuthFailed, Locked
from crm.i18n import _l
from crm.models.accounts import LoginAttempt, User
from crm.types import utcnow

LOGIN_FAILED = _l("用户名或密码错误")


LOGIN_LOCKED = _l("尝试次数过多，已临时锁定，请稍后再试或联系管理员")


def _recent_failures_from_ip(session: Session, ip: str | None, since: datetime) -> int:
    if not ip:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.ip == ip, LoginAttempt.at >= since, LoginAttempt.success.is_(False))
        )
        or 0
    )


def _recent_failures_for_name(session: Session, username: str, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.at >= since,
                LoginAttempt.success.is_(False),
            )
        )
        or 0
    )


def authenticate(session: Session, username: str, password: str, ip: str | None = None) -> User:
    """Check a login. Same message for an unknown user and a wrong password; lock on repeats.

    Every path that can tell a known user from an unknown one costs one Argon2 verification
    and ends in the same message: unknown names are counted and "locked" like real accounts,
    inactive and locked accounts still verify a hash. Only the per-address throttle answers
    early, and it says nothing about any account.
    The caller commits even when this raises, so the failed attempt is kept.
    """
    s = get_settings()
    now = utcnow()
    window = now - timedelta(minutes=s.login_lockout_minutes)
    username = (username or "").strip()[:60]
    password = (password or "")[:1024]
    if _recent_failures_from_ip(session, ip, window) >= s.ip_max_failures:
        session.add(LoginAttempt(username=username, ip=ip, success=False))
        raise Locked(LOGIN_LOCKED)
    # names are unique whatever their case (users.py): OFFICER008 is officer008
    user = (
        session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if username
        else None
    )
    if user is not None:
        if user.locked_until is not None and user.locked_until <= now:
            user.locked_until = None  # the lock ran out: a fresh count of failures
            user.failed_logins = 0
        locked = user.locked_until is not None
        ok = verify_password(user.password_hash, password)
        ok = ok and user.is_active and not locked
    else:
        verify_dummy(password)
        # counted like a real account (this attempt included), so a lockout cannot reveal
        # which names exist
        locked = _recent_failures_for_name(session, username, window) + 1 >= s.login_max_failures
        ok = False
    session.add(LoginAttempt(username=username, ip=ip, success=ok))
    if not ok:
        if user is not None and not locked:
            user.failed_logins += 1
            if user.failed_logins >= s.login_max_failures:
                user.locked_until = now + timedelta(minutes=s.login_lockout_minutes)
                locked = True
                # the lock is the system's act, not the account's
                record(session, None, "lock", "user", user.id, after={"username": username})
            session.add(user)
        # the actor is whoever typed the name (unknown): the name tried is kept, never the
        # account as the author of its own failed login
        record(
            session,
            None,
            "login_failed",
            "user",
            user.id if user else None,
            after={"username": username},
        )
        session.flush()
        raise Locked(LOGIN_LOCKED) if locked else AuthFailed(LOGIN_FAILED)
    assert user is not None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.add(user)
    record(session, user.id, "login", "user", user.id)
    session.flush()
    return user


def is_locked(user: User, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())
