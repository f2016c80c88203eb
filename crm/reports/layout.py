"""The park layout (SPEC §4, "2+10" 园区布局): the parks of the policy pack in its order, each with
its tier, district and the clusters the policy guides there (with the policy's focus for the
pair), each pair's status by the coverage rule per pair — the coverage report's own matrix, so
the figures are the same view — and the firms' projects in the park.

Projects listed per park: live ones (not lost), largest expected output first, a few per park on
the page and every one in the workbook (``detail``); a confidential project by its code name
only, never with its firm. With a cluster chosen, only that cluster's projects and pairs.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import case, func, select, union_all
from sqlmodel import Session

from crm.models.accounts import User
from crm.models.firms import MAJOR_TIERS, Firm
from crm.models.policy import ParkCluster
from crm.models.projects import LANDED_STAGES, SECURED_STAGES, Project, Stage
from crm.reports.common import (
    LABELLED,
    NamedPark,
    ReportFilters,
    Scope,
    clusters,
    filtered,
    parks,
    row_label,
)
from crm.reports.coverage import Status, _status
from crm.reports.kept import kept
from crm.types import stored_id, utcnow

LISTED = 5  # projects named per park on the page (the counts cover them all)


class LayoutPair(BaseModel):
    cluster: str
    focus: str | None  # what the policy says this park does for this cluster
    status: Status  # the coverage rule for this pair
    major_secured: int
    major_pursuing: int
    landed_count: int
    project_count: int  # live projects of this cluster here


class LayoutProject(BaseModel):
    id: int
    label: str  # a confidential project: its code name only
    firm_name: str  # empty for a confidential project
    cluster: str
    stage: str
    expected_output: Decimal | None


class LayoutPark(NamedPark):
    district: str | None
    within: str | None  # a bonded zone's core park
    pairs: list[LayoutPair]  # the guided clusters (only the chosen one, with a cluster filter)
    project_count: int  # live projects here (of the chosen cluster)
    outside_guidance: int  # … of them in clusters the policy does not guide here
    projects: list[LayoutProject]


class ParkLayout(BaseModel):
    generated_at: datetime
    cluster: str | None
    parks: list[LayoutPark]
    pairs: int
    covered_pairs: int
    pursuing_pairs: int
    no_park_projects: int  # live projects with no park yet


def park_layout(session: Session, actor: User, f: ReportFilters | None = None) -> ParkLayout:
    """Each park of the plan with its guided clusters' coverage and its projects: kept between
    requests until a project, a firm's name or tier, or the policy changes
    (``crm.reports.kept``); the filters are checked every time."""
    f = f or ReportFilters()
    filters = filtered(session, actor, f, by_park=False)
    return kept(session, actor, "layout", f, lambda: _layout(session, f, filters))


def _layout(session: Session, f: ReportFilters, filters: Scope) -> ParkLayout:
    cid = filters.cluster_id
    scope = [*filters.where, Project.stage != Stage.lost.value]
    plan_clusters = clusters(session)  # the policy's order
    code_of = {c.id: c.code for c in plan_clusters}
    order = {c.id: i for i, c in enumerate(plan_clusters)}
    guided: dict[int, dict[int, str | None]] = {}
    for pid, c, focus in session.execute(
        select(ParkCluster.park_id, ParkCluster.cluster_id, ParkCluster.focus)
    ):
        guided.setdefault(pid, {})[c] = focus
    # the coverage rule per pair (coverage.py's matrix: a major investor's live project secured
    # here / pursuing here) and the pair's landed and live projects, as two aggregates: the
    # counts from the project index alone, the major investors' from the major firms' ids (the
    # tier index) and their projects by firm (a covering index) — joining every project to its
    # firm read 20,000 firm rows at city scale (35 ms of SQLite's CPU against 9)
    secured = Project.stage.in_(SECURED_STAGES)
    majors = {
        (pid, c): (int(n_sec), int(n) - int(n_sec))
        for pid, c, n_sec, n in session.execute(
            select(
                Project.park_id,
                Project.cluster_id,
                func.sum(case((secured, 1), else_=0)),
                func.count(),
            )
            .where(*scope, Project.firm_id.in_(select(Firm.id).where(Firm.tier.in_(MAJOR_TIERS))))
            .group_by(Project.park_id, Project.cluster_id)
        )
    }
    per_park: dict[int | None, dict[int, tuple[int, int, int, int]]] = {}
    for pid, c, n_landed, n in session.execute(
        select(
            Project.park_id,
            Project.cluster_id,
            func.sum(case((Project.stage.in_(LANDED_STAGES), 1), else_=0)),
            func.count(),
        )
        .where(*scope)
        .group_by(Project.park_id, Project.cluster_id)
    ):
        per_park.setdefault(pid, {})[c] = (*majors.get((pid, c), (0, 0)), int(n_landed), int(n))

    all_parks = parks(session)
    if f.detail:
        which: list[Any] = [*scope, Project.park_id.is_not(None)]
    else:
        # the first few of each park, each read in its order from the park's entries of an
        # index (``ix_project_park_output``): ranking every live project with a window
        # function sorted all of them (8.5 ms of SQLite's CPU at city scale against 0.3)
        first = [
            select(Project.id)
            .where(*scope, Project.park_id == stored_id(p))
            .order_by(Project.expected_output.desc().nulls_last(), Project.id)
            .limit(LISTED)
            .subquery()
            for p in all_parks
        ]
        which = [Project.id.in_(union_all(*(select(sub.c.id) for sub in first)))] if first else []
    projects: dict[int, list[LayoutProject]] = {}
    rows: Any = (
        ()
        if not which
        else session.execute(
            select(
                *LABELLED,
                Firm.name_zh,
                Project.cluster_id,
                Project.stage,
                Project.expected_output,
                Project.park_id,
            )
            .join(Firm, Firm.id == Project.firm_id)
            .where(*which)
            .order_by(Project.park_id, Project.expected_output.desc().nulls_last(), Project.id)
        )
    )
    for r in rows:
        projects.setdefault(r[8], []).append(
            LayoutProject(
                id=r[0],
                label=row_label(r),
                firm_name="" if r[2] else r[4],
                cluster=code_of.get(r[5], "?"),
                stage=r[6],
                expected_output=r[7],
            )
        )

    code_of_park = {p.id: p.code for p in all_parks}
    out = []
    for p in all_parks:
        park_id = stored_id(p)
        here = guided.get(park_id, {})
        counts = per_park.get(park_id, {})
        pairs = []
        for c, focus in sorted(here.items(), key=lambda kv: order.get(kv[0], len(order))):
            if cid is not None and c != cid:
                continue
            n_sec, n_pur, n_landed, n = counts.get(c, (0, 0, 0, 0))
            pairs.append(
                LayoutPair(
                    cluster=code_of.get(c, "?"),
                    focus=focus,
                    status=_status(n_sec, n_pur),
                    major_secured=n_sec,
                    major_pursuing=n_pur,
                    landed_count=n_landed,
                    project_count=n,
                )
            )
        out.append(
            LayoutPark(
                **NamedPark.of(p),
                district=p.district,
                within=code_of_park.get(p.within_park_id) if p.within_park_id else None,
                pairs=pairs,
                project_count=sum(v[3] for v in counts.values()),
                outside_guidance=sum(v[3] for c, v in counts.items() if c not in here),
                projects=projects.get(park_id, []),
            )
        )
    all_pairs = [x for lp in out for x in lp.pairs]
    return ParkLayout(
        generated_at=utcnow(),
        cluster=f.cluster,
        parks=out,
        pairs=len(all_pairs),
        covered_pairs=sum(1 for x in all_pairs if x.status == "covered"),
        pursuing_pairs=sum(1 for x in all_pairs if x.status == "pursuing"),
        no_park_projects=sum(v[3] for v in per_park.get(None, {}).values()),
    )
