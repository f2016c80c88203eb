"""The pipeline board and table: columns, capped counts, "more", filters, stage moves by the
board's button or drag (same endpoint), lost needs a reason, stale versions, confidentiality."""

from __future__ import annotations

import json

from sqlalchemy import select

from crm.models.projects import Project, StageChange
from tests.factories import make_department, make_firm, make_project, make_user
from tests.web.conftest import hx, switch_language
from tests.web.conftest import log_in as login
from web.pipeline import CARDS


def _setup(session):
    dept = make_department(session)
    me = make_user(session, "officer", dept, display_name="王五")
    firm = make_firm(session, "惠普")
    return dept, me, firm


def test_board_has_a_column_per_stage_with_cards(client, session):
    _, me, firm = _setup(session)
    a = make_project(session, firm, "NB", "lead", owner=me, title="惠普笔电")
    b = make_project(session, firm, "DATA", "signed", owner=me, title="惠普数据中心")
    session.commit()
    login(client, me)
    r = client.get("/pipeline")
    assert r.status_code == 200
    for stage in ("lead", "contacted", "negotiating", "signed", "landed", "operating", "lost"):
        assert f'id="cards-{stage}"' in r.text
    lead = r.text.split('id="cards-lead"')[1].split('id="more-lead"')[0]
    signed = r.text.split('id="cards-signed"')[1].split('id="more-signed"')[0]
    assert f'id="card-{a.id}"' in lead and f'id="card-{b.id}"' in signed
    assert '<span class="count" id="count-lead" data-capped="0">1</span>' in r.text
    assert "/static/js/board.js" in r.text and "Sortable.min.js" in r.text


def test_board_shows_only_the_latest_cards_and_more(client, session):
    _, me, firm = _setup(session)
    for i in range(CARDS + 5):
        make_project(session, firm, "NB", "lead", owner=me, title=f"项目{i:02d}")
    session.commit()
    login(client, me)
    r = client.get("/pipeline")
    lead = r.text.split('id="cards-lead"')[1].split('id="more-lead"')[0]
    assert lead.count('class="pcard"') == CARDS
    assert f"/pipeline/column/lead?offset={CARDS}" in r.text
    more = client.get(f"/pipeline/column/lead?offset={CARDS}", headers={"HX-Request": "true"})
    assert more.status_code == 200 and more.text.count('class="pcard"') == 5
    assert 'id="more-lead" hx-swap-oob="true"' in more.text and "offset=" not in more.text


def test_board_counts_are_capped(client, session, monkeypatch):
    import web.pipeline as pipeline

    monkeypatch.setattr(pipeline, "COUNT_CAP", 3)
    _, me, firm = _setup(session)
    for _ in range(5):
        make_project(session, firm, "NB", "lead", owner=me)
    session.commit()
    login(client, me)
    r = client.get("/pipeline")
    assert 'id="count-lead" data-capped="1">999+' in r.text


def test_filters_by_cluster_park_officer_department(client, session):
    dept, me, firm = _setup(session)
    other_dept = make_department(session)
    colleague = make_user(session, "officer", other_dept)
    make_project(session, firm, "NB", owner=me, park_code="LJ", title="两江笔电")
    make_project(session, firm, "DATA", owner=colleague, title="别处数据")
    session.commit()
    login(client, me)
    assert "别处数据" not in client.get("/pipeline?cluster=NB").text
    assert "两江笔电" in client.get("/pipeline?park=LJ").text
    assert "别处数据" not in client.get("/pipeline?park=LJ").text
    r = client.get(f"/pipeline?officer={colleague.id}")
    assert "别处数据" in r.text and "两江笔电" not in r.text
    r = client.get(f"/pipeline?department={dept.id}&view=table")
    assert "两江笔电" in r.text and "别处数据" not in r.text
    # a filter change from HTMX swaps only the board / the table
    r = client.get("/pipeline?cluster=NB", headers={"HX-Request": "true"})
    assert r.text.lstrip().startswith('<div class="board" id="board">')
    # an id that is no id is answered as a missing one (404, as in a path; ATTACK11 F6); an
    # unknown cluster is refused (422, as the API) — never a 500
    assert client.get("/pipeline?officer=abc").status_code == 404
    assert client.get("/pipeline?department=-1").status_code == 404
    assert client.get("/pipeline?officer=&department=").status_code == 200
    assert client.get("/pipeline?cluster=" + "x" * 300).status_code == 422


def test_table_view_lists_and_pages(client, session):
    _, me, firm = _setup(session)
    for i in range(55):
        make_project(session, firm, "NB", owner=me, title=f"表格项目{i:02d}", investment="12.5")
    session.commit()
    login(client, me)
    r = client.get("/pipeline?view=table")
    assert r.status_code == 200 and r.text.count("表格项目") == 50 and "12.5" in r.text
    assert "1 / 2" in r.text
    assert client.get("/pipeline?view=table&page=2").text.count("表格项目") == 5


def test_a_table_row_shows_its_values_escaped_and_its_badges(client, session):
    """The table's rows (built in Python, web/pipeline_rows.py): every value escaped, the
    cluster's and park's names with their codes as tooltips (no tooltip without a park), the
    amount without trailing zeros, the owner's name, the confidential and 撞单 badges only on
    their rows, a box to select each row for a manager only; English words on an English page."""
    dept, me, _ = _setup(session)
    firm = make_firm(session, "<b>甲&乙</b>")
    plain = make_project(session, firm, "NB", owner=me, title='项目"丙"<i>', investment="1200.50")
    secret = make_project(session, firm, "IC", "negotiating", owner=me, park_code="XY")
    secret.is_confidential = True
    clash = make_project(session, firm, "DATA", owner=me, title="撞")
    clash.conflict_with_id = plain.id
    boss = make_user(session, "manager", dept)
    session.commit()
    login(client, me)
    r = client.get("/pipeline?view=table")
    assert r.status_code == 200
    rows = {
        p.id: r.text.split(f'<a href="/projects/{p.id}">')[1].split("</tr>")[0]
        for p in (plain, secret, clash)
    }
    assert rows[plain.id].startswith("项目&#34;丙&#34;&lt;i&gt;</a></td>")
    assert f'<a href="/firms/{firm.id}">&lt;b&gt;甲&amp;乙&lt;/b&gt;</a>' in rows[plain.id]
    assert '<td class="num">1,200.5</td>' in rows[plain.id] and "<td>王五</td>" in rows[plain.id]
    assert '<td title="NB">' in rows[plain.id] and "\n      <td></td>\n" in rows[plain.id]
    assert '<td title="XY">西永微电园</td>' in rows[secret.id]
    assert '<span class="stage stage-negotiating">洽谈中</span>' in rows[secret.id]
    assert '<span class="badge">保密</span>' in rows[secret.id]
    assert '<span class="badge overdue">撞单</span>' in rows[clash.id]
    assert "badge" not in rows[plain.id] and 'class="sel"' not in r.text
    login(client, boss)
    switch_language(client, "en")
    r = client.get("/pipeline?view=table")
    box = f'<input type="checkbox" name="ids" value="{plain.id}" form="bulk-reassign"'
    assert f'{box} aria-label="Select 项目&#34;丙&#34;&lt;i&gt;">' in r.text
    assert r.text.count('<td class="sel">') == 3 and ">Confidential</span>" in r.text


def test_a_card_shows_its_values_escaped_its_badges_and_its_move_form(client, session):
    """The board's cards (built in Python, web/board_cards.py): every value escaped, the
    amount without trailing zeros, the park only when there is one, a lost project's reason cut
    at 60 characters, the badges on their cards only, the move form (the next stages) only on
    the cards the viewer may move."""
    _, me, _ = _setup(session)
    firm = make_firm(session, "<b>甲&乙</b>")
    mine = make_project(session, firm, "NB", owner=me, title='项目"丙"<i>', investment="1200.50")
    secret = make_project(session, firm, "IC", "negotiating", owner=me, park_code="XY")
    secret.is_confidential = True
    clash = make_project(session, firm, "DATA", owner=me, title="撞")
    clash.conflict_with_id = mine.id
    gone = make_project(session, firm, "NB", "lost", owner=me, lost_reason="<原因>" + "长" * 80)
    other = make_user(session, "officer", make_department(session))
    theirs = make_project(session, firm, "NB", "lead", owner=other, title="别人的")
    session.commit()
    token = login(client, me)
    r = client.get("/pipeline")
    cards = {
        p.id: r.text.split(f'<article class="pcard" id="card-{p.id}"')[1].split("</article>")[0]
        for p in (mine, secret, clash, gone, theirs)
    }
    title = "项目&#34;丙&#34;&lt;i&gt;</a>"
    assert f'<a class="ptitle" href="/projects/{mine.id}">{title}' in cards[mine.id]
    assert (
        '<div class="muted small">&lt;b&gt;甲&amp;乙&lt;/b&gt; · <span title="NB">'
        in (cards[mine.id])
    )
    assert "<span>1,200.5 亿元</span>" in cards[mine.id] and "王五" in cards[mine.id]
    assert ' · <span title="XY">西永微电园</span></div>' in cards[secret.id]
    assert ' · <span title="XY">' not in cards[mine.id]
    assert '<span class="badge">保密</span>' in cards[secret.id]
    assert '<span class="badge overdue">撞单</span>' in cards[clash.id]
    assert "badge" not in cards[mine.id]
    assert f"原因: &lt;原因&gt;{'长' * 53}...</div>" in cards[gone.id]
    assert 'data-movable="1">' in cards[mine.id] and f'value="{token}"' in cards[mine.id]
    assert '<option value="contacted">' in cards[mine.id].split("<select")[1].split("</option>")[0]
    assert "data-movable" not in cards[theirs.id] and "<form" not in cards[theirs.id]


def test_move_with_the_button_saves_and_answers_the_card_in_its_new_column(client, session):
    _, me, firm = _setup(session)
    p = make_project(session, firm, "NB", "lead", owner=me)
    session.commit()
    token = login(client, me)
    r = client.post(
        f"/projects/{p.id}/stage",
        data={"stage": "contacted", "version": "1", "via": "board"},
        headers=hx(token),
    )
    assert r.status_code == 200
    assert 'id="cards-contacted" hx-swap-oob="afterbegin"' in r.text
    assert f'id="card-{p.id}"' in r.text and "项目阶段已更新" in r.text
    assert json.loads(r.headers["HX-Trigger"])["crm:moved"] == {
        "from": "lead",
        "to": "contacted",
        "id": p.id,
    }
    session.expire_all()
    saved = session.get(Project, p.id)
    assert saved.stage == "contacted" and saved.version == 2
    hist = session.scalars(
        select(StageChange).where(StageChange.project_id == p.id).order_by(StageChange.id)
    ).all()
    assert [(h.from_stage, h.to_stage, h.changed_by_id) for h in hist][-1] == (
        "lead",
        "contacted",
        me.id,
    )


def test_move_with_a_stale_version_is_refused(client, session):
    _, me, firm = _setup(session)
    p = make_project(session, firm, "NB", "lead", owner=me)
    session.commit()
    token = login(client, me)
    r = client.post(
        f"/projects/{p.id}/stage", data={"stage": "contacted", "version": "7"}, headers=hx(token)
    )
    assert (
        r.status_code == 409
        and "他人修改" in json.loads(r.headers["HX-Trigger"])["crm:toast"]["message"]
    )
    session.expire_all()
    assert session.get(Project, p.id).stage == "lead"


def test_a_stale_board_move_swaps_in_the_current_card(client, session):
    """ATTACK9 P3-12: after a 409 the card kept its old version, so every further click was the
    same 409 until a reload. The answer now puts the current card (its version, its stage's
    column) in place of the stale one, and the next move from it is saved."""
    _, me, firm = _setup(session)
    p = make_project(session, firm, "NB", "lead", owner=me)
    session.commit()
    token = login(client, me)
    # someone else moves it first: lead → contacted, version 2
    r = client.post(
        f"/projects/{p.id}/stage",
        data={"stage": "contacted", "version": "1", "via": "board"},
        headers=hx(token),
    )
    assert r.status_code == 200
    # this board still shows version 1 in "lead"
    r = client.post(
        f"/projects/{p.id}/stage",
        data={"stage": "contacted", "version": "1", "via": "board"},
        headers=hx(token),
    )
    assert r.status_code == 409 and r.headers["HX-Reswap"] == "none"
    toast = json.loads(r.headers["HX-Trigger"])["crm:toast"]["message"]
    assert "他人修改" in toast and "卡片已更新" in toast
    assert f'id="card-{p.id}" hx-swap-oob="delete"' in r.text
    assert 'id="cards-contacted" hx-swap-oob="afterbegin"' in r.text
    assert 'data-version="2"' in r.text and 'name="version" value="2"' in r.text
    assert 'data-stage="contacted"' in r.text and 'name="stage"' in r.text
    # the refreshed card's next move is saved, not the same 409 again
    r = client.post(
        f"/projects/{p.id}/stage",
        data={"stage": "negotiating", "version": "2", "via": "board"},
        headers=hx(token),
    )
    assert r.status_code == 200
    session.expire_all()
    assert session.get(Project, p.id).stage == "negotiating"


def test_lost_asks_for_the_reason_then_moves(client, session):
    _, me, firm = _setup(session)
    p = make_project(session, firm, "NB", "negotiating", owner=me)
    session.commit()
    token = login(client, me)
    # a drag (or button) to lost without a reason answers with the reason form for the dialog
    r = client.post(
        f"/projects/{p.id}/stage", data={"stage": "lost", "version": "1"}, headers=hx(token)
    )
    assert r.status_code == 200 and r.headers["HX-Retarget"] == "#lost-dialog-body"
    assert 'name="reason"' in r.text and 'id="err-reason"' not in r.text
    session.expire_all()
    assert session.get(Project, p.id).stage == "negotiating"
    # submitted empty from the dialog: the error shows beside the field
    r = client.post(
        f"/projects/{p.id}/stage",
        data={"stage": "lost", "version": "1", "reason": "  ", "asked": "1"},
        headers=hx(token),
    )
    assert 'id="err-reason"' in r.text and "流失原因" in r.text
    r = client.post(
        f"/projects/{p.id}/stage",
        data={"stage": "lost", "version": "1", "reason": "选择了成都", "asked": "1"},
        headers=hx(token),
    )
    assert r.status_code == 200 and 'id="cards-lost"' in r.text
    session.expire_all()
    saved = session.get(Project, p.id)
    assert saved.stage == "lost" and saved.lost_reason == "选择了成都"


def test_another_departments_officer_cannot_move(client, session):
    _, me, firm = _setup(session)
    p = make_project(session, firm, "NB", "lead", owner=me)
    stranger = make_user(session, "officer", make_department(session))
    session.commit()
    token = login(client, stranger)
    r = client.post(
        f"/projects/{p.id}/stage", data={"stage": "contacted", "version": "1"}, headers=hx(token)
    )
    assert r.status_code == 403
    session.expire_all()
    assert session.get(Project, p.id).stage == "lead"


def test_confidential_projects_of_another_department_are_absent(client, session):
    _, me, firm = _setup(session)
    owner = make_user(session, "officer", make_department(session))
    secret = make_project(
        session,
        firm,
        "NB",
        "lead",
        owner=owner,
        title="绝密项目",
        is_confidential=True,
        code_name="代号",
    )
    session.commit()
    token = login(client, me)
    assert "绝密项目" not in client.get("/pipeline").text
    assert "绝密项目" not in client.get("/pipeline?view=table").text
    r = client.post(f"/projects/{secret.id}/stage", data={"stage": "contacted"}, headers=hx(token))
    assert r.status_code == 404


def test_the_board_offers_a_move_only_on_cards_the_user_may_move(client, session):
    """The move form and the drag handle (``data-movable``) come from crm.authz's rule: on the
    officer's own card, not on another department's (which he sees but may not move)."""
    _, me, firm = _setup(session)
    mine = make_project(session, firm, "NB", "lead", owner=me, title="我的项目")
    theirs_owner = make_user(session, "officer", make_department(session))
    theirs = make_project(session, firm, "DATA", "lead", owner=theirs_owner, title="别人的项目")
    session.commit()
    login(client, me)
    r = client.get("/pipeline")
    assert r.status_code == 200

    def card(pid: int) -> str:
        return r.text.split(f'id="card-{pid}"')[1].split("</article>")[0]

    assert "别人的项目" in r.text  # visible (not confidential) ...
    assert 'class="move"' not in card(theirs.id) and "data-movable" not in card(theirs.id)
    assert 'class="move"' in card(mine.id) and 'data-movable="1"' in card(mine.id)
    # the "more" fragment of a column follows the same rule
    r = client.get("/pipeline/column/lead", headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert f'id="card-{theirs.id}"' not in r.text or 'class="move"' not in card(theirs.id)


def test_a_stale_move_tells_the_user_in_a_toast(client, session):
    """ATTACK8 P2-7: the generic error page answers htmx with nothing to swap, and htmx does not
    treat a 409 as an error — so the message must come as a toast event, in the reader's
    language."""
    dept, me, firm = _setup(session)
    en = make_user(session, "officer", dept, language="en")
    p = make_project(session, firm, "NB", "lead", owner=me)
    q = make_project(session, firm, "IC", "lead", owner=en)
    session.commit()
    for user, project, words in ((me, p, "他人修改"), (en, q, "Someone saved this record first")):
        client.cookies.clear()
        token = login(client, user)
        r = client.post(
            f"/projects/{project.id}/stage",
            data={"stage": "contacted", "version": "7", "via": "board"},
            headers=hx(token),
        )
        assert r.status_code == 409 and r.headers["HX-Reswap"] == "none"
        toast = json.loads(r.headers["HX-Trigger"])["crm:toast"]
        assert toast["kind"] == "error" and words in toast["message"], toast
    session.expire_all()
    assert session.get(Project, p.id).stage == "lead" and session.get(Project, q.id).stage == "lead"
