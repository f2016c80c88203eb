"""Stage moves a person can trust: the picker offers the next stage first; a move back to an
earlier stage needs a confirmation and a reason (kept in the history); the board offers no
backward move."""

from __future__ import annotations

import re

from sqlalchemy import select

from crm.models.projects import Project, StageChange
from tests.factories import make_department, make_firm, make_project, make_user
from tests.web.conftest import log_in as login


def _first_option(html: str, after: str) -> str:
    part = html.split(after, 1)[1]
    m = re.search(r'<option value="(\w+)"', part)
    assert m is not None
    return m.group(1)


def test_backward_moves_ask_for_confirmation_and_a_reason(client, session):
    me = make_user(session, "officer", make_department(session))
    p = make_project(session, make_firm(session, "后退测试企业"), "NB", "signed", owner=me)
    session.commit()
    token = login(client, me)
    page = client.get(f"/projects/{p.id}").text
    assert _first_option(page, 'id="stage-to"') == "landed"
    board = client.get("/pipeline").text
    card = board.split(f'id="card-{p.id}"', 1)[1].split("</article>", 1)[0]
    assert _first_option(card, 'name="stage"') == "landed"
    assert 'value="lead"' not in card and 'value="negotiating"' not in card
    base = {"csrf_token": token, "stage": "lead", "version": "1", "via": "page"}
    r = client.post(f"/projects/{p.id}/stage", data=base)
    assert r.status_code == 422 and 'id="err-confirm_backward"' in r.text
    r = client.post(f"/projects/{p.id}/stage", data={**base, "confirm_backward": "1"})
    assert r.status_code == 422 and 'id="err-reason"' in r.text
    session.expire_all()
    assert session.get(Project, p.id).stage == "signed"
    r = client.post(
        f"/projects/{p.id}/stage",
        data={**base, "confirm_backward": "1", "reason": "签约被撤回"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    assert session.get(Project, p.id).stage == "lead"
    last = session.scalars(
        select(StageChange).where(StageChange.project_id == p.id).order_by(StageChange.id.desc())
    ).first()
    assert (last.from_stage, last.to_stage, last.reason) == ("signed", "lead", "签约被撤回")
