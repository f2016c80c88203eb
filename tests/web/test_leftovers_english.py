"""Last session's probe leftovers: a stored website the check refuses now is shown as text and
flagged, never a link; the API docs page's title and the rejected-rows workbook's separators in
the reader's language."""

from __future__ import annotations

import io
import json

import openpyxl

from crm.imports.run_report import rejected_workbook
from crm.models.imports import ImportRun
from tests.factories import make_firm, make_user
from tests.web.conftest import log_in


def test_a_stored_javascript_website_is_never_a_link(client, session):
    bad = make_firm(session, "旧数据企业", website="https://javascript:alert(1)")
    good = make_firm(session, "正常企业", website="https://www.hp.com")
    admin = make_user(session, "admin")
    session.commit()
    log_in(client, admin)
    page = client.get(f"/firms/{bad.id}").text
    assert 'href="https://javascript:' not in page and "网址无效" in page
    page = client.get(f"/firms/{good.id}").text
    assert 'href="https://www.hp.com"' in page and "网址无效" not in page


def test_the_api_docs_title_in_the_readers_language(client):
    en = client.get("/api/docs", headers={"Accept-Language": "en"}).text
    assert "<title>Investment-attraction CRM API · /api/v1</title>" in en and "招商" not in en
    zh = client.get("/api/docs", headers={"Accept-Language": "zh-CN"}).text
    assert "<title>招商 CRM API · /api/v1</title>" in zh


def test_the_rejected_rows_workbook_in_english_has_no_chinese_separator():
    run = ImportRun(
        report=json.dumps(
            {
                "labels": {"name_zh": "企业名称", "clusters": "产业集群"},
                "rejected": [
                    [2, "name_zh", {"m": "必填", "p": {}}],
                    [2, "clusters", {"m": "未知产业集群：%(code)s", "p": {"code": "X"}}],
                ],
                "rows": {"2": {"name_zh": "", "clusters": "X"}},
            }
        )
    )
    for lang, sep in (("en", "; "), ("zh_CN", "；")):
        ws = openpyxl.load_workbook(io.BytesIO(rejected_workbook(run, lang))).active
        reason = [c.value for c in ws[2]][-1]
        assert sep in reason and reason.count(sep) == 1, reason
        assert ("；" not in reason) if lang == "en" else True
