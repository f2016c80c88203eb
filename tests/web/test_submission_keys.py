"""A create form submitted twice records once (ATTACK11 F3): each form carries a one-use key
(``crm.submissions``); the first post with it records and keeps the key in the same
transaction, a second post with it — a double tap without JS, a retry, a replayed request —
records nothing and answers what the first did. A form shown again after a field error keeps
its key; another user's key is not theirs; a failure after the contact was committed is not
doubled by the retry."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from crm import submissions
from crm.models.activities import Activity
from crm.models.audit import AuditRecord
from crm.models.firms import Contact, Firm
from crm.models.followups import Followup
from crm.models.projects import CapitalArrival, Project
from crm.models.submissions import FormSubmission
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_project, make_user
from tests.web.conftest import hx, switch_language
from tests.web.conftest import log_in as login

KEY = re.compile(r'name="submission_key" value="([A-Za-z0-9_-]+)"')
POST: dict[str, Any] = {"method": "POST", "path": "/firms/1/contacts", "content": {"name": "甲"}}


def _key(html: str, after: str = "") -> str:
    """The one-use key of the form in ``html`` (the first after ``after``)."""
    found = KEY.search(html, html.index(after) if after else 0)
    assert found, html[:500]
    return found.group(1)


def _counts(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return {
        m.__name__: session.scalar(select(func.count()).select_from(m)) or 0
        for m in (
            Activity,
            AuditRecord,
            Contact,
            Followup,
            Firm,
            Project,
            CapitalArrival,
            FormSubmission,
        )
    }


def _world(session):  # type: ignore[no-untyped-def]
    dept = make_department(session)
    me = make_user(session, "officer", dept)
    colleague = make_user(session, "officer", dept)
    firm = make_firm(session, "一次提交企业", owner_id=me.id)
    session.commit()
    return me, colleague, firm


def _log(summary: str, key: str | None, token: str, **more: str) -> dict[str, str]:
    data = {"csrf_token": token, "kind": "visit", "summary": summary, **more}
    if key is not None:
        data["submission_key"] = key
    return data


def test_log_contact_posted_twice_records_once(client, session):
    me, _, firm = _world(session)
    token = login(client, me)
    page = client.get(f"/firms/{firm.id}").text
    key = _key(page, 'id="log-form"')
    before = _counts(session)
    first = client.post(
        f"/firms/{firm.id}/activities", data=_log("一次", key, token), follow_redirects=False
    )
    assert first.status_code == 303 and first.headers["location"] == f"/firms/{firm.id}"
    once = _counts(session)
    assert once["Activity"] == before["Activity"] + 1
    assert once["FormSubmission"] == before["FormSubmission"] + 1
    # a double tap without JS, a replay: the same answer, nothing recorded
    again = client.post(
        f"/firms/{firm.id}/activities", data=_log("一次", key, token), follow_redirects=False
    )
    assert again.status_code == 303 and again.headers["location"] == f"/firms/{firm.id}"
    # HTMX: the form again (a new key) and "already submitted", still nothing recorded
    third = client.post(
        f"/firms/{firm.id}/activities", data=_log("一次", key, token), headers=hx(token)
    )
    assert third.status_code == 200
    assert "已提交，未重复记录" in third.text
    assert _key(third.text) != key
    assert 'hx-swap-oob="afterbegin:#timeline-list"' not in third.text  # no new entry
    assert _counts(session) == once
    # a fresh page's key records again
    fresh = _key(client.get(f"/firms/{firm.id}").text, 'id="log-form"')
    assert fresh != key
    r = client.post(f"/firms/{firm.id}/activities", data=_log("二次", fresh, token))
    assert r.status_code == 200
    assert _counts(session)["Activity"] == once["Activity"] + 1


def test_log_contact_without_a_key_still_records(client, session):
    """A post without a key (a script, an old page) is recorded as before, every time."""
    me, _, firm = _world(session)
    token = login(client, me)
    before = _counts(session)
    for _ in range(2):
        r = client.post(f"/firms/{firm.id}/activities", data=_log("无键", None, token))
        assert r.status_code == 200
    for bad in ("short", "x" * 65, "含中文的键含中文的键含中文的键含中文的键"):
        client.post(f"/firms/{firm.id}/activities", data=_log("坏键", bad, token))
    after = _counts(session)
    assert after["Activity"] == before["Activity"] + 5
    assert after["FormSubmission"] == before["FormSubmission"]


def test_a_refused_form_keeps_its_key_and_records_once_after(client, session):
    me, _, firm = _world(session)
    token = login(client, me)
    key = _key(client.get(f"/firms/{firm.id}").text, 'id="log-form"')
    before = _counts(session)
    refused = client.post(
        f"/firms/{firm.id}/activities", data=_log("", key, token), headers=hx(token)
    )
    assert refused.status_code == 422
    assert _key(refused.text) == key  # nothing recorded: the form keeps its key
    assert _counts(session) == before  # not even the key
    ok = client.post(
        f"/firms/{firm.id}/activities", data=_log("补上", key, token), headers=hx(token)
    )
    assert ok.status_code == 200 and "补上" in ok.text
    again = client.post(
        f"/firms/{firm.id}/activities", data=_log("补上", key, token), headers=hx(token)
    )
    assert "已提交，未重复记录" in again.text
    assert _counts(session)["Activity"] == before["Activity"] + 1


def test_another_users_key_is_not_theirs(client, session):
    me, colleague, firm = _world(session)
    token = login(client, me)
    key = _key(client.get(f"/firms/{firm.id}").text, 'id="log-form"')
    client.post(f"/firms/{firm.id}/activities", data=_log("我的", key, token))
    before = _counts(session)
    # the colleague posting my key: their own submission, recorded (and told nothing of mine)
    token2 = login(client, colleague)
    r = client.post(
        f"/firms/{firm.id}/activities", data=_log("同事的", key, token2), follow_redirects=False
    )
    assert r.status_code == 303
    after = _counts(session)
    assert after["Activity"] == before["Activity"] + 1
    assert after["FormSubmission"] == before["FormSubmission"] + 1
    owners = set(session.scalars(select(FormSubmission.user_id).where(FormSubmission.key == key)))
    assert owners == {me.id, colleague.id}


def test_a_failure_after_the_write_is_not_doubled_by_the_retry(client, session, monkeypatch):
    """The contact is committed in its short write; the answer read after it fails (a 500):
    the browser's retry with the same form records nothing more."""
    import web.firm_page

    me, _, firm = _world(session)
    token = login(client, me)
    key = _key(client.get(f"/firms/{firm.id}").text, 'id="log-form"')
    before = _counts(session)

    def broken(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("the answer could not be read")

    monkeypatch.setattr(web.firm_page, "entries_for", broken)
    failed = client.post(
        f"/firms/{firm.id}/activities", data=_log("半途", key, token), headers=hx(token)
    )
    assert failed.status_code == 500
    monkeypatch.undo()
    saved = _counts(session)
    assert saved["Activity"] == before["Activity"] + 1  # committed before the failure
    retry = client.post(
        f"/firms/{firm.id}/activities", data=_log("半途", key, token), headers=hx(token)
    )
    assert retry.status_code == 200 and "已提交，未重复记录" in retry.text
    assert _counts(session) == saved


def test_log_anywhere_form_posted_twice_goes_to_the_same_record(client, session):
    """/activities/new (the project page's and the header's "记录接触")."""
    me, _, firm = _world(session)
    p = make_project(session, firm, "NB", "negotiating", owner=me)
    session.commit()
    token = login(client, me)
    page = client.get(f"/activities/new?project_id={p.id}").text
    key = _key(page)
    data = {
        "csrf_token": token,
        "submission_key": key,
        "kind": "call",
        "summary": "项目页记录",
        "firm_ids": str(firm.id),
        "project_ids": str(p.id),
        "followup_title": "寄资料",
        "followup_due": (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
    }
    before = _counts(session)
    first = client.post("/activities/new", data=data, follow_redirects=False)
    assert first.status_code == 303
    once = _counts(session)
    assert once["Activity"] == before["Activity"] + 1
    assert once["Followup"] == before["Followup"] + 1
    again = client.post("/activities/new", data=data, follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    htmx = client.post("/activities/new", data=data, headers=hx(token))
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"] == first.headers["location"]
    assert _counts(session) == once


def test_add_contact_posted_twice_records_once(client, session):
    me, _, firm = _world(session)
    token = login(client, me)
    key = _key(client.get(f"/firms/{firm.id}").text, 'id="contacts"')
    data = {"csrf_token": token, "submission_key": key, "name": "李四", "phone": "023-1"}
    before = _counts(session)
    first = client.post(f"/firms/{firm.id}/contacts", data=data, follow_redirects=False)
    assert first.status_code == 303
    once = _counts(session)
    assert once["Contact"] == before["Contact"] + 1
    again = client.post(f"/firms/{firm.id}/contacts", data=data, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == f"/firms/{firm.id}"
    card = client.post(f"/firms/{firm.id}/contacts", data=data, headers=hx(token))
    assert card.status_code == 200 and "已提交，未重复记录" in card.text
    assert _counts(session) == once
    # a refused add keeps its key
    key2 = _key(card.text, "<form")
    refused = client.post(
        f"/firms/{firm.id}/contacts",
        data={**data, "submission_key": key2, "name": "", "email": "not-an-email"},
        headers=hx(token),
    )
    assert refused.status_code == 422 and _key(refused.text, "<form") == key2
    assert _counts(session) == once


def test_new_followup_posted_twice_records_once(client, session):
    me, _, firm = _world(session)
    token = login(client, me)
    key = _key(client.get(f"/followups/new?firm_id={firm.id}").text)
    due = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    data = {
        "csrf_token": token,
        "submission_key": key,
        "title": "回访",
        "due_at": due,
        "firm_id": str(firm.id),
    }
    refused = client.post("/followups/new", data={**data, "title": ""})
    assert refused.status_code == 422 and _key(refused.text) == key
    before = _counts(session)
    first = client.post("/followups/new", data=data, follow_redirects=False)
    assert first.status_code == 303
    again = client.post("/followups/new", data=data, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    after = _counts(session)
    assert after["Followup"] == before["Followup"] + 1
    assert after["AuditRecord"] == before["AuditRecord"] + 1


def test_new_firm_posted_twice_goes_to_the_firm_made_once(client, session):
    me, _, _ = _world(session)
    token = login(client, me)
    key = _key(client.get("/firms/new").text)
    data = {"csrf_token": token, "submission_key": key, "name_zh": "双击新建企业有限公司"}
    before = _counts(session)
    first = client.post("/firms/new", data=data, follow_redirects=False)
    assert first.status_code == 303
    # not "this firm exists already": the same submission, answered as the first was
    again = client.post("/firms/new", data=data, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    after = _counts(session)
    assert after["Firm"] == before["Firm"] + 1
    assert after["AuditRecord"] == before["AuditRecord"] + 1


def test_new_project_and_capital_posted_twice_record_once(client, session):
    me, _, firm = _world(session)
    token = login(client, me)
    key = _key(client.get(f"/projects/new?firm_id={firm.id}").text)
    data = {
        "csrf_token": token,
        "submission_key": key,
        "title": "双击项目",
        "firm_id": str(firm.id),
        "cluster": "NB",
        "stage": "lead",
    }
    before = _counts(session)
    first = client.post("/projects/new", data=data, follow_redirects=False)
    assert first.status_code == 303, first.text[:500]
    again = client.post("/projects/new", data=data, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert _counts(session)["Project"] == before["Project"] + 1

    p = make_project(session, firm, "NB", "signed", owner=me)
    session.commit()
    page = client.get(f"/projects/{p.id}").text
    key = _key(page, f'action="/projects/{p.id}/capital"')
    cap = {"csrf_token": token, "submission_key": key, "amount": "1.5", "arrived_on": "2026-11-01"}
    before = _counts(session)
    assert client.post(f"/projects/{p.id}/capital", data=cap).status_code == 200
    assert client.post(f"/projects/{p.id}/capital", data=cap).status_code == 200
    after = _counts(session)
    assert after["CapitalArrival"] == before["CapitalArrival"] + 1
    assert after["AuditRecord"] == before["AuditRecord"] + 1


def test_old_keys_are_forgotten(session):
    me = make_user(session, "officer", make_department(session))
    session.commit()
    submissions.claim(session, me, "k" * 20, **POST, outcome="/a")
    session.commit()
    with pytest.raises(submissions.AlreadySubmitted) as again:
        submissions.claim(session, me, "k" * 20, **POST)
    assert again.value.outcome == "/a"
    session.rollback()
    assert submissions.forget_old(session, utcnow() + timedelta(days=6)) == 0
    assert submissions.forget_old(session, utcnow() + timedelta(days=8)) == 1
    session.commit()
    submissions.claim(session, me, "k" * 20, **POST)  # free again
    session.rollback()


def test_one_form_posted_at_once_from_two_web_processes_records_once(session, tmp_path):
    """The same form sent six times at the same moment (a retrying proxy, taps on two
    connections) to two web processes sharing the database: one contact, one key, every
    answer a success — none a 500."""
    import threading

    from bench.capacity import Browser
    from bench.server import serve
    from crm.db import get_engine
    from tests.factories import PASSWORD

    me, _, firm = _world(session)
    url = get_engine().url.render_as_string(hide_password=False)
    tries = 6
    start = threading.Barrier(tries)
    answers: list[int] = []
    with serve(url, tmp_path, workers=2) as server:
        browsers = []
        for _ in range(tries):
            b = Browser(server.base)
            b.login(me.username, PASSWORD)
            browsers.append(b)
        _, page = browsers[0].request("GET", f"/firms/{firm.id}")
        key = _key(page.decode(), 'id="log-form"')

        def post(b: Browser) -> None:
            start.wait()
            status, _ = b.request(
                "POST",
                f"/firms/{firm.id}/activities",
                {"kind": "call", "summary": "同时到达", "submission_key": key},
                htmx=True,
            )
            answers.append(status)

        threads = [threading.Thread(target=post, args=(b,)) for b in browsers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for b in browsers:
            b.close()
    assert answers == [200] * tries
    counts = _counts(session)
    assert counts["Activity"] == 1
    assert counts["FormSubmission"] == 1


def test_the_quarter_hourly_job_forgets_week_old_keys(session):
    from jobs.tasks import fill_summaries

    me = make_user(session, "officer", make_department(session))
    session.commit()
    submissions.claim(session, me, "j" * 20, **POST, outcome="/b")
    session.commit()
    fill_summaries(now=utcnow() + timedelta(days=1))
    assert _counts(session)["FormSubmission"] == 1
    fill_summaries(now=utcnow() + timedelta(days=8))
    assert _counts(session)["FormSubmission"] == 0


def test_every_create_form_shown_again_after_a_refusal_keeps_its_key(client, session):
    me, _, firm = _world(session)
    p = make_project(session, firm, "NB", "signed", owner=me)
    session.commit()
    token = login(client, me)
    before = _counts(session)
    cases = [
        ("/firms/new", "/firms/new", {"name_zh": ""}, ""),
        (f"/projects/new?firm_id={firm.id}", "/projects/new", {"firm_id": str(firm.id)}, ""),
        ("/activities/new", "/activities/new", {"kind": "visit", "summary": ""}, ""),
        (
            f"/projects/{p.id}",
            f"/projects/{p.id}/capital",
            {"amount": "-1"},
            f'action="/projects/{p.id}/capital"',
        ),
    ]
    for page, post, data, after in cases:
        key = _key(client.get(page).text, after)
        r = client.post(post, data={"csrf_token": token, "submission_key": key, **data})
        assert r.status_code in (409, 422), (post, r.status_code)
        assert _key(r.text, after) == key, post
    assert _counts(session) == before


def test_page_forms_posted_at_once_to_one_web_process_record_once(session, tmp_path):
    """A double tap on the new project, new follow-up and capital forms reaching one web
    process at once: the second post waits for the first's lock (the key's, its parent's) in a
    worker thread, never on the event loop — where it would also stop the first from reaching
    its commit, and the whole process from answering (ATTACK12 F1, PostgreSQL)."""
    import threading

    from bench.capacity import Browser
    from bench.server import serve
    from crm.db import get_engine
    from tests.factories import PASSWORD

    me, _, firm = _world(session)
    p = make_project(session, firm, "NB", "signed", owner=me)
    session.commit()
    url = get_engine().url.render_as_string(hide_password=False)
    tries = 4
    due = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    forms = [
        (
            f"/projects/new?firm_id={firm.id}",
            "/projects/new",
            "Project",
            {"title": "同时到达的项目", "firm_id": str(firm.id), "cluster": "NB", "stage": "lead"},
        ),
        (
            f"/followups/new?firm_id={firm.id}",
            "/followups/new",
            "Followup",
            {"title": "同时到达的回访", "due_at": due, "firm_id": str(firm.id)},
        ),
        (
            f"/projects/{p.id}",
            f"/projects/{p.id}/capital",
            "CapitalArrival",
            {"amount": "1.5", "arrived_on": "2026-11-01"},
        ),
    ]
    with serve(url, tmp_path, workers=1) as server:
        browsers = []
        for _ in range(tries):
            b = Browser(server.base)
            b.login(me.username, PASSWORD)
            browsers.append(b)
        for page_path, post_path, model, fields in forms:
            _, page = browsers[0].request("GET", page_path)
            key = _key(page.decode(), f'action="{post_path}"')
            before = _counts(session)
            start = threading.Barrier(tries)
            answers: list[int] = []

            def post(
                b: Browser,
                path: str = post_path,
                data: dict = fields,
                k: str = key,
                start: threading.Barrier = start,
                answers: list[int] = answers,
            ) -> None:
                start.wait()
                try:
                    status, _ = b.request("POST", path, {**data, "submission_key": k})
                except OSError:  # a timed-out answer: the process stopped answering
                    status = 0
                answers.append(status)

            threads = [threading.Thread(target=post, args=(b,)) for b in browsers]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            assert sorted(answers) in ([200] * tries, [303] * tries), (post_path, answers)
            after = _counts(session)
            assert after[model] == before[model] + 1, post_path
            assert after["FormSubmission"] == before["FormSubmission"] + 1, post_path
        for b in browsers:
            b.close()


def _every_count(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Every table's row count: a refused post leaves the whole database as it was."""
    from crm.models import metadata

    session.expire_all()
    return {
        t.name: session.scalar(select(func.count()).select_from(t)) or 0
        for t in metadata.sorted_tables
    }


REUSED = "这张表单已提交过，内容与这次不同"


def test_a_log_contact_key_posted_on_another_firm_is_refused(client, session):
    """ATTACK12 F2: firm A's log-a-contact key posted on firm B with other text was answered
    303 → firm A and nothing was recorded for B. It is refused, said on the form, nothing
    recorded; the form comes back with a new key, which records for firm B."""
    me, _, firm = _world(session)
    other = make_firm(session, "另一家企业", owner_id=me.id)
    session.commit()
    token = login(client, me)
    key = _key(client.get(f"/firms/{firm.id}").text, 'id="log-form"')
    first = client.post(
        f"/firms/{firm.id}/activities", data=_log("甲企业", key, token), follow_redirects=False
    )
    assert first.status_code == 303 and first.headers["location"] == f"/firms/{firm.id}"
    before = _every_count(session)
    plain = client.post(
        f"/firms/{other.id}/activities", data=_log("乙企业", key, token), follow_redirects=False
    )
    assert plain.status_code == 422, plain.status_code
    assert REUSED in plain.text and "Traceback" not in plain.text
    htmx = client.post(
        f"/firms/{other.id}/activities", data=_log("乙企业", key, token), headers=hx(token)
    )
    assert htmx.status_code == 422 and REUSED in htmx.text
    assert "乙企业" in htmx.text  # what was typed is shown again
    assert _every_count(session) == before
    fresh = _key(htmx.text)
    assert fresh != key
    ok = client.post(
        f"/firms/{other.id}/activities", data=_log("乙企业", fresh, token), follow_redirects=False
    )
    assert ok.status_code == 303 and ok.headers["location"] == f"/firms/{other.id}"
    session.expire_all()
    newest = session.scalars(select(Activity).order_by(Activity.id.desc())).first()
    assert newest is not None and newest.summary == "乙企业"
    assert _every_count(session)["activity"] == before["activity"] + 1


def test_a_form_sent_again_with_other_content_is_refused(client, session):
    """A form kept by the browser's Back, changed and sent again (or tampered): not "already
    submitted" — its new content would be lost — but refused, nothing recorded, the form again
    with what was typed and a new key."""
    me, _, firm = _world(session)
    token = login(client, me)
    key = _key(client.get(f"/followups/new?firm_id={firm.id}").text)
    due = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    data = {
        "csrf_token": token,
        "submission_key": key,
        "title": "第一份",
        "due_at": due,
        "firm_id": str(firm.id),
    }
    first = client.post("/followups/new", data=data, follow_redirects=False)
    assert first.status_code == 303
    before = _every_count(session)
    changed = client.post("/followups/new", data={**data, "title": "改过的"})
    assert changed.status_code == 422 and REUSED in changed.text
    assert "改过的" in changed.text
    fresh = _key(changed.text)
    assert fresh != key
    assert _every_count(session) == before
    # the page's key on another form (the follow-up's key on a contact): refused too
    contact = client.post(
        f"/firms/{firm.id}/contacts",
        data={"csrf_token": token, "submission_key": key, "name": "钱七"},
        headers=hx(token),
    )
    assert contact.status_code == 422 and REUSED in contact.text
    assert _key(contact.text, "<form") != key
    assert _every_count(session) == before
    again = client.post("/followups/new", data={**data, "title": "改过的", "submission_key": fresh})
    assert again.status_code == 200
    assert _every_count(session)["followup"] == before["followup"] + 1


def test_the_same_form_from_another_sign_in_is_already_submitted(client, session):
    """What a form digests is its fields as read, not its bytes: the CSRF token (another after
    signing in again), the fields' order, a blank field left out, spaces around a value — the
    same form, answered as the first post was, nothing recorded twice."""
    me, _, _ = _world(session)
    token = login(client, me)
    key = _key(client.get("/firms/new").text)
    data = {"csrf_token": token, "submission_key": key, "name_zh": "重新登录企业有限公司"}
    first = client.post("/firms/new", data=data, follow_redirects=False)
    assert first.status_code == 303
    client.cookies.clear()
    token2 = login(client, me)
    assert token2 != token
    once = _every_count(session)  # after the sign-in (its session and audit rows)
    again = client.post(
        "/firms/new",
        data={
            "name_zh": " 重新登录企业有限公司 ",
            "notes": "",
            "submission_key": key,
            "csrf_token": token2,
        },
        follow_redirects=False,
    )
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert _every_count(session) == once


def test_capital_sent_again_with_another_amount_is_refused_in_english_too(client, session):
    me, _, firm = _world(session)
    p = make_project(session, firm, "NB", "signed", owner=me)
    session.commit()
    token = login(client, me)
    switch_language(client, "en")
    key = _key(client.get(f"/projects/{p.id}").text, f'action="/projects/{p.id}/capital"')
    cap = {"csrf_token": token, "submission_key": key, "amount": "1.5", "arrived_on": "2026-11-01"}
    assert client.post(f"/projects/{p.id}/capital", data=cap).status_code == 200
    before = _every_count(session)
    # 1.50 is 1.5: the same amount, the same form
    same = client.post(f"/projects/{p.id}/capital", data={**cap, "amount": "1.50"})
    assert same.status_code == 200
    r = client.post(f"/projects/{p.id}/capital", data={**cap, "amount": "2"})
    assert r.status_code == 422
    assert "This form was already submitted with other content" in r.text
    assert _key(r.text, f'action="/projects/{p.id}/capital"') != key
    assert _every_count(session) == before


def test_every_create_form_refuses_its_key_with_other_content(client, session):
    """The firm, project and log-anywhere forms: sent again with other content, refused with
    the message, what was typed and a new key; nothing recorded."""
    me, _, firm = _world(session)
    session.commit()
    token = login(client, me)
    cases = [
        (
            "/firms/new",
            "/firms/new",
            {"name_zh": "换内容企业有限公司"},
            {"name_zh": "另一家企业公司"},
        ),
        (
            f"/projects/new?firm_id={firm.id}",
            "/projects/new",
            {"title": "换内容项目", "firm_id": str(firm.id), "cluster": "NB", "stage": "lead"},
            {"title": "另一个项目"},
        ),
        (
            "/activities/new",
            "/activities/new",
            {"kind": "call", "summary": "换内容记录", "firm_ids": str(firm.id)},
            {"summary": "另一条记录"},
        ),
    ]
    for page, post, data, change in cases:
        key = _key(client.get(page).text)
        sent = {"csrf_token": token, "submission_key": key, **data}
        first = client.post(post, data=sent, follow_redirects=False)
        assert first.status_code == 303, (post, first.text[:300])
        before = _every_count(session)
        r = client.post(post, data={**sent, **change})
        assert r.status_code == 422, (post, r.status_code)
        assert REUSED in r.text, post
        assert next(iter(change.values())) in r.text, post
        assert _key(r.text) != key, post
        assert _every_count(session) == before, post
