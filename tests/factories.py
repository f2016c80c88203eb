"""Plain factory functions: make_x(session, **overrides) adds and flushes one row."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from crm.accounts.service import create_user
from crm.models.accounts import Department, User
from crm.models.firms import Firm, FirmCluster, derive_tier
from crm.models.followups import Followup
from crm.models.policy import Cluster, Park
from crm.models.projects import Project, StageChange
from crm.text import normalize_name, search_blob, to_pinyin
from crm.types import utcnow

_seq = itertools.count(1)
PASSWORD = "Correct-Horse-42"


def make_department(session: Session, **kw: Any) -> Department:
    n = next(_seq)
    d = Department(name=kw.pop("name", f"测试招商局{n}"), code=kw.pop("code", f"D{n}"), **kw)
    session.add(d)
    session.flush()
    return d


def default_department(session: Session) -> Department:
    """The department of officers and managers a test gives none (the same one for all)."""
    found = session.scalar(select(Department).where(Department.code == "TEST-DEFAULT"))
    return found or make_department(session, name="测试默认部门", code="TEST-DEFAULT")


def make_user(
    session: Session, role: str = "officer", department: Department | None = None, **kw: Any
) -> User:
    n = next(_seq)
    if department is not None:
        department_id = department.id
    elif "department_id" in kw:
        department_id = kw.pop("department_id")
    else:  # an officer or manager must belong to a department: one shared default
        department_id = None if role == "admin" else default_department(session).id
    return create_user(
        session,
        None,
        username=kw.pop("username", f"{role}{n}"),
        password=kw.pop("password", PASSWORD),
        role=role,
        department_id=department_id,
        check_password=False,
        **kw,
    )


def cluster(session: Session, code: str) -> Cluster:
    c = session.scalar(select(Cluster).where(Cluster.code == code))
    assert c is not None, code
    return c


def park(session: Session, code: str) -> Park:
    p = session.scalar(select(Park).where(Park.code == code))
    assert p is not None, code
    return p


def make_firm(
    session: Session, name_zh: str | None = None, *, clusters: tuple[str, ...] = (), **kw: Any
) -> Firm:
    name = name_zh or f"测试企业{next(_seq)}"
    py, ini = to_pinyin(name)
    g, c, leader = kw.get("global500_rank"), kw.get("china500_rank"), kw.get("is_leader", False)
    f = Firm(
        name_zh=name,
        name_norm=normalize_name(name),
        name_pinyin=py,
        name_initials=ini,
        search_text=search_blob([name, kw.get("name_en")]),
        tier=derive_tier(g, c, leader),
        **kw,
    )
    session.add(f)
    session.flush()
    for code in clusters:
        session.add(FirmCluster(firm_id=f.id, cluster_id=cluster(session, code).id))
    session.flush()
    return f


def make_project(
    session: Session,
    firm: Firm,
    cluster_code: str,
    stage: str = "lead",
    *,
    owner: User | None = None,
    park_code: str | None = None,
    output: str | Decimal | None = None,
    investment: str | Decimal | None = None,
    **kw: Any,
) -> Project:
    now = utcnow()
    p = Project(
        title=kw.pop("title", f"{firm.name_zh}-{cluster_code}"),
        firm_id=firm.id,
        cluster_id=cluster(session, cluster_code).id,
        park_id=park(session, park_code).id if park_code else None,
        stage=stage,
        owner_id=owner.id if owner else None,
        department_id=kw.pop("department_id", owner.department_id if owner else None),
        expected_output=Decimal(str(output)) if output is not None else None,
        planned_investment=Decimal(str(investment)) if investment is not None else None,
        created_at=kw.pop("created_at", now),
        updated_at=now,
        stage_changed_at=now,
        **kw,
    )
    session.add(p)
    session.flush()
    session.add(StageChange(project_id=p.id, from_stage=None, to_stage=stage, changed_at=now))
    session.flush()
    return p


def make_followup(
    session: Session, assignee: User, *, due_in: timedelta = timedelta(0), **kw: Any
) -> Followup:
    fu = Followup(
        title=kw.pop("title", f"回访{next(_seq)}"),
        due_at=utcnow() + due_in,
        assignee_id=assignee.id,
        created_by_id=assignee.id,
        **kw,
    )
    session.add(fu)
    session.flush()
    return fu
