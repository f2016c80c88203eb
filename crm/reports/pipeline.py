"""Pipeline (SPEC §5): counts, planned investment and expected output by stage, grouped by
cluster, park, department or officer; conversion between stages; new projects and signings per
local week.

Conversion comes from the stage history: a project *reached* a stage when its history (or its
current stage) holds that stage or a later one — a project moved from lead straight to signed
passed contacted and negotiating. Of the projects that reached stage X, the rate is the share that
reached the next stage. Lost projects keep the stages they reached before.

A *signing* is the first time a project reached signed, landed or operating (its stage history),
counted in that local week; a *new project* is counted in the local week it was created.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Case, case, func, literal_column, select
from sqlmodel import Session

from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.models.accounts import Department, User
from crm.models.policy import Cluster, Park
from crm.models.projects import SECURED_STAGES, STAGE_ORDER, Project, StageChange
from crm.reports.common import (
    ReportFilters,
    Weeks,
    count_per_week,
    filtered,
    in_period,
    ratio,
    wan_sum,
    week_index,
    weeks_for,
    yi,
)
from crm.types import utcnow

ALL_STAGES = [*STAGE_ORDER, "lost"]
GROUPS = ("cluster", "park", "department", "officer")
NONE_LABEL = {"park": "未定园区", "department": "未定部门", "officer": "未指定", "cluster": "—"}


class StageCell(BaseModel):
    count: int = 0
    planned_investment: Decimal = Decimal("0.0000")
    expected_output: Decimal = Decimal("0.0000")


class PipelineGroup(BaseModel):
    key: str | None  # cluster/park code, department/officer id; None = not set
    label: str
    stages: dict[str, StageCell]
    total: StageCell  # every stage but lost
    lost: int


class Conversion(BaseModel):
    from_stage: str
    to_stage: str
    reached_from: int
    reached_to: int
    rate: Decimal | None


class WeekRow(BaseModel):
    week_start: date
    new_projects: int
    signings: int


class PipelineReport(BaseModel):
    generated_at: datetime
    group_by: str
    stages: list[str]
    groups: list[PipelineGroup]
    totals: dict[str, StageCell]
    total: StageCell
    reached: dict[str, int]
    conversion: list[Conversion]
    weeks: list[WeekRow]


def _rank(col: Any) -> Case[Any]:
    # a simple CASE (CASE col WHEN 'lead' THEN 0 …): one lookup per row, stages inline
    return case(
        {s: literal_column(str(i)) for i, s in enumerate(STAGE_ORDER)},
        value=col,
        else_=literal_column("-1"),
    )


def _key_and_labels(session: Session, group_by: str):  # type: ignore[no-untyped-def]
    if group_by == "cluster":
        rows = session.execute(
            select(Cluster.id, Cluster.code, Cluster.name_zh).order_by(
                Cluster.sort_order, Cluster.id
            )
        ).all()
        return Project.cluster_id, {i: (c, n) for i, c, n in rows}
    if group_by == "park":
        rows = session.execute(
            select(Park.id, Park.code, Park.name_zh).order_by(Park.sort_order, Park.id)
        ).all()
        return Project.park_id, {i: (c, n) for i, c, n in rows}
    if group_by == "department":
        rows = session.execute(
            select(Department.id, Department.name).order_by(Department.name)
        ).all()
        return Project.department_id, {i: (str(i), n) for i, n in rows}
    if group_by == "officer":
        return Project.owner_id, None  # labels loaded for the officers that appear
    raise ValidationFailed(_l("未知分组：%(group_by)s", group_by=group_by), field="group_by")


def pipeline_report(
    session: Session, actor: User, f: ReportFilters | None = None
) -> PipelineReport:
    """The pipeline by stage and group, the stage conversion and the weekly series."""
    f = f or ReportFilters()
    scope = filtered(session, actor, f).where
    weeks = weeks_for(f)
    key, labels = _key_and_labels(session, f.group_by)

    rows = (
        session.connection()
        .execute(
            select(
                key,
                Project.stage,
                func.count(),
                wan_sum(Project.planned_investment),
                wan_sum(Project.expected_output),
            )
            .where(*scope)
            .group_by(key, Project.stage)
        )
        .all()
    )
    if labels is None:
        labels = _officer_labels(session, [r[0] for r in rows if r[0] is not None])
    cells: dict[object, dict[str, list[int]]] = {}
    for k, stage, n, inv, out in rows:
        cells.setdefault(k, {})[stage] = [int(n), int(inv or 0), int(out or 0)]
    groups, totals = _groups(cells, labels, NONE_LABEL[f.group_by])
    grand = [0, 0, 0]
    for s in STAGE_ORDER:
        grand = _add(grand, totals[s])
    reached, conversion = _conversion(session, scope)
    return PipelineReport(
        generated_at=utcnow(),
        group_by=f.group_by,
        stages=ALL_STAGES,
        groups=groups,
        totals={s: _cell(v) for s, v in totals.items()},
        total=_cell(grand),
        reached=reached,
        conversion=conversion,
        weeks=_weekly(session, scope, weeks),
    )


def _cell(v: list[int] | None) -> StageCell:
    if not v:
        return StageCell()
    return StageCell(count=v[0], planned_investment=yi(v[1]), expected_output=yi(v[2]))


def _add(a: list[int], b: list[int]) -> list[int]:
    return [x + y for x, y in zip(a, b, strict=True)]


def _groups(
    cells: dict[object, dict[str, list[int]]],
    labels: dict[Any, tuple[str, str]],
    none_label: str,
) -> tuple[list[PipelineGroup], dict[str, list[int]]]:
    """One row per group (labelled ones in their order, then the rest, then "none") and the
    totals per stage; a group's total leaves its lost projects out."""
    order = [k for k in labels if k in cells]
    order += sorted((k for k in cells if k not in labels and k is not None), key=str)
    if None in cells:
        order.append(None)
    groups = []
    totals: dict[str, list[int]] = {s: [0, 0, 0] for s in ALL_STAGES}
    for k in order:
        by_stage = cells[k]
        tot = [0, 0, 0]
        for s in ALL_STAGES:
            v = by_stage.get(s, [0, 0, 0])
            totals[s] = _add(totals[s], v)
            if s != "lost":
                tot = _add(tot, v)
        code, name = labels.get(k, (str(k), str(k))) if k is not None else (None, none_label)
        groups.append(
            PipelineGroup(
                key=code,
                label=name,
                stages={s: _cell(by_stage.get(s)) for s in ALL_STAGES},
                total=_cell(tot),
                lost=by_stage.get("lost", [0])[0],
            )
        )
    return groups, totals


def _officer_labels(session: Session, ids: list[Any]) -> dict[Any, tuple[str, str]]:
    """The officers that own a project in the report, by id (the officer grouping)."""
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {i: (str(i), n) for i, n in rows}


def _conversion(session: Session, scope: list[Any]) -> tuple[dict[str, int], list[Conversion]]:
    """Conversion: the furthest stage each project reached — kept with the project
    (``furthest_stage``, counted from its index) and never below its stage now. A project
    without one (no active stage yet, or written without the services) is read from its
    history: the highest stage of its stage changes."""
    rank = {s: i for i, s in enumerate(STAGE_ORDER)}
    at: dict[int, int] = {}
    for reached, stage, n in session.execute(
        select(Project.furthest_stage, Project.stage, func.count())
        .where(*scope, Project.furthest_stage.is_not(None))
        .group_by(Project.furthest_stage, Project.stage)
    ):
        r = max(rank.get(reached, -1), rank.get(stage, -1))
        at[r] = at.get(r, 0) + n
    hist_r = func.max(_rank(StageChange.to_stage))
    cur_r = _rank(Project.stage)
    unkept = (
        select(case((func.coalesce(hist_r, -1) > cur_r, hist_r), else_=cur_r).label("r"))
        .select_from(Project)
        .outerjoin(StageChange, StageChange.project_id == Project.id)
        .where(*scope, Project.furthest_stage.is_(None))
        .group_by(Project.id, Project.stage)
        .subquery()
    )
    for r, n in session.execute(select(unkept.c.r, func.count()).group_by(unkept.c.r)):
        at[r] = at.get(r, 0) + n
    reached = {
        s: sum(n for r, n in at.items() if r is not None and r >= i)
        for i, s in enumerate(STAGE_ORDER)
    }
    return reached, [
        Conversion(
            from_stage=a,
            to_stage=b,
            reached_from=reached[a],
            reached_to=reached[b],
            rate=ratio(reached[b], reached[a]),
        )
        for a, b in itertools.pairwise(STAGE_ORDER)
    ]


def _weekly(session: Session, scope: list[Any], weeks: Weeks) -> list[WeekRow]:
    """New projects and first signings per local week."""
    new_rows = _new_per_week(session, scope, weeks)
    # (not "a secured change in the period and none before it" with NOT EXISTS: SQLite 3.40.1
    # answers `project_id = ? AND to_stage IN (…) AND changed_at < ?` wrongly on the index
    # (project_id, to_stage, changed_at))
    # Only a project moved into a secured stage within the period can have first reached one
    # in it: those few are read from the stage-change time index, then each one's earliest
    # secured move from its own history index — not every project's history (SQLite CPU at
    # city scale 77 → 18 ms; manager_home reads its week the same way)
    recent = select(StageChange.project_id).where(
        in_period(StageChange.changed_at, weeks), StageChange.to_stage.in_(SECURED_STAGES)
    )
    first_signed = (
        select(StageChange.project_id.label("pid"), func.min(StageChange.changed_at).label("at"))
        .join(Project, Project.id == StageChange.project_id)
        .where(
            *scope,
            StageChange.to_stage.in_(SECURED_STAGES),
            StageChange.project_id.in_(recent),
        )
        .group_by(StageChange.project_id)
        .subquery()
    )
    sign_rows = count_per_week(session, first_signed.c.at, weeks)
    return [
        WeekRow(
            week_start=d, new_projects=int(new_rows.get(i, 0)), signings=int(sign_rows.get(i, 0))
        )
        for i, d in enumerate(weeks.starts)
    ]


def _new_per_week(session: Session, scope: list[Any], weeks: Weeks) -> dict[int, int]:
    inner = (
        select(week_index(Project.created_at, weeks).label("w"))
        .where(*scope, in_period(Project.created_at, weeks))
        .subquery()
    )
    return dict(session.execute(select(inner.c.w, func.count()).group_by(inner.c.w)).all())
