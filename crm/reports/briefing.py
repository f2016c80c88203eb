"""The weekly briefing (SPEC §5): one page a week for the leadership, for the whole city, one
cluster or one park.

Every figure is the reports' figure for the same local week and filter:

- coverage changes: each cluster's coverage status (the coverage rule of ``coverage.py``) at the
  start and at the end of the week, from the stage history (a project's stage at an instant is
  the last stage it was moved to before it; firms' tiers as they are now);
- new signings / landings: projects that *first* reached signed (resp. landed) in the week — the
  pipeline report's "signings" of that week — with their planned investment and expected output;
- capital arrived: 到资 entries dated in the week;
- the largest movements: the week's stage moves, by planned investment;
- overdue: the delivery report's late projects, as of the end of the week;
- conflicts opened: projects flagged 撞单 that were opened in the week;
- contacts per department: the officer-activity report's contacts of the week, per department.

A confidential project appears by its code name only (``project_label``), never with its firm.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    any_,
    cast,
    distinct,
    exists,
    func,
    select,
    type_coerce,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session

from crm.clock import local_tz, today_local, week_start
from crm.db import plan_once
from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.firms import MAJOR_TIERS, Firm
from crm.models.policy import Cluster, Park
from crm.models.projects import (
    LANDED_STAGES,
    PURSUING_STAGES,
    SECURED_STAGES,
    CapitalArrival,
    Project,
    StageChange,
)
from crm.reports.activity import contacts_per_department
from crm.reports.common import (
    LABELLED,
    NamedCluster,
    ReportFilters,
    clusters,
    filtered,
    row_label,
    yi,
)
from crm.reports.coverage import Status
from crm.reports.delivery import LateProject, late_projects
from crm.types import stored_id, utcnow

LISTED = 10  # projects named per section (the counts and sums cover them all)
ZERO = Decimal("0.0000")


class CoverageChange(NamedCluster):
    before: Status
    after: Status


class BriefProject(BaseModel):
    id: int
    label: str  # a confidential project: its code name only
    cluster: str
    park: str | None
    stage: str
    from_stage: str | None = None
    planned_investment: Decimal | None
    expected_output: Decimal | None
    at: datetime | None = None


class Totals(BaseModel):
    count: int = 0
    planned_investment: Decimal = ZERO
    expected_output: Decimal = ZERO


class ConflictOpened(BaseModel):
    id: int
    label: str
    cluster: str
    opened_at: datetime


class DepartmentContacts(BaseModel):
    department: str
    contacts: int


class Briefing(BaseModel):
    generated_at: datetime
    week_start: date  # local Monday
    week_end: date  # local Sunday
    scope: str  # city | cluster | park
    scope_code: str | None
    scope_name_zh: str
    scope_name_en: str
    coverage_before: dict[str, int]
    coverage_after: dict[str, int]
    coverage: dict[str, Status]  # cluster code → status at the end of the week
    coverage_changes: list[CoverageChange]
    new_projects: int
    signings: list[BriefProject]
    signings_total: Totals
    landings: list[BriefProject]
    landings_total: Totals
    capital_arrived: Decimal
    capital_entries: int
    movements: list[BriefProject]  # the week's stage moves, largest planned investment first
    movements_count: int
    overdue: list[LateProject]
    overdue_count: int
    conflicts: list[ConflictOpened]
    conflicts_count: int
    contacts: list[DepartmentContacts]
    contacts_total: int


def default_week(today: date | None = None) -> date:
    """The last full local week: the Monday before this week's."""
    return week_start(today or today_local()) - timedelta(weeks=1)


def _instant(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=local_tz()).astimezone(UTC)


def _status(secured: bool, pursuing: bool) -> Status:
    return "covered" if secured else "pursuing" if pursuing else "gap"


def coverage_at(session: Session, scope: list, instants: list[datetime]) -> list[dict[int, Status]]:  # type: ignore[type-arg]
    """Each cluster's coverage status at each instant. A project's stage at an instant is its
    stage now unless it moved since the earliest instant: for the projects that did not move,
    one EXISTS per cluster and status answers at every instant (it stops at the first major
    project it finds); only the few moved projects' histories are read and replayed."""
    since = min(instants)
    conn = session.connection()
    major = [*scope, Firm.tier.in_(MAJOR_TIERS)]
    moved_ids = select(StageChange.project_id).where(StageChange.changed_at >= since)

    # project first (the cluster-and-stage index), its firm's tier checked by key: joining
    # the firm lets SQLite start from the ten thousand major firms instead
    major_firm = exists().where(Firm.id == Project.firm_id, Firm.tier.in_(MAJOR_TIERS))
    # NOT EXISTS rather than NOT IN: PostgreSQL plans it as an anti-join on the history index
    moved_since = exists().where(
        StageChange.project_id == Project.id, StageChange.changed_at >= since
    )

    def held(stages: tuple[str, ...]) -> Any:
        # the first such project along the cluster-and-stage order, not EXISTS: PostgreSQL
        # planned the EXISTS as a scan of every project per cluster (expecting a major one
        # early), the ordered first one reads the index (city: 14.7 → 1.9 ms of server CPU)
        return (
            select(Project.id)
            .where(
                Project.cluster_id == Cluster.id,
                Project.stage.in_(stages),
                *scope,
                ~moved_since,
                major_firm,
            )
            .order_by(Project.cluster_id, Project.stage)
            .limit(1)
            .scalar_subquery()
            .is_not(None)
        )

    still = conn.execute(
        plan_once(select(Cluster.id, held(SECURED_STAGES), held(PURSUING_STAGES)))
    ).all()
    if conn.dialect.name == "postgresql":
        # the moved projects as one array, read by key: PostgreSQL planned the IN as a hash
        # of them probed by a scan of every project (city: 19 → 3 ms of server time)
        moved = Project.id == any_(
            cast(
                select(func.array_agg(distinct(StageChange.project_id)))
                .where(StageChange.changed_at >= since)
                .scalar_subquery(),
                ARRAY(Integer),
            )
        )
    else:
        moved = StageChange.project_id.in_(moved_ids)
    history = conn.execute(
        plan_once(
            select(
                StageChange.project_id,
                Project.cluster_id,
                StageChange.to_stage,
                StageChange.changed_at,
            )
            .join(Project, Project.id == StageChange.project_id)
            .join(Firm, Firm.id == Project.firm_id)
            .where(*major, moved)
            .order_by(StageChange.changed_at, StageChange.id)
        )
    ).all()
    out: list[dict[int, Status]] = []
    for instant in instants:
        stage_of: dict[int, tuple[int, str]] = {}
        for pid, cid, to_stage, at in history:
            if at >= instant:
                break
            stage_of[pid] = (cid, to_stage)
        sec = {cid for cid, s, _ in still if s}
        pur = {cid for cid, _, p in still if p}
        for cid, stage in stage_of.values():
            if stage in SECURED_STAGES:
                sec.add(cid)
            elif stage in PURSUING_STAGES:
                pur.add(cid)
        out.append({cid: _status(cid in sec, cid in pur) for cid in sec | pur})
    return out


def _first_reached(session: Session, scope: list, stages: tuple[str, ...], start, end):  # type: ignore[no-untyped-def,type-arg]
    """Projects that first reached one of ``stages`` in [start, end): (project id, instant).
    The earliest such move lies in the week exactly when a move into ``stages`` lies in the
    week and none before it: only the week's moves are read (the stage-change time index),
    each checked for an earlier one (the project's own history index)."""
    earlier = aliased(StageChange)
    reached_before = exists().where(
        earlier.project_id == StageChange.project_id,
        earlier.to_stage.in_(stages),
        earlier.changed_at < start,
    )
    return (
        session.connection()
        .execute(
            plan_once(
                select(StageChange.project_id, func.min(StageChange.changed_at))
                .join(Project, Project.id == StageChange.project_id)
                .where(
                    *scope,
                    StageChange.to_stage.in_(stages),
                    StageChange.changed_at >= start,
                    StageChange.changed_at < end,
                    ~reached_before,
                )
                .group_by(StageChange.project_id)
            )
        )
        .all()
    )


def _scope_name(
    session: Session, cid: int | None, pid: int | None
) -> tuple[str, str | None, str, str]:
    """What the briefing covers: (kind, code, Chinese name, English name) — a park, a cluster
    or the city."""
    if pid is not None:
        park = session.get(Park, pid)
        assert park is not None
        return "park", park.code, park.name_zh, park.name_en
    if cid is not None:
        c = session.get(Cluster, cid)
        assert c is not None
        return "cluster", c.code, c.name_zh, c.name_en
    return "city", None, "全市", "City-wide"


def _conflicts_opened(
    session: Session, scope: list[Any], start: datetime, end: datetime, code_of: dict[int, str]
) -> list[ConflictOpened]:
    """The conflicts (撞单) opened in the week: projects created in it that collide."""
    rows = session.execute(
        plan_once(
            select(*LABELLED, Project.cluster_id, Project.created_at)
            .where(
                *scope,
                Project.conflict_with_id.is_not(None),
                Project.created_at >= start,
                Project.created_at < end,
            )
            .order_by(Project.created_at, Project.id)
        )
    ).all()
    return [
        ConflictOpened(id=r[0], label=row_label(r), cluster=code_of.get(r[4], "?"), opened_at=r[5])
        for r in rows
    ]


def _contacts_per_department(
    session: Session, actor: User, department_id: int | None, monday: date, sunday: date
) -> list[DepartmentContacts]:
    """The officer-activity report's own figures (closed weeks from its rollup, the weeks after
    the rollup's watermark counted live), summed per department, most first."""
    f = ReportFilters(department_id=department_id, date_from=monday, date_to=sunday)
    per_dept: dict[str, int] = {}
    for dept, n in contacts_per_department(session, actor, f).items():
        key = dept or "—"
        per_dept[key] = per_dept.get(key, 0) + n
    return [
        DepartmentContacts(department=d, contacts=n)
        for d, n in sorted(per_dept.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def briefing(
    session: Session,
    actor: User,
    week: date | None = None,
    f: ReportFilters | None = None,
) -> Briefing:
    """The briefing of the local week containing ``week`` (default: the last full week)."""
    f = f or ReportFilters()
    filters = filtered(session, actor, f)
    cid, pid, scope = filters.cluster_id, filters.park_id, filters.where
    monday = week_start(week) if week else default_week()
    if monday > week_start(today_local()):  # ATTACK7 P3-11: "overdue as of" a future day
        raise ValidationFailed(_l("这一周还没有到"), field="week")
    sunday = monday + timedelta(days=6)
    start, end = _instant(monday), _instant(monday + timedelta(weeks=1))
    all_clusters = clusters(session)
    code_of = {stored_id(c): c.code for c in all_clusters}
    park_code = dict(session.execute(select(Park.id, Park.code)).all())
    kind, code, name_zh, name_en = _scope_name(session, cid, pid)
    shown = [c for c in all_clusters if cid is None or c.id == cid]
    listed = None if f.detail else LISTED  # the workbook lists every project counted

    # coverage at the start and at the end of the week
    before, after = coverage_at(session, scope, [start, end])
    changes = []
    for c in shown:
        b, a = before.get(stored_id(c), "gap"), after.get(stored_id(c), "gap")
        if a != b:
            changes.append(CoverageChange(**NamedCluster.of(c), before=b, after=a))

    def counts(st: dict[int, Status]) -> dict[str, int]:
        v = [st.get(stored_id(c), "gap") for c in shown]
        return {s: v.count(s) for s in ("covered", "pursuing", "gap")}

    # projects named in the sections, loaded once
    def projects(ids: list[int]) -> dict[int, tuple]:  # type: ignore[type-arg]
        out: dict[int, tuple] = {}  # type: ignore[type-arg]
        for i in range(0, len(ids), 500):
            for r in session.execute(
                plan_once(
                    select(
                        *LABELLED,
                        Project.cluster_id,
                        Project.park_id,
                        Project.stage,
                        Project.planned_investment,
                        Project.expected_output,
                    ).where(Project.id.in_(ids[i : i + 500]))
                )
            ):
                out[r[0]] = tuple(r)
        return out

    def brief(r: tuple, **kw) -> BriefProject:  # type: ignore[no-untyped-def,type-arg]
        return BriefProject(
            id=r[0],
            label=row_label(r),
            cluster=code_of.get(r[4], "?"),
            park=park_code.get(r[5]),
            stage=r[6],
            planned_investment=r[7],
            expected_output=r[8],
            **kw,
        )

    def section(reached: list) -> tuple[list[BriefProject], Totals]:  # type: ignore[type-arg]
        info = projects([r[0] for r in reached])
        at = dict(reached)
        rows = sorted(info.values(), key=lambda r: (-(r[7] or 0), r[0]))
        tot = Totals(
            count=len(rows),
            planned_investment=sum((r[7] or ZERO for r in rows), ZERO),
            expected_output=sum((r[8] or ZERO for r in rows), ZERO),
        )
        return [brief(r, at=at[r[0]]) for r in rows[:listed]], tot

    signings, signings_total = section(_first_reached(session, scope, SECURED_STAGES, start, end))
    landings, landings_total = section(_first_reached(session, scope, LANDED_STAGES, start, end))

    new_projects = session.scalar(
        plan_once(
            select(func.count()).where(
                *scope, Project.created_at >= start, Project.created_at < end
            )
        )
    )
    cap = session.execute(
        plan_once(
            select(func.sum(type_coerce(CapitalArrival.amount, BigInteger)), func.count())
            .join(Project, Project.id == CapitalArrival.project_id)
            .where(*scope, CapitalArrival.arrived_on >= monday, CapitalArrival.arrived_on <= sunday)
        )
    ).one()

    moves = session.execute(
        plan_once(
            select(
                StageChange.project_id,
                StageChange.from_stage,
                StageChange.changed_at,
                Project.planned_investment,
            )
            .join(Project, Project.id == StageChange.project_id)
            .where(
                *scope,
                StageChange.from_stage.is_not(None),
                StageChange.changed_at >= start,
                StageChange.changed_at < end,
            )
        )
    ).all()
    # ranked by the planned investment read with the moves; only the listed ones' projects read
    ranked = sorted(moves, key=lambda m: (-(m[3] or 0), -m[2].timestamp(), m[0]))[:listed]
    minfo = projects(sorted({m[0] for m in ranked}))
    movements = [brief(minfo[p], from_stage=frm, at=at) for p, frm, at, _ in ranked]
    # the moved project's stage now may differ from where this move took it: show the move
    to_stage = {
        (p, at): t
        for p, at, t in session.execute(
            plan_once(
                select(StageChange.project_id, StageChange.changed_at, StageChange.to_stage).where(
                    StageChange.project_id.in_([m.id for m in movements]),
                    StageChange.changed_at >= start,
                    StageChange.changed_at < end,
                )
            )
        )
    }
    for m in movements:
        m.stage = to_stage.get((m.id, m.at), m.stage)

    # the delivery report's late projects as of the end of the week (its own definition)
    overdue, overdue_count = late_projects(
        session,
        actor,
        ReportFilters(
            department_id=f.department_id,
            cluster=f.cluster,
            park=f.park,
            as_of=monday + timedelta(weeks=1),
        ),
        listed,
        code_of,
    )

    conflicts = _conflicts_opened(session, scope, start, end, code_of)
    contacts = _contacts_per_department(session, actor, f.department_id, monday, sunday)
    return Briefing(
        generated_at=utcnow(),
        week_start=monday,
        week_end=sunday,
        scope=kind,
        scope_code=code,
        scope_name_zh=name_zh,
        scope_name_en=name_en,
        coverage_before=counts(before),
        coverage_after=counts(after),
        coverage={c.code: after.get(stored_id(c), "gap") for c in shown},
        coverage_changes=changes,
        new_projects=int(new_projects or 0),
        signings=signings,
        signings_total=signings_total,
        landings=landings,
        landings_total=landings_total,
        capital_arrived=yi(cap[0]),
        capital_entries=int(cap[1] or 0),
        movements=movements,
        movements_count=len(moves),
        overdue=overdue,
        overdue_count=overdue_count,
        conflicts=conflicts[:listed],
        conflicts_count=len(conflicts),
        contacts=contacts,
        contacts_total=sum(c.contacts for c in contacts),
    )
