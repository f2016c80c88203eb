"""Demo activities with their links, and follow-ups (some hanging on activities)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from crm.db import table
from crm.demo import names as N
from crm.demo.firms import TIER_W
from crm.demo.people import Staff
from crm.demo.projects import Plan
from crm.demo.run import FirmInfo, Policy, Run, cum, pick_cw
from crm.models.activities import (
    Activity,
    ActivityContact,
    ActivityFirm,
    ActivityOfficer,
    ActivityProject,
)
from crm.models.followups import Followup

# --- activities and follow-ups ------------------------------------------------------------------

_KINDS = [k for k, _ in N.ACTIVITY_KINDS]
_KIND_CW = cum(w for _, w in N.ACTIVITY_KINDS)


def write_activities(
    run: Run, pol: Policy, staff: Staff, firms: list[FirmInfo], plans: list[Plan]
) -> list[tuple[int, float, FirmInfo, Plan | None, int]]:
    """Write every activity with its links; return a sample for follow-ups to hang on."""
    rng = run.rng
    at, aft, apt = table(Activity), table(ActivityFirm), table(ActivityProject)
    act, aot = table(ActivityContact), table(ActivityOfficer)
    run.buffers.setdefault(at.name, (at, [], None))  # parents first when the buffers flush
    b_firm, b_proj, b_contact, b_officer = (run.link_buffer(t) for t in (aft, apt, act, aot))
    cw = cum(TIER_W[f.tier] for f in firms)
    keep = min(1.0, 3 * 0.3 * run.scale.followups / max(1, run.scale.activities))
    sample: list[tuple[int, float, FirmInfo, Plan | None, int]] = []
    aid = run.next_id(at)

    def emit(
        x: float,
        kind: str | None,
        firm: FirmInfo,
        plan: Plan | None,
        owner: int,
        cluster: int | None,
        park: int | None,
    ) -> None:
        nonlocal aid
        kind = kind or pick_cw(rng, _KINDS, _KIND_CW)
        dept = staff.dept_of[owner]
        team = staff.by_dept[dept]
        creator = owner if rng.random() < 0.8 else rng.choice(team)
        officers = _officers(rng, kind, creator, team)
        ids, shorts = _met_firms(rng, kind, firm, firms, cw)
        summary = _summary(rng, pol, kind, shorts, cluster, park)
        occurred = run.at(x)
        logged = occurred + timedelta(minutes=rng.randint(5, 480))
        run.add(
            at,
            {
                "id": aid,
                "kind": kind,
                "occurred_at": occurred,
                "summary": summary,
                "outcome": rng.choice(N.OUTCOMES) if rng.random() < 0.6 else None,
                "created_by_id": creator,
                "department_id": dept,
                "created_at": logged,
                "updated_at": logged,
                "version": 1,
            },
        )
        for fid in ids:
            b_firm.append((aid, fid))
        if plan is not None:
            b_proj.append((aid, plan.id))
        if firm.contacts and rng.random() < 0.4:
            b_contact.append((aid, rng.choice(firm.contacts)))
        for uid in sorted(officers):
            b_officer.append((aid, uid))
        run.full()
        if rng.random() < keep:
            sample.append((aid, x, firm, plan, creator))
        aid += 1

    n = sum(_about_plan(rng, p, emit) for p in plans)
    for _ in range(run.scale.activities - n):  # contacts not (yet) about a project
        firm = pick_cw(rng, firms, cw)
        owner = (
            firm.owner_id
            if firm.owner_id in staff.dept_of and rng.random() < 0.7
            else rng.choice(staff.officers)
        )
        x = rng.uniform(max(firm.created_x, -1800), -0.01)
        emit(x, None, firm, None, owner, firm.clusters[0] if firm.clusters else None, None)
    run.flush()
    return sample


def _about_plan(rng: random.Random, p: Plan, emit: Callable[..., None]) -> int:
    """A project's contacts: its path's fixed ones, then ``extra`` at random times along it;
    how many."""
    if p.end_x is None:
        return 0
    start = p.fixed[0][0]
    for x, kind in p.fixed:
        emit(x, kind, p.firm, p, p.owner, p.cluster, p.park)
    for _ in range(p.extra):
        emit(rng.uniform(start, p.end_x), None, p.firm, p, p.owner, p.cluster, p.park)
    return len(p.fixed) + p.extra


def _officers(rng: random.Random, kind: str, creator: int, team: list[int]) -> set[int]:
    """Who was there: the one who logged it, now and then (always on a delegation) colleagues."""
    officers = {creator}
    if rng.random() < 0.25 or kind == "delegation":
        officers.update(rng.sample(team, min(len(team), rng.randint(1, 3))))
    return officers


def _met_firms(
    rng: random.Random, kind: str, firm: FirmInfo, firms: list[FirmInfo], cw: list[float]
) -> tuple[list[int], list[str]]:
    """The firms met (ids, short names): the one, and on a delegation a few more."""
    ids = [firm.id]
    shorts = [firm.short]
    if kind == "delegation":
        for _ in range(rng.randint(1, 4)):
            other = pick_cw(rng, firms, cw)
            if other.id not in ids:
                ids.append(other.id)
                shorts.append(other.short)
    return ids, shorts


def _summary(
    rng: random.Random,
    pol: Policy,
    kind: str,
    shorts: list[str],
    cluster: int | None,
    park: int | None,
) -> str:
    return rng.choice(N.ACTIVITY_TEMPLATES[kind]).format(
        firm="、".join(shorts[:3]),
        title=rng.choice(N.CONTACT_TITLES),
        park=pol.park_names[park] if park else "重庆",
        cluster=pol.names[cluster] if cluster else "战略性新兴产业",
        topic=rng.choice(N.TOPICS),
        city=rng.choice(N.DELEGATION_CITIES),
    )


def write_followups(
    run: Run,
    staff: Staff,
    firms: list[FirmInfo],
    plans: list[Plan],
    sample: list[tuple[int, float, FirmInfo, Plan | None, int]],
) -> None:
    rng, t = run.rng, table(Followup)
    active = [p for p in plans if p.stage != "lost"] or plans
    fid = run.next_id(t)
    total = run.scale.followups
    rng.shuffle(sample)
    from_acts = sample[: int(total * 0.3)]
    for i in range(total):
        activity = None
        if i < len(from_acts):
            activity, x_act, firm, plan, assignee = from_acts[i]
            created = min(x_act + 0.05, -0.001)
            due = x_act + rng.uniform(2, 30)
            status = (
                "open"
                if due >= 0 or (due > -45 and rng.random() < 0.4)
                else "cancelled"
                if rng.random() < 0.06
                else "done"
            )
        else:
            status = pick_cw(rng, ("open", "done", "cancelled"), cum((18, 77, 5)))
            if rng.random() < 0.6:
                plan = rng.choice(active if status == "open" else plans)
                firm, lo = plan.firm, plan.path[0][1]
                hi = plan.path[-1][1] if plan.stage == "lost" else -1.0
                assignee = (
                    plan.owner if rng.random() < 0.85 else rng.choice(staff.by_dept[plan.dept])
                )
            else:
                plan, firm = None, rng.choice(firms)
                lo, hi = max(firm.created_x, -1500), -1.0
                assignee = (
                    firm.owner_id if firm.owner_id in staff.dept_of else rng.choice(staff.officers)
                )
            if status == "open":
                r = rng.random()
                due = (
                    -rng.uniform(0.05, 45)
                    if r < 0.3
                    else rng.uniform(0, 0.999)
                    if r < 0.4
                    else rng.uniform(1, 90)
                )
                due = max(due, lo + 0.5)
                created = max(min(due - rng.uniform(1, 30), -0.02), lo)
            else:
                due = rng.uniform(max(lo + 1, -1500), max(hi, lo + 1.5))
                created = rng.uniform(max(lo, due - 30), due)
        due_at = run.at(due)
        created_at = run.at(created)
        completed_at = None
        remind = None
        if status == "done":
            done_x = min(max(created + 0.01, due + rng.uniform(-5, 3)), -0.001)
            completed_at = run.at(max(done_x, created))
            if rng.random() < 0.3:
                remind = run.at(due - 1)
        elif status == "open" and due >= 0 and rng.random() < 0.5:
            remind = run.at(due - 1) if due >= 1 else due_at - timedelta(hours=1)
            if remind < run.now:
                remind = None
        by = (
            assignee
            if rng.random() < 0.85
            else staff.managers.get(staff.dept_of[assignee], assignee)
        )
        run.add(
            t,
            {
                "id": fid,
                "title": rng.choice(N.FOLLOWUP_TITLES).format(firm=firm.short)[:200],
                "notes": rng.choice(N.TOPICS) + "相关事宜" if rng.random() < 0.2 else None,
                "due_at": due_at,
                "remind_at": remind,
                "assignee_id": assignee,
                "firm_id": firm.id,
                "project_id": plan.id if plan is not None else None,
                "activity_id": activity,
                "status": status,
                "created_by_id": by,
                "completed_at": completed_at,
                "created_at": created_at,
                "updated_at": completed_at or created_at,
                "version": 1,
            },
        )
        fid += 1
    run.flush()
