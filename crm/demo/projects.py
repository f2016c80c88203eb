"""Demo projects with stage histories, capital arrivals and one 撞单 pair."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from decimal import Decimal

from crm.db import table
from crm.demo import names as N
from crm.demo.firms import TIER_W
from crm.demo.people import Staff
from crm.demo.run import FirmInfo, Policy, Run, cum, pick_cw, yi
from crm.models.projects import CapitalArrival, Project, StageChange
from crm.vocabulary import Stage, furthest, values

# --- projects ---------------------------------------------------------------------------------

_STAGES = values(Stage)  # pipeline order, then lost
# the demo's coverage shows all three states: in one cluster the major investors are still being
# courted (none signed), in another every major investor's project was lost (a gap)
DEMO_PURSUING = "INST"
DEMO_GAP = "LIGHT"
_STAGE_CW = cum((27, 22, 15, 10, 8, 8, 10))
_GAPS = {
    "contacted": (0.5, 30),
    "negotiating": (20, 200),
    "signed": (30, 240),
    "landed": (60, 365),
    "operating": (120, 540),
    "lost": (20, 300),
}
_AGE = {
    "lead": 240,
    "contacted": 300,
    "negotiating": 300,
    "signed": 400,
    "landed": 500,
    "operating": 800,
    "lost": 900,
}
_ACT_W = {
    "contacted": 1.0,
    "negotiating": 2.5,
    "signed": 3.5,
    "landed": 4.0,
    "operating": 4.5,
    "lost": 1.2,
}


class Plan:
    __slots__ = (
        "cluster",
        "cname",
        "conflict",
        "dept",
        "end_x",
        "extra",
        "firm",
        "fixed",
        "id",
        "link",
        "owner",
        "park",
        "path",
        "stage",
    )
    id: int
    firm: FirmInfo
    cluster: int
    cname: str
    conflict: int | None
    park: int | None
    owner: int
    dept: int
    link: tuple[int, str] | None
    stage: str
    path: list[tuple[str, float]]
    fixed: list[tuple[float, str | None]]
    extra: int
    end_x: float | None


def plan_projects(run: Run, pol: Policy, staff: Staff, firms: list[FirmInfo]) -> list[Plan]:
    rng = run.rng
    cw = cum(TIER_W[f.tier] for f in firms)
    cids = list(pol.codes)
    queue = [f for f in firms if f.row is None for _ in range(rng.randint(1, 3))]
    used: set[tuple[int, int]] = set()
    plans: list[Plan] = []
    nid = run.next_id(table(Project))
    while len(plans) < run.scale.projects:
        firm = queue.pop(0) if queue else pick_cw(rng, firms, cw)
        opts = [c for c in firm.clusters if (firm.id, c) not in used]
        cid = rng.choice(opts) if opts and rng.random() < 0.85 else rng.choice(cids)
        if (firm.id, cid) in used:
            continue
        used.add((firm.id, cid))
        p = Plan()
        p.id, p.firm, p.cluster, p.cname = nid, firm, cid, pol.names[cid]
        p.conflict = None
        nid += 1
        _place_and_owner(rng, p, pol, staff)
        links = pol.links.get(cid)
        p.link = rng.choice(links) if links and rng.random() < 0.85 else None
        _stage_path(rng, p, pol)
        firm.created_x = min(firm.created_x, p.path[0][1] - rng.uniform(0.5, 60))
        _plan_contacts(rng, p)
        plans.append(p)
    _conflict_pair(plans, pol)
    _spread_extra(run, plans)
    return plans


def _place_and_owner(rng: random.Random, p: Plan, pol: Policy, staff: Staff) -> None:
    """A park (mostly one guided towards the cluster) and an owner: the park's department's
    officer, else the firm's owner, else anyone."""
    r = rng.random()
    guided = pol.guided.get(p.cluster) or pol.parks
    p.park = rng.choice(guided) if r < 0.8 else rng.choice(pol.parks) if r < 0.9 else None
    dept = pol.park_dept.get(p.park) if p.park else None
    if dept in staff.by_dept and rng.random() < 0.75:
        p.owner = rng.choice(staff.by_dept[dept])
    elif p.firm.owner_id in staff.dept_of and rng.random() < 0.6:
        p.owner = p.firm.owner_id
    else:
        p.owner = rng.choice(staff.officers)
    p.dept = staff.dept_of[p.owner]


def _stage_path(rng: random.Random, p: Plan, pol: Policy) -> None:
    """The stage and the path to it (each step after a gap of days, ending some days ago)."""
    p.stage = pick_cw(rng, _STAGES, _STAGE_CW)
    if p.firm.tier != "other":  # what the coverage report is for (SPEC §5)
        code = pol.codes[p.cluster]
        if code == DEMO_PURSUING and p.stage in ("signed", "landed", "operating"):
            p.stage = "negotiating"
        elif code == DEMO_GAP:
            p.stage = "lost"
    if p.stage == "lost":
        pre = pick_cw(rng, _STAGES[:4], cum((25, 35, 33, 7)))
        steps = [*_STAGES[: _STAGES.index(pre) + 1], "lost"]
    else:
        steps = list(_STAGES[: _STAGES.index(p.stage) + 1])
    gaps = [rng.uniform(*_GAPS[s]) for s in steps[1:]]
    x = -(sum(gaps) + rng.uniform(1, _AGE[p.stage]))
    p.path = [(steps[0], x)]
    for s, g in zip(steps[1:], gaps, strict=True):
        x += g
        p.path.append((s, x))


def _plan_contacts(rng: random.Random, p: Plan) -> None:
    """The activities a contacted project must have: the first contact, the signing, the
    latest contact (extras are spread later)."""
    when = dict(p.path)
    p.fixed, p.extra, p.end_x = [], 0, None
    if "contacted" not in when:
        return
    xc = when["contacted"]
    p.fixed.append((xc, rng.choice(("visit", "call", "email", "meeting"))))
    if "signed" in when:
        p.fixed.append((when["signed"], "signing"))
    last = max(x for s, x in p.path if s != "lost")
    if p.stage == "lost":
        end = max(last, when["lost"] - rng.uniform(0, 20))
    else:
        age = rng.uniform(0.05, 30) if rng.random() < 0.7 else rng.uniform(30, 200)
        end = min(max(last, -age), -0.01)
    if end > max(x for x, _ in p.fixed) + 0.01:
        p.fixed.append((end, None))
    p.end_x = max(x for x, _ in p.fixed)


def _spread_extra(run: Run, plans: list[Plan]) -> None:
    """Spread the project-bound share of the activities over the contacted projects."""
    rng = run.rng
    fixed = sum(len(p.fixed) for p in plans)
    if fixed > run.scale.activities:
        raise RuntimeError("too few activities for the projects at this scale")
    extra = max(0, int(run.scale.activities * 0.72) - fixed)
    elig = [p for p in plans if p.end_x is not None and p.end_x - p.fixed[0][0] > 2]
    if elig and extra:
        w = [_ACT_W[p.stage] * rng.uniform(0.5, 1.5) for p in elig]
        total = sum(w)
        for p, wi in zip(elig, w, strict=True):
            p.extra = int(extra * wi / total)
        for p in rng.choices(elig, weights=w, k=extra - sum(p.extra for p in elig)):
            p.extra += 1


def _conflict_pair(plans: list[Plan], pol: Policy) -> None:
    """One deliberate 撞单 (SPEC §3): a second department opened a project for a firm and
    cluster that another department was already pursuing; both are flagged, and the first to
    report keeps priority. The later plan takes over the earlier one's firm and cluster."""
    active = ("lead", "contacted", "negotiating")
    firsts = [p for p in plans if p.stage in active and p.firm.tier == "global500"]
    for a in firsts:
        b = next(
            (
                p
                for p in reversed(plans)
                if p.stage in active
                and p.dept != a.dept
                and p.path[0][1] > a.path[0][1]
                and p.firm is not a.firm
            ),
            None,
        )
        if b is None:
            continue
        b.firm, b.cluster, b.cname = a.firm, a.cluster, pol.names[a.cluster]
        if b.link is not None:
            b.link = a.link
        a.conflict, b.conflict = b.id, a.id
        return


def _amounts(rng: random.Random, tier: str) -> tuple[Decimal, Decimal, int]:
    if rng.random() < 0.01:
        inv = rng.uniform(100, 600)
    else:
        inv = math.exp(rng.gauss(math.log(6), 1.0)) * {
            "global500": 3.0,
            "china500": 2.5,
            "leader": 1.8,
        }.get(tier, 1.0)
        inv = min(max(inv, 0.3), 900)
    return yi(inv), yi(inv * rng.uniform(0.6, 3.0)), max(20, int(inv * rng.uniform(15, 80)))


def _furthest(path: list[tuple[str, float]]) -> str | None:
    """The furthest active stage along a project's path (what its history shows)."""
    reached: str | None = None
    for stage, _ in path:
        reached = furthest(reached, stage)
    return reached


def _code_name(rng: random.Random, used: set[str]) -> str:
    """A code name no other project has (reports name confidential projects by it alone):
    drawn as always, its number moved on past the ones taken (no other draw, so the rest of
    the data stays as it was)."""
    word, n = rng.choice(N.CODE_NAME_WORDS), rng.randint(1, 99)
    name = f"{word}-{n:02d}项目"
    while name in used:
        n += 1
        name = f"{word}-{n:02d}项目"
    used.add(name)
    return name


def write_projects(run: Run, staff: Staff, plans: list[Plan]) -> None:
    rng = run.rng
    pt, st, ct = table(Project), table(StageChange), table(CapitalArrival)
    sid, cid = run.next_id(st), run.next_id(ct)
    inv: Decimal | None
    out: Decimal | None
    jobs: int | None
    code_names: set[str] = set()
    for p in plans:
        when = dict(p.path)
        inv, out, jobs = _amounts(rng, p.firm.tier)
        if p.stage == "lead" and rng.random() < 0.1:
            inv, out, jobs = None, None, None  # not known yet
        link_name = p.link[1] if p.link else p.cname
        title = rng.choice(N.PROJECT_TITLES).format(
            firm=p.firm.short, link=link_name, cluster=p.cname
        )
        xs, xl, xo = when.get("signed"), when.get("landed"), when.get("operating")
        e_sign = (
            run.day(xs + rng.uniform(-60, 30)) if xs is not None else run.day(rng.uniform(-30, 365))
        )
        e_land = e_sign + timedelta(days=rng.randint(90, 365))
        e_oper = e_land + timedelta(days=rng.randint(180, 540))
        first = run.at(p.fixed[0][0]) if p.fixed else None
        last = run.at(p.end_x) if p.end_x is not None else None
        changed = run.at(p.path[-1][1])
        lost_reason = rng.choice(N.LOST_REASONS) if p.stage == "lost" else None
        conf = rng.random() < 0.05
        run.add(
            pt,
            {
                "id": p.id,
                "title": title[:200],
                "firm_id": p.firm.id,
                "cluster_id": p.cluster,
                "park_id": p.park,
                "chain_link_id": p.link[0] if p.link else None,
                "stage": p.stage,
                "furthest_stage": _furthest(p.path),
                "lost_reason": lost_reason,
                "planned_investment": inv,
                "expected_output": out,
                "expected_jobs": jobs,
                "actual_jobs": int(jobs * rng.uniform(0.2, 0.8))
                if jobs and xl is not None and xo is None
                else int(jobs * rng.uniform(0.6, 1.2))
                if jobs and xo is not None
                else None,
                "expected_sign_date": e_sign,
                "actual_sign_date": run.day(xs) if xs else None,
                "expected_land_date": e_land,
                "actual_land_date": run.day(xl) if xl else None,
                "expected_operate_date": e_oper,
                "actual_operate_date": run.day(xo) if xo else None,
                "owner_id": p.owner,
                "department_id": p.dept,
                "is_confidential": conf,
                "code_name": _code_name(rng, code_names) if conf else None,
                "conflict_with_id": None,
                "notes": None,
                "created_at": run.at(p.path[0][1]),
                "updated_at": max(changed, last or changed),
                "stage_changed_at": changed,
                "first_contact_at": first,
                "last_activity_at": last,
                "version": len(p.path),
            },
        )
        prev = None
        for s, x in p.path:
            by = p.owner if rng.random() < 0.85 else staff.managers.get(p.dept, p.owner)
            run.add(
                st,
                {
                    "id": sid,
                    "project_id": p.id,
                    "from_stage": prev,
                    "to_stage": s,
                    "reason": lost_reason if s == "lost" else None,
                    "changed_by_id": by,
                    "changed_at": run.at(x),
                },
            )
            sid, prev = sid + 1, s
        share = {
            "signed": (0.5, 0.05, 0.3),
            "landed": (0.9, 0.2, 0.8),
            "operating": (1.0, 0.5, 0.98),
        }.get(p.stage)
        if share and inv is not None and xs is not None and rng.random() < share[0]:
            k = rng.randint(1, 4)
            parts = [rng.random() + 0.2 for _ in range(k)]
            total = float(inv) * rng.uniform(share[1], share[2])
            for i, x in enumerate(sorted(rng.uniform(xs, -0.5) for _ in range(k))):
                amount = math.floor(total * parts[i] / sum(parts) * 100) / 100
                if amount >= 0.01:
                    run.add(
                        ct,
                        {
                            "id": cid,
                            "project_id": p.id,
                            "amount": Decimal(f"{amount:.2f}"),
                            "arrived_on": run.day(x),
                            "note": f"第{i + 1}笔到资",
                            "created_by_id": p.owner,
                            "created_at": run.at(x),
                        },
                    )
                    cid += 1
    run.flush()
