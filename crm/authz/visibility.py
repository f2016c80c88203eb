"""Who may know a record exists — written once, as SQL.

The rule (SPEC §8): a confidential project is visible to managers and admins, and to the
officers of its own department; to anyone else it does not exist. A confidential project with
no department is visible to managers and admins only. Activities tied to a hidden project are
hidden with it; follow-ups on a hidden project, or attached to a hidden activity, are hidden too.

``_project_rule`` is the one statement of the rule. It takes the viewer either as plain values
(one acting user: the filter is simplified before SQL sees it) or as columns (a join with
``user_account``, so one query serves many recipients). Every other filter here is built from
it, and the per-row checks (``can_see_project`` …) are proved equal to it over random worlds by
``tests/authz/test_visibility_property.py``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, false, not_, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from crm.models.accounts import Role, User
from crm.models.activities import Activity, ActivityProject
from crm.models.followups import Followup
from crm.models.projects import Project

MANAGER_ROLES = (Role.manager.value, Role.admin.value)

# The aliases the filters below select from inside their own subqueries, made once: an alias
# made per call is a new FROM whose columns SQLAlchemy builds and adapts again on every request
# (≈ 10 % of a list page's time). Each filter has its own, so one filter may sit beside another
# in a statement; none is ever the FROM of an enclosing query, so none is correlated away.
_P_HIDDEN = aliased(Project)  # hidden_projects
_P_ACTIVITY = aliased(Project)  # activity_visible
_AP_ACTIVITY = aliased(ActivityProject)
_P_FOLLOWUP = aliased(Project)  # followup_visible


def is_manager(actor: Any) -> bool:
    """Managers and admins (``actor`` is a User or a snapshot with ``role``)."""
    return actor is not None and actor.role in MANAGER_ROLES


def is_admin(actor: Any) -> bool:
    return actor is not None and actor.role == Role.admin.value


def _project_rule(role: Any, department_id: Any, project_cls: Any) -> ColumnElement[bool]:
    """THE visibility rule. Always true or false, never NULL, so it may be negated safely."""
    if isinstance(role, str) or role is None:  # one viewer, known now
        if role in MANAGER_ROLES:
            return true()
        manager: ColumnElement[bool] = false()
    else:  # a column: one row per viewer
        manager = role.in_(MANAGER_ROLES)
    if department_id is None:
        same_department: ColumnElement[bool] = false()
    else:
        parts = [project_cls.department_id.is_not(None), project_cls.department_id == department_id]
        if not isinstance(department_id, int):
            parts.insert(0, department_id.is_not(None))
        same_department = and_(*parts)
    return or_(manager, project_cls.is_confidential == false(), same_department)


def project_visible(actor: User | None, project_cls: Any = Project) -> ColumnElement[bool]:
    """Filter: the projects ``actor`` may know exist."""
    if actor is None:
        return false()
    return _project_rule(actor.role, actor.department_id, project_cls)


def viewer_key(actor: Any) -> tuple[Any, ...]:
    """What of ``actor`` the filters above depend on: a statement built with them for one actor
    serves every actor with the same key (managers and admins alike; officers by department)."""
    if actor is None:
        return ("none",)
    if actor.role in MANAGER_ROLES:
        return ("manager",)
    return ("other", actor.department_id)


def project_visible_to_user(user_cls: Any, project_cls: Any = Project) -> ColumnElement[bool]:
    """Filter over a join with users: the project is visible to the joined ``user_cls`` row."""
    return _project_rule(user_cls.role, user_cls.department_id, project_cls)


def hidden_projects(actor: User | None) -> Any:
    """A statement selecting the ids of projects hidden from ``actor``, or None if none are."""
    if is_manager(actor):
        return None
    p = _P_HIDDEN
    return select(p.id).where(not_(project_visible(actor, p)))


def activity_visible(actor: User | None, activity_id: Any = None) -> ColumnElement[bool]:
    """Filter: activities not tied to any project hidden from ``actor``.

    ``activity_id`` is the column naming the activity (``Activity.id`` by default; a follow-up's
    ``activity_id`` to filter follow-ups by their activity)."""
    if actor is None:
        return false()
    if is_manager(actor):
        return true()
    col = Activity.id if activity_id is None else activity_id
    p, ap = _P_ACTIVITY, _AP_ACTIVITY
    return not_(
        exists().where(
            ap.activity_id == col, ap.project_id == p.id, not_(project_visible(actor, p))
        )
    )


def followup_visible(actor: User | None, followup_cls: Any = Followup) -> ColumnElement[bool]:
    """Filter: follow-ups whose project and activity (if any) the actor may see."""
    if actor is None:
        return false()
    if is_manager(actor):
        return true()
    p = _P_FOLLOWUP
    hidden_project = exists().where(
        p.id == followup_cls.project_id, not_(project_visible(actor, p))
    )
    return and_(not_(hidden_project), activity_visible(actor, followup_cls.activity_id))


# --- the per-row checks (one loaded row; equal to the filters above, proved by a property test)


def can_see_project(actor: Any, project: Project) -> bool:
    return may_know_project(actor, project.is_confidential, project.department_id)


def may_know_project(actor: Any, is_confidential: bool, department_id: int | None) -> bool:
    """The rule of ``can_see_project`` for a project known by these two fields only (a deleted
    one, from its audit row)."""
    if actor is None:
        return False
    if actor.role in MANAGER_ROLES or not is_confidential:
        return True
    return (
        actor.department_id is not None
        and department_id is not None
        and department_id == actor.department_id
    )


def can_see_activity(session: Session, actor: Any, activity_id: int) -> bool:
    if actor is None:
        return False
    if is_manager(actor):
        return True
    projects = session.scalars(
        select(Project)
        .join(ActivityProject, ActivityProject.project_id == Project.id)
        .where(ActivityProject.activity_id == activity_id)
    )
    return all(can_see_project(actor, p) for p in projects)


def can_see_followup(session: Session, actor: Any, fu: Followup) -> bool:
    if actor is None:
        return False
    if fu.project_id is not None:
        p = session.get(Project, fu.project_id)
        if p is not None and not can_see_project(actor, p):
            return False
    return fu.activity_id is None or can_see_activity(session, actor, fu.activity_id)
