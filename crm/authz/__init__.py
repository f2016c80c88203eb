"""The one authorization module: who sees what (visibility, as SQL, and the per-row checks
proved equal to it) and who may change what (edit, assign, reassign, create for a department).

Every list, search, report, export, feed, message and job query starts from the filters here;
no other module decides who may see or change a record."""

from crm.authz.rules import (
    assign_refusal,
    assignable_users,
    can_change_followup,
    can_change_project,
    can_edit_owned,
    may_set_owner,
    owner_choices,
    require_admin,
    require_assign,
    require_change_followup,
    require_department,
    require_edit,
    require_manager,
    require_merge,
    require_role,
    require_set_owner,
    require_undo_merge,
)
from crm.authz.visibility import (
    MANAGER_ROLES,
    activity_visible,
    can_see_activity,
    can_see_followup,
    can_see_project,
    followup_visible,
    hidden_projects,
    is_admin,
    is_manager,
    project_visible,
    project_visible_to_user,
)

__all__ = [
    "MANAGER_ROLES",
    "activity_visible",
    "assign_refusal",
    "assignable_users",
    "can_change_followup",
    "can_change_project",
    "can_edit_owned",
    "can_see_activity",
    "can_see_followup",
    "can_see_project",
    "followup_visible",
    "hidden_projects",
    "is_admin",
    "is_manager",
    "may_set_owner",
    "owner_choices",
    "project_visible",
    "project_visible_to_user",
    "require_admin",
    "require_assign",
    "require_change_followup",
    "require_department",
    "require_edit",
    "require_manager",
    "require_merge",
    "require_role",
    "require_set_owner",
    "require_undo_merge",
]
