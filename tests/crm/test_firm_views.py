"""A firm's page reads its lists in one statement (crm.firms.views.firm_detail): its projects
there (kind 4) are, for every kind of viewer, exactly what ``firm_projects`` gives — the same
rows in the same order, the same total, whether the page holds them all or not."""

from __future__ import annotations

from sqlmodel import Session

from crm.firms.views import firm_detail, firm_projects
from crm.models.firms import Contact
from tests.factories import make_department, make_firm, make_project, make_user


def test_the_pages_projects_are_firm_projects_for_every_viewer(session: Session) -> None:
    a, b = make_department(session), make_department(session)
    own, other = make_user(session, "officer", a), make_user(session, "officer", b)
    manager = make_user(session, "manager", a)
    firm = make_firm(session, "一次读取企业")
    session.add(Contact(firm_id=firm.id, name="联系人甲"))
    for i in range(7):
        make_project(session, firm, "NB", owner=own if i % 2 else other, title=f"项目{i}")
    make_project(
        session, firm, "IC", owner=own, title="绝密甲", is_confidential=True, code_name="白鹭"
    )
    make_project(
        session, firm, "IC", owner=other, title="绝密乙", is_confidential=True, code_name="灰鹤"
    )
    session.commit()
    for user in (own, other, manager):
        for limit in (1, 3, 8, 50):  # a full page counts apart; a short one is its own total
            want_rows, want_total = firm_projects(session, user, firm.id, limit=limit)
            d = firm_detail(session, user, firm.id, projects_limit=limit)
            assert [tuple(r) for r in d.projects or []] == [tuple(r) for r in want_rows], (
                user.id,
                limit,
            )
            assert d.projects_total == want_total, (user.id, limit)
            assert [c.name for c in d.contacts] == ["联系人甲"]
    # the officers see their own department's confidential project, not the other's
    titles = {r.title for r in firm_detail(session, own, firm.id, projects_limit=50).projects or []}
    assert "绝密甲" in titles and "绝密乙" not in titles
    assert firm_detail(session, own, firm.id).projects is None  # not asked for
