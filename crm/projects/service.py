"""Projects: open (with the 撞单 conflict check), change, move through stages, track delivery."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import Integer, Select, bindparam, case, func, select, union_all
from sqlmodel import Session

from crm.audit.service import record, snapshot
from crm.authz import (
    can_see_project,
    may_set_owner,
    project_visible,
    require_department,
    require_edit,
    require_set_owner,
    viewer_key,
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
from crm.notices.service import assigned_to_you, conflict_opened
from crm.policy.service import plan_lists
from crm.projects.schemas import (
    CapitalArrivalCreate,
    ProjectCreate,
    ProjectPublic,
    ProjectUpdate,
    StageMove,
    _Dates,
)
from crm.sorting import Sort, order_by
from crm.types import stored_id, utcnow

NOT_FOUND = _l("项目不存在")
STALE = _l("记录已被他人修改")


def get_project_for(session: Session, actor: User | None, project_id: int) -> Project:
    """Load one project; 'missing' and 'not allowed to see' are the same NotFound."""
    p = session.get(Project, project_id)
    if p is None or not can_see_project(actor, p):
        raise NotFound(NOT_FOUND)
    return p


def _codes(session: Session, projects: list[Project]) -> dict[str, dict[int, str]]:
    cids = {p.cluster_id for p in projects}
    pids = {p.park_id for p in projects if p.park_id}
    lids = {p.chain_link_id for p in projects if p.chain_link_id}
    fids = {p.firm_id for p in projects}
    plan = plan_lists(session).codes  # the plan's codes, kept per process until they change
    known = cids <= plan["cluster"].keys() and pids <= plan["park"].keys()
    if known and lids <= plan["link"].keys():
        firms = select(Firm.id, Firm.name_zh).where(Firm.id.in_(fids))
        return {**plan, "firm": dict(session.execute(firms).all()) if fids else {}}
    return {
        "cluster": dict(
            session.execute(select(Cluster.id, Cluster.code).where(Cluster.id.in_(cids))).all()
        )
        if cids
        else {},
        "park": dict(session.execute(select(Park.id, Park.code).where(Park.id.in_(pids))).all())
        if pids
        else {},
        "link": dict(
            session.execute(
                select(ChainLink.id, ChainLink.code).where(ChainLink.id.in_(lids))
            ).all()
        )
        if lids
        else {},
        "firm": dict(session.execute(select(Firm.id, Firm.name_zh).where(Firm.id.in_(fids))).all())
        if fids
        else {},
    }


def _visible_ids(session: Session, actor: User | None, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    return set(
        session.scalars(select(Project.id).where(Project.id.in_(ids), project_visible(actor)))
    )


def to_public_many(
    session: Session, projects: list[Project], actor: User | None
) -> list[ProjectPublic]:
    """The API shape; ``conflict_with_id`` only when ``actor`` may see the other project."""
    codes = _codes(session, projects)
    others = _visible_ids(
        session, actor, {p.conflict_with_id for p in projects if p.conflict_with_id}
    )
    out = []
    for p in projects:
        d = p.model_dump(exclude={"cluster_id", "park_id", "chain_link_id", "stage_changed_at"})
        d["in_conflict"] = d.get("conflict_with_id") is not None
        if d.get("conflict_with_id") not in others:
            d["conflict_with_id"] = None
        out.append(
            ProjectPublic(
                **d,
                cluster=codes["cluster"][p.cluster_id],
                park=codes["park"].get(p.park_id) if p.park_id else None,
                chain_link=codes["link"].get(p.chain_link_id) if p.chain_link_id else None,
                firm_name=codes["firm"].get(p.firm_id),
            )
        )
    return out


def to_public(session: Session, p: Project, actor: User | None) -> ProjectPublic:
    return to_public_many(session, [p], actor)[0]


@dataclass
class ProjectFilters:
    cluster: str | None = None
    park: str | None = None
    stage: str | None = None
    owner_id: int | None = None
    department_id: int | None = None
    firm_id: int | None = None
    tier: str | None = None
    q: str | None = None
    updated_since: datetime | None = None
    include_lost: bool = True
    sort: Sort | None = None  # a column the reader chose (PROJECT_SORTS); None: last changed first


# the project table's sortable columns (crm.sorting: only these keys reach the SQL)
PROJECT_SORTS: dict[str, Any] = {
    "title": Project.title,
    "firm": select(Firm.name_pinyin).where(Firm.id == Project.firm_id).scalar_subquery(),
    # the plan's own order of its clusters (the pickers' order)
    "cluster": select(Cluster.sort_order).where(Cluster.id == Project.cluster_id).scalar_subquery(),
    "stage": case({s.value: i for i, s in enumerate(Stage)}, value=Project.stage, else_=99),
    "investment": Project.planned_investment,
    "updated": Project.updated_at,
}


def project_list_statement(actor: User, f: ProjectFilters, *, bound: bool = False) -> Any:
    """The projects ``actor`` may see through the filters ``f``. ``bound``: the filters' values
    as bound parameters named ``p_<filter>`` (``list_projects`` keeps such a statement per
    kind of viewer and set of filters; ``_project_list_params`` gives the values)."""

    def value(name: str, v: Any) -> Any:
        return bindparam(f"p_{name}") if bound else v

    stmt = _where_plan_and_stage(select(Project).where(project_visible(actor)), f, value)
    if f.owner_id:
        stmt = stmt.where(Project.owner_id == value("owner_id", f.owner_id))
    if f.department_id:
        stmt = stmt.where(Project.department_id == value("department_id", f.department_id))
    if f.firm_id:
        stmt = stmt.where(Project.firm_id == value("firm_id", f.firm_id))
    if f.tier:
        stmt = stmt.where(
            Project.firm_id.in_(select(Firm.id).where(Firm.tier == value("tier", f.tier)))
        )
    if f.updated_since:
        stmt = stmt.where(Project.updated_at >= value("updated_since", f.updated_since))
    if f.q:
        stmt = stmt.where(func.lower(Project.title).like(value("q", _title_pattern(f.q))))
    return stmt


def _as_is(_name: str, v: Any) -> Any:
    return v


def _where_plan_and_stage(
    stmt: Select[Any], f: ProjectFilters, value: Callable[[str, Any], Any] = _as_is
) -> Select[Any]:
    """The filter's cluster and park (by code) and stage (lost ones only when asked);
    ``value(name, v)``: the value in the SQL (itself, or a bound parameter)."""
    if f.cluster:
        cluster = select(Cluster.id).where(Cluster.code == value("cluster", f.cluster))
        stmt = stmt.where(Project.cluster_id == cluster.scalar_subquery())
    if f.park:
        park = select(Park.id).where(Park.code == value("park", f.park))
        stmt = stmt.where(Project.park_id == park.scalar_subquery())
    if f.stage:
        stmt = stmt.where(Project.stage == value("stage", f.stage))
    elif not f.include_lost:
        stmt = stmt.where(Project.stage != Stage.lost.value)
    return stmt


def _title_pattern(q: str) -> str:
    return "%" + q.strip().lower().replace("%", "").replace("_", "") + "%"


_BOUND_FILTERS: tuple[str, ...] = ("cluster", "park", "stage", "owner_id", "department_id")
_BOUND_FILTERS += ("firm_id", "tier", "updated_since", "q")


def _project_list_params(f: ProjectFilters) -> dict[str, Any]:
    """The values of a ``bound`` list statement's parameters (the filters given)."""
    params = {f"p_{name}": getattr(f, name) for name in _BOUND_FILTERS if getattr(f, name)}
    if f.q:
        params["p_q"] = _title_pattern(f.q)
    return params


def _project_list_shape(actor: User, f: ProjectFilters, count_cap: int) -> tuple[Any, ...]:
    """What a bound list statement's SQL depends on: the kind of viewer, which filters are
    given, lost projects (without a stage), the order and the count's cap."""
    return (
        viewer_key(actor),
        tuple(bool(getattr(f, name)) for name in _BOUND_FILTERS),
        bool(f.stage) or f.include_lost,
        (f.sort.key, f.sort.descending) if f.sort is not None else None,
        count_cap,
    )


# list_projects' two statements (page, capped count) per shape, built once with bound values:
# a statement object keeps its cache key, so a page only executes it (building and keying
# them was a sixth of the firm page)
_LIST_STATEMENTS: dict[tuple[Any, ...], tuple[Any, Any]] = {}


def _list_statements(actor: User, f: ProjectFilters, count_cap: int) -> tuple[Any, Any]:
    key = _project_list_shape(actor, f, count_cap)
    found = _LIST_STATEMENTS.get(key)
    if found is None:
        stmt = project_list_statement(actor, f, bound=True)
        page = stmt.order_by(
            *(
                order_by(f.sort, PROJECT_SORTS, Project.id)
                if f.sort is not None
                else (Project.updated_at.desc(), Project.id.desc())
            )
        )
        page = page.limit(bindparam("p_limit", type_=Integer))
        page = page.offset(bindparam("p_offset", type_=Integer))
        capped = stmt.with_only_columns(Project.id).limit(count_cap + 1).subquery()
        found = (page, select(func.count()).select_from(capped))
        if len(_LIST_STATEMENTS) > 512:
            _LIST_STATEMENTS.clear()
        _LIST_STATEMENTS[key] = found
    return found


def check_filter_codes(session: Session, cluster: str | None, park: str | None = None) -> None:
    """Unknown cluster or park codes in a filter are an error (the API); pages ignore them."""
    if cluster and not session.scalar(select(Cluster.id).where(Cluster.code == cluster)):
        raise ValidationFailed(_l("未知产业集群：%(cluster)s", cluster=cluster), field="cluster")
    if park and not session.scalar(select(Park.id).where(Park.code == park)):
        raise ValidationFailed(_l("未知园区：%(park)s", park=park), field="park")


def list_projects(
    session: Session,
    actor: User,
    f: ProjectFilters,
    limit: int = 50,
    offset: int = 0,
    count_cap: int = 10_000,
    strict: bool = False,
) -> tuple[list[Project], int]:
    if strict:
        check_filter_codes(session, f.cluster, f.park)
    page, count = _list_statements(actor, f, count_cap)
    params = _project_list_params(f)
    rows = list(session.scalars(page, {**params, "p_limit": limit, "p_offset": offset}))
    total = session.scalar(count, params) or 0
    return rows, total


def board_columns(
    session: Session,
    actor: User,
    f: ProjectFilters,
    stages: list[str],
    limit: int,
    offset: int = 0,
    count_cap: int = 999,
) -> list[tuple[str, list[Project], int]]:
    """The board: for each of ``stages`` its most recently updated projects (``limit`` from
    ``offset``, as ``list_projects`` orders them) and its count, counted no further than
    ``count_cap + 1``. Two statements for the whole board (every column's page in one UNION
    ALL, every count in one row), not two per column: each part still reads one stage in order
    from ``ix_project_stage_updated`` and stops at its limit."""
    if not stages:
        return []
    base = project_list_statement(actor, replace(f, stage=None, include_lost=True))
    pages = [
        base.where(Project.stage == s)
        .order_by(Project.updated_at.desc(), Project.id.desc())
        .limit(limit)
        .offset(offset)
        .subquery()
        for s in stages
    ]
    cards = union_all(*[select(page) for page in pages]) if len(pages) > 1 else select(pages[0])
    by_stage: dict[str, list[Project]] = {s: [] for s in stages}
    for p in session.scalars(select(Project).from_statement(cards)):
        by_stage[p.stage].append(p)
    counts = select(
        *[
            select(func.count())
            .select_from(
                base.where(Project.stage == s)
                .with_only_columns(Project.id)
                .limit(count_cap + 1)
                .subquery()
            )
            .scalar_subquery()
            for s in stages
        ]
    )
    totals = session.execute(counts).one()
    out = []
    for s, total in zip(stages, totals, strict=True):
        rows = by_stage[s]  # a UNION ALL keeps no order of its own: the page's order again
        rows.sort(key=lambda p: (p.updated_at, p.id), reverse=True)
        out.append((s, rows, int(total or 0)))
    return out


# My day's recent projects, per kind of viewer (crm.authz.viewer_key), built once
_RECENT: dict[tuple[Any, ...], Any] = {}


def recent_projects(session: Session, actor: User, limit: int = 10) -> list[Any]:
    """The actor's recently touched projects (My day), as plain rows of what the list shows:
    ``id``, ``title``, ``firm_id``, ``firm_name``, ``cluster`` (its code), ``stage``,
    ``updated_at`` and ``in_conflict`` — not entities turned into the API's shape."""
    key = viewer_key(actor)
    stmt = _RECENT.get(key)
    if stmt is None:
        if len(_RECENT) > 256:
            _RECENT.clear()
        stmt = _RECENT[key] = (
            select(
                Project.id,
                Project.title,
                Project.firm_id,
                Firm.name_zh.label("firm_name"),
                Cluster.code.label("cluster"),
                Project.stage,
                Project.updated_at,
                Project.conflict_with_id.is_not(None).label("in_conflict"),
            )
            .join(Firm, Firm.id == Project.firm_id)
            .join(Cluster, Cluster.id == Project.cluster_id)
            .where(Project.owner_id == bindparam("actor_id"), project_visible(actor))
            .order_by(Project.updated_at.desc())
            .limit(bindparam("limit"))
        )
    return list(session.execute(stmt, {"actor_id": actor.id, "limit": limit}))


_Held = TypeVar("_Held", StageChange, CapitalArrival)


def _held_rows(
    session: Session, actor: User, project_id: int, model: type[_Held], *order: Any
) -> list[_Held]:
    """A project's rows of ``model`` (its stage changes, its capital arrivals), in ``order``,
    for a reader who may see the project."""
    get_project_for(session, actor, project_id)
    return list(
        session.scalars(select(model).where(model.project_id == project_id).order_by(*order))
    )


def stage_history(session: Session, actor: User, project_id: int) -> list[StageChange]:
    order = (StageChange.changed_at, StageChange.id)
    return _held_rows(session, actor, project_id, StageChange, *order)


# --- references -------------------------------------------------------------------------------


def _resolve(
    session: Session,
    cluster: str | None,
    park: str | None,
    link: str | None,
    cluster_id: int | None = None,
) -> tuple[int | None, int | None, int | None]:
    cid = cluster_id
    if cluster is not None:
        cid = session.scalar(select(Cluster.id).where(Cluster.code == cluster))
        if cid is None:
            raise ValidationFailed(
                _l("未知产业集群：%(cluster)s", cluster=cluster), field="cluster"
            )
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
    return cid, pid, lid


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


def create_project(session: Session, actor: User, data: ProjectCreate) -> Project:
    """Open a project. Another department's active project for the same firm and cluster is a
    conflict (撞单): both are flagged and the first to report keeps priority (首报负责)."""
    firm = session.get(Firm, data.firm_id)
    if firm is None:
        raise ValidationFailed(_l("企业不存在"), field="firm_id")
    cid, pid, lid = _resolve(session, data.cluster, data.park, data.chain_link)
    assert cid is not None
    _check_confidential(data.is_confidential, data.code_name)
    owner_id = data.owner_id or actor.id
    owner = session.get(User, owner_id)
    if owner is None:
        raise ValidationFailed(_l("负责人不存在"), field="owner_id")
    dept_id = data.department_id or owner.department_id or actor.department_id
    if dept_id is not None and session.get(Department, dept_id) is None:
        raise ValidationFailed(_l("部门不存在"), field="department_id")
    require_department(actor, dept_id)
    if owner_id != actor.id and not may_set_owner(actor, None, owner):
        raise ValidationFailed(_l("只能指定本部门人员为负责人"), field="owner_id")
    now = utcnow()
    # a generated title names the cluster, not its code ("渝新智造科技有限公司 · 集成电路")
    title = data.title or f"{firm.name_zh} · {session.get(Cluster, cid).name_zh}"  # type: ignore[union-attr]
    fields = data.model_dump(
        exclude={"cluster", "park", "chain_link", "title", "owner_id", "department_id"}
    )
    p = Project(
        **fields,
        title=title,
        cluster_id=cid,
        park_id=pid,
        chain_link_id=lid,
        owner_id=owner_id,
        department_id=dept_id,
        created_at=now,
        updated_at=now,
        stage_changed_at=now,
    )
    _fill_stage_dates(p, data.stage)
    session.add(p)
    session.flush()
    session.add(
        StageChange(
            project_id=stored_id(p),
            from_stage=None,
            to_stage=data.stage,
            changed_by_id=actor.id,
            changed_at=now,
        )
    )
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


def _fill_stage_dates(p: Project, stage: str, on: date | None = None) -> None:
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

    check_version(p, data.version, current, STALE)
    fields = data.model_dump(exclude_unset=True, exclude={"version", "park", "chain_link"})
    if "park" in data.model_fields_set or "chain_link" in data.model_fields_set:
        _, pid, lid = _resolve(session, None, data.park, data.chain_link, cluster_id=p.cluster_id)
        if "park" in data.model_fields_set:
            fields["park_id"] = pid
        if "chain_link" in data.model_fields_set:
            fields["chain_link_id"] = lid
    if fields.get("is_confidential", False) is None:
        fields.pop("is_confidential")
    if "owner_id" in fields and fields["owner_id"] != p.owner_id:
        owner = session.get(User, fields["owner_id"]) if fields["owner_id"] is not None else None
        if fields["owner_id"] is not None and owner is None:
            raise ValidationFailed(_l("负责人不存在"), field="owner_id")
        require_set_owner(actor, p.owner_id, owner)
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
        stale_message=STALE,
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
    """The one way a stage changes: checks the move, keeps the history, audits it."""
    p = get_project_for(session, actor, project_id)
    _require_project_edit(session, actor, p)
    check_version(
        p, move.version, lambda: to_public(session, p, actor).model_dump(mode="json"), STALE
    )
    check_move(p.stage, move.stage, move.reason, move.confirm_backward)
    before = snapshot(p)
    now = utcnow()
    session.add(
        StageChange(
            project_id=stored_id(p),
            from_stage=p.stage,
            to_stage=move.stage,
            reason=move.reason,
            changed_by_id=actor.id,
            changed_at=now,
        )
    )
    if move.stage == Stage.lost.value:
        p.lost_reason = move.reason
    elif p.stage == Stage.lost.value:
        p.lost_reason = None
    p.stage = move.stage
    _fill_stage_dates(p, move.stage)
    p.stage_changed_at = now
    p.updated_at = now
    p.version += 1
    session.add(p)
    session.flush()
    record(session, actor.id, "move_stage", "project", p.id, before=before, after=snapshot(p))
    return p


def delete_project(
    session: Session, actor: User, project_id: int, version: int | None = None
) -> None:
    """Remove a project with no activities or follow-ups (otherwise mark it lost)."""

    p = get_project_for(session, actor, project_id)
    _require_project_edit(session, actor, p)
    check_version(p, version, lambda: to_public(session, p, actor).model_dump(mode="json"), STALE)
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
    session.execute(StageChange.__table__.delete().where(StageChange.project_id == project_id))
    record(session, actor.id, "delete", "project", p.id, before=snapshot(p))
    session.delete(p)
    session.flush()


def add_capital_arrival(
    session: Session, actor: User, project_id: int, data: CapitalArrivalCreate
) -> CapitalArrival:
    """到资: record capital actually arrived for a signed project."""
    p = get_project_for(session, actor, project_id)
    _require_project_edit(session, actor, p)
    if p.stage not in ("signed", "landed", "operating"):
        raise Conflict(_l("签约后才能登记到资"), field="amount")
    row = CapitalArrival(project_id=stored_id(p), created_by_id=actor.id, **data.model_dump())
    session.add(row)
    session.flush()
    record(session, actor.id, "create", "capital_arrival", row.id, after=snapshot(row))
    return row


def capital_arrivals(session: Session, actor: User, project_id: int) -> list[CapitalArrival]:
    return _held_rows(session, actor, project_id, CapitalArrival, CapitalArrival.arrived_on)
