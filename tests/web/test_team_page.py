"""The managers' way to a handover: /users/team lists the department's officers with what each
holds (an inactive one still holding work first), each linked to the handover page; the manager
home and the admin users page link to it."""

from __future__ import annotations

from tests.factories import make_department, make_firm, make_followup, make_project, make_user


def test_a_manager_sees_the_departments_people_and_reaches_the_handover(client, login, session):
    d, other = make_department(session), make_department(session)
    boss = make_user(session, "manager", d)
    busy = make_user(session, "officer", d, display_name="忙碌专员")
    make_user(session, "officer", d, display_name="空闲专员")
    gone = make_user(session, "officer", d, display_name="已走专员")
    stranger = make_user(session, "officer", other, display_name="别部门专员")
    firm = make_firm(session, "团队页企业", owner_id=busy.id)
    make_project(session, firm, "NB", owner=busy)
    make_followup(session, gone)
    gone.is_active = False
    session.commit()
    login(boss)
    assert 'href="/users/team"' in client.get("/").text
    page = client.get("/users/team")
    assert page.status_code == 200
    html = page.text
    assert "别部门专员" not in html and f"member-{stranger.id}" not in html
    # the inactive one still holding work comes first, then those holding work
    assert html.index("已走专员") < html.index("忙碌专员") < html.index("空闲专员")
    row = html.split(f'id="member-{busy.id}"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">1</td>' in row and f'href="/users/{busy.id}/handover"' in row
    assert f'href="/users/{gone.id}/handover"' in html
    assert client.get(f"/users/{gone.id}/handover").status_code == 200
    assert client.get(f"/users/{stranger.id}/handover").status_code == 403

    client.cookies.clear()
    login(busy)
    assert client.get("/users/team").status_code == 403
    assert 'href="/users/team"' not in client.get("/").text


def test_admins_see_everyone_but_admins_and_reach_it_from_the_users_page(client, login, session):
    admin = make_user(session, "admin", display_name="管理员")
    make_user(session, "officer", make_department(session), display_name="甲专员")
    make_user(session, "manager", make_department(session), display_name="乙主管")
    session.commit()
    login(admin)
    assert 'href="/users/team"' in client.get("/admin/users").text
    html = client.get("/users/team").text
    assert "甲专员" in html and "乙主管" in html and f"member-{admin.id}" not in html
