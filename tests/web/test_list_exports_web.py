"""The pipeline table and the follow-up list export what the page shows, from the page."""

from __future__ import annotations

import io

from python_calamine import CalamineWorkbook

from tests.factories import make_department, make_firm, make_followup, make_project, make_user
from tests.web.conftest import log_in as login
from tests.web.conftest import switch_language

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet(content: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


def test_pipeline_table_and_followups_export_as_filtered(client, session):
    d, other = make_department(session), make_department(session)
    me = make_user(session, "officer", d)
    firm = make_firm(session, "页面导出企业")
    make_project(session, firm, "NB", "signed", owner=me, title="签约的项目")
    make_project(session, firm, "IC", "lead", owner=me, title="线索项目")
    secret = make_project(session, firm, "NEV", "lead", owner=make_user(session, "officer", other))
    secret.is_confidential, secret.code_name, secret.title = True, "代号", "别部门的保密项目"
    make_followup(session, me, title="回访页面导出")
    session.commit()
    login(client, me)
    page = client.get("/pipeline?view=table")
    assert "format=xlsx" in page.text
    r = client.get("/pipeline?view=table&cluster=NB&format=xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    rows = sheet(r.content)
    assert rows[0][0] == "编号"
    text = str(rows)
    assert "签约的项目" in text and "线索项目" not in text  # as filtered
    assert "别部门的保密项目" not in str(sheet(client.get("/pipeline?format=xlsx").content))
    r = client.get("/followups?status=open&format=xlsx")
    assert r.headers["content-type"] == XLSX and "回访页面导出" in str(sheet(r.content))
    # in the page's language
    switch_language(client, "en")
    assert sheet(client.get("/followups?format=xlsx").content)[0][0] == "ID"


def test_admins_export_the_audit_trail_and_users(client, session):
    admin = make_user(session, "admin", display_name="管理员甲")
    officer = make_user(session, "officer", make_department(session))
    session.commit()
    login(client, officer)
    assert client.get("/admin/audit?format=xlsx").status_code == 403
    assert client.get("/admin/users?format=xlsx").status_code == 403
    client.cookies.clear()
    login(client, admin)
    r = client.get("/admin/audit?action=login&format=xlsx")
    assert r.headers["content-type"] == XLSX
    rows = sheet(r.content)
    assert rows[0][:3] == ["时间", "操作人", "操作"] and {x[2] for x in rows[1:]} == {"login"}
    r = client.get("/admin/users?format=xlsx")
    assert "管理员甲" in str(sheet(r.content))


def test_audit_days_are_checked_after_the_permission_and_never_a_500(client, session):
    admin = make_user(session, "admin")
    officer = make_user(session, "officer", make_department(session))
    session.commit()
    login(client, officer)
    for q in ("since=garbage", "since=0001-01-01", "until=9999-12-31"):
        assert client.get(f"/admin/audit?{q}").status_code == 403, q
    client.cookies.clear()
    login(client, admin)
    for q in ("since=0001-01-01", "until=9999-12-31", "since=garbage"):
        r = client.get(f"/admin/audit?{q}")
        assert r.status_code == 422, (q, r.status_code)
        field = q.split("=")[0]
        assert f'aria-invalid="true" aria-describedby="err-{field}"' in r.text, q
        assert f'<span class="error" id="err-{field}">' in r.text, q
        assert client.get(f"/admin/audit?{q}&format=xlsx").status_code == 422, q
    assert client.get("/admin/audit?since=2026-01-01&until=2026-12-31").status_code == 200
