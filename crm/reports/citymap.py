"""The city map (SPEC §4): Chongqing's districts coloured by landed and operating output, each
park in its district (policy pack ``district``) with its tier and guided clusters; with a cluster
chosen, that cluster's output and, per guided park, its coverage status by the coverage rule per
pair (covered / pursuing / gap) — where its projects and its gaps are.

Output is the expected annual output of projects at landed or operating (the targets report's
definition), counted at the project's park; a project without a park is counted apart.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import Session

from crm.models.accounts import User
from crm.models.policy import Cluster, ParkCluster
from crm.models.projects import LANDED_STAGES, Project, Stage
from crm.reports.common import (
    NamedPark,
    ReportFilters,
    filtered,
    parks,
    wan_sum,
    yi,
)
from crm.reports.coverage import Status, coverage_report
from crm.types import utcnow


class MapPark(NamedPark):
    district: str | None
    clusters: list[str]  # the clusters the policy guides here
    landed_output: Decimal
    landed_projects: int
    live_projects: int  # not lost
    guided: bool  # the chosen cluster is guided here (always True without a cluster)
    status: Status | None  # the chosen cluster's coverage status at this park (pair rule)


class MapDistrict(BaseModel):
    name: str
    landed_output: Decimal
    parks: list[str]


class CityMap(BaseModel):
    generated_at: datetime
    cluster: str | None
    districts: list[MapDistrict]
    parks: list[MapPark]
    landed_output: Decimal  # all landed + operating output in scope
    no_park_output: Decimal


def city_map(session: Session, actor: User, f: ReportFilters | None = None) -> CityMap:
    """Landed output per district and park, optionally for one cluster."""
    f = f or ReportFilters()
    scope = [*filtered(session, actor, f, by_park=False).where, Project.stage != Stage.lost.value]
    # per park and stage (the map index in its order, no CASE per row), landed ones summed here
    per_park: dict[int | None, tuple[int, int, int]] = {}
    for pid, stage, out, n in session.execute(
        select(Project.park_id, Project.stage, wan_sum(Project.expected_output), func.count())
        .where(*scope)
        .group_by(Project.park_id, Project.stage)
    ):
        wan, n_landed, n_all = per_park.get(pid, (0, 0, 0))
        if stage in LANDED_STAGES:
            wan, n_landed = wan + int(out or 0), n_landed + int(n)
        per_park[pid] = (wan, n_landed, n_all + int(n))
    guided: dict[int, list[str]] = {}
    for pid, code in session.execute(
        select(ParkCluster.park_id, Cluster.code)
        .join(Cluster, Cluster.id == ParkCluster.cluster_id)
        .order_by(Cluster.sort_order, Cluster.id)
    ):
        guided.setdefault(pid, []).append(code)
    pair: dict[str, Status] = {}
    if f.cluster:
        cov = coverage_report(
            session, actor, ReportFilters(department_id=f.department_id, cluster=f.cluster)
        )
        pair = {m.park: m.status for m in cov.matrix}
    out_parks = []
    districts: dict[str, list] = {}  # type: ignore[type-arg]
    for p in parks(session):
        wan, n_landed, n = per_park.get(p.id, (0, 0, 0))
        is_guided = f.cluster is None or f.cluster in guided.get(p.id, [])  # type: ignore[arg-type]
        out_parks.append(
            MapPark(
                **NamedPark.of(p),
                district=p.district,
                clusters=guided.get(p.id, []),  # type: ignore[arg-type]
                landed_output=yi(wan),
                landed_projects=n_landed,
                live_projects=n,
                guided=is_guided,
                status=pair.get(p.code, "gap" if f.cluster and is_guided else None),
            )
        )
        if p.district:
            d = districts.setdefault(p.district, [0, []])
            d[0] += wan
            d[1].append(p.code)
    total = sum(v[0] for v in per_park.values())
    return CityMap(
        generated_at=utcnow(),
        cluster=f.cluster,
        districts=[
            MapDistrict(name=name, landed_output=yi(v[0]), parks=v[1])
            for name, v in sorted(districts.items(), key=lambda kv: -kv[1][0])
        ],
        parks=out_parks,
        landed_output=yi(total),
        no_park_output=yi(per_park.get(None, (0, 0, 0))[0]),
    )
