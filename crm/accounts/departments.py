"""Departments: creating, renaming, listing, deleting one nothing refers to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from crm.accounts.schemas import DepartmentPublic
from crm.audit.service import record, snapshot
from crm.authz import require_admin
from crm.changes import apply_change, check_version
from crm.db import get_or_not_found
from crm.errors import Conflict, ValidationFailed
from crm.i18n import Message, _l
from crm.models.accounts import Department, User
from crm.models.activities import Activity
from crm.models.outbox import OutboxMessage
from crm.models.policy import Cluster
from crm.models.projects import Project


def _checked(
    session: Session, name: str, code: str, department_id: int | None, taken: Message
) -> tuple[str, str]:
    """A department's name and code, trimmed and checked: both required, and neither another
    department's — a code not even in another case (ATTACK9 P3-9: the import folders and
    ``crm add-user --department`` find a department by its code, so CQ-INVEST beside cq-invest
    is a trap)."""
    name, code = (name or "").strip(), (code or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(_l("名称必填，最多100字符"), field="name")
    if not code or len(code) > 40:
        raise ValidationFailed(_l("代码必填，最多40字符"), field="code")
    clash = select(Department.id).where(
        (Department.name == name) | (func.lower(Department.code) == code.lower())
    )
    if department_id is not None:
        clash = clash.where(Department.id != department_id)
    if session.scalar(clash.limit(1)):
        raise Conflict(taken, field="name")
    return name, code


def create_department(session: Session, actor: User | None, name: str, code: str) -> Department:
    """Add a department (admin only; the CLI passes no actor)."""
    if actor is not None:
        require_admin(actor)
    name, code = _checked(session, name, code, None, _l("部门已存在"))
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


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.code)))


def department_user_counts(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(User.department_id, func.count())
        .where(User.department_id.is_not(None))
        .group_by(User.department_id)
    )
    return {d: n for d, n in rows}


def get_department(session: Session, department_id: int) -> Department:
    return get_or_not_found(session, Department, department_id, _l("部门不存在"))


STALE_DEPARTMENT = _l("该部门已被他人修改")


def department_to_change(
    session: Session, actor: User, department_id: int, version: int | None
) -> Department:
    """The department an admin is about to change, at the version they saw."""
    require_admin(actor)
    dep = get_department(session, department_id)
    check_version(dep, version, lambda: snapshot(dep), STALE_DEPARTMENT)
    return dep


def change_department(
    session: Session,
    actor: User,
    dep: Department,
    version: int | None,
    changes: dict[str, Any],
    **how: Any,
) -> None:
    """A department's versioned change (``crm.changes.apply_change``), audited."""
    apply_change(
        session,
        actor.id,
        dep,
        "department",
        version,
        changes,
        current=lambda: snapshot(dep),
        stale_message=STALE_DEPARTMENT,
        **how,
    )


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
    dep = department_to_change(session, actor, department_id, version)
    name, code = _checked(session, name, code, dep.id, _l("部门名称或代码已存在"))
    change_department(session, actor, dep, version, {"name": name, "code": code})
    return dep


def delete_department(
    session: Session, actor: User, department_id: int, version: int | None = None
) -> None:
    """Remove a department nothing refers to (users, projects, activities, clusters, outbox)."""

    require_admin(actor)
    dep = get_department(session, department_id)
    check_version(dep, version, lambda: department_public(dep))
    for model in (User, Project, Activity, OutboxMessage):
        if session.scalar(
            select(func.count()).select_from(model).where(model.department_id == department_id)
        ):
            raise Conflict(_l("部门仍有关联记录，不能删除"))
    if session.scalar(
        select(func.count()).select_from(Cluster).where(Cluster.lead_department_id == department_id)
    ):
        raise Conflict(_l("部门仍牵头产业集群"))
    record(session, actor.id, "delete", "department", dep.id, before=snapshot(dep))
    session.delete(dep)
    session.flush()


def department_public(dep: Department) -> dict[str, Any]:
    return department_out(dep).model_dump(mode="json")


def department_out(dep: Department) -> DepartmentPublic:
    return DepartmentPublic(
        id=dep.id,
        name=dep.name,
        code=dep.code,
        webhook_kind=dep.webhook_kind,
        has_webhook=bool(dep.webhook_url),
        created_at=dep.created_at,
        version=dep.version,
    )


def page_departments(
    session: Session, limit: int = 50, offset: int = 0
) -> tuple[list[Department], int]:
    stmt = select(Department)
    rows = list(session.scalars(stmt.order_by(Department.id).limit(limit).offset(offset)))
    total = session.scalar(select(func.count()).select_from(Department)) or 0
    return rows, total
