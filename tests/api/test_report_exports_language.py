"""Every report's workbook in the reader's language (SPEC §4 "one language at a time"): an
English reader's sheets, headers and the words in them (states, stages, tiers, districts, the
plan's names) are English; a Chinese reader's stay Chinese."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from fastapi.testclient import TestClient

from crm.accounts.service import issue_api_token
from server.app import create_app
from tests.crm.test_briefing import week_world

CJK = re.compile(r"[\u3400-\u9fff]")
REPORTS = [
    "coverage",
    "pipeline",
    "targets",
    "leaders",
    "activity",
    "delivery",
    "briefing",
    "map",
    "layout",
]


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


def workbook(client, session, user, lang: str, name: str):
    user.language = lang
    session.add(user)
    session.commit()
    raw, _ = issue_api_token(session, user)
    session.commit()
    r = client.get(f"/api/v1/reports/{name}.xlsx", headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 200, r.text
    return openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)


def column(ws, header: str) -> list:
    rows = list(ws.iter_rows(values_only=True))
    i = rows[0].index(header)
    return [r[i] for r in rows[1:]]


@pytest.mark.parametrize("name", REPORTS)
def test_an_english_reader_gets_english_sheets_and_headers(client, session, name):
    w, _monday = week_world(session)
    wb = workbook(client, session, w.manager, "en", name)
    for ws in wb.worksheets:
        assert not CJK.search(ws.title), (name, ws.title)
        head = next(ws.iter_rows(values_only=True), ())
        assert head, (name, ws.title)
        chinese = [h for h in head if h and CJK.search(str(h))]
        assert not chinese, (name, ws.title, chinese)
    zh = workbook(client, session, w.manager, "zh_CN", name)
    assert any(CJK.search(ws.title) for ws in zh.worksheets)  # the same report, in Chinese


def test_the_words_inside_an_english_workbook_are_english(client, session):
    w, _monday = week_world(session)
    cov = workbook(client, session, w.manager, "en", "coverage")
    assert set(column(cov["Cluster coverage"], "Status")) <= {"Covered", "Pursuing", "Gap"}
    names = column(cov["Cluster coverage"], "Cluster")
    assert names and not any(CJK.search(n) for n in names)  # the pack's English names
    city = workbook(client, session, w.manager, "en", "map")
    districts = column(city["District"], "District")
    assert districts and not any(CJK.search(str(d)) for d in districts)
    assert "Yubei District" in districts  # 两江新区 lies in 渝北区
    tiers = column(city["Park"], "Tier")
    assert set(tiers) <= {"Two cores", "Ring", "Point", "Bonded zone"}, set(tiers)
    lad = workbook(client, session, w.manager, "en", "leaders")
    bands = [b for b in column(lad[lad.sheetnames[0]], "Band") if b]
    assert bands and not any(CJK.search(str(b)) for b in bands)


def test_a_chinese_reader_keeps_chinese(client, session):
    w, _monday = week_world(session)
    city = workbook(client, session, w.manager, "zh_CN", "map")
    assert "渝北区" in column(city["区县"], "区县")
    cov = workbook(client, session, w.manager, "zh_CN", "coverage")
    assert set(column(cov["集群覆盖"], "覆盖状态")) <= {"已覆盖", "跟进中", "空白"}
