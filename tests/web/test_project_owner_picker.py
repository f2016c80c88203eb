"""The project form's owner picker offers whom crm.authz.owner_choices allows — what the
service would accept — not every active officer."""

from __future__ import annotations

from tests.factories import make_department, make_firm, make_project, make_user


def picker(html: str) -> str:
    return html.split('id="f-owner_id"', 1)[1].split("</select>", 1)[0]


def test_the_owner_picker_follows_the_rules(client, login, session):
    d, other = make_department(session), make_department(session)
    boss = make_user(session, "manager", d)
    me = make_user(session, "officer", d)
    colleague = make_user(session, "officer", d)
    stranger = make_user(session, "officer", other)
    firm = make_firm(session, "负责人选择企业")
    p = make_project(session, firm, "NB", owner=me)
    session.commit()
    login(me)  # an officer opens projects for themselves only
    options = picker(client.get(f"/projects/new?firm_id={firm.id}").text)
    assert f'value="{colleague.id}"' not in options and f'value="{stranger.id}"' not in options
    assert f'value="{me.id}"' in picker(client.get(f"/projects/{p.id}/edit").text)  # current
    client.cookies.clear()
    login(boss)  # a manager: the department's people, not another department's
    options = picker(client.get(f"/projects/{p.id}/edit").text)
    assert f'value="{colleague.id}"' in options and f'value="{me.id}"' in options
    assert f'value="{stranger.id}"' not in options
