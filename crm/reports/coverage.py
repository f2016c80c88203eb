"""Coverage (SPEC §5): which of the 12 clusters have a major investor, at cluster and chain-link
level, and the cluster × park matrix over the pairs the policy guides.

A cluster (or chain link) is ``covered`` when a major investor (tier global500, china500 or
leader) has a project there at signed / landed / operating; else ``pursuing`` when one has a
project at lead / contacted / negotiating; else ``gap``. Lost projects never count, and a firm of
tier ``other`` never covers. Every figure goes through ``project_visible(actor)``.

The major investors listed (and counted) are the firms, each with its visible projects, and every
confidential project on its own under its code name (``figures_owner``): a confidential
project's figures are never added to its firm's entry, so no figure beside a firm's name depends
on it (SPEC §5: reports travel to meetings).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import chain, islice
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import BigInteger, Row, case, func, literal_column, select, type_coerce
from sqlmodel import Session

from crm.authz.disclosure import figures_owner, project_label
from crm.models.accounts import User
from crm.models.firms import MAJOR_TIERS, Firm
from crm.models.policy import ChainLink, ParkCluster
from crm.models.projects import LANDED_STAGES, SECURED_STAGES, Project, Stage
from crm.reports.common import (
    LABELLED,
    NamedCluster,
    NamedPark,
    ReportFilters,
    Scope,
    clusters,
    filtered,
    parks,
)
from crm.reports.kept import kept
from crm.types import stored_id, utcnow
from crm.vocabulary import ACTIVE_STAGES, ADVANCED_STAGES, STAGE_RANK

Status = Literal["covered", "pursuing", "gap"]
PROJECTS_PER_CLUSTER = 20  # projects listed behind a status (the count says how many in all)
INVESTORS_LISTED = 20  # major investors listed per cluster (the count says how many in all;
# the drill-down and the Excel export list them all)
INVESTORS_PER_LINK = 5


class CoverageProject(BaseModel):
    id: int
    label: str
    firm_id: int | None  # None for a confidential project: its code name only (SPEC §5)
    firm_name: str
    tier: str
    stage: str
    expected_output: Decimal | None


class MajorInvestor(BaseModel):
    firm_id: int | None  # None for a confidential project: an investor of its own, by code name
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
    firm_count: int  # distinct firms of any tier with a live project on this link
    major_firm_count: int
    project_count: int
    major_investors: list[str]  # names of the major investors behind the status (a few)


class ClusterCoverage(NamedCluster):
    kind: str
    status: Status
    major_investors: list[MajorInvestor]  # the first 20 (covering first, by tier and name)
    major_investor_count: int  # major investors with a live project here, in all
    covering_investor_count: int  # of which with a secured project
    projects: list[CoverageProject]  # the projects behind the status (up to 20)
    project_count: int  # how many projects are behind the status in all
    links: list[LinkCoverage]
    links_without_firm: int
    links_covered: int


class ParkColumn(NamedPark):
    pass


class MatrixCell(BaseModel):
    """A guided cluster × park pair, by the coverage rule (SPEC §5: "the same view")."""

    cluster: str
    park: str
    status: Status  # a major investor secured here / pursuing here / neither
    major_secured: int  # major investors' projects at signed / landed / operating
    major_pursuing: int  # major investors' projects at lead / contacted / negotiating
    landed_count: int  # projects of any tier at landed / operating
    advanced_count: int  # projects of any tier at negotiating or beyond (leads not counted)
    project_count: int  # live projects (not lost)


class CoverageReport(BaseModel):
    generated_at: datetime
    counts: dict[str, int]  # covered / pursuing / gap
    lacking: list[str]  # codes of clusters with no major investor secured
    gaps: list[str]  # codes of clusters with no major investor at all
    clusters: list[ClusterCoverage]
    parks: list[ParkColumn]
    matrix: list[MatrixCell]
    matrix_pairs: int
    matrix_covered_pairs: int
    matrix_pursuing_pairs: int
    landed_outside_guidance: int  # landed projects at a park the cluster is not guided to


CONFIDENTIAL = "保密项目"
# the stages from ``signed`` on (SECURED_STAGES) rank above every pursuing stage: a project's
# rank says both its place in the list behind a status and which status it stands behind
SECURED_RANK = min(STAGE_RANK[s] for s in SECURED_STAGES)
if {s for s, r in STAGE_RANK.items() if r >= SECURED_RANK} != set(SECURED_STAGES):
    raise RuntimeError("coverage: the secured stages must rank above the pursuing ones")
_TIER_RANK = {t: i for i, t in enumerate(MAJOR_TIERS)}  # a confidential project's: after them
_GROUPS = len(MAJOR_TIERS) + 1  # per status: one group per major tier, then the code names


def _status(secured: int, pursuing: int) -> Status:
    if secured:
        return "covered"
    if pursuing:
        return "pursuing"
    return "gap"


def _name_order(session: Session) -> Any:
    """A firm's name in the order Python compares strings (code points): SQLite's default
    BINARY collation compares UTF-8 bytes, which is that order; PostgreSQL's is the database's
    locale unless told "C"."""
    if session.get_bind().dialect.name == "postgresql":
        return Firm.name_zh.collate("C")
    return Firm.name_zh


def _major_rows(session: Session, scope: list[Any]) -> Sequence[Row[Any]]:
    """Every live project of a major investor in scope: the one pass coverage is built from,
    in the order the investors are listed within a tier (by name, then id). Along
    ix_firm_tier_name_order on SQLite: the major firms in that order, each one's projects from
    ix_project_report_firm, nothing sorted and no firm row read."""
    # Core execution: thousands of plain rows of numbers, without the ORM's per-row work; a
    # confidential project's own name (its code name) instead of its flag
    rank = case(
        {s: literal_column(str(r)) for s, r in STAGE_RANK.items()},
        value=Project.stage,
        else_=literal_column("0"),
    )
    own_name = case(
        (Project.is_confidential, func.coalesce(Project.code_name, CONFIDENTIAL)), else_=None
    )
    return (
        session.connection()
        .execute(
            select(
                Project.id,
                Project.cluster_id,
                Project.chain_link_id,
                Project.park_id,
                Firm.id,
                rank,
                func.coalesce(type_coerce(Project.expected_output, BigInteger), 0),
                own_name,
                Firm.name_zh,
                Firm.tier,
            )
            .join(Firm, Firm.id == Project.firm_id)
            .where(*scope, Firm.tier.in_(MAJOR_TIERS))
            .order_by(Firm.tier, _name_order(session), Firm.id)
        )
        .all()
    )  # fetchall: not a fetchone per row


@dataclass
class _Majors:
    """One pass over the major investors' live projects (a few thousand rows at city scale);
    every live stage is either secured or pursuing."""

    # cluster → investor → [secured, pursuing, name, tier, firm id (None: a confidential
    # project, by its code name), project id (a confidential one's)]; an investor is a firm, or
    # a confidential project on its own (``figures_owner``). Each cluster's firms in the order
    # the pass met them: by tier, then name and id.
    per_firm: dict[int, dict[Any, list[Any]]] = field(default_factory=dict)
    # link → investor → [secured, name]; link → [secured, pursuing]
    link_major: dict[int, dict[Any, list[Any]]] = field(default_factory=dict)
    link_sp: dict[int, list[int]] = field(default_factory=dict)
    # (cluster, secured) → its projects; (cluster, park) → [secured, pursuing]
    candidates: dict[tuple[int, bool], list[tuple[Any, ...]]] = field(default_factory=dict)
    pair_sp: dict[tuple[int, int], list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Sequence[Any]) -> _Majors:  # _major_rows: 10 columns
        # one loop, its dictionaries held in locals: it runs once per row (~8,000); the
        # default dictionaries make a missing key's entry in C, without a test per row
        per_firm: defaultdict[int, dict[Any, list[Any]]] = defaultdict(dict)
        candidates: defaultdict[tuple[int, bool], list[tuple[Any, ...]]] = defaultdict(list)
        pair_sp: defaultdict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        link_major: defaultdict[int, dict[Any, list[Any]]] = defaultdict(dict)
        link_sp: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0])
        for pid, cid, lid, park_id, fid, rank, out, own, name, tier in rows:
            sec = rank >= SECURED_RANK
            i = 0 if sec else 1
            if own is None:
                who, shown, tier_shown, ids = fid, name, tier, (fid, None)
            else:
                # a confidential project is an investor of its own, named by its code name
                # only — never by its firm, nor counted in its firm's entry (SPEC §5), nor by
                # its firm's tier: with few global-500 firms in a cluster the tier narrows the
                # firm down — "confidential", as the leaders ladder says (ATTACK8 P3-11)
                who, shown, tier_shown = figures_owner(fid, pid, True), own, "confidential"
                ids = (None, pid)
            in_cluster = per_firm[cid]
            f = in_cluster.get(who)
            if f is None:
                f = in_cluster[who] = [0, 0, shown, tier_shown, *ids]
            f[i] += 1
            candidates[cid, sec].append((-rank, -out, pid, fid, rank, name, tier_shown))
            if park_id is not None:
                pair_sp[cid, park_id][i] += 1
            if lid is not None:
                lm = link_major[lid]
                seen = lm.get(who)
                if seen is None:
                    lm[who] = [sec, shown]
                elif sec:
                    seen[0] = True
                link_sp[lid][i] += 1
        return cls(per_firm, link_major, link_sp, candidates, pair_sp)

    def investors(
        self, listed: int | None
    ) -> tuple[
        dict[int, list[MajorInvestor]], dict[int, tuple[int, int]], dict[int, tuple[int, int]]
    ]:
        """Per cluster: its major investors (the first ``listed``: covering first, by tier,
        then name), how many there are (all, covering), and their secured and pursuing
        projects."""
        investors: dict[int, list[MajorInvestor]] = {}
        investor_n: dict[int, tuple[int, int]] = {}
        projects_n: dict[int, tuple[int, int]] = {}
        for cid, in_cluster in self.per_firm.items():
            # covering, then pursuing; each by tier, the code names last. Firms were met in
            # their tier's order of names; the code names, met at their firm's place, are put
            # in order here
            groups: list[list[list[Any]]] = [[] for _ in range(2 * _GROUPS)]
            n_sec = n_pur = covering = 0
            for e in in_cluster.values():
                n_sec += e[0]
                n_pur += e[1]
                covering += e[0] > 0
                groups[(0 if e[0] else _GROUPS) + _TIER_RANK.get(e[3], _GROUPS - 1)].append(e)
            for g in (groups[_GROUPS - 1], groups[2 * _GROUPS - 1]):
                g.sort(key=lambda e: (e[2], e[5]))
            investor_n[cid] = (len(in_cluster), covering)
            projects_n[cid] = (n_sec, n_pur)
            investors[cid] = [
                MajorInvestor(
                    firm_id=fid,
                    name=name,
                    tier=tier,
                    status="covered" if sec else "pursuing",
                    secured_projects=sec,
                    pursuing_projects=pur,
                )
                for sec, pur, name, tier, fid, _ in islice(chain.from_iterable(groups), listed)
            ]
        return investors, investor_n, projects_n

    def link_rows(
        self,
        links: list[Any],
        link_stats: dict[int, tuple[int, int]],
    ) -> list[LinkCoverage]:
        """A cluster's chain links: firms of any tier and projects (SQL), the major investors
        (the pass)."""
        out = []
        for link_id, code, name_zh, name_en in links:
            firms_n, proj_n = link_stats.get(link_id, (0, 0))
            sec, pur = self.link_sp.get(link_id, (0, 0))
            lstatus = _status(sec, pur)
            majors = self.link_major.get(link_id, {})
            # the major investors behind the link's status: secured ones for a covered link
            names = heapq.nsmallest(
                INVESTORS_PER_LINK,
                (n for s_, n in majors.values() if (s_ if lstatus == "covered" else not s_)),
            )
            out.append(
                LinkCoverage(
                    code=code,
                    name_zh=name_zh,
                    name_en=name_en,
                    status=lstatus,
                    firm_count=firms_n,
                    major_firm_count=len(majors),
                    project_count=proj_n,
                    major_investors=names,
                )
            )
        return out

    def behind(
        self, session: Session, statuses: dict[int, Status], detail: bool
    ) -> dict[int, list[CoverageProject]]:
        """The projects behind each cluster's status (secured ones for a covered cluster,
        pursuing ones else): the first few, or all with ``detail``; by stage, furthest first,
        then expected output, largest first."""
        chosen = {
            cid: (sorted(v) if detail else heapq.nsmallest(PROJECTS_PER_CLUSTER, v))
            for cid, st in statuses.items()
            if st != "gap" and (v := self.candidates.get((cid, st == "covered")))
        }
        ids = [r[2] for v in chosen.values() for r in v]
        labels: dict[int, tuple[Any, ...]] = {}
        for i in range(0, len(ids), 500):
            labels.update(
                (r[0], r[1:])
                for r in session.execute(
                    select(*LABELLED, Project.expected_output).where(
                        Project.id.in_(ids[i : i + 500])
                    )
                )
            )
        return {
            cid: [
                CoverageProject(
                    id=pid,
                    label=project_label(*labels[pid][:3]),
                    firm_id=None if labels[pid][1] else fid,
                    firm_name="" if labels[pid][1] else name,
                    tier=tier,
                    stage=ACTIVE_STAGES[rank],
                    expected_output=labels[pid][3],
                )
                for _, _, pid, fid, rank, name, tier in v
            ]
            for cid, v in chosen.items()
        }


def _link_stats(
    session: Session, scope: list[Any]
) -> tuple[dict[int, tuple[int, int]], dict[int, list[Any]]]:
    """Per chain link: firms of any tier and projects in scope; the links of each cluster (id,
    code and names)."""
    link_stats = {
        lid: (int(firms), int(n))
        for lid, firms, n in session.execute(
            select(Project.chain_link_id, func.count(func.distinct(Project.firm_id)), func.count())
            .where(*scope, Project.chain_link_id.is_not(None))
            .group_by(Project.chain_link_id)
        )
    }
    links_by_cluster: dict[int, list[Any]] = {}
    for cid, *link in session.execute(
        select(
            ChainLink.cluster_id, ChainLink.id, ChainLink.code, ChainLink.name_zh, ChainLink.name_en
        ).order_by(ChainLink.cluster_id, ChainLink.sort_order, ChainLink.id)
    ):
        links_by_cluster.setdefault(cid, []).append(link)
    return link_stats, links_by_cluster


def _pair_cells(session: Session, scope: list[Any]) -> dict[tuple[int, int], tuple[int, int, int]]:
    """Cluster × park: projects of any tier (landed, advanced, all)."""
    landed = Project.stage.in_(LANDED_STAGES)
    advanced = Project.stage.in_(ADVANCED_STAGES)
    return {
        (c, p): (int(n_landed or 0), int(n_adv or 0), int(n))
        for c, p, n_landed, n_adv, n in session.execute(
            select(
                Project.cluster_id,
                Project.park_id,
                func.sum(case((landed, 1), else_=0)),
                func.sum(case((advanced, 1), else_=0)),
                func.count(),
            )
            .where(*scope, Project.park_id.is_not(None))
            .group_by(Project.cluster_id, Project.park_id)
        ).all()
    }


def _matrix(
    shown: list[Any],
    park_list: list[Any],
    guided: set[tuple[int, int]],
    cells: dict[tuple[int, int], tuple[int, int, int]],
    pair_sp: dict[tuple[int, int], list[int]],
) -> list[MatrixCell]:
    """The coverage rule per guided cluster × park pair (the pass), with its projects."""
    matrix = []
    for c in shown:
        for p in park_list:
            if (c.id, p.id) not in guided:
                continue
            n_landed, n_adv, n = cells.get((c.id, p.id), (0, 0, 0))
            sec, pur = pair_sp.get((c.id, p.id), (0, 0))
            matrix.append(
                MatrixCell(
                    cluster=c.code,
                    park=p.code,
                    status=_status(sec, pur),
                    major_secured=sec,
                    major_pursuing=pur,
                    landed_count=n_landed,
                    advanced_count=n_adv,
                    project_count=n,
                )
            )
    return matrix


def coverage_report(
    session: Session, actor: User, f: ReportFilters | None = None
) -> CoverageReport:
    """Coverage of the clusters, their chain links and the guided cluster × park pairs: kept
    between requests until a project, a firm's name or tier, or the policy changes
    (``crm.reports.kept``); the filters are checked every time."""
    f = f or ReportFilters()
    filters = filtered(session, actor, f)
    return kept(session, actor, "coverage", f, lambda: _coverage(session, f, filters))


def _coverage(session: Session, f: ReportFilters, filters: Scope) -> CoverageReport:
    only_cluster = filters.cluster_id
    scope = [*filters.where, Project.stage != Stage.lost.value]
    # 1. one pass over the major investors' live projects
    majors = _Majors.of(_major_rows(session, scope))
    investors, investor_n, projects_n = majors.investors(None if f.detail else INVESTORS_LISTED)
    all_clusters = clusters(session)
    shown = [c for c in all_clusters if only_cluster is None or c.id == only_cluster]
    statuses = {stored_id(c): _status(*projects_n.get(stored_id(c), (0, 0))) for c in shown}
    # 2. the projects behind each status
    behind = majors.behind(session, statuses, f.detail)
    # 3. chain links: firms of any tier and projects (SQL), the major investors (the pass)
    link_stats, links_by_cluster = _link_stats(session, scope)
    # 4. cluster × park: the coverage rule per pair (the pass), and projects of any tier
    cells = _pair_cells(session, scope)

    out: list[ClusterCoverage] = []
    for c in shown:
        cid = stored_id(c)
        status = statuses[cid]
        n_sec, n_pur = projects_n.get(cid, (0, 0))
        links = majors.link_rows(links_by_cluster.get(cid, []), link_stats)
        out.append(
            ClusterCoverage(
                **NamedCluster.of(c),
                kind=c.kind,
                status=status,
                major_investors=investors.get(cid, []),
                major_investor_count=investor_n.get(cid, (0, 0))[0],
                covering_investor_count=investor_n.get(cid, (0, 0))[1],
                projects=behind.get(cid, []),
                project_count=n_sec if status == "covered" else n_pur,
                links=links,
                links_without_firm=sum(1 for link in links if link.firm_count == 0),
                links_covered=sum(1 for link in links if link.status == "covered"),
            )
        )

    park_list = parks(session)
    park_code = {p.id: p.code for p in park_list}
    code_of = {c.id: c.code for c in all_clusters}
    guided = {
        (c, p) for c, p in session.execute(select(ParkCluster.cluster_id, ParkCluster.park_id))
    }
    matrix = _matrix(shown, park_list, guided, cells, majors.pair_sp)
    outside = sum(
        n_landed
        for (cid, pid), (n_landed, _, _) in cells.items()
        if (cid, pid) not in guided and cid in code_of and pid in park_code
    )
    counts = {s: sum(1 for c in out if c.status == s) for s in ("covered", "pursuing", "gap")}
    return CoverageReport(
        generated_at=utcnow(),
        counts=counts,
        lacking=[c.code for c in out if c.status != "covered"],
        gaps=[c.code for c in out if c.status == "gap"],
        clusters=out,
        parks=[ParkColumn(**NamedPark.of(p)) for p in park_list],
        matrix=matrix,
        matrix_pairs=len(matrix),
        matrix_covered_pairs=sum(1 for m in matrix if m.status == "covered"),
        matrix_pursuing_pairs=sum(1 for m in matrix if m.status == "pursuing"),
        landed_outside_guidance=outside,
    )
