"""Handing an officer's work to others: what they hold, reassigning it (all to one person or
firm by firm) in one audited step — with or without deactivating them — and bulk reassignment
of selected firms or projects.

Who may: an admin, or a manager for the officers of their own department (and to people of
that department). Nothing open is left pointing at an inactive user: ``orphaned_followups``
finds what still does (the daily check tells the department's manager).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from crm.accounts.sessions import end_sessions
from crm.accounts.users import user_choices
from crm.audit.service import record
from crm.authz import (
    can_edit_owned,
    followup_visible,
    is_admin,
    is_manager,
    may_own_project_of,
    may_set_owner,
    owner_choices,
    project_visible,
    require_owner_sees_project,
)
from crm.config import get_settings
from crm.db import get_or_not_found
from crm.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.i18n import _l
from crm.models.accounts import Role, User
from crm.models.firms import Firm
from crm.models.followups import Followup
from crm.models.projects import Project, Stage
from crm.outbox.service import enqueue_many, existing_keys
from crm.types import stored_id, utcnow
from crm.vocabulary import FollowupStatus


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


def _target(session: Session, actor: User, user_id: int, field_name: str) -> User:
    u = session.get(User, user_id)
    if u is None or not u.is_active:
        raise ValidationFailed(_l("接手人不存在或已停用"), field=field_name)
    if not is_admin(actor) and u.department_id != actor.department_id:
        raise ValidationFailed(_l("只能转给本部门的人"), field=field_name)
    return u


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
    targets = {uid: _target(session, actor, uid, "per_firm") for uid in set(per_firm.values())}
    if to_user_id is not None:
        targets[to_user_id] = _target(session, actor, to_user_id, "to_user_id")
    if user_id in targets:
        raise ValidationFailed(_l("不能转给本人"), field="to_user_id")

    moves = _moves(held, per_firm, to_user_id)
    for d, ids in moves["project"].items():
        _owner_sees(session, ids, targets[d])
    total = len(held.firms) + len(held.projects) + len(held.followups)
    left = total - sum(len(ids) for by in moves.values() for ids in by.values())
    if deactivate and left:
        raise Conflict(
            _l("停用前须把全部工作转交他人"),
            field="to_user_id",
        )
    _move(session, moves)
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


def _move(session: Session, moves: dict[str, dict[int, list[int]]]) -> None:
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
    _move(session, {"firm": {}, "project": {}, "followup": {to: sorted(moved)}})
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
    target = _target(session, actor, to_user_id, "to_user_id")
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
        _owner_sees(session, ids, target)
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


def _owner_sees(session: Session, project_ids: list[int], owner: User) -> None:
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


def orphaned_followups(session: Session) -> list[tuple[Followup, User]]:
    """Open follow-ups whose assignee is inactive, each with that (inactive) assignee."""
    return [
        (f, u)
        for f, u in session.execute(
            select(Followup, User)
            .join(User, User.id == Followup.assignee_id)
            .where(and_(Followup.status == "open", User.is_active.is_(False)))
            .order_by(Followup.due_at, Followup.id)
        ).all()
    ]


def compose_orphan_notices(session: Session, day: date, now: datetime | None = None) -> int:
    """The daily check: each department's active managers (admins, where a department has
    none) are told by email of the open follow-ups whose assignee is inactive. Once a day per
    manager (dedup key); how many messages were written."""

    orphans = orphaned_followups(session)
    if not orphans:
        return 0
    by_dept: dict[int | None, list[tuple[Followup, User]]] = {}
    for f, u in orphans:
        by_dept.setdefault(u.department_id, []).append((f, u))
    managers = list(
        session.scalars(
            select(User).where(
                User.is_active.is_(True), User.role.in_((Role.manager.value, Role.admin.value))
            )
        )
    )
    admins = [m for m in managers if m.role == Role.admin.value]
    base = get_settings().base_url.rstrip("/")
    messages: list[dict[str, Any]] = []  # enqueue's keywords
    for dept, rows in by_dept.items():
        told = [m for m in managers if m.role == Role.manager.value and m.department_id == dept]
        for m in told or admins:
            if not m.email:
                continue
            en = m.language == "en"
            lines = [f"- {f.title} ({u.display_name}, {f.due_at:%Y-%m-%d})" for f, u in rows[:50]]
            handover = "Hand over" if en else "转交"
            lines += [
                f"{handover} {u.display_name}: {base}/users/{u.id}/handover"
                for u in {u.id: u for _, u in rows}.values()
            ]
            subject = (
                f"{len(rows)} open follow-ups have no active assignee"
                if en
                else f"{len(rows)} 条待办的负责人已停用，需要转交"
            )
            intro = (
                "These open follow-ups are assigned to inactive users; reassign them:"
                if en
                else "以下未完成的待办分配给了已停用的用户，请转交他人："
            )
            messages.append(
                {
                    "dedup_key": f"orphans:{m.id}:{day.isoformat()}",
                    "kind": "orphaned_followups",
                    "channel": "email",
                    "recipient": m.email,
                    "user_id": m.id,
                    "subject": subject,
                    "body_text": "\n".join([intro, *lines]),
                    "body_html": None,
                }
            )
    done = existing_keys(session, [m["dedup_key"] for m in messages])
    return enqueue_many(session, [m for m in messages if m["dedup_key"] not in done], now=now)
