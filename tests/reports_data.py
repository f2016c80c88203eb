"""Hand-built datasets for the report tests: every status and figure is worked out by hand in
the comments, so a failing test points at the definition, not at another computation."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from crm.models.accounts import Department, User
from crm.models.projects import StageChange
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_project, make_user


@dataclass
class World:
    d1: Department
    d2: Department
    manager: User
    officer1: User  # department d1: does not see d2's confidential project
    officer2: User  # department d2: sees it


def people(session: Session) -> World:
    d1, d2 = make_department(session), make_department(session)
    return World(
        d1=d1,
        d2=d2,
        manager=make_user(session, "manager", d1),
        officer1=make_user(session, "officer", d1),
        officer2=make_user(session, "officer", d2),
    )


def coverage_world(session: Session) -> World:
    """Clusters (12 in the pack):

    NB   covered  — global500 G1 at signed (LJ, 100.5) and landed (LJ, 60); other-tier O2 at lead
    COMM pursuing — china500 C1 at negotiating (chain link ``wireless``)
    IC   gap      — global500 G2's only project is lost
    NEV  covered  — only by leader L1, at operating in the bonded zone XYFTZ (within XY), 30.25
    ENV  gap      — its only signed firm O1 is of tier other (signed, 10)
    RAIL covered for the manager and department d2 only — global500 G3, landed, no park, 40,
                  confidential (d2); for officer1 (d1) it is a gap
    MAT  gap      — other-tier O3 landed at ring park JLP, 19.75
    DATA BIO WIND LIGHT INST — no projects: gap

    Targets (manager): landed+operating = 60 + 30.25 + 40 + 19.75 = 150.0000; signed = 100.5 +
    10 = 110.5000; core = LJ 60 + XYFTZ 30.25 = 90.2500 → share 90.25/150 = 0.601666… → 0.6017.
    Officer1 (no RAIL): landed 110.0000, core 90.25 → 0.820454… → 0.8205 (≥ 0.75: met).
    """
    w = people(session)
    m = w.manager
    g1 = make_firm(session, "环球一号", global500_rank=10)
    g2 = make_firm(session, "环球二号", global500_rank=20)
    g3 = make_firm(session, "环球三号", global500_rank=30)
    c1 = make_firm(session, "中华一号", china500_rank=5)
    l1 = make_firm(session, "龙头一号", is_leader=True)
    o1, o2, o3 = (make_firm(session, n) for n in ("普通一号", "普通二号", "普通三号"))
    make_project(
        session,
        g1,
        "NB",
        "signed",
        owner=m,
        park_code="LJ",
        output="100.5",
        chain_link_id=_link(session, "NB", "whole"),
    )
    make_project(session, g1, "NB", "landed", owner=m, park_code="LJ", output="60")
    make_project(session, o2, "NB", "lead", owner=m, output="5")
    make_project(
        session,
        c1,
        "COMM",
        "negotiating",
        owner=m,
        output="80",
        chain_link_id=_link(session, "COMM", "wireless"),
    )
    make_project(session, g2, "IC", "lost", owner=m, output="300", lost_reason="去了别处")
    make_project(session, l1, "NEV", "operating", owner=m, park_code="XYFTZ", output="30.25")
    make_project(session, o1, "ENV", "signed", owner=m, output="10")
    make_project(
        session,
        g3,
        "RAIL",
        "landed",
        owner=w.officer2,
        output="40",
        is_confidential=True,
        code_name="青松",
        title="环球三号轨道项目",
    )
    make_project(session, o3, "MAT", "landed", owner=m, park_code="JLP", output="19.75")
    session.commit()
    return w


def _link(session: Session, cluster_code: str, link_code: str) -> int:
    from sqlalchemy import select

    from crm.models.policy import ChainLink
    from tests.factories import cluster

    lid = session.scalar(
        select(ChainLink.id).where(
            ChainLink.cluster_id == cluster(session, cluster_code).id, ChainLink.code == link_code
        )
    )
    assert lid is not None
    return lid


def ladder_world(session: Session) -> World:
    """Groups by output at signed/landed/operating (亿元), rolled up to the top-level group:

    P  (no projects): S1 signed 599.9999 + its subsidiary GC signed 0.0001 + S2 landed 400
       = 1000.0000 → band ≥1000 (the boundary itself)
    E  operating 999.9999 → 500–1000;  A landed 500 → 500–1000 (boundary)
    B  signed 100 (+ a lead project of 900 and a lost one of 1000, which do not count) → 100–500
    H  signed 200, confidential (d2) → 100–500 for the manager and officer2, absent for officer1
    C  signed 50 → 50–100 (boundary);  D signed 49.9999 → below 50
    """
    w = people(session)
    m = w.manager
    p = make_firm(session, "集团甲")
    s1 = make_firm(session, "甲子公司一", parent_id=p.id)
    gc = make_firm(session, "甲孙公司", parent_id=s1.id)
    s2 = make_firm(session, "甲子公司二", parent_id=p.id, global500_rank=99)
    make_project(session, s1, "NB", "signed", owner=m, output="599.9999")
    make_project(session, gc, "COMM", "signed", owner=m, output="0.0001")
    make_project(session, s2, "IC", "landed", owner=m, output="400")
    make_project(
        session, make_firm(session, "企业E"), "NB", "operating", owner=m, output="999.9999"
    )
    make_project(session, make_firm(session, "企业A"), "NB", "landed", owner=m, output="500")
    b = make_firm(session, "企业B")
    make_project(session, b, "NB", "signed", owner=m, output="100")
    make_project(session, b, "COMM", "lead", owner=m, output="900")
    make_project(session, b, "IC", "lost", owner=m, output="1000", lost_reason="放弃")
    make_project(
        session,
        make_firm(session, "企业H"),
        "NB",
        "signed",
        owner=w.officer2,
        output="200",
        is_confidential=True,
        code_name="白鹭",
    )
    make_project(session, make_firm(session, "企业C"), "NB", "signed", owner=m, output="50")
    make_project(session, make_firm(session, "企业D"), "NB", "signed", owner=m, output="49.9999")
    session.commit()
    return w


def pipeline_world(session: Session) -> World:
    """Stage histories (conversion counts a project as reaching every stage up to its furthest):

    p1 lead → contacted → negotiating → signed   (furthest: signed)
    p2 lead → lost                               (furthest: lead)
    p3 created at signed                         (furthest: signed)
    p4 lead → contacted → lost                   (furthest: contacted)
    p5 confidential (d2), lead → contacted       (seen by the manager and officer2 only)

    Manager — reached: lead 5, contacted 4, negotiating 2, signed 2, landed 0, operating 0.
    Officer1 — reached: lead 4, contacted 3, negotiating 2, signed 2.
    """
    w = people(session)
    m = w.manager
    f = make_firm(session, "管道企业")
    now = utcnow()

    def moved(cluster_code, stages, owner=m, **kw):  # type: ignore[no-untyped-def]
        p = make_project(session, f, cluster_code, stages[0], owner=owner, **kw)
        for i, (a, b) in enumerate(itertools.pairwise(stages)):
            session.add(
                StageChange(
                    project_id=p.id,
                    from_stage=a,
                    to_stage=b,
                    changed_at=now - timedelta(minutes=len(stages) - i),
                )
            )
        p.stage = stages[-1]
        session.add(p)
        session.flush()
        return p

    moved(
        "NB",
        ["lead", "contacted", "negotiating", "signed"],
        park_code="LJ",
        output="10",
        investment="20",
    )
    moved("COMM", ["lead", "lost"], output="5", investment="6", lost_reason="x")
    moved("IC", ["signed"], park_code="XY", output="7", investment="8")
    moved("NEV", ["lead", "contacted", "lost"], output="1", lost_reason="y")
    moved(
        "NB",
        ["lead", "contacted"],
        owner=w.officer2,
        output="3",
        investment="4",
        is_confidential=True,
        code_name="红杉",
    )
    session.commit()
    return w
