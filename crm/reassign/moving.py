"""What every reassignment shares: the new holder checked (active, of the actor's department
unless an admin), a project's new owner checked (sees it, is of its department), the rows
moved in one UPDATE per kind and holder with their versions bumped, and a project's open
follow-ups handed to its new owner (a 撞单 transfer)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import Session

from crm.audit.service import record
from crm.authz import (
    holder_refusal,
    is_admin,
    may_own_project_of,
    require_owner_sees_project,
)
from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.firms import Firm
from crm.models.followups import Followup
from crm.models.projects import Project
from crm.types import stored_id, utcnow
from crm.vocabulary import FollowupStatus


def new_holder(session: Session, actor: User, user_id: int, field_name: str) -> User:
    # read afresh under its row lock, as update_user counts holdings under it: a deactivation
    # racing this handover either finishes first (refused here) or sees the work (refused there)
    u = session.get(User, user_id, with_for_update=True, populate_existing=True)
    if holder_refusal(u) is not None:
        raise ValidationFailed(_l("接手人不存在或已停用"), field=field_name)
    assert u is not None
    if not is_admin(actor) and u.department_id != actor.department_id:
        raise ValidationFailed(_l("只能转给本部门的人"), field=field_name)
    return u


def move_rows(session: Session, moves: dict[str, dict[int, list[int]]]) -> None:
    """Each row to its new holder, its version bumped, in one UPDATE per kind and holder."""
    now = utcnow()
    for d, ids in moves["firm"].items():
        session.execute(
            update(Firm)
            .where(Firm.id.in_(ids))
            .values(owner_id=d, version=Firm.version + 1, updated_at=now)
        )
    for d, ids in moves["project"].items():
        session.execute(
            update(Project)
            .where(Project.id.in_(ids))
            .values(owner_id=d, version=Project.version + 1, updated_at=now)
        )
    for d, ids in moves["followup"].items():
        session.execute(
            update(Followup)
            .where(Followup.id.in_(ids))
            .values(assignee_id=d, version=Followup.version + 1, updated_at=now)
        )


def hand_over_followups(
    session: Session, actor: User, project: Project, why: str
) -> dict[int, int]:
    """A project handed to another department (a 撞单 transfer) takes its open follow-ups with
    it: each goes to the project's new owner (version bumped, as any reassignment), so none is
    left with an officer who can no longer see the project — and never reminded of it. One
    audit row names them, their former assignees and why. Returns follow-up id → former
    assignee."""
    to = project.owner_id
    if to is None:
        return {}
    rows = session.execute(
        select(Followup.id, Followup.assignee_id).where(
            Followup.project_id == project.id,
            Followup.status == FollowupStatus.open.value,
            Followup.assignee_id != to,
        )
    ).all()
    moved = {int(i): int(a) for i, a in rows}
    if not moved:
        return {}
    move_rows(session, {"firm": {}, "project": {}, "followup": {to: sorted(moved)}})
    record(
        session,
        actor.id,
        "reassign",
        "project",
        stored_id(project),
        after={
            "followups": sorted(moved),
            "from": {str(k): v for k, v in moved.items()},
            "to": to,
            "why": why,
        },
    )
    return moved


def owner_sees(session: Session, project_ids: list[int], owner: User) -> None:
    """``owner`` may own every one of these projects (``crm.authz``): sees it — no confidential
    project handed to an officer of another department, to whom it does not exist — and is of
    its department (no project owned across departments)."""
    for pid, confidential, dept in session.execute(
        select(Project.id, Project.is_confidential, Project.department_id)
        .where(Project.id.in_(project_ids))
        .order_by(Project.id)
    ):
        try:
            require_owner_sees_project(owner, confidential, dept, field="to_user_id")
        except ValidationFailed:
            raise ValidationFailed(
                _l("该人员无权查看此项目：%(id)s", id=pid), field="to_user_id"
            ) from None
        if not may_own_project_of(owner, dept):
            raise ValidationFailed(
                _l("负责人须是项目所属部门的人员：%(id)s", id=pid), field="to_user_id"
            )
