"""The header's search: firms (by pinyin too), contacts and projects; a confidential project
answers to its code name for the people who may see it, and to nobody else."""

from __future__ import annotations

from crm.models.firms import Contact
from tests.factories import make_department, make_firm, make_project, make_user


def _world(session):  # type: ignore[no-untyped-def]
    a, b = make_department(session), make_department(session)
    own = make_user(session, "officer", a)
    other = make_user(session, "officer", b)
    hp = make_firm(session, "惠普", name_en="HP")
    session.add(Contact(firm_id=hp.id, name="王采购", title="采购总监", phone="13800001111"))
    make_project(session, hp, "NB", owner=own, title="惠普笔记本扩产")
    make_project(
        session,
        hp,
        "IC",
        owner=own,
        title="惠普芯片封测绝密",
        is_confidential=True,
        code_name="蓝鲸计划",
    )
    session.commit()
    return own, other


def test_the_header_search_finds_firms_contacts_and_projects(client, login, session):
    own, _ = _world(session)
    login(own)
    page = client.get("/search", params={"q": "huipu"}).text
    assert "/firms/" in page and "惠普" in page  # the firm, by its pinyin
    page = client.get("/search", params={"q": "王采购"}).text
    assert "王采购" in page and "采购总监" in page and "#contact-" in page
    page = client.get("/search", params={"q": "13800001111"}).text
    assert "王采购" in page


def test_projects_by_title_and_a_confidential_one_only_by_its_code_name(client, login, session):
    own, other = _world(session)
    login(own)
    page = client.get("/search", params={"q": "扩产"}).text
    assert "惠普笔记本扩产" in page
    page = client.get("/search", params={"q": "蓝鲸"}).text
    assert "蓝鲸计划" in page
    assert "惠普芯片封测绝密" not in page  # named by its code name, not its title
    page = client.get("/search", params={"q": "封测绝密"}).text
    assert "蓝鲸计划" not in page and "惠普芯片封测绝密" not in page  # not by its title

    login(other)  # another department: the confidential project does not exist
    for q in ("蓝鲸", "封测绝密"):
        page = client.get("/search", params={"q": q}).text
        assert "蓝鲸计划" not in page and "惠普芯片封测绝密" not in page
    assert "惠普笔记本扩产" in client.get("/search", params={"q": "扩产"}).text


def test_typing_in_the_header_box_gets_the_results_fragment(client, login, session):
    own, _ = _world(session)
    login(own)
    home = client.get("/").text
    assert 'hx-get="/search"' in home and 'id="global-results"' in home
    r = client.get("/search", params={"q": "hp"}, headers=login.htmx)
    assert r.status_code == 200
    assert "<html" not in r.text and "惠普" in r.text
    assert "/search?q=hp" in r.text  # on to the full page
    r = client.get("/search", params={"q": "没有这样的东西"}, headers=login.htmx)
    assert "没有找到" in r.text
