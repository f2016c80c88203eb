"""Handing an officer's work to others (the handover page): what they hold, the team a
manager or admin may hand over for, and reassigning it all to one person or firm by firm, in
one audited step, with or without deactivating them."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlmodel import Session

from crm.accounts.sessions import end_sessions
from crm.audit.service import record
from crm.authz import (
    followup_visible,
    is_admin,
    is_manager,
    project_visible,
)
from crm.db import get_or_not_found
from crm.errors import Conflict, PermissionDenied, ValidationFailed
from crm.i18n import _l
from crm.models.accounts import Role, User
from crm.models.firms import Firm
from crm.models.followups import Followup
from crm.models.projects import Project, Stage
from crm.reassign.moving import move_rows, new_holder, owner_sees
from crm.types import stored_id


@dataclass
class Held:
    """What an officer holds: firms they own, their projects still pursued (not lost), their
    open follow-ups — and the firms the projects and follow-ups hang on, for a firm-by-firm
    handover."""

    user_id: int
    firms: list[tuple[int, str]] = field(default_factory=list)
    projects: list[tuple[int, str, int]] = field(default_factory=list)  # id, title, firm id
    followups: list[tuple[int, str, int | None]] = field(default_factory=list)
    firm_names: dict[int, str] = field(default_factory=dict)  # every firm involved

    @property
    def counts(self) -> dict[str, int]:
        return {
            "firms": len(self.firms),
            "projects": len(self.projects),
            "followups": len(self.followups),
        }


def _officer(session: Session, user_id: int) -> User:
    return get_or_not_found(session, User, user_id, _l("用户不存在"))


def require_handover(actor: User, officer: User) -> None:
    """Admins hand over anyone's work; managers that of their own department's officers."""
    if is_admin(actor):
        return
    if (
        actor.role == Role.manager.value
        and actor.department_id is not None
        and officer.department_id == actor.department_id
        and officer.role == Role.officer.value
    ):
        return
    raise PermissionDenied(_l("没有权限"))


def holdings(session: Session, actor: User, user_id: int) -> Held:
    officer = _officer(session, user_id)
    require_handover(actor, officer)
    held = Held(user_id=user_id)
    held.firms = [
        (i, n)
        for i, n in session.execute(
            select(Firm.id, Firm.name_zh).where(Firm.owner_id == user_id).order_by(Firm.name_zh)
        )
    ]
    held.projects = [
        (i, t, f)
        for i, t, f in session.execute(
            select(Project.id, Project.title, Project.firm_id)
            .where(
                Project.owner_id == user_id,
                Project.stage != Stage.lost.value,
                project_visible(actor),
            )
            .order_by(Project.id)
        )
    ]
    held.followups = [
        (i, t, _followup_firm(f, p))
        for i, t, f, p in session.execute(
            select(Followup.id, Followup.title, Followup.firm_id, Project.firm_id)
            .outerjoin(Project, Project.id == Followup.project_id)
            .where(
                Followup.assignee_id == user_id, Followup.status == "open", followup_visible(actor)
            )
            .order_by(Followup.due_at, Followup.id)
        )
    ]
    ids = {i for i, _ in held.firms} | {f for *_, f in held.projects}
    ids |= {f for *_, f in held.followups if f is not None}
    held.firm_names = dict(
        session.execute(select(Firm.id, Firm.name_zh).where(Firm.id.in_(ids))).all()
    )
    return held


@dataclass
class Member:
    """One person on the team page: who, and how much they hold."""

    id: int
    display_name: str
    role: str
    department_id: int | None
    is_active: bool
    firms: int = 0
    projects: int = 0
    followups: int = 0

    @property
    def holds(self) -> bool:
        return bool(self.firms or self.projects or self.followups)


def team(session: Session, actor: User) -> list[Member]:
    """The people whose work ``actor`` may hand over (``require_handover``): a manager's
    department's officers, every non-admin for an admin — active or not — with what each
    holds, inactive holders first (their work is what nobody is doing)."""
    if not is_manager(actor):
        raise PermissionDenied(_l("没有权限"))
    q = select(User.id, User.display_name, User.role, User.department_id, User.is_active).where(
        User.role != Role.admin.value
    )
    if not is_admin(actor):
        q = q.where(User.role == Role.officer.value, User.department_id == actor.department_id)
        if actor.department_id is None:
            return []
    people = {r[0]: Member(*r) for r in session.execute(q)}
    if not people:
        return []
    ids = list(people)
    counts = (
        ("firms", select(Firm.owner_id, func.count()).where(Firm.owner_id.in_(ids))),
        (
            "projects",
            select(Project.owner_id, func.count()).where(
                Project.owner_id.in_(ids), Project.stage != Stage.lost.value, project_visible(actor)
            ),
        ),
        (
            "followups",
            select(Followup.assignee_id, func.count()).where(
                Followup.assignee_id.in_(ids), Followup.status == "open", followup_visible(actor)
            ),
        ),
    )
    for name, stmt in counts:
        col = stmt.selected_columns[0]
        for uid, n in session.execute(stmt.group_by(col)):
            setattr(people[uid], name, int(n))
    return sorted(people.values(), key=lambda m: (m.is_active, not m.holds, m.display_name, m.id))


def _followup_firm(firm_id: int | None, project_firm_id: int | None) -> int | None:
    return firm_id if firm_id is not None else project_firm_id


def reassign(
    session: Session,
    actor: User,
    user_id: int,
    *,
    to_user_id: int | None = None,
    per_firm: dict[int, int] | None = None,
    deactivate: bool = False,
) -> dict[str, int]:
    """Hand over everything ``user_id`` holds in one step: each firm in ``per_firm`` (its row,
    the officer's projects on it, their follow-ups on it) to the user named there, the rest to
    ``to_user_id``. With ``deactivate`` the officer is deactivated in the same step. One audit
    row (action ``reassign``) names every row moved and to whom. Counts per kind."""
    officer = _officer(session, user_id)
    require_handover(actor, officer)
    held = holdings(session, actor, user_id)
    per_firm = {int(k): int(v) for k, v in (per_firm or {}).items() if v}
    targets = {uid: new_holder(session, actor, uid, "per_firm") for uid in set(per_firm.values())}
    if to_user_id is not None:
        targets[to_user_id] = new_holder(session, actor, to_user_id, "to_user_id")
    if user_id in targets:
        raise ValidationFailed(_l("不能转给本人"), field="to_user_id")

    moves = _moves(held, per_firm, to_user_id)
    for d, ids in moves["project"].items():
        owner_sees(session, ids, targets[d])
    total = len(held.firms) + len(held.projects) + len(held.followups)
    left = total - sum(len(ids) for by in moves.values() for ids in by.values())
    if deactivate and left:
        raise Conflict(
            _l("停用前须把全部工作转交他人"),
            field="to_user_id",
        )
    move_rows(session, moves)
    if deactivate:
        if officer.role == Role.admin.value:
            raise Conflict(_l("管理员请在用户管理中停用"))
        officer.is_active = False
        officer.version += 1
        session.add(officer)
        end_sessions(session, stored_id(officer))
    record(
        session,
        actor.id,
        "deactivate" if deactivate else "reassign",
        "user",
        user_id,
        after={
            "reassigned": {
                kind: {str(d): ids for d, ids in by.items()} for kind, by in moves.items()
            },
            "deactivated": deactivate,
        },
    )
    session.flush()
    return {kind + "s": sum(len(v) for v in by.values()) for kind, by in moves.items()}


def _moves(
    held: Held, per_firm: dict[int, int], to_user_id: int | None
) -> dict[str, dict[int, list[int]]]:
    """Who gets what: kind → new holder → ids. A row goes with its firm (``per_firm``), else
    to ``to_user_id``; with neither it stays."""

    def dest(firm_id: int | None) -> int | None:
        if firm_id is not None and firm_id in per_firm:
            return per_firm[firm_id]
        return to_user_id

    moves: dict[str, dict[int, list[int]]] = {"firm": {}, "project": {}, "followup": {}}
    for firm_id, _ in held.firms:
        if (d := dest(firm_id)) is not None:
            moves["firm"].setdefault(d, []).append(firm_id)
    for project_id, _, firm_id in held.projects:
        if (d := dest(firm_id)) is not None:
            moves["project"].setdefault(d, []).append(project_id)
    for followup_id, _, maybe_firm_id in held.followups:
        if (d := dest(maybe_firm_id)) is not None:
            moves["followup"].setdefault(d, []).append(followup_id)
    return moves
