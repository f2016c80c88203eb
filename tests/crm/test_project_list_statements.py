"""list_projects keeps its statements per kind of viewer and set of filters, values bound: for
every viewer, filter, order and page it answers what the statement built afresh answers."""

from __future__ import annotations

from itertools import product

from sqlalchemy import func, select

from crm.models.projects import Project
from crm.projects.lists import PROJECT_SORTS, ProjectFilters, list_projects, project_list_statement
from crm.sorting import Sort, order_by
from tests.factories import make_department, make_firm, make_project, make_user


def _fresh(session, actor, f: ProjectFilters, limit: int, offset: int) -> tuple[list[int], int]:
    stmt = project_list_statement(actor, f)
    order = (
        order_by(f.sort, PROJECT_SORTS, Project.id)
        if f.sort is not None
        else (Project.updated_at.desc(), Project.id.desc())
    )
    rows = session.scalars(stmt.order_by(*order).limit(limit).offset(offset)).all()
    capped = stmt.with_only_columns(Project.id).limit(10_001).subquery()
    return [p.id for p in rows], session.scalar(select(func.count()).select_from(capped))


def test_every_viewer_filter_order_and_page_answers_as_built_afresh(session) -> None:
    a, b = make_department(session), make_department(session)
    oa, ob = make_user(session, "officer", a), make_user(session, "officer", b)
    boss = make_user(session, "manager", a)
    f1, f2 = make_firm(session, "甲公司", is_leader=True), make_firm(session, "乙公司")
    secret = make_project(session, f1, "NB", "negotiating", owner=oa, is_confidential=True)
    make_project(session, f1, "NB", "lead", owner=ob, title="笔电 A")
    make_project(session, f2, "IC", "lost", owner=ob, lost_reason="x", title="汽车 B")
    make_project(session, f2, "NB", "signed", owner=oa, title="笔电 C")
    session.flush()

    # the other department first: a statement kept for one viewer would show it the secret
    hidden, _ = list_projects(session, ob, ProjectFilters(firm_id=f1.id))
    assert secret.id not in [p.id for p in hidden]
    seen, _ = list_projects(session, oa, ProjectFilters(firm_id=f1.id))
    assert secret.id in [p.id for p in seen]

    filters = [
        ProjectFilters(),
        ProjectFilters(firm_id=f1.id),
        ProjectFilters(firm_id=f2.id),
        ProjectFilters(firm_id=f2.id, include_lost=False),
        ProjectFilters(stage="lost", include_lost=False),
        ProjectFilters(cluster="NB"),
        ProjectFilters(cluster="IC", park=None),
        ProjectFilters(owner_id=ob.id),
        ProjectFilters(department_id=a.id),
        ProjectFilters(tier="leader"),
        ProjectFilters(q="笔电"),
        ProjectFilters(q="汽车"),
        ProjectFilters(sort=Sort("title")),
        ProjectFilters(sort=Sort("title", descending=True), firm_id=f2.id),
    ]
    for actor, f, (limit, offset) in product(
        (ob, oa, boss, ob), filters, ((50, 0), (1, 0), (1, 1))
    ):
        got = list_projects(session, actor, f, limit=limit, offset=offset)
        assert ([p.id for p in got[0]], got[1]) == _fresh(session, actor, f, limit, offset), (
            actor.username,
            f,
            limit,
            offset,
        )
