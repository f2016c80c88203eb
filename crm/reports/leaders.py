"""The leading-firm ladder "5213" (SPEC §5).

A firm's output in the city is the sum of the expected annual output of its projects at signed,
landed or operating, counted at its top-level group: walk ``parent_id`` up to the root, so a
subsidiary's projects count for its parent. Bands (lower bound included): ≥ 1000亿, 500–1000亿,
100–500亿, 50–100亿, against the goals 5 / 2 / 10 / 30 (plan_target ladder_*).

A confidential project is never counted into its firm's group: it is an entry of its own, under
its code name, with its own output (``crm.authz.disclosure.figures_owner``, the rule coverage
follows). Counted into its group, it would tie its code name to its firm either way: a group
named by its firm would carry the project's output, and a group named by the code name would
carry the firm's visible output, which the pipeline shows beside the firm (SPEC §5: "never its
firm, not even beside the code name"). So a group's output here is that of its projects that
are not confidential, and the bands count groups and confidential projects alike.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import cast

from pydantic import BaseModel
from sqlalchemy import BigInteger, func, select, type_coerce
from sqlmodel import Session

from crm.authz.disclosure import figures_owner
from crm.models.accounts import User
from crm.models.firms import Firm
from crm.models.policy import PlanTarget
from crm.models.projects import SECURED_STAGES, Project
from crm.reports.common import ReportFilters, check_department, project_scope, wan_sum, yi
from crm.reports.coverage import CONFIDENTIAL
from crm.reports.kept import kept
from crm.types import to_wan, utcnow

# (code, lower bound 亿, upper bound 亿 or None, default goal)
BANDS = [
    ("ladder_1000", 1000, None, 5),
    ("ladder_500", 500, 1000, 2),
    ("ladder_100", 100, 500, 10),
    ("ladder_50", 50, 100, 30),
]
MAX_DEPTH = 32  # a parent chain longer than this (or a cycle) stops there
FIRMS_LISTED = 100  # firms named per band (the count is always exact)
Entry = int | tuple[str, int]  # a group's root firm, or ("confidential", project id)


class LadderFirm(BaseModel):
    firm_id: int | None  # None for a confidential project, counted on its own
    name: str  # the group's top firm, or a confidential project's code name
    tier: str
    output: Decimal
    projects: int
    member_firms: int  # firms of the group with output counted here (itself included)


class Band(BaseModel):
    code: str
    label: str
    lower: Decimal
    upper: Decimal | None
    goal: int
    count: int
    met: bool
    firms: list[LadderFirm]  # the largest 100 of the band (every one with ``detail``)


class LeadersReport(BaseModel):
    generated_at: datetime
    bands: list[Band]
    groups_with_output: int
    below_50: int  # groups with some output but under 50亿


def top_level(parent_of: dict[int, int], firm_id: int) -> int:
    """The root of ``firm_id``'s group (itself when it has no parent)."""
    seen = {firm_id}
    cur = firm_id
    for _ in range(MAX_DEPTH):
        nxt = parent_of.get(cur)
        if nxt is None or nxt in seen:
            break
        seen.add(nxt)
        cur = nxt
    return cur


def leaders_report(session: Session, actor: User, f: ReportFilters | None = None) -> LeadersReport:
    """Groups by output in the city, in the bands of "5213": kept between requests until a
    project, a firm's name, tier or group, or the bands' goals change (``crm.reports.kept``)."""
    f = f or ReportFilters()
    check_department(session, f.department_id)
    # the bands' goals (the plan's targets: not followed by the stamp) read every time
    goals = {
        t.code: int(t.value)
        for t in session.scalars(
            select(PlanTarget).where(PlanTarget.code.in_([b[0] for b in BANDS]))
        )
    }
    return kept(
        session,
        actor,
        "leaders",
        (dataclasses.astuple(f), tuple(sorted(goals.items()))),
        lambda: _leaders(session, actor, f, goals),
    )


def _leaders(
    session: Session, actor: User, f: ReportFilters, goals: dict[str, int]
) -> LeadersReport:
    # Core execution (thousands of plain rows): output per firm from the covering index
    # (stage, …, firm_id, expected_output), and the parent links from ix_firm_parent
    conn = session.connection()
    counted = (*project_scope(actor, f), Project.stage.in_(SECURED_STAGES))
    per_firm = conn.execute(
        select(
            Project.firm_id,
            wan_sum(Project.expected_output),
            func.count(),
        )
        .where(*counted, ~Project.is_confidential)
        .group_by(Project.firm_id)
    ).all()
    secret_rows = conn.execute(
        select(
            Project.id,
            Project.firm_id,
            Project.code_name,
            type_coerce(Project.expected_output, BigInteger),  # plain 万元, as wan_sum
        ).where(*counted, Project.is_confidential)
    ).all()
    # stored firms' ids, and only those with a parent (the WHERE): no None either side
    parent_of = cast(
        dict[int, int],
        dict(
            conn.execute(select(Firm.id, Firm.parent_id).where(Firm.parent_id.is_not(None))).all()
        ),
    )
    wan: dict[Entry, int] = {}
    count: dict[Entry, int] = {}
    members: dict[Entry, int] = {}
    for fid, total, n in per_firm:
        root = top_level(parent_of, fid) if fid in parent_of else fid
        wan[root] = wan.get(root, 0) + int(total or 0)
        count[root] = count.get(root, 0) + int(n)
        members[root] = members.get(root, 0) + 1
    code_names: dict[Entry, str] = {}
    for pid, fid, code_name, total in secret_rows:
        who = figures_owner(fid, cast(int, pid), True)
        wan[who], count[who], members[who] = int(total or 0), 1, 1
        code_names[who] = code_name or CONFIDENTIAL
    lowest = to_wan(BANDS[-1][1]) or 0
    ranked = sorted(
        ((w, r) for r, w in wan.items() if w >= lowest),
        key=lambda e: (e[0], (1, e[1]) if isinstance(e[1], int) else (0, e[1][1])),
        reverse=True,
    )
    per_band: list[tuple[str, int, int | None, int, list[tuple[int, Entry]]]] = []
    for code, lower, upper, default_goal in BANDS:
        lo, hi = to_wan(lower) or 0, to_wan(upper) if upper is not None else None
        members_of = [(w, r) for w, r in ranked if w >= lo and (hi is None or w < hi)]
        per_band.append((code, lower, upper, goals.get(code, default_goal), members_of))
    n_listed = None if f.detail else FIRMS_LISTED  # the workbook carries every firm counted
    listed = [r for *_, m in per_band for _, r in m[:n_listed] if isinstance(r, int)]
    info = (
        {
            i: (n, t)
            for i, n, t in session.execute(
                select(Firm.id, Firm.name_zh, Firm.tier).where(Firm.id.in_(listed))
            )
        }
        if listed
        else {}
    )
    bands = []
    for code, lower, upper, goal, in_band in per_band:
        firms = [
            LadderFirm(
                firm_id=r if isinstance(r, int) else None,
                name=info[r][0] if isinstance(r, int) else code_names[r],
                tier=info[r][1] if isinstance(r, int) else "confidential",  # its tier names it
                output=yi(w),
                projects=count[r],
                member_firms=members[r],
            )
            for w, r in in_band[:n_listed]
        ]
        label = f"≥{lower}亿" if upper is None else f"{lower}–{upper}亿"
        bands.append(
            Band(
                code=code,
                label=label,
                lower=Decimal(lower),
                upper=Decimal(upper) if upper is not None else None,
                goal=goal,
                count=len(in_band),
                met=len(in_band) >= goal,
                firms=firms,
            )
        )
    return LeadersReport(
        generated_at=utcnow(),
        bands=bands,
        groups_with_output=len(wan),
        below_50=sum(1 for w in wan.values() if 0 < w < lowest),
    )
