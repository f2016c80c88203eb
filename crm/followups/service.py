"""Follow-ups: create, change, complete, cancel, reschedule; My day; my team's list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from crm.audit.gone import hold_parents, refuse_if_deleted
from crm.audit.service import record, snapshot
from crm.authz import (
    followup_visible,
    is_admin,
    is_manager,
    project_visible,
    require_assign,
    require_change_followup,
    viewer_key,
)
from crm.authz.disclosure import project_label_sql
from crm.changes import apply_change, check_version
from crm.clock import as_utc, day_bounds, local_tz, today_local
from crm.db import (
    LIST_COUNT_CAP,
    built_once,
    page_total,
    plan_once,
    visible_or_not_found,
    with_total,
)
from crm.errors import Conflict, NotFound, ValidationFailed
from crm.followups.schemas import FollowupCreate, FollowupPublic, FollowupUpdate
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.firms import Firm
from crm.models.followups import Followup, FollowupStatus
from crm.models.projects import Project
from crm.projects.reads import get_project_for
from crm.sorting import Sort, order_by
from crm.summaries.fill import DONE, touch
from crm.types import stored_id, utcnow

NOT_FOUND = _l("跟进事项不存在")


def get_followup_for(session: Session, actor: User, followup_id: int) -> Followup:
    return visible_or_not_found(session, Followup, followup_id, followup_visible(actor), NOT_FOUND)


def _require_change(session: Session, actor: User, fu: Followup) -> None:
    require_change_followup(session, actor, fu)


def _locked_assignee(session: Session, user_id: int) -> User | None:
    """The assignee, its row locked and read afresh (PostgreSQL ``FOR UPDATE``; SQLite's
    writer holds the database): a deactivation in progress finishes first, and then the
    assignee is seen inactive and refused — never an open follow-up left with an inactive
    user (SPEC §3), which ``update_user`` checks under the same lock."""
    return session.get(User, user_id, with_for_update=True, populate_existing=True)


def create_followup(
    session: Session, actor: User, data: FollowupCreate, activity_id: int | None = None
) -> Followup:

    assignee_id = data.assignee_id or stored_id(actor)
    assignee = _locked_assignee(session, assignee_id)
    firm_id = data.firm_id
    if data.project_id is not None:
        try:
            project = get_project_for(session, actor, data.project_id)
        except NotFound as exc:
            refuse_if_deleted(session, actor, "project", data.project_id, field="project_id")
            raise ValidationFailed(_l("项目不存在"), field="project_id") from exc
        if firm_id is not None and firm_id != project.firm_id:
            raise ValidationFailed(_l("项目不属于该企业"), field="project_id")
        firm_id = project.firm_id
    if firm_id is None:
        # SPEC: a follow-up is a task on a firm and/or a project — never on nothing (it would
        # name nothing in My day, the list, the calendar or its reminder)
        raise ValidationFailed(_l("请选择跟进的企业或项目"), field="firm_id")
    if session.get(Firm, firm_id) is None:
        refuse_if_deleted(session, actor, "firm", firm_id, field="firm_id")
        raise ValidationFailed(_l("企业不存在"), field="firm_id")
    require_assign(session, actor, assignee, data.project_id, activity_id)
    hold_parents(
        session, [firm_id], [data.project_id], firm_field="firm_id", project_field="project_id"
    )
    due = as_utc(data.due_at)
    remind = as_utc(data.remind_at) if data.remind_at else None
    if remind is not None and remind > due:
        raise ValidationFailed(
            _l("提醒时间不能晚于到期时间"),
            field="remind_at",
        )
    fu = Followup(
        title=data.title,
        notes=data.notes,
        due_at=due,
        remind_at=remind,
        assignee_id=assignee_id,
        firm_id=firm_id,
        project_id=data.project_id,
        activity_id=activity_id,
        created_by_id=actor.id,
    )
    session.add(fu)
    session.flush()
    record(session, actor.id, "create", "followup", fu.id, after=snapshot(fu))
    return fu


def _check_reminder(fu: Any) -> None:
    if fu.remind_at is not None and fu.remind_at > fu.due_at:
        raise ValidationFailed(
            _l("提醒时间不能晚于到期时间"),
            field="remind_at",
        )


def _current(fu: Followup) -> Callable[[], Any]:
    return lambda: FollowupPublic.model_validate(fu, from_attributes=True).model_dump(mode="json")


def _change(
    session: Session,
    actor: User,
    fu: Followup,
    version: int | None,
    fields: dict[str, Any],
    **how: Any,
) -> None:
    """A follow-up's versioned change (``crm.changes.apply_change``). A done one's week is
    marked for the rollup first: its count may move (a new assignee, reopened)."""
    if fu.status == FollowupStatus.done.value:
        touch(session.connection(), DONE, fu.completed_at)
    apply_change(
        session,
        actor.id,
        fu,
        "followup",
        version,
        fields,
        current=_current(fu),
        **how,
    )


def update_followup(
    session: Session, actor: User, followup_id: int, data: FollowupUpdate
) -> Followup:
    """Change a follow-up; a refused change (stale, invalid, not allowed) writes nothing."""
    fu = get_followup_for(session, actor, followup_id)
    _require_change(session, actor, fu)
    check_version(fu, data.version, _current(fu))
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    if "title" in fields and not fields["title"]:
        raise ValidationFailed(_l("标题必填"), field="title")
    if "due_at" in fields:
        if fields["due_at"] is None:
            raise ValidationFailed(_l("到期时间必填"), field="due_at")
        fields["due_at"] = as_utc(fields["due_at"])
    if fields.get("remind_at") is not None:
        fields["remind_at"] = as_utc(fields["remind_at"])
    if fields.get("assignee_id") is not None:
        if fields["assignee_id"] != fu.assignee_id:
            assignee = _locked_assignee(session, fields["assignee_id"])
            require_assign(session, actor, assignee, fu.project_id, fu.activity_id)
    elif "assignee_id" in fields:
        # a follow-up always has an assignee: null is refused, as a null title is — it was
        # dropped silently, the old assignee kept under a 200 (ATTACK8 P3-7)
        raise ValidationFailed(_l("负责人必填"), field="assignee_id")
    _change(session, actor, fu, data.version, fields, validate=_check_reminder)
    return fu


def _set_status(
    session: Session, actor: User, followup_id: int, status: str, version: int | None
) -> Followup:
    fu = get_followup_for(session, actor, followup_id)
    _require_change(session, actor, fu)
    check_version(fu, version, _current(fu))
    if fu.status != FollowupStatus.open.value:
        raise Conflict(_l("该事项已关闭"), field="status")
    completed_at = utcnow() if status == FollowupStatus.done.value else None
    _change(
        session, actor, fu, version, {"status": status, "completed_at": completed_at}, action=status
    )
    return fu


def complete_followup(
    session: Session, actor: User, followup_id: int, version: int | None = None
) -> Followup:
    return _set_status(session, actor, followup_id, FollowupStatus.done.value, version)


def cancel_followup(
    session: Session, actor: User, followup_id: int, version: int | None = None
) -> Followup:
    return _set_status(session, actor, followup_id, FollowupStatus.cancelled.value, version)


def delete_followup(
    session: Session, actor: User, followup_id: int, version: int | None = None
) -> None:
    """Remove a follow-up (its creator, assignee, their manager or an admin)."""
    fu = get_followup_for(session, actor, followup_id)
    _require_change(session, actor, fu)
    check_version(fu, version, _current(fu))
    record(session, actor.id, "delete", "followup", fu.id, before=snapshot(fu))
    if fu.status == FollowupStatus.done.value:
        touch(session.connection(), DONE, fu.completed_at)
    session.delete(fu)
    session.flush()


def reopen_followup(
    session: Session, actor: User, followup_id: int, version: int | None = None
) -> Followup:
    fu = get_followup_for(session, actor, followup_id)
    _require_change(session, actor, fu)
    # version None: the service's own callers (no form)
    fields = {"status": FollowupStatus.open.value, "completed_at": None}
    _change(session, actor, fu, version, fields, action="reopen")
    return fu


def reschedule_followup(
    session: Session, actor: User, followup_id: int, day: date, version: int | None = None
) -> Followup:
    """Move a follow-up to another day, keeping its local time of day (and the reminder's
    distance to it). ``version`` is the one the user saw (required from pages and the API).
    A done or cancelled follow-up is refused as completing or cancelling it again is (ATTACK11
    F2): its day is history, not a plan."""
    fu = get_followup_for(session, actor, followup_id)
    _require_change(session, actor, fu)
    check_version(fu, version, _current(fu))
    if fu.status != FollowupStatus.open.value:
        raise Conflict(_l("该事项已关闭"), field="status")

    local = fu.due_at.astimezone(local_tz())
    new_due = as_utc(datetime.combine(day, local.time()).replace(tzinfo=local_tz()))
    shift = new_due - fu.due_at
    seen = fu.version if version is None else version
    if fu.remind_at is None:
        data = FollowupUpdate(version=seen, due_at=new_due)
    else:
        data = FollowupUpdate(version=seen, due_at=new_due, remind_at=fu.remind_at + shift)
    return update_followup(session, actor, followup_id, data)


@dataclass
class MyDay:
    """My day's follow-ups as plain rows (``id``, ``title``, ``due_at``, ``firm_id``,
    ``project_id``, ``version``, ``firm_label``, ``project_label``), not ORM entities."""

    overdue: list[Any]
    today: list[Any]
    day: date


# My day's statement per kind of viewer (crm.authz.viewer_key), built once: a statement object
# keeps its cache key, so a request only executes it (building it and the three label queries
# was ~40 % of My day's own work)
_MY_DAY: dict[tuple[Any, ...], Any] = {}
_MY_DAY_P = aliased(Project)


def _my_day_statement(actor: User) -> Any:
    return built_once(_MY_DAY, viewer_key(actor), lambda: _my_day_select(actor))


def _my_day_select(actor: User) -> Any:
    fu, p = Followup.__table__.c, _MY_DAY_P
    label = project_label_sql(p)  # a confidential one by its code name
    # "end" is always the end of the viewer's today: one plan fits every run
    return plan_once(
        select(
            fu.id,
            fu.title,
            fu.due_at,
            fu.firm_id,
            fu.project_id,
            fu.version,
            Firm.name_zh.label("firm_label"),
            label.label("project_label"),
        )
        .select_from(Followup)
        .outerjoin(Firm, Firm.id == fu.firm_id)
        .outerjoin(p, and_(p.id == fu.project_id, project_visible(actor, p)))
        .where(
            fu.assignee_id == bindparam("actor_id"),
            fu.status == FollowupStatus.open.value,
            fu.due_at < bindparam("end"),  # typed by the column
            followup_visible(actor),
        )
        .order_by(fu.due_at)
        .limit(500)
    )


def my_day(session: Session, actor: User, now: datetime | None = None) -> MyDay:
    """The actor's open follow-ups due today (local) and overdue before today, with the names
    of their firms and (visible) projects, in one statement."""
    day = today_local(now)
    start, end = day_bounds(day)
    rows = list(session.execute(_my_day_statement(actor), {"actor_id": actor.id, "end": end}))
    return MyDay(
        overdue=[f for f in rows if f.due_at < start],
        today=[f for f in rows if f.due_at >= start],
        day=day,
    )


@dataclass
class FollowupFilters:
    status: str | None = "open"
    assignee_id: int | None = None
    team: bool = False
    due_before: datetime | None = None
    due_after: datetime | None = None
    firm_id: int | None = None
    project_id: int | None = None
    # every assignee's (still only what the actor may see): a project's or a firm's follow-ups
    everyone: bool = False
    sort: Sort | None = None  # a column the reader chose (FOLLOWUP_SORTS); None: due first


# the follow-up list's sortable columns (crm.sorting: only these keys reach the SQL)
FOLLOWUP_SORTS: dict[str, Any] = {
    "title": Followup.title,
    "due": Followup.due_at,
    "status": Followup.status,
    "assignee": select(User.display_name).where(User.id == Followup.assignee_id).scalar_subquery(),
}


# the list's label joins (aliases: the assignee sort's subquery and the team filter read
# ``User``, and a join of ``User`` itself would correlate them with it)
_LIST_P = aliased(Project)
_LIST_U = aliased(User)
# the list's statements per kind of viewer and shape of filters, built once (building them was
# a sixth of the follow-up list's work): a request only binds its values
_LIST: dict[tuple[Any, ...], tuple[Any, Any]] = {}


def list_followups(
    session: Session, actor: User, f: FollowupFilters, limit: int = 50, offset: int = 0
) -> tuple[list[Any], int]:
    """Mine by default; a manager's team (their department) or, for admins, everyone.

    Plain rows (every column of a follow-up, as ``FollowupPublic`` reads it), each with the
    names a list shows: ``firm_label``, ``project_label`` (None for a project hidden from
    ``actor``; a confidential one by its code name) and
    ``assignee_name``."""
    if f.due_after and f.due_before and f.due_after > f.due_before:
        raise ValidationFailed(_l("开始日期晚于结束日期"), field="due_after")
    whose = _whose_key(actor, f)
    shape = (
        viewer_key(actor),
        whose,
        f.status is not None,
        f.due_before is not None,
        f.due_after is not None,
        bool(f.firm_id),
        bool(f.project_id),
        f.sort,
    )
    rows_stmt, count_stmt = built_once(_LIST, shape, lambda: _list_select(actor, whose, shape))
    counted = built_once(_COUNTED, shape, lambda: with_total(rows_stmt, count_stmt))
    params = {
        "actor_id": actor.id,
        "department_id": actor.department_id,
        "assignee_id": f.assignee_id,
        "status": f.status,
        "due_before": f.due_before,
        "due_after": f.due_after,
        "firm_id": f.firm_id,
        "project_id": f.project_id,
    }
    rows = list(session.execute(counted, {**params, "limit": limit, "offset": offset}))
    return rows, page_total(session, rows, count_stmt, params, limit, offset)


# a list's statement with its capped count as one more column (``crm.db.with_total``), per shape
_COUNTED: dict[tuple[Any, ...], Any] = {}


def _whose_key(actor: User, f: FollowupFilters) -> tuple[Any, ...]:
    """Whose follow-ups: everyone's of a firm or project (``everyone``), a manager's team
    (their department's unless an admin) or one of its people, else the actor's own."""
    if f.everyone and (f.project_id or f.firm_id):
        return ("everyone",)
    if f.team and is_manager(actor):
        department = not is_admin(actor) and actor.department_id is not None
        return ("team", department, bool(f.assignee_id))
    if f.assignee_id and is_manager(actor):
        return ("one",)
    return ("mine",)


_ROW_SHAPE = (None, ("row",), False, False, False, False, False, None)


def followup_row(session: Session, actor: User, followup_id: int) -> Any:
    """One follow-up the actor may see as a row of ``list_followups`` (its names with it),
    else ``NotFound``."""
    stmt, _ = built_once(
        _LIST, ("row", viewer_key(actor)), lambda: _list_select(actor, ("row",), _ROW_SHAPE)
    )
    row = session.execute(stmt, {"id": followup_id, "limit": 1, "offset": 0}).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


def _list_where(actor: User, whose: tuple[Any, ...], shape: tuple[Any, ...]) -> list[Any]:
    """The list's conditions for one ``shape`` (``list_followups``), its values bound later."""
    fu = Followup.__table__.c
    where: list[Any] = [followup_visible(actor), *_whose_where(whose)]
    _, _, status, due_before, due_after, firm, project, _ = shape
    for wanted, column, name in (
        (status, fu.status, "status"),
        (firm, fu.firm_id, "firm_id"),
        (project, fu.project_id, "project_id"),
    ):
        if wanted:
            where.append(column == bindparam(name))
    if due_before:
        where.append(fu.due_at < bindparam("due_before"))  # typed by the column
    if due_after:
        where.append(fu.due_at >= bindparam("due_after"))
    return where


_WHOSE = {
    "one": ("assignee_id", "assignee_id"),
    "mine": ("assignee_id", "actor_id"),
    "row": ("id", "id"),
}


def _whose_where(whose: tuple[Any, ...]) -> list[Any]:
    """The conditions of ``_whose_key``'s answer (none: everyone's)."""
    fu = Followup.__table__.c
    if whose[0] == "team":
        team = [fu.assignee_id == bindparam("assignee_id")] if whose[2] else []
        if whose[1]:
            mates = select(User.id).where(User.department_id == bindparam("department_id"))
            team.insert(0, fu.assignee_id.in_(mates))
        return team
    column, name = _WHOSE.get(whose[0], (None, None))
    return [] if column is None else [fu[column] == bindparam(name)]


def _list_select(actor: User, whose: tuple[Any, ...], shape: tuple[Any, ...]) -> tuple[Any, Any]:
    """The list's statement and its capped count for one ``shape`` (``list_followups``)."""
    fu, p, u = Followup.__table__.c, _LIST_P, _LIST_U
    where = _list_where(actor, whose, shape)
    sort = shape[-1]
    order = (
        order_by(sort, FOLLOWUP_SORTS, Followup.id)
        if sort is not None
        else (Followup.due_at, Followup.id)
    )
    rows = (
        select(
            *Followup.__table__.c,
            Firm.name_zh.label("firm_label"),
            project_label_sql(p).label("project_label"),
            u.display_name.label("assignee_name"),
        )
        .select_from(Followup)
        .outerjoin(Firm, Firm.id == fu.firm_id)
        .outerjoin(p, and_(p.id == fu.project_id, project_visible(actor, p)))
        .outerjoin(u, u.id == fu.assignee_id)
        .where(*where)
        .order_by(*order)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    capped = select(Followup.id).where(*where).limit(LIST_COUNT_CAP + 1).subquery()
    count = select(func.count()).select_from(capped)
    if shape[3] or shape[4] or whose[0] == "team":
        # a due date's bound, a department (a large one or a small one): how many rows pass
        # depends on the value, and so does the best plan
        return rows, count
    return plan_once(rows), plan_once(count)
