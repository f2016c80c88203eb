"""Targets (SPEC §5): output against the plan's targets, per cluster and plan-wide, and the two
cores' share.

- per cluster: the 2015 target against the expected annual output of projects at landed or
  operating, and apart, of projects at signed;
- plan-wide: landed + operating output against 4000亿 (2012) and 13000亿 (2015) (plan_target);
- the cores' share: landed + operating output at a core park — or at a bonded zone lying within
  one (park.within_park_id) — over all landed + operating output (a project with no park counts
  outside the cores), against 75%.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import Session

from crm.models.accounts import User
from crm.models.policy import PlanTarget
from crm.models.projects import LANDED_STAGES, Project, Stage
from crm.reports.common import (
    NamedCluster,
    ReportFilters,
    check_department,
    clusters,
    parks,
    project_scope,
    ratio,
    wan_sum,
    yi,
)
from crm.types import stored_id, utcnow

ZERO = Decimal("0.0000")


class ClusterTarget(NamedCluster):
    target_2015: Decimal
    landed_output: Decimal  # landed + operating
    signed_output: Decimal  # signed only
    landed_projects: int
    signed_projects: int
    progress: Decimal | None  # landed_output / target_2015 (ratio, 4 places)
    progress_with_signed: Decimal | None


class PlanTotal(BaseModel):
    code: str
    year: int | None
    label_zh: str
    label_en: str
    target: Decimal
    landed_output: Decimal
    with_signed_output: Decimal
    progress: Decimal | None
    progress_with_signed: Decimal | None


class CoreShare(BaseModel):
    core_parks: list[str]  # core parks and the bonded zones within them
    core_output: Decimal
    total_output: Decimal  # all landed + operating output
    no_park_output: Decimal
    share: Decimal | None  # core_output / total_output (ratio, 4 places)
    target: Decimal  # 0.75
    met: bool


class TargetsReport(BaseModel):
    generated_at: datetime
    clusters: list[ClusterTarget]
    totals: list[PlanTotal]
    landed_output: Decimal
    signed_output: Decimal
    core_share: CoreShare


def core_park_ids(session: Session) -> tuple[set[int], list[str]]:
    """Core parks and the bonded zones that lie within one."""
    all_parks = parks(session)
    core = {stored_id(p) for p in all_parks if p.tier == "core"}
    ids = core | {stored_id(p) for p in all_parks if p.within_park_id in core}
    return ids, [p.code for p in all_parks if p.id in ids]


def targets_report(session: Session, actor: User, f: ReportFilters | None = None) -> TargetsReport:
    """Expected output against the cluster and plan targets, and the cores' share."""
    f = f or ReportFilters()
    check_department(session, f.department_id)
    core_ids, core_codes = core_park_ids(session)
    rows = session.execute(
        select(
            Project.cluster_id,
            Project.stage,
            Project.park_id,
            wan_sum(Project.expected_output),
            func.count(),
        )
        .where(*project_scope(actor, f), Project.stage.in_((Stage.signed.value, *LANDED_STAGES)))
        .group_by(Project.cluster_id, Project.stage, Project.park_id)
    ).all()
    landed_wan: dict[int, int] = {}
    signed_wan: dict[int, int] = {}
    landed_n: dict[int, int] = {}
    signed_n: dict[int, int] = {}
    core_wan = no_park_wan = 0
    for cid, stage, park_id, total, n in rows:
        total = int(total or 0)
        if stage in LANDED_STAGES:
            landed_wan[cid] = landed_wan.get(cid, 0) + total
            landed_n[cid] = landed_n.get(cid, 0) + int(n)
            if park_id in core_ids:
                core_wan += total
            if park_id is None:
                no_park_wan += total
        else:
            signed_wan[cid] = signed_wan.get(cid, 0) + total
            signed_n[cid] = signed_n.get(cid, 0) + int(n)
    per_cluster = []
    for c in clusters(session):
        cid = stored_id(c)
        lo, so = yi(landed_wan.get(cid)), yi(signed_wan.get(cid))
        per_cluster.append(
            ClusterTarget(
                **NamedCluster.of(c),
                target_2015=c.target_2015,
                landed_output=lo,
                signed_output=so,
                landed_projects=landed_n.get(cid, 0),
                signed_projects=signed_n.get(cid, 0),
                progress=ratio(lo, c.target_2015),
                progress_with_signed=ratio(lo + so, c.target_2015),
            )
        )
    total_landed = yi(sum(landed_wan.values()))
    total_signed = yi(sum(signed_wan.values()))
    plan = {t.code: t for t in session.scalars(select(PlanTarget))}
    totals = []
    for code in ("output_2012", "output_2015"):
        t = plan.get(code)
        if t is None:
            continue
        target = Decimal(t.value)
        totals.append(
            PlanTotal(
                code=code,
                year=t.year,
                label_zh=t.label_zh,
                label_en=t.label_en,
                target=target,
                landed_output=total_landed,
                with_signed_output=total_landed + total_signed,
                progress=ratio(total_landed, target),
                progress_with_signed=ratio(total_landed + total_signed, target),
            )
        )
    return TargetsReport(
        generated_at=utcnow(),
        core_share=_core_share(
            yi(core_wan), total_landed, yi(no_park_wan), core_codes, plan.get("core_share")
        ),
        clusters=per_cluster,
        totals=totals,
        landed_output=total_landed,
        signed_output=total_signed,
    )


def _core_share(
    core_out: Decimal,
    total_landed: Decimal,
    no_park_out: Decimal,
    core_codes: list[str],
    target: PlanTarget | None,
) -> CoreShare:
    """The cores' share of the landed and operating output against the plan's (75% where the
    plan has none)."""
    share_target = Decimal(target.value) if target is not None else Decimal("0.75")
    # compared exactly; rounded so the figure reaches the target exactly when the badge says
    # met: 74.995% is not met and shows 74.99%, never "75.00% 未达标"
    met = bool(total_landed) and core_out >= share_target * total_landed
    share = ratio(core_out, total_landed)
    if share is not None and not met and share >= share_target:
        share = ratio(core_out, total_landed, rounding=ROUND_DOWN)
    return CoreShare(
        core_parks=core_codes,
        core_output=core_out,
        total_output=total_landed,
        no_park_output=no_park_out,
        share=share,
        target=share_target.normalize(),
        met=met,
    )
