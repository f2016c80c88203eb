"""Bulk reassignment: the selected firms or projects given to one person, all or nothing, by
the rules of editing each row's owner."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from crm.accounts.users import user_choices
from crm.audit.service import record
from crm.authz import (
    can_edit_owned,
    is_manager,
    may_set_owner,
    owner_choices,
    project_visible,
)
from crm.errors import NotFound, PermissionDenied, ValidationFailed
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.firms import Firm
from crm.models.projects import Project
from crm.reassign.moving import new_holder, owner_sees
from crm.types import utcnow


def bulk_heirs(session: Session, actor: User) -> list[Any]:
    """Whom ``actor`` may give selected rows to (the bulk bar's picker): active users that
    ``crm.authz.owner_choices`` allows for a new owner — every active user for an admin, the
    department's for a manager, nobody for an officer."""
    active = [u for u in user_choices(session, actor) if u.is_active]
    return owner_choices(actor, active, None)


def bulk_reassign(session: Session, actor: User, kind: str, ids: list[int], to_user_id: int) -> int:
    """Give the selected firms or projects (``kind``) to one person, all or nothing, by the
    rules of editing each row's owner (``crm.authz``): admins any row to anyone; managers their
    department's rows (owned in it, or a project of it) to its people; officers nobody's. Rows
    the actor may not know exist (a confidential project of another department) are "not
    found", as in the list. One audit row; how many changed."""
    if not is_manager(actor):
        raise PermissionDenied(_l("只有管理者可以转交"))
    models: dict[str, type[Firm] | type[Project]] = {"firm": Firm, "project": Project}
    model = models.get(kind)
    if model is None:
        raise ValidationFailed(_l("未知类型"), field="kind")
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ValidationFailed(_l("请先选择要转交的记录"), field="ids")
    target = new_holder(session, actor, to_user_id, "to_user_id")
    owner_dept = aliased(User)
    if model is Project:
        stmt = select(Project.id, Project.owner_id, Project.department_id).where(
            Project.id.in_(ids), project_visible(actor)
        )
    else:
        stmt = (
            select(Firm.id, Firm.owner_id, owner_dept.department_id)
            .outerjoin(owner_dept, owner_dept.id == Firm.owner_id)
            .where(Firm.id.in_(ids))
        )
    rows = {i: (owner, dept) for i, owner, dept in session.execute(stmt).all()}
    if missing := [i for i in ids if i not in rows]:
        raise NotFound(_l("记录不存在：%(id)s", id=missing[0]))
    for i in ids:
        owner, dept = rows[i]
        if not can_edit_owned(actor, owner, dept) or not may_set_owner(actor, owner, target):
            raise PermissionDenied(_l("只能转交本部门的记录：%(id)s", id=i), field="ids")
    if model is Project:
        owner_sees(session, ids, target)
    now = utcnow()
    session.execute(
        update(model)
        .where(model.id.in_(ids))
        .values(owner_id=target.id, version=model.version + 1, updated_at=now)
    )
    record(
        session,
        actor.id,
        "reassign",
        kind,
        ",".join(map(str, ids))[:64],
        after={"ids": ids, "from": {str(k): v[0] for k, v in rows.items()}, "to": target.id},
    )
    session.flush()
    return len(ids)
