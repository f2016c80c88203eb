"""Who may see and change what. Every list, search, report, export and job starts here.

The rules (SPEC §8):
- A confidential project is visible only to its own department, managers and admins; to anyone
  else it does not exist (NotFound, never "forbidden"), in lists, reports and messages too.
- Activities and follow-ups tied to a project the actor cannot see are hidden with it.
- Officers change only what they own or what their department owns; managers change what their
  department owns; admins change everything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, false, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from crm.accounts.models import Role, User
from crm.activities.models import Activity, ActivityProject
from crm.errors import PermissionDenied
from crm.followups.models import Followup
from crm.projects.models import Project


def is_manager(actor: User) -> bool:
    return actor.role in (Role.manager.value, Role.admin.value)


def is_admin(actor: User) -> bool:
    return actor.role == Role.admin.value


def require_role(actor: User, *roles: str) -> None:
    if actor.role not in roles:
        raise PermissionDenied("没有权限 / you may not do this")


def require_admin(actor: User) -> None:
    require_role(actor, Role.admin.value)


def require_manager(actor: User) -> None:
    require_role(actor, Role.manager.value, Role.admin.value)


def project_visible(actor: User | None, project_cls: Any = Project) -> ColumnElement[bool]:
    """Filter: the projects ``actor`` may know exist."""
    if actor is None:
        return false()
    if is_manager(actor):
        return true()
    if actor.department_id is None:
        return project_cls.is_confidential == false()
    return or_(
        project_cls.is_confidential == false(),
        project_cls.department_id == actor.department_id,
    )


def hidden_projects(actor: User | None) -> Any:
    """A statement selecting the ids of projects hidden from ``actor``, or None if none are."""
    if actor is not None and is_manager(actor):
        return None
    clause = Project.is_confidential == true()
    if actor is not None and actor.department_id is not None:
        clause = and_(clause, Project.department_id != actor.department_id)
    return select(Project.id).where(clause)


def activity_visible(actor: User | None) -> ColumnElement[bool]:
    """Filter: activities not tied to any project hidden from ``actor``."""
    if actor is None:
        return false()
    if is_manager(actor):
        return true()
    hidden = exists().where(
        ActivityProject.activity_id == Activity.id,
        ActivityProject.project_id == Project.id,
        Project.is_confidential == true(),
        or_(Project.department_id.is_(None), Project.department_id != actor.department_id)
        if actor.department_id is not None
        else true(),
    )
    return not_(hidden)


def followup_visible(actor: User | None) -> ColumnElement[bool]:
    """Filter: follow-ups whose project (if any) the actor may see."""
    if actor is None:
        return false()
    if is_manager(actor):
        return true()
    hidden = exists().where(
        Project.id == Followup.project_id,
        Project.is_confidential == true(),
        or_(Project.department_id.is_(None), Project.department_id != actor.department_id)
        if actor.department_id is not None
        else true(),
    )
    return or_(Followup.project_id.is_(None), not_(hidden))


def project_visible_to_user(user_cls: Any, project_cls: Any = Project) -> ColumnElement[bool]:
    """Filter over a join with users: the project is visible to the joined ``user_cls`` row.

    The same rule as ``project_visible``, written on columns so one query serves many
    recipients at once (the scheduled messages compose every officer's list in one query).
    """
    return or_(
        user_cls.role.in_((Role.manager.value, Role.admin.value)),
        project_cls.is_confidential == false(),
        and_(
            user_cls.department_id.is_not(None), project_cls.department_id == user_cls.department_id
        ),
    )


def can_see_project(actor: User | None, project: Project) -> bool:
    if actor is None:
        return False
    if is_manager(actor) or not project.is_confidential:
        return True
    return actor.department_id is not None and project.department_id == actor.department_id


def can_edit_owned(actor: User, owner_id: int | None, owner_department_id: int | None) -> bool:
    """The common edit rule for a record with an owner and an owning department."""
    if is_admin(actor):
        return True
    if owner_id is not None and owner_id == actor.id:
        return True
    if owner_id is None and owner_department_id is None:
        return True  # shared records (e.g. the policy pack's named firms) are everyone's
    return actor.department_id is not None and owner_department_id == actor.department_id


def require_edit(actor: User, owner_id: int | None, owner_department_id: int | None) -> None:
    if not can_edit_owned(actor, owner_id, owner_department_id):
        raise PermissionDenied(
            "只能修改本人或本部门的记录 / you may change only your own or your department's records"
        )
