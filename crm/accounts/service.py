"""Accounts: users, departments, logins with lockout, browser sessions and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlmodel import Session

from crm.accounts.models import ApiToken, Department, LoginAttempt, Role, User, WebSession
from crm.accounts.passwords import check_policy, hash_password, verify_dummy, verify_password
from crm.accounts.permissions import require_admin
from crm.audit.service import record, snapshot
from crm.config import get_settings
from crm.errors import AuthFailed, Conflict, Locked, NotFound, ValidationFailed
from crm.types import utcnow

LOGIN_FAILED = "用户名或密码错误 / wrong user name or password"


def create_department(session: Session, actor: User | None, name: str, code: str) -> Department:
    """Add a department (admin only; the CLI passes no actor)."""
    if actor is not None:
        require_admin(actor)
    name, code = name.strip(), code.strip()
    if not name or not code:
        raise ValidationFailed("名称和代码必填 / name and code are required", field="name")
    if session.scalar(select(Department.id).where(
            (Department.name == name) | (Department.code == code))):
        raise Conflict("部门已存在 / a department with that name or code exists", field="name")
    dep = Department(name=name, code=code)
    session.add(dep)
    session.flush()
    record(session, actor.id if actor else None, "create", "department", dep.id,
           after=snapshot(dep))
    return dep


def get_or_create_department(session: Session, name: str, code: str) -> Department:
    dep = session.scalar(select(Department).where(Department.code == code))
    return dep or create_department(session, None, name, code)


def create_user(
    session: Session,
    actor: User | None,
    *,
    username: str,
    password: str,
    role: str = Role.officer.value,
    display_name: str | None = None,
    email: str | None = None,
    department_id: int | None = None,
    language: str = "zh_CN",
    check_password: bool = True,
) -> User:
    """Add a user. Admins only, except from the CLI (actor None)."""
    if actor is not None:
        require_admin(actor)
    username = username.strip()
    if not username or len(username) > 60:
        raise ValidationFailed("用户名必填，最多60字符 / user name required (≤ 60)",
                               field="username")
    if role not in {r.value for r in Role}:
        raise ValidationFailed(f"未知角色 / unknown role: {role}", field="role")
    if check_password:
        check_policy(password, username)
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict("用户名已存在 / user name taken", field="username")
    if department_id is not None and session.get(Department, department_id) is None:
        raise ValidationFailed("部门不存在 / no such department", field="department_id")
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        role=role,
        department_id=department_id,
        password_hash=hash_password(password),
        language=language,
        ical_token=secrets.token_urlsafe(24),
        password_changed_at=utcnow(),
    )
    session.add(user)
    session.flush()
    record(session, actor.id if actor else None, "create", "user", user.id, after=snapshot(user))
    return user


def _recent_failures_from_ip(session: Session, ip: str | None, since: datetime) -> int:
    if not ip:
        return 0
    return session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.ip == ip, LoginAttempt.at >= since, LoginAttempt.success.is_(False)
        )
    ) or 0


def authenticate(session: Session, username: str, password: str, ip: str | None = None) -> User:
    """Check a login. Same message for an unknown user and a wrong password; lock on repeats.

    The caller commits even when this raises, so the failed attempt is kept.
    """
    s = get_settings()
    now = utcnow()
    window = now - timedelta(minutes=s.login_lockout_minutes)
    username = (username or "").strip()[:60]
    if _recent_failures_from_ip(session, ip, window) >= s.ip_max_failures:
        raise Locked("尝试次数过多，请稍后再试 / too many attempts, try again later")
    user = session.scalar(select(User).where(User.username == username))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        session.add(LoginAttempt(username=username, ip=ip, success=False))
        raise Locked("账户已临时锁定，请稍后再试或联系管理员 / account locked, try later "
                     "or ask an administrator")
    ok = user is not None and user.is_active and verify_password(user.password_hash, password)
    if user is None:
        verify_dummy(password)
    session.add(LoginAttempt(username=username, ip=ip, success=ok))
    if not ok:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= s.login_max_failures:
                user.locked_until = now + timedelta(minutes=s.login_lockout_minutes)
                record(session, user.id, "lock", "user", user.id)
            session.add(user)
        record(session, user.id if user else None, "login_failed", "user",
               user.id if user else None, after={"username": username})
        session.flush()
        raise AuthFailed(LOGIN_FAILED)
    assert user is not None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.add(user)
    record(session, user.id, "login", "user", user.id)
    session.flush()
    return user


def unlock_user(session: Session, actor: User, user_id: int) -> User:
    require_admin(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在 / no such user")
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    record(session, actor.id, "unlock", "user", user.id)
    session.flush()
    return user


def change_password(session: Session, actor: User, old: str, new: str) -> None:
    if not verify_password(actor.password_hash, old):
        raise ValidationFailed("原密码不正确 / current password is wrong", field="old_password")
    check_policy(new, actor.username)
    actor.password_hash = hash_password(new)
    actor.password_changed_at = utcnow()
    actor.session_version += 1  # ends every other session
    session.add(actor)
    session.execute(update(WebSession).where(WebSession.user_id == actor.id,
                                             WebSession.ended_at.is_(None))
                    .values(ended_at=utcnow()))
    record(session, actor.id, "change_password", "user", actor.id)
    session.flush()


# --- browser sessions -------------------------------------------------------------------------

def start_web_session(session: Session, user: User, ip: str | None, user_agent: str | None) -> str:
    """A new server-side session id (renewed at every login)."""
    sid = secrets.token_urlsafe(32)
    session.add(WebSession(id=sid, user_id=user.id, ip=ip, user_agent=(user_agent or "")[:300]))
    session.flush()
    return sid


def resolve_web_session(session: Session, sid: str | None) -> User | None:
    """The user of a live session, touching it; None when absent, ended, idle or too old."""
    if not sid or len(sid) > 64:
        return None
    s = get_settings()
    ws = session.get(WebSession, sid)
    if ws is None or ws.ended_at is not None:
        return None
    now = utcnow()
    if (now - ws.last_seen_at > timedelta(minutes=s.session_idle_minutes)
            or now - ws.created_at > timedelta(hours=s.session_max_hours)):
        ws.ended_at = now
        session.add(ws)
        return None
    user = session.get(User, ws.user_id)
    if user is None or not user.is_active:
        return None
    if now - ws.last_seen_at > timedelta(seconds=60):
        ws.last_seen_at = now
        session.add(ws)
    return user


def end_web_session(session: Session, sid: str | None) -> None:
    if not sid:
        return
    ws = session.get(WebSession, sid)
    if ws is not None and ws.ended_at is None:
        ws.ended_at = utcnow()
        session.add(ws)
        record(session, ws.user_id, "logout", "user", ws.user_id)


# --- API tokens -------------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(session: Session, user: User, name: str | None = None) -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=_token_hash(token),
        name=name,
        expires_at=utcnow() + timedelta(hours=get_settings().api_token_hours),
    )
    session.add(row)
    session.flush()
    return token, row


def resolve_api_token(session: Session, token: str | None) -> User | None:
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user


def revoke_api_token(session: Session, actor: User, token: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or (row.user_id != actor.id and actor.role != Role.admin.value):
        raise NotFound("令牌不存在 / no such token")
    row.revoked_at = utcnow()
    session.add(row)
    record(session, actor.id, "revoke_token", "api_token", row.id)


def list_users(session: Session, actor: User) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def user_choices(session: Session, actor: User) -> list[Row[Any]]:
    """Users as (id, display_name, department_id) rows, for pickers and filters: three columns,
    not 500 whole accounts, on every list page."""
    return list(session.execute(select(User.id, User.display_name, User.department_id)
                                .order_by(User.id)).all())


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.id)))
