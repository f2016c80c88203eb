"""The SQL visibility filters and the per-row checks agree, over random worlds.

A world is departments, users (role, department or none), projects (confidential or not,
department or none), activities naming any set of projects, and follow-ups on a project, an
activity, both or neither. For every viewer (and the anonymous one) each SQL filter in
``crm.authz`` selects exactly the rows its per-row check accepts."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import Session

from crm.authz import (
    activity_visible,
    can_see_activity,
    can_see_followup,
    can_see_project,
    followup_visible,
    hidden_projects,
    project_visible,
    project_visible_to_user,
)
from crm.db import get_engine
from crm.models.accounts import Department, User
from crm.models.activities import Activity, ActivityProject
from crm.models.followups import Followup
from crm.models.projects import Project
from crm.types import utcnow
from tests.factories import cluster, make_firm

N_DEPTS = 3
dept = st.one_of(st.none(), st.integers(0, N_DEPTS - 1))
users_st = st.lists(
    st.tuples(st.sampled_from(["officer", "manager", "admin"]), dept), min_size=1, max_size=5
)
projects_st = st.lists(st.tuples(st.booleans(), dept), min_size=1, max_size=6)


@st.composite
def worlds(draw: st.DrawFn) -> dict:
    users = draw(users_st)
    projects = draw(projects_st)
    idx = st.integers(0, len(projects) - 1)
    activities = draw(st.lists(st.sets(idx, max_size=3), max_size=4))
    aidx = st.one_of(st.none(), st.integers(0, len(activities) - 1)) if activities else st.none()
    followups = draw(
        st.lists(
            st.tuples(st.one_of(st.none(), idx), aidx, st.integers(0, len(users) - 1)),
            max_size=6,
        )
    )
    return {"users": users, "projects": projects, "activities": activities, "followups": followups}


def _build(s: Session, w: dict) -> tuple[list, list, list, list]:
    depts = [Department(name=f"性质部门{i}", code=f"PD{i}") for i in range(N_DEPTS)]
    s.add_all(depts)
    s.flush()
    users = [
        User(
            username=f"prop_{i}",
            display_name=f"prop {i}",
            role=role,
            department_id=None if d is None else depts[d].id,
            password_hash="x",
        )
        for i, (role, d) in enumerate(w["users"])
    ]
    s.add_all(users)
    firm = make_firm(s, "性质测试企业")
    cid = cluster(s, "NB").id
    now = utcnow()
    projects = [
        Project(
            title=f"p{i}",
            firm_id=firm.id,
            cluster_id=cid,
            stage="lead",
            is_confidential=conf,
            code_name=f"C{i}" if conf else None,
            department_id=None if d is None else depts[d].id,
            created_at=now,
            updated_at=now,
            stage_changed_at=now,
        )
        for i, (conf, d) in enumerate(w["projects"])
    ]
    s.add_all(projects)
    s.flush()
    acts = [
        Activity(kind="visit", occurred_at=now, summary=f"a{i}")
        for i in range(len(w["activities"]))
    ]
    s.add_all(acts)
    s.flush()
    s.add_all(
        ActivityProject(activity_id=acts[i].id, project_id=projects[p].id)
        for i, ps in enumerate(w["activities"])
        for p in ps
    )
    fus = [
        Followup(
            title=f"f{i}",
            due_at=now + timedelta(days=1),
            assignee_id=users[u].id,
            project_id=None if p is None else projects[p].id,
            activity_id=None if a is None else acts[a].id,
        )
        for i, (p, a, u) in enumerate(w["followups"])
    ]
    s.add_all(fus)
    s.flush()
    return users, projects, acts, fus


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(w=worlds())
def test_sql_visibility_equals_the_per_row_check(database: str, w: dict) -> None:
    with Session(get_engine()) as s:
        try:
            users, projects, acts, fus = _build(s, w)
            pids = {p.id for p in projects}
            aids = {a.id for a in acts}
            fids = {f.id for f in fus}
            for u in [None, *users]:
                sql = set(s.scalars(select(Project.id).where(project_visible(u)))) & pids
                assert sql == {p.id for p in projects if can_see_project(u, p)}, u
                hidden = hidden_projects(u)
                hidden_ids = set() if hidden is None else set(s.scalars(hidden)) & pids
                assert hidden_ids == pids - sql
                sql_a = set(s.scalars(select(Activity.id).where(activity_visible(u)))) & aids
                assert sql_a == {a.id for a in acts if can_see_activity(s, u, a.id)}
                sql_f = set(s.scalars(select(Followup.id).where(followup_visible(u)))) & fids
                assert sql_f == {f.id for f in fus if can_see_followup(s, u, f)}
            pairs = set(
                s.execute(
                    select(User.id, Project.id).where(
                        User.id.in_([u.id for u in users]),
                        Project.id.in_(pids),
                        project_visible_to_user(User, Project),
                    )
                ).all()
            )
            assert pairs == {(u.id, p.id) for u in users for p in projects if can_see_project(u, p)}
        finally:
            s.rollback()
