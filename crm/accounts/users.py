"""Users: creating, changing (admins), own profile and password, listing."""

from __future__ import annotations

import secrets
from functools import cached_property
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from crm.accounts.passwords import check_policy, hash_password, verify_password
from crm.accounts.schemas import MeUpdate, UserPublic
from crm.accounts.sessions import end_sessions
from crm.audit.service import record, snapshot
from crm.authz import require_admin
from crm.changes import apply_change, check_version
from crm.db import bind_url, cache_version, capped_count, get_or_not_found, lock_rows, memo
from crm.errors import Conflict, ValidationFailed
from crm.i18n import _l
from crm.models.accounts import Department, Role, User
from crm.models.firms import Firm
from crm.models.followups import Followup
from crm.models.projects import Project
from crm.types import stored_id, utcnow


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
        raise ValidationFailed(_l("用户名必填，最多60字符"), field="username")
    display_name = (display_name or "").strip() or username  # no name given: the username
    if len(display_name) > 100:
        raise ValidationFailed(_l("姓名最多100字符"), field="display_name")
    # the role, name, department and e-mail address checked as an admin's change checks them
    # (one rule each), as the new row's columns
    columns = _user_changes(session, role, department_id, None, display_name, email)
    if columns["role"] != Role.admin.value and columns["department_id"] is None:
        # as a change of role or department (``_check_user_change``): an officer or manager
        # outside every department could see nothing of his own and no manager would see him
        raise ValidationFailed(_l("专员和主管必须属于一个部门"), field="department_id")
    if check_password:
        check_policy(password, username)
    # one person per name whatever its case: "Wang" beside "wang" is the same login to a reader
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise Conflict(_l("用户名已存在"), field="username")
    user = User(
        **columns,
        username=username,
        language=language,
        password_hash=hash_password(password),
        password_changed_at=utcnow(),
        ical_token=secrets.token_urlsafe(24),
    )
    session.add(user)
    session.flush()
    record(session, actor.id if actor else None, "create", "user", user.id, after=snapshot(user))
    return user


def _get_user(session: Session, user_id: int) -> User:
    return get_or_not_found(session, User, user_id, _l("用户不存在"))


def get_user(session: Session, actor: User, user_id: int) -> User:
    require_admin(actor)
    return _get_user(session, user_id)


def user_profile(session: Session, actor: User, user_id: int) -> User:
    """One user's public profile: anyone signed in may read it (as in the list)."""
    return _get_user(session, user_id)


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


def _password_changes(user: User, new: str) -> dict[str, Any]:
    """The fields a new password changes (for ``apply_change``: the hash never reaches the
    audit row, ``audit.service.snapshot`` leaves it out). The policy is checked first."""
    check_policy(new, user.username)
    return {
        "password_hash": hash_password(new),
        "password_changed_at": utcnow(),
        "session_version": user.session_version + 1,
    }


def change_password(
    session: Session,
    actor: User,
    old: str,
    new: str,
    *,
    keep_sid: str | None = None,
) -> None:
    """A user changes their own password; every other browser session of theirs ends, and
    every API token, the one that asked included: a password change is the remedy for a
    leaked token, which may be the very one in use (ATTACK8 P3-17). The browser that changed
    it (``keep_sid``) stays signed in."""
    if not verify_password(actor.password_hash, old or ""):
        raise ValidationFailed(_l("原密码不正确"), field="old_password")
    if old == new:
        raise ValidationFailed(_l("新密码不能与原密码相同"), field="new_password")
    try:
        changes = _password_changes(actor, new)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field="new_password") from exc
    apply_change(session, actor.id, actor, "user", None, changes, action="change_password")
    end_sessions(session, stored_id(actor), keep_sid=keep_sid)
    session.flush()


def reset_password(session: Session, actor: User, user_id: int, new: str) -> User:
    """An admin sets a user's password; all of that user's sessions and tokens end."""
    require_admin(actor)
    user = _get_user(session, user_id)
    changes = {**_password_changes(user, new), "failed_logins": 0, "locked_until": None}
    apply_change(session, actor.id, user, "user", None, changes, action="reset_password")
    end_sessions(session, stored_id(user))
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


def _holds_work(session: Session, user_id: int | None) -> bool:
    """Owns a firm, a project still pursued, or an open follow-up: moving such a user to
    another department would leave that work behind (hidden from its new holder)."""
    return any(
        session.scalar(stmt.limit(1)) is not None
        for stmt in (
            select(Firm.id).where(Firm.owner_id == user_id),
            select(Project.id).where(Project.owner_id == user_id, Project.stage != "lost"),
            select(Followup.id).where(Followup.assignee_id == user_id, Followup.status == "open"),
        )
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
    """Change a user's role, department, state or name (admins). The last active admin stays.
    Every check runs before anything is written (``crm.changes.apply_change``)."""
    require_admin(actor)
    # the row locked before its holdings are counted: a follow-up being assigned to this user
    # meanwhile waits (it locks the same row) and then sees the user inactive
    lock_rows(session, User, [user_id])
    user = _get_user(session, user_id)
    check_version(user, version, lambda: snapshot(user), _l("该用户已被他人修改"))
    changes = _user_changes(session, role, department_id, is_active, display_name, email)

    def keeps_an_admin(new: Any) -> None:
        _check_user_change(
            session, user, new, moves="role" in changes or "department_id" in changes
        )

    action = "deactivate" if user.is_active and changes.get("is_active") is False else "update"
    changed = apply_change(
        session,
        actor.id,
        user,
        "user",
        version,
        changes,
        validate=keeps_an_admin,
        current=lambda: snapshot(user),
        action=action,
        stale_message=_l("该用户已被他人修改"),
    )
    if changed and not user.is_active:
        end_sessions(session, stored_id(user))
    return user


def _user_changes(
    session: Session,
    role: str | None,
    department_id: int | object | None,
    is_active: bool | None,
    display_name: str | None,
    email: str | None,
) -> dict[str, Any]:
    """The columns an admin's change sets, each checked (``...``: department unchanged)."""
    changes: dict[str, Any] = {}
    if role is not None:
        if role not in {r.value for r in Role}:
            raise ValidationFailed(_l("未知角色：%(role)s", role=role), field="role")
        changes["role"] = role
    if department_id is not ...:
        if department_id is not None and session.get(Department, department_id) is None:
            raise ValidationFailed(_l("部门不存在"), field="department_id")
        changes["department_id"] = department_id
    if is_active is not None:
        changes["is_active"] = is_active
    if display_name is not None:
        display_name = display_name.strip()
        if not display_name or len(display_name) > 100:
            raise ValidationFailed(_l("姓名必填，最多100字符"), field="display_name")
        changes["display_name"] = display_name
    if email is not None:
        email = email.strip() or None
        if email is not None and (len(email) > 200 or "@" not in email):
            raise ValidationFailed(_l("邮箱格式不正确"), field="email")
        changes["email"] = email
    return changes


def _check_user_change(session: Session, user: User, new: Any, *, moves: bool) -> None:
    """``user`` as changed (``new``) keeps an active admin, a department for a non-admin
    whose role or department was set (``moves``), and no work left behind in the old
    department."""
    was_admin = user.role == Role.admin.value and user.is_active
    if was_admin and (new.role != Role.admin.value or not new.is_active):
        others = session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.admin.value, User.is_active.is_(True), User.id != user.id)
        )
        if not others:
            raise Conflict(
                _l("至少保留一名在用的管理员"),
                field="role" if new.is_active else "is_active",
            )
    if moves and new.role != Role.admin.value and new.department_id is None:
        raise ValidationFailed(_l("专员和主管必须属于一个部门"), field="department_id")
    if user.is_active and not new.is_active and _holds_work(session, user.id):
        # as the pages do (they lead to the handover first): nothing left on an inactive user
        # (SPEC §3), whether deactivated from a page or through the API
        raise Conflict(
            _l(
                "该用户仍负责企业、项目或待办跟进：请先在交接页面 /users/%(id)s/handover 转交",
                id=user.id,
            ),
            field="is_active",
        )
    if new.department_id != user.department_id and _holds_work(session, user.id):
        raise Conflict(
            _l(
                "该用户仍负责企业、项目或待办跟进：请先在交接页面 /users/%(id)s/handover 转交",
                id=user.id,
            ),
            field="department_id",
        )


def update_own_profile(session: Session, actor: User, data: MeUpdate) -> User:
    """The caller changes their own name, email or language; a stale ``version`` raises
    StaleVersion and changes nothing."""
    check_version(actor, data.version, lambda: user_public(actor))
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    for k in ("display_name", "language"):
        if k in fields and fields[k] is None:
            raise ValidationFailed(_l("%(k)s 不能为空", k=k), field=k)
    apply_change(
        session,
        actor.id,
        actor,
        "user",
        data.version,
        fields,
        current=lambda: user_public(actor),
    )
    return actor


def user_public(user: User) -> dict[str, Any]:
    return UserPublic.model_validate(user, from_attributes=True).model_dump(mode="json")


def list_users(session: Session, actor: User) -> list[User]:
    """Every user (owner pickers: colleagues' names are not secret)."""
    return list(session.scalars(select(User).order_by(User.id)))


class UserChoices(list):  # type: ignore[type-arg]
    """The rows of ``user_choices``; pickers keep what they render from them here (the list is
    shared by every request until the users change)."""

    rendered: dict[str, Any]

    @cached_property
    def names(self) -> dict[int, str]:
        """id → display name of every user (the names on cards and lists), built once."""
        return {u.id: u.display_name for u in self}

    @cached_property
    def officers(self) -> UserChoices:
        """The active users who may hold work (not admins), for the officer pickers: shared
        like the whole list, so a picker's rendered options are kept with it too."""
        out = UserChoices(u for u in self if u.is_active and u.role != "admin")
        out.rendered = {}
        return out


# (database, users' version) → the rows: one entry per process and database
_CHOICES: dict[Any, UserChoices] = {}


def user_choices(session: Session, actor: User) -> UserChoices:
    """Users as (id, display_name, department_id, is_active, role) rows, for pickers, filters
    and the names on cards: five columns, not 500 whole accounts, on every list page — read
    once per process and kept until the users' version changes (``crm.db.cache_version``: a
    trigger gives it a new value with any change of a user's row the pickers show, in any
    process; the request read it with its session)."""
    return memo(session, "user_choices", lambda: _user_choices(session))


def _user_choices(session: Session) -> UserChoices:
    key = (str(bind_url(session)), cache_version(session, "users"))
    rows = _CHOICES.get(key)
    if rows is None:
        rows = UserChoices(
            session.execute(
                select(
                    User.id, User.display_name, User.department_id, User.is_active, User.role
                ).order_by(User.id)
            ).all()
        )
        rows.rendered = {}
        _CHOICES.clear()  # only the current version is worth keeping
        _CHOICES[key] = rows
    return rows


def admin_list_users(session: Session, actor: User) -> list[User]:
    """Every user with lockout state, for the admin pages (admins only)."""
    require_admin(actor)
    return list(session.scalars(select(User).order_by(User.username)))


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
    return rows, capped_count(session, stmt, User.id)


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
