"""Who may change what: roles, editing an owned record, assigning a follow-up, opening a
project for a department. Services call these for create and update alike; pages ask them
which choices to offer (``assignable_users``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Protocol, cast

from sqlalchemy import or_, select, true
from sqlmodel import Session

from crm.authz.visibility import can_see_project, is_admin, is_manager
from crm.errors import PermissionDenied, ValidationFailed
from crm.i18n import Message, _l
from crm.models.accounts import Role, User
from crm.models.activities import ActivityProject
from crm.models.projects import Project


def require_role(actor: User, *roles: str) -> None:
    if actor.role not in roles:
        raise PermissionDenied(_l("没有权限"))


def require_admin(actor: User) -> None:
    require_role(actor, Role.admin.value)


def require_manager(actor: User) -> None:
    require_role(actor, Role.manager.value, Role.admin.value)


# --- records with an owner and an owning department (firms, projects, activities) -----------


class Editor(Protocol):
    """Who the edit rule looks at: a user, or the one who logged a contact as they were then
    (their department at the time; ``crm.activities.rollups.recompute_rollups``)."""

    @property
    def id(self) -> int | None: ...
    @property
    def role(self) -> str: ...
    @property
    def department_id(self) -> int | None: ...


def can_edit_owned(actor: Editor, owner_id: int | None, owner_department_id: int | None) -> bool:
    """The owner, the owning department, or an admin. A record with neither owner nor department
    (e.g. the policy pack's named firms) is everyone's."""
    if is_admin(actor):
        return True
    if owner_id is not None and owner_id == actor.id:
        return True
    if owner_id is None and owner_department_id is None:
        return True
    return actor.department_id is not None and owner_department_id == actor.department_id


def require_edit(actor: User, owner_id: int | None, owner_department_id: int | None) -> None:
    if not can_edit_owned(actor, owner_id, owner_department_id):
        raise PermissionDenied(_l("只能修改本人或本部门的记录"))


def require_delete_firm(actor: User, owner_id: int | None, owner_department_id: int | None) -> None:
    """Deleting a firm: a manager or admin who may edit it (ATTACK9 P1-1).

    What still refers to a firm may be another department's confidential project, or a contact
    or follow-up on one; only managers and admins see every such row (SPEC §8), so only their
    refusal can be decided — and worded — by what is there without telling anyone of a hidden
    project. An officer gets this one answer for every firm, before anything about the firm
    is looked at."""
    if not is_manager(actor):
        raise PermissionDenied(_l("删除企业须由主管或管理员操作"))
    require_edit(actor, owner_id, owner_department_id)


def require_merge(actor: User, *owned: tuple[int | None, int | None]) -> None:
    """Merging firms: a manager or admin who may edit every firm involved (each given as its
    owner and owning department): a manager cannot fold another department's firm away."""
    require_manager(actor)
    if not all(can_edit_owned(actor, owner, dept) for owner, dept in owned):
        raise PermissionDenied(_l("只能合并本人或本部门的企业"))


def require_undo_merge(actor: User, survivor_owner: int | None, survivor_dept: int | None) -> None:
    """Undoing a merge: an admin, or a manager who may edit the firm that survived it."""
    require_manager(actor)
    if not can_edit_owned(actor, survivor_owner, survivor_dept):
        raise PermissionDenied(_l("只能撤销本部门企业的合并"))


def may_give_up_project(actor: User, department_id: int | None) -> bool:
    """Resolving a 撞单 closes or transfers one of the two projects: an admin may decide either
    way; a manager only gives up their OWN department's project (keeping the other
    department's). A manager never closes or takes away another department's project."""
    if is_admin(actor):
        return True
    return (
        is_manager(actor)
        and actor.department_id is not None
        and (department_id == actor.department_id)
    )


def require_give_up_project(actor: User, department_id: int | None) -> None:
    if not may_give_up_project(actor, department_id):
        raise PermissionDenied(
            _l("只能关闭或移交本部门的项目；另一部门的项目由该部门主管或管理员裁决")
        )


def can_see_import_run(actor: User, importer_id: int, importer_department_id: int | None) -> bool:
    """An import run (its report, rejected rows, file, "run again"): its importer, the
    managers of the importer's department, admins. Its rows may hold confidential projects."""
    if is_admin(actor) or actor.id == importer_id:
        return True
    return (
        is_manager(actor)
        and actor.department_id is not None
        and (importer_department_id == actor.department_id)
    )


def import_run_filter(actor: User, run_user_id: Any, importer_department_id: Any) -> Any:
    """``can_see_import_run`` as SQL (the history list), over the run's user and that user's
    department columns."""
    if is_admin(actor):
        return true()
    if actor.department_id is None:
        return run_user_id == actor.id
    return or_(run_user_id == actor.id, importer_department_id == actor.department_id)


def can_change_project(actor: User, project: Any) -> bool:
    """Change a project (edit it, move its stage): the owned-record rule. The board asks it
    which cards get a move form; ``projects.service`` requires it."""
    return can_edit_owned(actor, project.owner_id, project.department_id)


def holder_refusal(new_holder: Any) -> Message | None:
    """Why ``new_holder`` (a user row, or None: no such user) may not be given a firm or
    project, or None. Nothing is held by an inactive user (SPEC §3: a leaver's work is handed
    over, and nobody is reminded of what an inactive user holds): the deactivation refuses
    while the user holds work, and every giving — creating, editing, bulk reassigning, handing
    over, importing — refuses an inactive user (ATTACK9 P2-1)."""
    if new_holder is None:
        return _l("负责人不存在")
    if not new_holder.is_active:
        return _l("该人员已停用，不能接手工作")
    return None


def locked_holder(session: Session, user_id: int, field: str = "owner_id") -> User:
    """The user a firm or project is being given to, read afresh under its row lock and
    refused by ``holder_refusal``. ``crm.accounts.users.update_user`` takes the same lock
    before it counts a user's holdings, so of a deactivation and a giving racing each other
    the later sees the earlier: the user is seen inactive, or the deactivation sees the work
    (PostgreSQL ``FOR UPDATE``; on SQLite the writing request holds the database)."""
    user = session.get(User, user_id, with_for_update=True, populate_existing=True)
    why = holder_refusal(user)
    if why is not None:
        raise ValidationFailed(why, field=field)
    assert user is not None
    return user


def may_set_owner(actor: User, current_owner_id: int | None, new_owner: User | None) -> bool:
    """Reassigning a record: admins to anyone; managers within their department; an officer
    only to themselves when the record is already theirs (no taking over an unowned record).
    Never to an inactive user (``holder_refusal``), so no picker offers one."""
    if new_owner is None:
        return is_manager(actor)
    if new_owner.id == current_owner_id:
        return True
    if not new_owner.is_active:
        return False
    if is_admin(actor):
        return True
    if is_manager(actor):
        return actor.department_id is not None and new_owner.department_id == actor.department_id
    return False


def owner_choices(actor: User, users: list[Any], current_owner_id: int | None) -> list[Any]:
    """The owners a page offers for a record owned by ``current_owner_id`` (rows with ``id``
    and ``department_id``): the current one and whoever ``may_set_owner`` allows."""
    return [
        u for u in users if u.id == current_owner_id or may_set_owner(actor, current_owner_id, u)
    ]


def require_set_owner(actor: User, current_owner_id: int | None, new_owner: User | None) -> None:
    if not may_set_owner(actor, current_owner_id, new_owner):
        raise PermissionDenied(_l("只有本部门主管或管理员可以更换负责人"), field="owner_id")


# what makes a firm a major investor (its derived tier): the coverage report counts on them
TIER_FIELDS = ("global500_rank", "china500_rank", "is_leader")


def require_owner_sees_project(
    owner: Any, is_confidential: bool | None, department_id: int | None, field: str = "owner_id"
) -> None:
    """A project's owner must be someone who sees it: a confidential project is owned within its
    department (or by a manager or admin) — never by an officer to whom it does not exist. One
    rule for creating, editing, bulk reassigning and handing over."""
    if owner is None:
        return
    shape = SimpleNamespace(is_confidential=bool(is_confidential), department_id=department_id)
    if not can_see_project(owner, cast(Project, shape)):
        raise ValidationFailed(_l("该人员无权查看此项目"), field=field)


def may_own_project_of(owner: Any, department_id: int | None) -> bool:
    """A project is owned within its department: an officer or manager of another department
    would hold it while its own manager answers for it, and the reports would count it for one
    department by department and for the other by officer (ATTACK8 P2-2). An admin, or someone
    of no department, may own any project."""
    return (
        owner is None
        or department_id is None
        or owner.department_id is None
        or owner.role == Role.admin.value
        or owner.department_id == department_id
    )


def require_project_owner(
    owner: Any, is_confidential: bool | None, department_id: int | None, field: str = "owner_id"
) -> None:
    """Who may own a project: someone who sees it (``require_owner_sees_project``) and of its
    department (``may_own_project_of``). One rule for creating, editing, bulk reassigning and
    handing over."""
    require_owner_sees_project(owner, is_confidential, department_id, field)
    if not may_own_project_of(owner, department_id):
        raise ValidationFailed(_l("负责人须是项目所属部门的人员"), field=field)


def require_tier_change(actor: User, owner_id: int | None, field: str) -> None:
    """A firm nobody owns (the policy pack's named firms) is everyone's to keep up to date, but
    its tier — ranks and the leader flag — is changed by managers and admins only; an owned
    firm's by whoever may edit it."""
    if owner_id is None and not is_manager(actor):
        raise PermissionDenied(_l("无人负责的企业，只有管理者可以修改排名和行业龙头"), field=field)


def require_department(actor: User, department_id: int | None) -> None:
    """Opening a project (or any owned record) for a department: admins for any, everyone else
    for their own department only."""
    if is_admin(actor):
        return
    if department_id != actor.department_id:
        raise ValidationFailed(
            _l("只能为本部门立项"),
            field="department_id",
        )


# --- follow-ups --------------------------------------------------------------------------------


def _assignee_department_ok(actor: User, assignee: User) -> bool:
    if assignee.id == actor.id or is_admin(actor):
        return True
    return actor.department_id is not None and assignee.department_id == actor.department_id


def _projects_behind(
    session: Session, project_id: int | None, activity_id: int | None
) -> list[Project]:
    """The projects a follow-up names: its own and its activity's."""
    out: list[Project] = []
    if project_id is not None:
        p = session.get(Project, project_id)
        if p is not None:
            out.append(p)
    if activity_id is not None:
        out.extend(
            session.scalars(
                select(Project)
                .join(ActivityProject, ActivityProject.project_id == Project.id)
                .where(ActivityProject.activity_id == activity_id)
            )
        )
    return out


def _refusal(actor: User, assignee: User | None, projects: list[Project]) -> Message | None:
    if assignee is None or not assignee.is_active:
        return _l("负责人不存在")
    if not _assignee_department_ok(actor, assignee):
        return _l("只能分派给本部门人员")
    if not all(can_see_project(assignee, p) for p in projects):
        return _l("该人员无权查看此项目")
    return None


def assign_refusal(
    session: Session,
    actor: User,
    assignee: User | None,
    project_id: int | None,
    activity_id: int | None = None,
) -> Message | None:
    """Why ``actor`` may not give a follow-up (on this project / activity) to ``assignee``, or
    None. The one rule for create, update and reassign, API and pages alike: an active user of
    the actor's department (admins: anyone), who may see the project and the activity."""
    return _refusal(actor, assignee, _projects_behind(session, project_id, activity_id))


def require_assign(
    session: Session,
    actor: User,
    assignee: User | None,
    project_id: int | None,
    activity_id: int | None = None,
) -> None:
    why = assign_refusal(session, actor, assignee, project_id, activity_id)
    if why is not None:
        raise ValidationFailed(why, field="assignee_id")


def assignable_users(
    session: Session, actor: User, project_id: int | None = None, activity_id: int | None = None
) -> list[User]:
    """The choices a page offers for a follow-up's assignee (the same rule as require_assign)."""
    stmt = select(User).where(User.is_active.is_(True))
    if not is_admin(actor):
        if actor.department_id is None:
            stmt = stmt.where(User.id == actor.id)
        else:
            stmt = stmt.where((User.department_id == actor.department_id) | (User.id == actor.id))
    users = list(session.scalars(stmt.order_by(User.id).limit(5000)))
    projects = _projects_behind(session, project_id, activity_id)
    return [u for u in users if _refusal(actor, u, projects) is None]


def can_change_followup(session: Session, actor: User, fu: Any) -> bool:
    """The assignee, the creator, the assignee's department manager, or an admin."""
    if is_admin(actor) or actor.id in (fu.assignee_id, fu.created_by_id):
        return True
    if is_manager(actor) and actor.department_id is not None:
        dept = session.scalar(select(User.department_id).where(User.id == fu.assignee_id))
        return dept == actor.department_id
    return False


def require_change_followup(session: Session, actor: User, fu: Any) -> None:
    if not can_change_followup(session, actor, fu):
        raise PermissionDenied(_l("只能修改自己或本部门的跟进事项"))
