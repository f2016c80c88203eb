"""Projects: open (with the 撞单 conflict check), change, move through stages, track delivery."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, TypedDict

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import func, select
from sqlmodel import Session

from crm.audit.gone import hold_parents, refuse_if_deleted
from crm.audit.service import record, snapshot
from crm.authz import (
    can_see_project,
    locked_holder,
    may_set_owner,
    require_department,
    require_edit,
    require_project_owner,
    require_set_owner,
)
from crm.authz.disclosure import project_label
from crm.changes import apply_change, check_version
from crm.clock import today_local
from crm.errors import Conflict, NotFound, ValidationFailed
from crm.i18n import _l
from crm.models.accounts import Department, User
from crm.models.activities import ActivityProject
from crm.models.firms import Firm
from crm.models.followups import Followup
from crm.models.policy import ChainLink, Cluster, Park
from crm.models.projects import (
    ACTIVE_STAGES,
    CapitalArrival,
    Project,
    Stage,
    StageChange,
)
from crm.notices.service import assigned_to_you, conflict_opened, forget_project
from crm.projects.code_names import check_code_name
from crm.projects.reads import get_project_for, to_public
from crm.projects.schemas import (
    CapitalArrivalCreate,
    ProjectCreate,
    ProjectUpdate,
    StageMove,
    _Dates,
)
from crm.types import stored_id, utcnow
from crm.vocabulary import furthest

# --- references -------------------------------------------------------------------------------


class _References(TypedDict):
    cluster_id: int
    park_id: int | None
    chain_link_id: int | None


def _resolve(
    session: Session,
    cluster: str | int,
    park: str | None,
    link: str | None,
) -> _References:
    """The project's references (a cluster, park and chain link by their codes) as its columns;
    ``cluster``: a code, or the id of the cluster the project already has."""
    if isinstance(cluster, int):
        cid = cluster
    else:
        found = session.scalar(select(Cluster.id).where(Cluster.code == cluster))
        if found is None:
            raise ValidationFailed(
                _l("未知产业集群：%(cluster)s", cluster=cluster), field="cluster"
            )
        cid = found
    pid = None
    if park:
        pid = session.scalar(select(Park.id).where(Park.code == park))
        if pid is None:
            raise ValidationFailed(_l("未知园区：%(park)s", park=park), field="park")
    lid = None
    if link:
        lid = session.scalar(
            select(ChainLink.id).where(ChainLink.cluster_id == cid, ChainLink.code == link)
        )
        if lid is None:
            raise ValidationFailed(
                _l("该集群没有这个产业链环节：%(link)s", link=link),
                field="chain_link",
            )
    return _References(cluster_id=cid, park_id=pid, chain_link_id=lid)


def _check_confidential(is_conf: bool, code_name: str | None) -> None:
    if is_conf and not code_name:
        raise ValidationFailed(_l("保密项目需要代号"), field="code_name")


def find_conflict(
    session: Session,
    firm_id: int,
    cluster_id: int,
    department_id: int | None,
    exclude_id: int | None = None,
) -> Project | None:
    """The earliest active project of another department for the same firm and cluster."""
    stmt = select(Project).where(
        Project.firm_id == firm_id,
        Project.cluster_id == cluster_id,
        Project.stage != Stage.lost.value,
    )
    if department_id is not None:
        stmt = stmt.where(
            (Project.department_id != department_id) | Project.department_id.is_(None)
        )
    if exclude_id is not None:
        stmt = stmt.where(Project.id != exclude_id)
    return session.scalar(stmt.order_by(Project.created_at, Project.id).limit(1))


# --- writing ----------------------------------------------------------------------------------


def _record_move(
    session: Session,
    p: Project,
    from_stage: str | None,
    to_stage: str,
    reason: str | None,
    actor: User,
    at: datetime,
) -> None:
    """A project's stage history row: how it was opened (``from_stage`` None) or moved."""
    session.add(
        StageChange(
            project_id=stored_id(p),
            from_stage=from_stage,
            to_stage=to_stage,
            reason=reason,
            changed_by_id=actor.id,
            changed_at=at,
        )
    )


def create_project(session: Session, actor: User, data: ProjectCreate) -> Project:
    """Open a project. Another department's active project for the same firm and cluster is a
    conflict (撞单): both are flagged and the first to report keeps priority (首报负责)."""
    firm = session.get(Firm, data.firm_id)
    if firm is None:
        refuse_if_deleted(session, actor, "firm", data.firm_id, field="firm_id")
        raise ValidationFailed(_l("企业不存在"), field="firm_id")
    refs = _resolve(session, data.cluster, data.park, data.chain_link)
    cid = refs["cluster_id"]
    _check_confidential(data.is_confidential, data.code_name)
    check_code_name(session, actor, data.firm_id, data.code_name)
    owner_id = data.owner_id or stored_id(actor)
    owner = locked_holder(session, owner_id)  # exists, active, not being deactivated
    dept_id = data.department_id or owner.department_id or actor.department_id
    if dept_id is not None and session.get(Department, dept_id) is None:
        raise ValidationFailed(_l("部门不存在"), field="department_id")
    require_department(actor, dept_id)
    if owner_id != actor.id and not may_set_owner(actor, None, owner):
        raise ValidationFailed(_l("只能指定本部门人员为负责人"), field="owner_id")
    require_project_owner(owner, data.is_confidential, dept_id)
    # two departments opening this firm's project at once: the second waits here for the first
    # to commit, then finds its project — a 撞单 either way (PostgreSQL; SQLite serialises writes)
    hold_parents(session, [data.firm_id], firm_field="firm_id")
    now = utcnow()
    # a generated title names the cluster, not its code ("渝新智造科技有限公司 · 集成电路")
    title = data.title or f"{firm.name_zh} · {session.get(Cluster, cid).name_zh}"  # type: ignore[union-attr]
    # the input with its defaults filled in, its references resolved: the row
    filled = data.model_copy(
        update={"title": title, "owner_id": owner_id, "department_id": dept_id}
    )
    p = Project(
        **filled.model_dump(exclude={"cluster", "park", "chain_link"}),
        **refs,
        created_at=now,
        updated_at=now,
        stage_changed_at=now,
    )
    _fill_stage_dates(p, data.stage)
    session.add(p)
    session.flush()
    _record_move(session, p, None, data.stage, None, actor, now)
    first = find_conflict(session, data.firm_id, cid, dept_id, exclude_id=p.id)
    if first is not None:
        p.conflict_with_id = first.id
        if first.conflict_with_id is None:
            first.conflict_with_id = p.id
            session.add(first)
            # a side effect on the other department's project: recorded as its own change
            record(
                session,
                actor.id,
                "conflict_flag",
                "project",
                first.id,
                before={"conflict_with_id": None},
                after={"conflict_with_id": p.id},
            )
        record(
            session,
            actor.id,
            "conflict",
            "project",
            p.id,
            after={
                "first_reported": first.id,
                "first_department_id": first.department_id,
                "second_department_id": dept_id,
            },
        )
        session.flush()

        conflict_opened(session, first, p)  # the managers of both departments, once
    session.flush()
    record(session, actor.id, "create", "project", p.id, after=snapshot(p))
    return p


def conflict_info(session: Session, actor: User, p: Project) -> dict[str, Any] | None:
    """Who reported first, when this project collides with another department's (撞单)."""
    if p.conflict_with_id is None:
        return None
    other = session.get(Project, p.conflict_with_id)
    if other is None:
        return None
    first, second = (
        (other, p) if (other.created_at, other.id) < (p.created_at, p.id) else (p, other)
    )
    dept_names = dict(
        session.execute(
            select(Department.id, Department.name).where(
                Department.id.in_([x for x in (first.department_id, second.department_id) if x])
            )
        ).all()
    )
    active = other.stage != Stage.lost.value and p.stage != Stage.lost.value
    if not can_see_project(actor, other):
        # SPEC §3: only that another department reported this firm and cluster first and that
        # the manager has been told — no id, code name, title, department or date
        return {"hidden": True, "this_has_priority": first.id == p.id, "active": active}
    return {
        "hidden": False,
        "other_id": other.id,
        "other_title": project_label(other.title, other.is_confidential, other.code_name),
        "first_department": dept_names.get(first.department_id),
        "first_reported_at": first.created_at,
        "this_has_priority": first.id == p.id,
        "active": active,
    }


def _fill_stage_dates(p: Project | SimpleNamespace, stage: str, on: date | None = None) -> None:
    """A project arriving at ``stage``: the furthest stage it has reached, and the day it first
    signed, landed and operated."""
    p.furthest_stage = furthest(p.furthest_stage, stage)
    day = on or today_local()
    if stage in ("signed", "landed", "operating") and p.actual_sign_date is None:
        p.actual_sign_date = day
    if stage in ("landed", "operating") and p.actual_land_date is None:
        p.actual_land_date = max(day, p.actual_sign_date or day)
    if stage == "operating" and p.actual_operate_date is None:
        p.actual_operate_date = max(day, p.actual_land_date or day)


def _require_project_edit(session: Session, actor: User, p: Project) -> None:
    require_edit(actor, p.owner_id, p.department_id)  # the board asks can_change_project


def _check_project(c: Any) -> None:
    """The whole new state of a project, checked before anything is assigned."""
    _check_confidential(c.is_confidential, c.code_name)

    try:
        _Dates.model_validate({k: getattr(c, k) for k in _Dates.model_fields})
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first["loc"]) or "expected_land_date"
        raise ValidationFailed(f"{field}: {first['msg']}", field=field) from exc


def update_project(session: Session, actor: User, project_id: int, data: ProjectUpdate) -> Project:
    """Change a project; a refused change (stale, invalid, not allowed) writes nothing."""
    p = get_project_for(session, actor, project_id)
    _require_project_edit(session, actor, p)

    def current() -> Any:
        return to_public(session, p, actor).model_dump(mode="json")

    check_version(p, data.version, current)
    fields = data.model_dump(exclude_unset=True, exclude={"version", "park", "chain_link"})
    if "park" in data.model_fields_set or "chain_link" in data.model_fields_set:
        refs = _resolve(session, p.cluster_id, data.park, data.chain_link)
        if "park" in data.model_fields_set:
            fields["park_id"] = refs["park_id"]
        if "chain_link" in data.model_fields_set:
            fields["chain_link_id"] = refs["chain_link_id"]
    if fields.get("is_confidential", False) is None:
        fields.pop("is_confidential")
    if fields.get("code_name") not in (None, p.code_name):  # a new code name
        check_code_name(session, actor, p.firm_id, fields["code_name"], p.id)
    if "owner_id" in fields and fields["owner_id"] != p.owner_id:
        owner = None if fields["owner_id"] is None else locked_holder(session, fields["owner_id"])
        require_set_owner(actor, p.owner_id, owner)
    if fields.keys() & {"owner_id", "is_confidential", "department_id"}:
        owner_id = fields.get("owner_id", p.owner_id)
        require_project_owner(
            session.get(User, owner_id) if owner_id is not None else None,
            fields.get("is_confidential", p.is_confidential),
            fields.get("department_id", p.department_id),
        )
    before_owner = p.owner_id
    apply_change(
        session,
        actor.id,
        p,
        "project",
        data.version,
        fields,
        validate=_check_project,
        current=current,
    )
    if p.owner_id is not None and p.owner_id != before_owner and p.owner_id != actor.id:
        assigned_to_you(session, p)
    return p


def is_backward(from_stage: str, to_stage: str) -> bool:
    """A move from an active stage to an earlier active one (e.g. signed → lead)."""
    return (
        from_stage in ACTIVE_STAGES
        and to_stage in ACTIVE_STAGES
        and ACTIVE_STAGES.index(to_stage) < ACTIVE_STAGES.index(from_stage)
    )


def stage_choices(current: str, backward: bool = True) -> list[str]:
    """The stages a picker offers, the next one first (then the later ones, lost, and — when
    ``backward`` — the earlier ones, which need a confirmation and a reason)."""
    if current == Stage.lost.value:
        return list(ACTIVE_STAGES)
    i = ACTIVE_STAGES.index(current)
    out = [*ACTIVE_STAGES[i + 1 :], Stage.lost.value]
    if backward:
        out += list(reversed(ACTIVE_STAGES[:i]))
    return out


def check_move(
    from_stage: str, to_stage: str, reason: str | None, confirm_backward: bool = False
) -> None:
    """The stage rules: lost from anywhere with a reason; from lost only back to an active one;
    backwards (to an earlier active stage) only confirmed and with a reason."""
    if to_stage == from_stage:
        raise Conflict(_l("项目已处于该阶段"), field="stage")
    if to_stage == Stage.lost.value and not (reason or "").strip():
        raise ValidationFailed(_l("请填写流失原因"), field="reason")
    if from_stage == Stage.lost.value and to_stage not in ACTIVE_STAGES:
        raise Conflict(
            _l("已流失项目只能恢复到进行中阶段"),
            field="stage",
        )
    if to_stage not in (*ACTIVE_STAGES, Stage.lost.value):
        raise ValidationFailed(_l("未知阶段：%(to_stage)s", to_stage=to_stage), field="stage")
    if is_backward(from_stage, to_stage):
        if not confirm_backward:
            raise ValidationFailed(
                _l("退回较早阶段需要确认"),
                field="confirm_backward",
            )
        if not (reason or "").strip():
            raise ValidationFailed(_l("请填写退回原因"), field="reason")


def move_stage(session: Session, actor: User, project_id: int, move: StageMove) -> Project:
    """The one way a stage changes: checks the move, keeps the history, audits it
    (``crm.changes.apply_change``: a stale or refused move saves nothing, not even its history
    row)."""
    p = get_project_for(session, actor, project_id)
    _require_project_edit(session, actor, p)

    def current() -> Any:
        return to_public(session, p, actor).model_dump(mode="json")

    check_version(p, move.version, current)
    check_move(p.stage, move.stage, move.reason, move.confirm_backward)
    from_stage, now = p.stage, utcnow()
    fields = _stage_fields(p, move.stage, move.reason, now)
    apply_change(
        session,
        actor.id,
        p,
        "project",
        move.version,
        fields,
        current=current,
        action="move_stage",
        touch=False,  # updated_at is the move's own time, as its history row's
    )
    _record_move(session, p, from_stage, move.stage, move.reason, actor, now)
    session.flush()
    return p


def _stage_fields(p: Project, stage: str, reason: str | None, now: datetime) -> dict[str, Any]:
    """A project's columns once it moves to ``stage`` (``check_move`` has allowed it)."""
    dates = SimpleNamespace(**{k: getattr(p, k) for k in _STAGE_DATES})
    _fill_stage_dates(dates, stage)
    fields = {**vars(dates), "stage": stage, "stage_changed_at": now, "updated_at": now}
    if stage == Stage.lost.value:
        fields["lost_reason"] = reason
    elif p.stage == Stage.lost.value:
        fields["lost_reason"] = None
    return fields


_STAGE_DATES = ("furthest_stage", "actual_sign_date", "actual_land_date", "actual_operate_date")


def delete_project(
    session: Session, actor: User, project_id: int, version: int | None = None
) -> None:
    """Remove a project with no activities, follow-ups or capital arrivals (otherwise mark it
    lost); the projects and notices that point at it no longer do."""

    p = get_project_for(session, actor, project_id)
    _require_project_edit(session, actor, p)
    check_version(p, version, lambda: to_public(session, p, actor).model_dump(mode="json"))
    # an add under it (a contact, a follow-up, capital) waits or is waited for, then is counted
    hold_parents(session, project_ids=[project_id])
    for model, col in (
        (ActivityProject, ActivityProject.project_id),
        (Followup, Followup.project_id),
        (CapitalArrival, CapitalArrival.project_id),
    ):
        if session.scalar(select(func.count()).select_from(model).where(col == project_id)):
            raise Conflict(_l("项目已有记录，请改为流失"))
    for other in session.scalars(select(Project).where(Project.conflict_with_id == project_id)):
        other.conflict_with_id = None
        session.add(other)
    forget_project(session, project_id)  # the 撞单 and assignment notices that name it
    session.execute(StageChange.__table__.delete().where(StageChange.project_id == project_id))
    record(session, actor.id, "delete", "project", p.id, before=snapshot(p))
    session.delete(p)
    session.flush()


def add_capital_arrival(
    session: Session, actor: User, project_id: int, data: CapitalArrivalCreate
) -> CapitalArrival:
    """到资: record capital actually arrived for a signed project."""
    try:
        p = get_project_for(session, actor, project_id)
    except NotFound:
        refuse_if_deleted(session, actor, "project", project_id)
        raise
    _require_project_edit(session, actor, p)
    hold_parents(session, project_ids=[project_id])
    if p.stage not in ("signed", "landed", "operating"):
        raise Conflict(_l("签约后才能登记到资"), field="amount")
    row = CapitalArrival(project_id=stored_id(p), created_by_id=actor.id, **data.model_dump())
    session.add(row)
    session.flush()
    record(session, actor.id, "create", "capital_arrival", row.id, after=snapshot(row))
    return row
