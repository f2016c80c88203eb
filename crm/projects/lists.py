"""Lists of projects: the pipeline table's filters and sorts (one statement per kind of viewer
and set of filters), the board's columns and My day's recent projects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, bindparam, case, func, select, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session

from crm.authz import (
    project_visible,
    viewer_key,
)
from crm.db import built_once, lowered, page_total, plan_once, with_total
from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.firms import Firm
from crm.models.policy import Cluster, Park
from crm.models.projects import (
    Project,
    Stage,
)
from crm.sorting import Sort, order_by
from crm.text import like_pattern


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
        stmt = stmt.where(
            lowered(Project.title, f.q).like(value("q", _title_pattern(f.q)), escape="\\")
        )
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
    """The title search's LIKE pattern: ``q`` anywhere, every character literal (a ``%``, a
    ``_`` or a backslash is looked for as itself, on both databases)."""
    return like_pattern(q.strip().lower())


_BOUND_FILTERS: tuple[str, ...] = ("cluster", "park", "stage", "owner_id", "department_id")
_BOUND_FILTERS += ("firm_id", "tier", "updated_since", "q")


def _filtered(f: ProjectFilters) -> bool:
    """Whether a filter's value narrows the list: a rare cluster or owner is best found by its
    index, a common one by reading in order — planned for the value (``crm.db``); the lists
    every officer opens unfiltered are planned once (``plan_once``)."""
    return any(getattr(f, name) for name in _BOUND_FILTERS)


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
        type(lowered(Project.title, f.q)),  # the title search's lower(): SQLite's or Python's
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
    return built_once(_LIST_STATEMENTS, key, lambda: _list_select(actor, f, count_cap), limit=512)


def _list_select(actor: User, f: ProjectFilters, count_cap: int) -> tuple[Any, Any]:
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
    count = select(func.count()).select_from(capped)
    if _filtered(f):
        return page, count
    return plan_once(page), plan_once(count)


# a table row's columns (crm.projects.reads.table_rows), the firm's name besides
TABLE_COLUMNS = (
    Project.id,
    Project.title,
    Project.firm_id,
    Project.cluster_id,
    Project.park_id,
    Project.stage,
    Project.planned_investment,
    Project.owner_id,
    Project.is_confidential,
    Project.conflict_with_id,
    Project.updated_at,
)

# list_project_rows' page statement per shape (list_projects' page, only TABLE_COLUMNS)
_ROW_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _rows_select(actor: User, f: ProjectFilters, count_cap: int) -> Any:
    """The table's page with its firm's name and the list's capped count (``crm.db.with_total``):
    a page and its total in one statement."""
    page, count = _list_statements(actor, f, count_cap)
    firm = aliased(Firm, name="row_firm")  # an alias: a filter's subquery of firms stays apart
    shown = page.with_only_columns(*TABLE_COLUMNS, firm.name_zh.label("firm_name"))
    return with_total(shown, count).outerjoin(firm, firm.id == Project.firm_id)


def list_project_rows(
    session: Session,
    actor: User,
    f: ProjectFilters,
    limit: int = 50,
    offset: int = 0,
    count_cap: int = 10_000,
) -> tuple[list[Any], int]:
    """``list_projects``' page and count as plain rows of ``TABLE_COLUMNS``, ``firm_name`` and
    ``list_total`` (the pipeline table shows only these): no ORM objects."""
    key = _project_list_shape(actor, f, count_cap)
    page = built_once(_ROW_STATEMENTS, key, lambda: _rows_select(actor, f, count_cap), limit=512)
    params = _project_list_params(f)
    rows = list(session.execute(page, {**params, "p_limit": limit, "p_offset": offset}).all())
    _, count = _list_statements(actor, f, count_cap)
    return rows, page_total(session, rows, count, params, limit, offset, count_cap)


def check_filter_codes(session: Session, cluster: str | None, park: str | None = None) -> None:
    """Unknown cluster or park codes in a filter are an error (422), for the API and the pages."""
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
    if offset == 0 and len(rows) < limit <= count_cap:
        return rows, len(rows)  # the whole list is on this page: its count needs no statement
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
) -> list[tuple[str, list[Any], int]]:
    """The board: for each of ``stages`` its most recently updated projects' rows
    (``BOARD_COLUMNS`` and ``firm_name``; ``limit`` from ``offset``, as ``list_projects`` orders
    them) and its count, counted no further than ``count_cap + 1``. Two statements for the
    whole board (every column's page in one UNION ALL, every count in one row), not two per
    column: each part still reads one stage in order from ``ix_project_stage_updated`` and
    stops at its limit."""
    if not stages:
        return []
    f = replace(f, stage=None, include_lost=True)
    key = (_project_list_shape(actor, f, count_cap), tuple(stages))
    cards, counts = built_once(
        _BOARD_STATEMENTS, key, lambda: _board_select(actor, f, stages, count_cap)
    )
    params = _project_list_params(f)
    # plain rows (the project's columns by name), not ORM objects: a board shows them only
    by_stage: dict[str, list[Any]] = {s: [] for s in stages}
    for p in session.execute(cards, {**params, "b_limit": limit, "b_offset": offset}).all():
        by_stage[p.stage].append(p)
    totals = session.execute(counts, params).one()
    out = []
    for s, total in zip(stages, totals, strict=True):
        rows = by_stage[s]  # a UNION ALL keeps no order of its own: the page's order again
        rows.sort(key=lambda p: (p.updated_at, p.id), reverse=True)
        out.append((s, rows, int(total or 0)))
    return out


# a board card's columns (crm.projects.reads.board_cards), the firm's name besides
BOARD_COLUMNS = (
    Project.id,
    Project.version,
    Project.stage,
    Project.title,
    Project.firm_id,
    Project.cluster_id,
    Project.park_id,
    Project.planned_investment,
    Project.owner_id,
    Project.department_id,
    Project.is_confidential,
    Project.conflict_with_id,
    Project.lost_reason,
    Project.updated_at,
)

# the board's two statements (every column's page, every column's capped count) per list
# shape and stages, built once with bound values (as list_projects')
_BOARD_STATEMENTS: dict[tuple[Any, ...], tuple[Any, Any]] = {}


def _board_select(
    actor: User, f: ProjectFilters, stages: list[str], count_cap: int
) -> tuple[Any, Any]:
    base = project_list_statement(actor, f, bound=True)
    # the columns a card shows (and its move form and the order need), its firm's name joined:
    # not every column of the project, nor a second statement for the names
    # (an alias: a filter's own subquery of firms stays uncorrelated)
    firm = aliased(Firm, name="card_firm")
    shown = base.with_only_columns(*BOARD_COLUMNS, firm.name_zh.label("firm_name")).outerjoin(
        firm, firm.id == Project.firm_id
    )
    pages = [
        shown.where(Project.stage == s)
        .order_by(Project.updated_at.desc(), Project.id.desc())
        .limit(bindparam("b_limit", type_=Integer))
        .offset(bindparam("b_offset", type_=Integer))
        .subquery()
        for s in stages
    ]
    cards: Any = select(pages[0]) if len(pages) == 1 else union_all(*[select(p) for p in pages])
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
    if _filtered(f):
        return cards, counts
    return plan_once(cards), plan_once(counts)


# My day's recent projects, per kind of viewer (crm.authz.viewer_key), built once
_RECENT: dict[tuple[Any, ...], Any] = {}


def _recent_select(actor: User) -> Any:
    return plan_once(
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
        .order_by(Project.updated_at.desc(), Project.id.desc())  # ties: the same order on both
        .limit(bindparam("limit"))
    )


def recent_projects(session: Session, actor: User, limit: int = 10) -> list[Any]:
    """The actor's recently touched projects (My day), as plain rows of what the list shows:
    ``id``, ``title``, ``firm_id``, ``firm_name``, ``cluster`` (its code), ``stage``,
    ``updated_at`` and ``in_conflict`` — not entities turned into the API's shape."""
    stmt = built_once(_RECENT, viewer_key(actor), lambda: _recent_select(actor))
    return list(session.execute(stmt, {"actor_id": actor.id, "limit": limit}))
