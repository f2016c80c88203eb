"""My day: today's and overdue follow-ups, one-click done, move to another day, recent projects."""

from __future__ import annotations

from datetime import timedelta

from crm.clock import to_local, today_local
from crm.models.followups import Followup
from tests.factories import make_department, make_firm, make_followup, make_project, make_user
from tests.web.conftest import hx
from tests.web.conftest import log_in as login


def _officer(session):
    return make_user(session, "officer", make_department(session), display_name="李四")


def test_my_day_lists_today_and_overdue_marked(client, session):
    me = _officer(session)
    other = make_user(session, "officer")
    firm = make_firm(session, "惠普")
    late = make_followup(session, me, due_in=-timedelta(days=2), title="寄送资料", firm_id=firm.id)
    make_followup(session, me, due_in=timedelta(minutes=1), title="回电话")
    make_followup(session, me, due_in=timedelta(days=3), title="下周拜访")
    make_followup(session, other, title="别人的事项")
    make_followup(session, me, due_in=-timedelta(hours=1), title="已完成的", status="done")
    session.commit()
    login(client, me)
    r = client.get("/")
    assert r.status_code == 200
    text = r.text
    assert "寄送资料" in text and "惠普" in text
    assert "下周拜访" not in text and "别人的事项" not in text and "已完成的" not in text
    # the overdue one sits in the overdue list, marked
    overdue = text.split('id="fu-overdue"')[1].split("</ul>")[0]
    assert "寄送资料" in overdue and "逾期" in overdue
    assert f'hx-post="/followups/{late.id}/done"' in text


def test_a_row_shows_its_values_escaped_its_link_and_its_forms(client, session):
    """My day's rows (built in Python, web/myday_items.py): every value escaped, the project's
    link before the firm's, the overdue badge and class on overdue rows only, the done and
    reschedule forms with the row's version and the page's token, no day before today."""
    me = _officer(session)
    firm = make_firm(session, "<b>甲&乙</b>")
    project = make_project(session, firm, "NB", owner=me, title='项目"丙"')
    late = make_followup(
        session, me, due_in=-timedelta(days=1), title="<script>x</script>", firm_id=firm.id
    )
    both = make_followup(
        session, me, due_in=timedelta(minutes=1), firm_id=firm.id, project_id=project.id
    )
    bare = make_followup(session, me, due_in=timedelta(minutes=2), title="无关联")
    session.commit()
    token = login(client, me)
    r = client.get("/")
    rows = {f.id: r.text.split(f'id="fu-{f.id}">')[1].split("</li>")[0] for f in (late, both, bare)}
    assert f'<li class="fu-item is-overdue" id="fu-{late.id}">' in r.text
    assert f'<li class="fu-item" id="fu-{both.id}">' in r.text
    assert '<strong class="fu-title">&lt;script&gt;x&lt;/script&gt;</strong>' in rows[late.id]
    assert '<span class="badge overdue">逾期</span>' in rows[late.id]
    assert "overdue" not in rows[both.id] and "<script>x" not in r.text
    assert f'<a href="/firms/{firm.id}">&lt;b&gt;甲&amp;乙&lt;/b&gt;</a>\n  </div>' in rows[late.id]
    assert f'<a href="/projects/{project.id}">项目&#34;丙&#34;</a>' in rows[both.id]
    assert "/firms/" not in rows[both.id] and "href=" not in rows[bare.id]
    for f in (late, both, bare):
        assert rows[f.id].count(f'<input type="hidden" name="version" value="{f.version}">') == 2
        assert rows[f.id].count(f'name="csrf_token" value="{token}"') == 2
        assert f'hx-post="/followups/{f.id}/reschedule"' in rows[f.id]
    assert f'min="{today_local().isoformat()}"' in rows[bare.id]


def test_done_in_one_click_removes_the_row(client, session):
    me = _officer(session)
    fu = make_followup(session, me, due_in=-timedelta(hours=3), title="回访惠普")
    keep = make_followup(session, me, due_in=-timedelta(hours=2), title="另一件")
    session.commit()
    token = login(client, me)
    r = client.post(
        f"/followups/{fu.id}/done", data={"version": fu.version, "back": "myday"}, headers=hx(token)
    )
    assert r.status_code == 200
    assert 'id="myday-followups"' in r.text and "回访惠普" not in r.text and "另一件" in r.text
    assert "hx-swap-oob" in r.text and "已标记完成" in r.text  # the toast
    session.expire_all()
    saved = session.get(Followup, fu.id)
    assert saved.status == "done" and saved.completed_at is not None
    assert session.get(Followup, keep.id).status == "open"


def test_done_with_a_stale_version_is_refused(client, session):
    me = _officer(session)
    fu = make_followup(session, me, title="回访")
    session.commit()
    token = login(client, me)
    r = client.post(
        f"/followups/{fu.id}/done",
        data={"version": fu.version + 1, "back": "myday"},
        headers=hx(token),
    )
    assert r.status_code == 409 and "他人修改" in r.text
    session.expire_all()
    assert session.get(Followup, fu.id).status == "open"


def test_reschedule_tomorrow_next_monday_and_a_date(client, session):
    me = _officer(session)
    fu = make_followup(session, me, due_in=-timedelta(days=1), title="改期测试")
    session.commit()
    token = login(client, me)
    today = today_local()
    r = client.post(
        f"/followups/{fu.id}/reschedule",
        data={"when": "tomorrow", "back": "myday", "version": 1},
        headers=hx(token),
    )
    assert r.status_code == 200 and "改期测试" not in r.text and "已改期" in r.text
    session.expire_all()
    assert to_local(session.get(Followup, fu.id).due_at).date() == today + timedelta(days=1)
    client.post(
        f"/followups/{fu.id}/reschedule", data={"when": "monday", "version": 2}, headers=hx(token)
    )
    session.expire_all()
    monday = to_local(session.get(Followup, fu.id).due_at).date()
    assert monday.weekday() == 0 and today < monday <= today + timedelta(days=7)
    # back to today: it shows in today's list again
    r = client.post(
        f"/followups/{fu.id}/reschedule",
        data={"when": "date", "day": today.isoformat(), "back": "myday", "version": 3},
        headers=hx(token),
    )
    assert "改期测试" in r.text.split('id="fu-today"')[1]


def test_reschedule_refuses_a_past_or_missing_date(client, session):
    me = _officer(session)
    fu = make_followup(session, me, title="改期")
    session.commit()
    token = login(client, me)
    before = fu.due_at
    past = (today_local() - timedelta(days=3)).isoformat()
    r = client.post(
        f"/followups/{fu.id}/reschedule",
        data={"when": "date", "day": past, "version": 1},
        headers=hx(token),
    )
    assert r.status_code == 422 and "日期" in r.text
    r = client.post(
        f"/followups/{fu.id}/reschedule",
        data={"when": "date", "day": "nope", "version": 1},
        headers=hx(token),
    )
    assert r.status_code == 422
    session.expire_all()
    assert session.get(Followup, fu.id).due_at == before


def test_someone_elses_follow_up_cannot_be_completed(client, session):
    dept = make_department(session)
    me = make_user(session, "officer", dept)
    other = make_user(session, "officer", make_department(session))
    fu = make_followup(session, other, title="别人的")
    session.commit()
    token = login(client, me)
    r = client.post(f"/followups/{fu.id}/done", data={"version": 1}, headers=hx(token))
    assert r.status_code == 403
    session.expire_all()
    assert session.get(Followup, fu.id).status == "open"


def test_recent_projects_on_my_day(client, session):
    me = _officer(session)
    firm = make_firm(session, "长安汽车")
    p = make_project(session, firm, "NEV", "negotiating", owner=me, title="长安新能源整车")
    session.commit()
    login(client, me)
    r = client.get("/")
    section = r.text.split('id="myday-projects"')[1]
    assert f'href="/projects/{p.id}"' in section and "长安新能源整车" in section
    assert "洽谈中" in section
