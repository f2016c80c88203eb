"""Every list as Excel through the API (?format=xlsx or Accept), in the caller's language, with
the list's own permission filters: a confidential project never reaches another department."""

from __future__ import annotations

import io

from python_calamine import CalamineWorkbook

from tests.factories import make_firm, make_followup, make_project
from tests.web.conftest import log_in

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet(content: bytes) -> list[list]:
    wb = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return wb.get_sheet_by_index(0).to_python()


def test_every_list_exports_as_filtered(client, people, session):
    firm = make_firm(session, "导出测试企业")
    other = make_firm(session, "另一家企业")
    secret = make_project(session, firm, "NB", owner=people.officer, title="绝密项目X")
    secret.is_confidential, secret.code_name = True, "代号X"
    make_project(session, other, "IC", owner=people.officer_b, title="公开项目Y")
    make_followup(session, people.officer, firm_id=firm.id, title="回访甲")
    session.commit()
    a, b = people.auth("officer"), people.auth("officer_b")
    for path in ("/api/v1/firms", "/api/v1/projects", "/api/v1/followups", "/api/v1/activities"):
        r = client.get(path, params={"format": "xlsx"}, headers=a)
        assert r.status_code == 200 and r.headers["content-type"] == XLSX, path
        assert sheet(r.content)[0][0] == "编号", path  # the officer's language: Chinese
        r2 = client.get(path, headers={**a, "Accept": XLSX})
        assert r2.headers["content-type"] == XLSX, path
    # as filtered on screen
    rows = sheet(client.get("/api/v1/firms?format=xlsx&q=导出", headers=a).content)
    assert [r[1] for r in rows[1:]] == ["导出测试企业"]
    # the confidential project: department A's officer sees it, department B's does not
    text_a = str(sheet(client.get("/api/v1/projects?format=xlsx", headers=a).content))
    text_b = str(sheet(client.get("/api/v1/projects?format=xlsx", headers=b).content))
    assert "代号X" in text_a and "代号X" not in text_b and "公开项目Y" in text_b
    assert "绝密项目X" not in text_a  # in an export by its code name only, even to its department
    assert "回访甲" in str(sheet(client.get("/api/v1/followups?format=xlsx", headers=a).content))
    # users: administrators only
    assert client.get("/api/v1/users?format=xlsx", headers=a).status_code == 403
    r = client.get("/api/v1/users?format=xlsx", headers=people.auth("admin"))
    assert r.status_code == 200 and any("张三" in map(str, row) for row in sheet(r.content))


def test_english_headers_for_an_english_reader(client, people, session):
    people.officer.language = "en"
    session.add(people.officer)
    session.commit()
    r = client.get("/api/v1/firms?format=xlsx", headers=people.auth("officer"))
    assert sheet(r.content)[0][:2] == ["ID", "Chinese name"]


def test_coded_columns_read_in_the_readers_language(client, people, session):
    """Stages, follow-up states and tiers are written as the reader reads them (the codes stay in
    the JSON): Chinese for a Chinese reader, English for an English one."""
    firm = make_firm(session, "阶段导出企业")
    make_project(session, firm, "NB", "negotiating", owner=people.officer, title="阶段项目")
    make_followup(session, people.officer, firm_id=firm.id, title="回访乙")
    session.commit()

    def column(path: str, header: str) -> list:
        rows = sheet(client.get(path, headers=people.auth("officer")).content)
        i = rows[0].index(header)
        return [r[i] for r in rows[1:]]

    assert "洽谈中" in column("/api/v1/projects?format=xlsx", "阶段")
    assert set(column("/api/v1/followups?format=xlsx", "状态")) == {"待办"}
    people.officer.language = "en"
    session.add(people.officer)
    session.commit()
    assert "Negotiating" in column("/api/v1/projects?format=xlsx", "Stage")
    assert set(column("/api/v1/followups?format=xlsx", "Status")) == {"Open"}
    assert "negotiating" not in column("/api/v1/projects?format=xlsx", "Stage")


def test_a_confidential_project_is_exported_by_its_code_name_only(client, people, session):
    """SPEC §5: in every export a confidential project appears by its code name only — never
    its title or its firm, not even beside the code name — also for its own department; a
    follow-up or activity on it loses its free text and its firm. Web and API alike."""
    firm = make_firm(session, "保密电子科技")
    secret = make_project(session, firm, "NB", owner=people.officer, title="保密电子-扩产")
    secret.is_confidential, secret.code_name = True, "雪峰"
    secret.notes = "谈判底价三亿"
    open_firm = make_firm(session, "公开汽车")
    make_project(session, open_firm, "IC", owner=people.officer, title="公开汽车-IC")
    make_followup(
        session, people.officer, firm_id=firm.id, project_id=secret.id, title="回访保密电子"
    )
    make_followup(session, people.officer, firm_id=open_firm.id, title="回访公开汽车")
    session.commit()
    h = people.auth("officer")
    r = client.post(
        "/api/v1/activities",
        headers=h,
        json={
            "kind": "visit",
            "occurred_at": "2026-11-02T02:00:00Z",
            "summary": "拜访保密电子董事长",
            "outcome": "同意扩产",
            "firm_ids": [firm.id],
            "project_ids": [secret.id],
        },
    )
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/activities",
        headers=h,
        json={
            "kind": "call",
            "occurred_at": "2026-11-03T02:00:00Z",
            "summary": "致电公开汽车",
            "firm_ids": [open_firm.id],
        },
    )
    assert r.status_code == 201, r.text
    hidden = ("保密电子", "谈判底价", "同意扩产")
    for who in ("officer", "manager", "admin"):
        h = people.auth(who)
        for path in ("/api/v1/projects", "/api/v1/followups", "/api/v1/activities"):
            text = str(sheet(client.get(path, params={"format": "xlsx"}, headers=h).content))
            assert not [w for w in hidden if w in text], (who, path, text)
            if who == "officer" or path != "/api/v1/followups":  # a manager's list: their own
                assert "雪峰" in text, (who, path)
        # the open project's firm id stays; the secret one's is blank
        rows = sheet(client.get("/api/v1/projects?format=xlsx", headers=h).content)
        head = rows[0]
        by_title = {r[head.index("标题")]: r for r in rows[1:]}
        assert by_title["雪峰"][head.index("企业编号")] in ("", None)
        assert by_title["公开汽车-IC"][head.index("企业编号")] == open_firm.id
    # the officers' pages export the same way
    log_in(client, people.officer)
    for path in ("/pipeline?format=xlsx", "/followups?format=xlsx", "/activities?format=xlsx"):
        r = client.get(path)
        assert r.status_code == 200, path
        text = str(sheet(r.content))
        assert not [w for w in hidden if w in text] and "雪峰" in text, (path, text)


def test_a_confidential_projects_conflict_partner_does_not_point_at_it(client, people, session):
    """ATTACK8 P1-3: the confidential row was redacted, but its 撞单 partner's row named the firm
    and gave the confidential project's id — the firm of the code name, read off the export."""
    firm = make_firm(session, "撞单保密企业")
    secret = make_project(
        session, firm, "NB", "signed", owner=people.officer, title="保密撞单项目", output="60"
    )
    secret.is_confidential, secret.code_name = True, "雪峰-72项目"
    public = make_project(session, firm, "NB", owner=people.officer_b, title="公开撞单项目")
    secret.conflict_with_id, public.conflict_with_id = public.id, secret.id
    plain = make_project(session, make_firm(session, "普通企业"), "IC", owner=people.officer_b)
    other = make_project(session, make_firm(session, "普通企业二"), "IC", owner=people.officer)
    plain.conflict_with_id, other.conflict_with_id = other.id, plain.id
    session.commit()
    rows = sheet(client.get("/api/v1/projects?format=xlsx", headers=people.auth("manager")).content)
    head = rows[0]
    by_id = {r[head.index("编号")]: dict(zip(head, r, strict=True)) for r in rows[1:]}
    s, p = by_id[secret.id], by_id[public.id]
    assert s["标题"] == "雪峰-72项目" and s["企业名称"] in ("", None)
    assert s["撞单项目编号"] in ("", None) and s["撞单"] in ("", None)
    assert p["企业名称"] == "撞单保密企业" and p["撞单"] == "是"
    assert p["撞单项目编号"] in ("", None)  # not the confidential project's id
    # a pair of ordinary projects keeps pointing at each other
    assert (
        by_id[plain.id]["撞单项目编号"] == other.id and by_id[other.id]["撞单项目编号"] == plain.id
    )


def test_no_export_has_a_raw_field_name_as_a_header(client, people, session):
    """ATTACK8 P3-3: the projects export had firm_name, conflict_with_id, first_contact_at …"""
    from crm.exports import LABELS

    firm = make_firm(session, "表头企业")
    make_project(session, firm, "NB", owner=people.officer)
    make_followup(session, people.admin, firm_id=firm.id, title="表头回访")
    session.commit()
    admin = people.auth("admin")
    r = client.post(f"/api/v1/firms/{firm.id}/contacts", json={"name": "表头联系人"}, headers=admin)
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/activities",
        json={
            "kind": "call",
            "occurred_at": "2026-11-02T10:00:00+08:00",
            "summary": "表头接触",
            "firm_ids": [firm.id],
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    for lang in ("zh_CN", "en"):
        people.admin.language = lang
        session.add(people.admin)
        session.commit()
        known = {zh if lang == "zh_CN" else en for zh, en in LABELS.values()}
        for path in (
            "/api/v1/firms",
            "/api/v1/projects",
            "/api/v1/followups",
            "/api/v1/activities",
            "/api/v1/contacts",
            "/api/v1/users",
        ):
            r = client.get(path, params={"format": "xlsx"}, headers=people.auth("admin"))
            assert r.status_code == 200, path
            rows = sheet(r.content)
            assert len(rows) >= 2, path  # a header and at least one row
            assert set(rows[0]) <= known, (path, lang, set(rows[0]) - known)
