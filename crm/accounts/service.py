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
from crm.errors import AuthFailed, Conflict, Locked, NotFound, StaleVersion, ValidationFailed
from crm.types import utcnow

LOGIN_FAILED = "用户名或密码错误 / wrong user name or password"
LOGIN_LOCKED = (
    "尝试次数过多，已临时锁定，请稍后再试或联系管理员 / too many attempts: locked for "
    "a while, try later or ask an administrator"
)


def create_department(session: Session, actor: User | None, name: str, code: str) -> Department:
    """Add a department (admin only; the CLI passes no actor)."""
    if actor is not None:
        require_admin(actor)
    name, code = (name or "").strip(), (code or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("名称必填，最多100字符 / name required (≤ 100)", field="name")
    if not code or len(code) > 40:
        raise ValidationFailed("代码必填，最多40字符 / code required (≤ 40)", field="code")
    if session.scalar(
        select(Department.id).where((Department.name == name) | (Department.code == code))
    ):
        raise Conflict("部门已存在 / a department with that name or code exists", field="name")
    dep = Department(name=name, code=code)
    session.add(dep)
    session.flush()
    record(
        session, actor.id if actor else None, "create", "department", dep.id, after=snapshot(dep)
    )
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
        raise ValidationFailed(
            "用户名必填，最多60字符 / user name required (≤ 60)", field="username"
        )
    if role not in {r.value for r in Role}:
        raise ValidationFailed(f"未知角色 / unknown role: {role}", field="role")
    display_name = (display_name or "").strip() or username
    if len(display_name) > 100:
        raise ValidationFailed("姓名最多100字符 / name ≤ 100 characters", field="display_name")
    email = (email or "").strip() or None
    if email is not None and (len(email) > 200 or "@" not in email):
        raise ValidationFailed("邮箱格式不正确 / not an email address", field="email")
    if check_password:
        check_policy(password, username)
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict("用户名已存在 / user name taken", field="username")
    if department_id is not None and session.get(Department, department_id) is None:
        raise ValidationFailed("部门不存在 / no such department", field="department_id")
    user = User(
        username=username,
        display_name=display_name,
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
    user = session.scalar(select(User).where(User.username == username)) if username else None
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
                record(session, user.id, "lock", "user", user.id)
            session.add(user)
        record(
            session,
            user.id if user else None,
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


def _get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在 / no such user")
    return user


def unlock_user(session: Session, actor: User, user_id: int) -> User:
    """Lift a lockout now (admins), instead of waiting for it to run out."""
    require_admin(actor)
    user = _get_user(session, user_id)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    record(session, actor.id, "unlock", "user", user.id)
    session.flush()
    return user


def is_locked(user: User, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def end_sessions(
    session: Session, user_id: int, *, keep_sid: str | None = None, keep_token: str | None = None
) -> int:
    """End a user's browser sessions and revoke their API tokens, except the ones named."""
    now = utcnow()
    q = update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
    if keep_sid:
        q = q.where(WebSession.id != keep_sid)
    n = session.execute(q.values(ended_at=now)).rowcount or 0  # type: ignore[attr-defined]
    t = update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    if keep_token:
        t = t.where(ApiToken.token_hash != _token_hash(keep_token))
    session.execute(t.values(revoked_at=now))
    return n


def _set_password(user: User, new: str) -> None:
    check_policy(new, user.username)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    user.session_version += 1
    user.version += 1


def change_password(
    session: Session,
    actor: User,
    old: str,
    new: str,
    *,
    keep_sid: str | None = None,
    keep_token: str | None = None,
) -> None:
    """A user changes their own password; every other session and token of theirs ends."""
    if not verify_password(actor.password_hash, old or ""):
        raise ValidationFailed("原密码不正确 / current password is wrong", field="old_password")
    if old == new:
        raise ValidationFailed(
            "新密码不能与原密码相同 / the new password must differ", field="new_password"
        )
    try:
        _set_password(actor, new)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field="new_password") from exc
    session.add(actor)
    end_sessions(session, actor.id, keep_sid=keep_sid, keep_token=keep_token)
    record(session, actor.id, "change_password", "user", actor.id)
    session.flush()


def reset_password(session: Session, actor: User, user_id: int, new: str) -> User:
    """An admin sets a user's password; all of that user's sessions and tokens end."""
    require_admin(actor)
    user = _get_user(session, user_id)
    _set_password(user, new)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    end_sessions(session, user.id)
    record(session, actor.id, "reset_password", "user", user.id)
    session.flush()
    return user


def _active_admins(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.admin.value, User.is_active.is_(True))
        )
        or 0
    )


def update_user(
    session: Session,
    actor: User,
    user_id: int,
    *,
    version: int | None = None,
    role: str | None = None,
    department_id: int | object | None = ...,
    is_active: bool | None = None,
    display_name: str | None = None,
    email: str | None = None,
) -> User:
    """Change a user's role, department, state or name (admins). The last active admin stays."""
    require_admin(actor)
    user = _get_user(session, user_id)
    if version is not None and version != user.version:
        raise StaleVersion(
            "该用户已被他人修改 / someone changed this user first", current=snapshot(user)
        )
    before = snapshot(user)
    if role is not None:
        if role not in {r.value for r in Role}:
            raise ValidationFailed(f"未知角色 / unknown role: {role}", field="role")
        user.role = role
    if department_id is not ...:
        if department_id is not None and session.get(Department, department_id) is None:
            raise ValidationFailed("部门不存在 / no such department", field="department_id")
        user.department_id = department_id  # type: ignore[assignment]
    if is_active is not None:
        user.is_active = is_active
    if display_name is not None:
        display_name = display_name.strip()
        if not display_name or len(display_name) > 100:
            raise ValidationFailed(
                "姓名必填，最多100字符 / name required (≤ 100)", field="display_name"
            )
        user.display_name = display_name
    if email is not None:
        email = email.strip() or None
        if email is not None and (len(email) > 200 or "@" not in email):
            raise ValidationFailed("邮箱格式不正确 / not an email address", field="email")
        user.email = email
    was_admin = (
        before is not None and before.get("role") == Role.admin.value and before.get("is_active")
    )
    if was_admin and (user.role != Role.admin.value or not user.is_active):
        session.flush()
        if _active_admins(session) == 0:
            raise Conflict(
                "至少保留一名在用的管理员 / at least one active admin must remain",
                field="role" if user.is_active else "is_active",
            )
    after = snapshot(user)
    if after == before:
        return user
    user.version += 1
    session.add(user)
    if not user.is_active:
        end_sessions(session, user.id)
    action = "deactivate" if (before or {}).get("is_active") and not user.is_active else "update"
    record(session, actor.id, action, "user", user.id, before=before, after=snapshot(user))
    session.flush()
    return user


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
    if now - ws.last_seen_at > timedelta(
        minutes=s.session_idle_minutes
    ) or now - ws.created_at > timedelta(hours=s.session_max_hours):
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
    """Every user (owner pickers: colleagues' names are not secret)."""
    return list(session.scalars(select(User).order_by(User.id)))


def user_choices(session: Session, actor: User) -> list[Row[Any]]:
    """Users as (id, display_name, department_id, is_active, role) rows, for pickers, filters
    and the names on cards: five columns, not 500 whole accounts, on every list page."""
    return list(
        session.execute(
            select(
                User.id, User.display_name, User.department_id, User.is_active, User.role
            ).order_by(User.id)
        ).all()
    )


def admin_list_users(session: Session, actor: User) -> list[User]:
    """Every user with lockout state, for the admin pages (admins only)."""
    require_admin(actor)
    return list(session.scalars(select(User).order_by(User.username)))


def get_user(session: Session, actor: User, user_id: int) -> User:
    require_admin(actor)
    return _get_user(session, user_id)


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.code)))


def department_user_counts(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(User.department_id, func.count())
        .where(User.department_id.is_not(None))
        .group_by(User.department_id)
    )
    return {d: n for d, n in rows}


def update_department(
    session: Session,
    actor: User,
    department_id: int,
    *,
    name: str,
    code: str,
    version: int | None = None,
) -> Department:
    """Rename a department (admins)."""
    require_admin(actor)
    dep = session.get(Department, department_id)
    if dep is None:
        raise NotFound("部门不存在 / no such department")
    if version is not None and version != dep.version:
        raise StaleVersion(
            "该部门已被他人修改 / someone changed this department first", current=snapshot(dep)
        )
    name, code = (name or "").strip(), (code or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("名称必填，最多100字符 / name required (≤ 100)", field="name")
    if not code or len(code) > 40:
        raise ValidationFailed("代码必填，最多40字符 / code required (≤ 40)", field="code")
    clash = session.scalar(
        select(Department.id).where(
            ((Department.name == name) | (Department.code == code)), Department.id != dep.id
        )
    )
    if clash:
        raise Conflict(
            "部门名称或代码已存在 / a department with that name or code exists", field="name"
        )
    before = snapshot(dep)
    dep.name, dep.code = name, code
    dep.version += 1
    session.add(dep)
    record(session, actor.id, "update", "department", dep.id, before=before, after=snapshot(dep))
    session.flush()
    return dep


WEBHOOK_KINDS = ("wecom", "dingtalk")


def set_department_webhook(
    session: Session,
    actor: User,
    department_id: int,
    *,
    kind: str | None,
    url: str | None = None,
    secret: str | None = None,
    version: int | None = None,
) -> Department:
    """Set or clear a department's group robot (企业微信 / 钉钉) for its reminders and digests
    (admins). No kind clears all three fields. A blank URL or secret keeps the one already set
    (neither is ever shown back); the URL must be http(s) with a host."""
    from urllib.parse import urlsplit

    require_admin(actor)
    dep = session.get(Department, department_id)
    if dep is None:
        raise NotFound("部门不存在 / no such department")
    if version is not None and version != dep.version:
        raise StaleVersion(
            "该部门已被他人修改 / someone changed this department first", current=snapshot(dep)
        )
    kind = (kind or "").strip() or None
    url = (url or "").strip() or None
    secret = (secret or "").strip() or None
    before = snapshot(dep)
    had = {"url": bool(dep.webhook_url), "secret": bool(dep.webhook_secret)}
    if kind is None:
        dep.webhook_kind = dep.webhook_url = dep.webhook_secret = None
    else:
        if kind not in WEBHOOK_KINDS:
            raise ValidationFailed(
                "机器人类型应为 wecom 或 dingtalk / kind: wecom or dingtalk", field="webhook_kind"
            )
        if url is not None:
            parts = urlsplit(url)
            if len(url) > 500 or parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValidationFailed(
                    "机器人地址应为 http(s) 网址，最多500字符 / the webhook "
                    "must be an http(s) URL (≤ 500)",
                    field="webhook_url",
                )
            dep.webhook_url = url
        elif not dep.webhook_url:
            raise ValidationFailed(
                "请填写机器人地址 / the webhook URL is required", field="webhook_url"
            )
        if secret is not None:
            if len(secret) > 200:
                raise ValidationFailed("密钥最多200字符 / secret ≤ 200", field="webhook_secret")
            dep.webhook_secret = secret
        dep.webhook_kind = kind
    dep.version += 1
    session.add(dep)
    # the address and the secret are credentials: the audit says whether they changed, not what
    record(
        session,
        actor.id,
        "update",
        "department",
        dep.id,
        before={
            **(before or {}),
            "webhook_url_set": had["url"],
            "webhook_secret_set": had["secret"],
        },
        after={
            **(snapshot(dep) or {}),
            "webhook_url_set": bool(dep.webhook_url),
            "webhook_secret_set": bool(dep.webhook_secret),
        },
    )
    session.flush()
    return dep


def admin_overview(session: Session, actor: User) -> dict[str, int]:
    """Counts for the admin start page."""
    require_admin(actor)
    now = utcnow()
    return {
        "users": session.scalar(select(func.count()).select_from(User)) or 0,
        "active": session.scalar(
            select(func.count()).select_from(User).where(User.is_active.is_(True))
        )
        or 0,
        "locked": session.scalar(
            select(func.count()).select_from(User).where(User.locked_until > now)
        )
        or 0,
        "departments": session.scalar(select(func.count()).select_from(Department)) or 0,
    }


# --- users and departments through the API ------------------------------------------------------


def user_public(user: User) -> dict:
    from crm.accounts.schemas import UserPublic

    return UserPublic.model_validate(user, from_attributes=True).model_dump(mode="json")


def department_public(dep: Department) -> dict:
    return department_out(dep).model_dump(mode="json")


def department_out(dep: Department):  # type: ignore[no-untyped-def]
    from crm.accounts.schemas import DepartmentPublic

    return DepartmentPublic(
        id=dep.id,
        name=dep.name,
        code=dep.code,
        webhook_kind=dep.webhook_kind,
        has_webhook=bool(dep.webhook_url),
        created_at=dep.created_at,
        version=dep.version,
    )


def page_users(
    session: Session,
    actor: User,
    *,
    department_id: int | None = None,
    role: str | None = None,
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[User], int]:
    """Users, filtered; everyone signed in may list them (to assign and to read names)."""
    stmt = select(User)
    if department_id is not None:
        stmt = stmt.where(User.department_id == department_id)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.is_active.is_(active))
    rows = list(session.scalars(stmt.order_by(User.id).limit(limit).offset(offset)))
    total = (
        session.scalar(
            select(func.count()).select_from(
                stmt.with_only_columns(User.id).limit(10_001).subquery()
            )
        )
        or 0
    )
    return rows, total


def user_profile(session: Session, actor: User, user_id: int) -> User:
    """One user's public profile: anyone signed in may read it (as in the list)."""
    return _get_user(session, user_id)


def update_own_profile(session: Session, actor: User, data) -> User:  # type: ignore[no-untyped-def]
    """The caller changes their own name, email or language; a stale ``version`` raises
    StaleVersion and changes nothing."""
    if data.version != actor.version:
        raise StaleVersion(
            "记录已被他人修改 / someone saved this user first", current=user_public(actor)
        )
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    for k in ("display_name", "language"):
        if k in fields and fields[k] is None:
            raise ValidationFailed(f"{k} 不能为空 / {k} is required", field=k)
    before = snapshot(actor)
    for k, v in fields.items():
        setattr(actor, k, v)
    actor.version += 1
    session.add(actor)
    session.flush()
    record(session, actor.id, "update", "user", actor.id, before=before, after=snapshot(actor))
    return actor


def page_departments(
    session: Session, limit: int = 50, offset: int = 0
) -> tuple[list[Department], int]:
    stmt = select(Department)
    rows = list(session.scalars(stmt.order_by(Department.id).limit(limit).offset(offset)))
    total = session.scalar(select(func.count()).select_from(Department)) or 0
    return rows, total


def get_department(session: Session, department_id: int) -> Department:
    dep = session.get(Department, department_id)
    if dep is None:
        raise NotFound("部门不存在 / no such department")
    return dep


def delete_department(
    session: Session, actor: User, department_id: int, version: int | None = None
) -> None:
    """Remove a department nothing refers to (users, projects, activities, clusters, outbox)."""
    from crm.activities.models import Activity
    from crm.outbox.models import OutboxMessage
    from crm.policy.models import Cluster
    from crm.projects.models import Project

    require_admin(actor)
    dep = get_department(session, department_id)
    if version is not None and version != dep.version:
        raise StaleVersion(
            "记录已被他人修改 / someone saved this department first", current=department_public(dep)
        )
    for model in (User, Project, Activity, OutboxMessage):
        if session.scalar(
            select(func.count()).select_from(model).where(model.department_id == department_id)
        ):
            raise Conflict("部门仍有关联记录，不能删除 / the department still has users or records")
    if session.scalar(
        select(func.count()).select_from(Cluster).where(Cluster.lead_department_id == department_id)
    ):
        raise Conflict("部门仍牵头产业集群 / the department still leads a cluster")
    record(session, actor.id, "delete", "department", dep.id, before=snapshot(dep))
    session.delete(dep)
    session.flush()
