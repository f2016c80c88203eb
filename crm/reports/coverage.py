"""Coverage (SPEC §5): which of the 12 clusters have a major investor, at cluster and chain-link
level, and the cluster × park matrix over the pairs the policy guides.

A cluster (or chain link) is ``covered`` when a major investor (tier global500, china500 or
leader) has a project there at signed / landed / operating; else ``pursuing`` when one has a
project at lead / contacted / negotiating; else ``gap``. Lost projects never count, and a firm of
tier ``other`` never covers. Every figure goes through ``project_visible(actor)``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import and_, case, func, literal, select
from sqlmodel import Session

from crm.accounts.models import User
from crm.firms.models import MAJOR_TIERS, Firm
from crm.policy.models import ChainLink, ParkCluster
from crm.projects.models import LANDED_STAGES, PURSUING_STAGES, SECURED_STAGES, Project, Stage
from crm.reports.common import (
    ReportFilters,
    check_department,
    cluster_id_for,
    clusters,
    parks,
    project_label,
    project_scope,
)
from crm.types import utcnow

Status = Literal["covered", "pursuing", "gap"]
PROJECTS_PER_CLUSTER = 50   # projects listed behind a status (the count says how many in all)
INVESTORS_PER_LINK = 5
STAGE_RANK = {s: i for i, s in enumerate(("lead", "contacted", "negotiating", "signed", "landed",
                                           "operating"))}


class CoverageProject(BaseModel):
    id: int
    label: str
    firm_id: int
    firm_name: str
    tier: str
    stage: str
    expected_output: Decimal | None


class MajorInvestor(BaseModel):
    firm_id: int
    name: str
    tier: str
    status: Literal["covered", "pursuing"]
    secured_projects: int
    pursuing_projects: int


class LinkCoverage(BaseModel):
    code: str
    name_zh: str
    name_en: str
    status: Status
    firm_count: int            # distinct firms of any tier with a live project on this link
    major_firm_count: int
    project_count: int
    major_investors: list[str]  # names of the major investors behind the status (a few)


class ClusterCoverage(BaseModel):
    code: str
    name_zh: str
    name_en: str
    kind: str
    status: Status
    major_investors: list[MajorInvestor]
    projects: list[CoverageProject]      # the projects behind the status (up to 50)
    project_count: int                   # how many projects are behind the status in all
    links: list[LinkCoverage]
    links_without_firm: int
    links_covered: int


class ParkColumn(BaseModel):
    code: str
    name_zh: str
    name_en: str
    tier: str


class MatrixCell(BaseModel):
    cluster: str
    park: str
    landed: bool
    landed_count: int          # projects at landed / operating
    project_count: int         # live projects (not lost)


class CoverageReport(BaseModel):
    generated_at: datetime
    counts: dict[str, int]               # covered / pursuing / gap
    lacking: list[str]                   # codes of clusters with no major investor secured
    gaps: list[str]                      # codes of clusters with no major investor at all
    clusters: list[ClusterCoverage]
    parks: list[ParkColumn]
    matrix: list[MatrixCell]
    matrix_pairs: int
    matrix_landed_pairs: int
    landed_outside_guidance: int         # landed projects at a park the cluster is not guided to


def _status(secured: int, pursuing: int) -> Status:
    if secured:
        return "covered"
    if pursuing:
        return "pursuing"
    return "gap"


def coverage_report(session: Session, actor: User, f: ReportFilters | None = None
                    ) -> CoverageReport:
    """Coverage of the clusters, their chain links and the guided cluster × park pairs."""
    f = f or ReportFilters()
    check_department(session, f.department_id)
    only_cluster = cluster_id_for(session, f.cluster)
    scope = [*project_scope(actor, f, only_cluster), Project.stage != Stage.lost.value]
    # driven from the (few) major firms through ix_project_firm_cluster
    major = Project.firm_id.in_(select(Firm.id).where(Firm.tier.in_(MAJOR_TIERS)))
    major_tier = Firm.tier.in_(MAJOR_TIERS)  # where the firm is joined anyway
    is_secured = Project.stage.in_(SECURED_STAGES)
    is_pursuing = Project.stage.in_(PURSUING_STAGES)

    # 1. per cluster and major firm: how many secured and pursuing projects
    rows = session.execute(
        select(Project.cluster_id, Project.firm_id, Firm.name_zh, Firm.tier,
               func.sum(case((is_secured, 1), else_=0)),
               func.sum(case((is_pursuing, 1), else_=0)))
        .join(Firm, Firm.id == Project.firm_id)
        .where(*scope, major)
        .group_by(Project.cluster_id, Project.firm_id, Firm.name_zh, Firm.tier)
    ).all()
    investors: dict[int, list[MajorInvestor]] = {}
    secured_n: dict[int, int] = {}
    pursuing_n: dict[int, int] = {}
    for cid, fid, name, tier, sec, pur in rows:
        sec, pur = int(sec or 0), int(pur or 0)
        secured_n[cid] = secured_n.get(cid, 0) + sec
        pursuing_n[cid] = pursuing_n.get(cid, 0) + pur
        investors.setdefault(cid, []).append(MajorInvestor(
            firm_id=fid, name=name, tier=tier, status="covered" if sec else "pursuing",
            secured_projects=sec, pursuing_projects=pur))
    tier_rank = {t: i for i, t in enumerate(MAJOR_TIERS)}
    for lst in investors.values():
        lst.sort(key=lambda m: (m.status != "covered", tier_rank.get(m.tier, 9), m.name))

    # 2. the projects behind each status: the first 50 per cluster and group, ranked in SQL
    grp = case((is_secured, literal("covered")), else_=literal("pursuing"))
    stage_rank = case(*[(Project.stage == s, r) for s, r in STAGE_RANK.items()], else_=0)
    rn = func.row_number().over(
        partition_by=(Project.cluster_id, grp),
        order_by=(stage_rank.desc(), func.coalesce(Project.expected_output, 0).desc(),
                  Project.id))
    inner = (select(Project.id, Project.title, Project.is_confidential, Project.code_name,
                    Project.cluster_id, Project.firm_id, Project.stage,
                    Project.expected_output, Firm.name_zh.label("firm_name"),
                    Firm.tier.label("tier"), grp.label("grp"), rn.label("rn"))
             .join(Firm, Firm.id == Project.firm_id).where(*scope, major).subquery())
    behind: dict[tuple[int, str], list[CoverageProject]] = {}
    for r in session.execute(select(inner).where(inner.c.rn <= PROJECTS_PER_CLUSTER)
                             .order_by(inner.c.cluster_id, inner.c.grp, inner.c.rn)).all():
        behind.setdefault((r.cluster_id, r.grp), []).append(CoverageProject(
            id=r.id, label=project_label(r.title, r.is_confidential, r.code_name),
            firm_id=r.firm_id, firm_name=r.firm_name, tier=r.tier, stage=r.stage,
            expected_output=r.expected_output))

    # 3. chain links: firms of any tier, major firms, and the link's status
    link_rows = session.execute(
        select(Project.chain_link_id,
               func.count(func.distinct(Project.firm_id)),
               func.count(func.distinct(case((major_tier, Project.firm_id)))),
               func.count(),
               func.sum(case((and_(major_tier, is_secured), 1), else_=0)),
               func.sum(case((and_(major_tier, is_pursuing), 1), else_=0)))
        .join(Firm, Firm.id == Project.firm_id)
        .where(*scope, Project.chain_link_id.is_not(None))
        .group_by(Project.chain_link_id)
    ).all()
    link_stats = {r[0]: r[1:] for r in link_rows}
    sec_agg = func.max(case((is_secured, 1), else_=0))
    lrn = func.row_number().over(partition_by=Project.chain_link_id,
                                 order_by=(sec_agg.desc(), Firm.name_zh))
    link_inner = (select(Project.chain_link_id, Firm.name_zh, sec_agg.label("sec"),
                         lrn.label("rn"))
                  .join(Firm, Firm.id == Project.firm_id)
                  .where(*scope, major, Project.chain_link_id.is_not(None))
                  .group_by(Project.chain_link_id, Firm.id, Firm.name_zh)
                  .subquery())
    link_names: dict[int, list[tuple[bool, str]]] = {}
    for lid, name, sec, _ in session.execute(
            select(link_inner).where(link_inner.c.rn <= INVESTORS_PER_LINK)).all():
        link_names.setdefault(lid, []).append((bool(sec), name))
    links_by_cluster: dict[int, list[ChainLink]] = {}
    for link in session.scalars(select(ChainLink).order_by(ChainLink.cluster_id,
                                                           ChainLink.sort_order, ChainLink.id)):
        links_by_cluster.setdefault(link.cluster_id, []).append(link)

    # 4. cluster × park: landed and live projects per pair
    landed = Project.stage.in_(LANDED_STAGES)
    cells = {(c, p): (int(n_landed or 0), int(n)) for c, p, n_landed, n in session.execute(
        select(Project.cluster_id, Project.park_id, func.sum(case((landed, 1), else_=0)),
               func.count())
        .where(*scope, Project.park_id.is_not(None))
        .group_by(Project.cluster_id, Project.park_id)).all()}

    all_clusters = clusters(session)
    shown = [c for c in all_clusters if only_cluster is None or c.id == only_cluster]
    out: list[ClusterCoverage] = []
    for c in shown:
        status = _status(secured_n.get(c.id, 0), pursuing_n.get(c.id, 0))
        key = "covered" if status == "covered" else "pursuing"
        projs = behind.get((c.id, key), []) if status != "gap" else []
        count = (secured_n.get(c.id, 0) if status == "covered" else pursuing_n.get(c.id, 0))
        links = []
        for link in links_by_cluster.get(c.id, []):
            firms_n, major_n, proj_n, sec, pur = link_stats.get(link.id, (0, 0, 0, 0, 0))
            lstatus = _status(int(sec or 0), int(pur or 0))
            names = [n for s, n in link_names.get(link.id, [])
                     if (s if lstatus == "covered" else not s)][:INVESTORS_PER_LINK]
            links.append(LinkCoverage(code=link.code, name_zh=link.name_zh,
                                      name_en=link.name_en, status=lstatus,
                                      firm_count=int(firms_n), major_firm_count=int(major_n),
                                      project_count=int(proj_n), major_investors=names))
        out.append(ClusterCoverage(
            code=c.code, name_zh=c.name_zh, name_en=c.name_en, kind=c.kind, status=status,
            major_investors=investors.get(c.id, []), projects=projs, project_count=count,
            links=links, links_without_firm=sum(1 for link in links if link.firm_count == 0),
            links_covered=sum(1 for link in links if link.status == "covered")))

    park_list = parks(session)
    park_code = {p.id: p.code for p in park_list}
    code_of = {c.id: c.code for c in all_clusters}
    guided = {(c, p) for c, p in session.execute(
        select(ParkCluster.cluster_id, ParkCluster.park_id))}
    matrix = []
    for c in shown:
        for p in park_list:
            if (c.id, p.id) in guided:
                n_landed, n = cells.get((c.id, p.id), (0, 0))
                matrix.append(MatrixCell(cluster=c.code, park=p.code, landed=n_landed > 0,
                                         landed_count=n_landed, project_count=n))
    outside = sum(n_landed for (cid, pid), (n_landed, _) in cells.items()
                  if (cid, pid) not in guided and cid in code_of and pid in park_code)
    counts = {s: sum(1 for c in out if c.status == s) for s in ("covered", "pursuing", "gap")}
    return CoverageReport(
        generated_at=utcnow(), counts=counts,
        lacking=[c.code for c in out if c.status != "covered"],
        gaps=[c.code for c in out if c.status == "gap"],
        clusters=out,
        parks=[ParkColumn(code=p.code, name_zh=p.name_zh, name_en=p.name_en, tier=p.tier)
               for p in park_list],
        matrix=matrix, matrix_pairs=len(matrix),
        matrix_landed_pairs=sum(1 for m in matrix if m.landed),
        landed_outside_guidance=outside)
