"""The report endpoints: JSON figures, the Excel export read back with openpyxl, access."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from fastapi.testclient import TestClient

from crm.accounts.service import issue_api_token
from server.app import create_app
from tests.reports_data import coverage_world, ladder_world, pipeline_world

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


def bearer(session, user) -> dict[str, str]:
    raw, _ = issue_api_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {raw}"}


def sheet(content: bytes, name: str) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [tuple(r) for r in wb[name].iter_rows(values_only=True)]


def test_coverage_json_and_excel_agree(client, session):
    w = coverage_world(session)
    h = bearer(session, w.manager)
    r = client.get("/api/v1/reports/coverage", headers=h)
    assert r.status_code == 200
    data = r.json()
    assert data["counts"] == {"covered": 3, "pursuing": 1, "gap": 8}
    status = {c["code"]: c["status"] for c in data["clusters"]}
    x = client.get("/api/v1/reports/coverage.xlsx", headers=h)
    assert x.status_code == 200 and x.headers["content-type"] == XLSX
    rows = sheet(x.content, "集群覆盖")
    assert rows[0][:3] == ("集群代码", "产业集群", "覆盖状态")
    zh = {"covered": "已覆盖", "pursuing": "跟进中", "gap": "空白"}
    assert {r[0]: r[2] for r in rows[1:]} == {k: zh[v] for k, v in status.items()}
    assert {r[0]: r[5] for r in rows[1:]} == {
        c["code"]: c["project_count"] for c in data["clusters"]
    }
    same = client.get("/api/v1/reports/coverage?format=xlsx", headers=h)
    assert sheet(same.content, "集群覆盖") == rows


def test_targets_json_and_excel_agree(client, session):
    w = coverage_world(session)
    h = bearer(session, w.manager)
    data = client.get("/api/v1/reports/targets", headers=h).json()
    assert Decimal(data["landed_output"]) == Decimal("150")
    assert Decimal(data["core_share"]["share"]) == Decimal("0.6017")
    rows = sheet(client.get("/api/v1/reports/targets.xlsx", headers=h).content, "集群目标")
    for row, c in zip(rows[1:], data["clusters"], strict=True):
        assert row[0] == c["code"]
        assert isinstance(row[3], int | float)  # numbers as numbers
        assert Decimal(str(row[3])) == Decimal(c["landed_output"])
        assert Decimal(str(row[5])) == Decimal(c["signed_output"])
    core = dict(
        sheet(client.get("/api/v1/reports/targets.xlsx", headers=h).content, "双核占比")[1:]
    )
    assert Decimal(str(core["双核占比"])) == Decimal(data["core_share"]["share"])


def test_leaders_json_and_excel_agree(client, session):
    w = ladder_world(session)
    h = bearer(session, w.manager)
    data = client.get("/api/v1/reports/leaders", headers=h).json()
    rows = sheet(client.get("/api/v1/reports/leaders?format=xlsx", headers=h).content, "龙头企业")
    api = [(f["name"], Decimal(f["output"])) for b in data["bands"] for f in b["firms"]]
    assert [(r[1], Decimal(str(r[3])).quantize(Decimal("0.0001"))) for r in rows[1:]] == api
    assert api[0] == ("集团甲", Decimal("1000"))


def test_pipeline_json_and_excel_agree(client, session):
    w = pipeline_world(session)
    h = bearer(session, w.manager)
    data = client.get("/api/v1/reports/pipeline?group_by=park", headers=h).json()
    rows = sheet(
        client.get("/api/v1/reports/pipeline.xlsx?group_by=park", headers=h).content, "按阶段"
    )
    assert rows[0][0] == "园区"
    assert rows[-1][0] == "合计" and rows[-1][-3] == data["total"]["count"] == 3
    conv = sheet(client.get("/api/v1/reports/pipeline.xlsx", headers=h).content, "阶段转化")
    assert [r[2] for r in conv[1:]] == [c["reached_from"] for c in data["conversion"]]


@pytest.mark.parametrize("name", ["activity", "delivery"])
def test_other_reports_answer_json_and_excel(client, session, name):
    w = coverage_world(session)
    h = bearer(session, w.manager)
    assert client.get(f"/api/v1/reports/{name}", headers=h).status_code == 200
    x = client.get(f"/api/v1/reports/{name}.xlsx", headers=h)
    assert x.status_code == 200 and x.content[:2] == b"PK"


def test_officers_get_403_and_anonymous_401(client, session):
    w = coverage_world(session)
    r = client.get("/api/v1/reports/coverage", headers=bearer(session, w.officer1))
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert client.get("/api/v1/reports/targets").status_code == 401


def test_bad_filters_get_422_with_the_field(client, session):
    w = coverage_world(session)
    h = bearer(session, w.manager)
    r = client.get("/api/v1/reports/coverage?cluster=NOPE", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "cluster"
    r = client.get("/api/v1/reports/pipeline?group_by=planet", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "group_by"
    r = client.get("/api/v1/reports/pipeline?date_from=2026-02-01&date_to=2026-01-01", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "date_from"
    r = client.get("/api/v1/reports/targets?department_id=999999", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "department_id"


def test_coverage_lists_the_first_investors_and_counts_all(client, session):
    """A cluster with 25 major investors: the JSON lists 20 with the count of all; detail=true
    (the drill-down) and the Excel export list every one."""
    from tests.factories import make_firm, make_project
    from tests.reports_data import people

    w = people(session)
    for i in range(25):
        f = make_firm(session, f"龙头{i:02d}", is_leader=True)
        make_project(session, f, "NB", "signed" if i % 5 == 0 else "lead", owner=w.manager)
    make_project(session, make_firm(session, "普通企业"), "NB", "signed", owner=w.manager)
    session.commit()
    h = bearer(session, w.manager)
    nb = next(
        c
        for c in client.get("/api/v1/reports/coverage", headers=h).json()["clusters"]
        if c["code"] == "NB"
    )
    assert nb["status"] == "covered"
    assert (nb["major_investor_count"], nb["covering_investor_count"]) == (25, 5)
    assert len(nb["major_investors"]) == 20
    # covering investors first, then by name
    assert [m["name"] for m in nb["major_investors"][:5]] == [
        "龙头00",
        "龙头05",
        "龙头10",
        "龙头15",
        "龙头20",
    ]
    assert nb["project_count"] == 5  # the secured projects behind "covered"
    full = client.get("/api/v1/reports/coverage?cluster=NB&detail=true", headers=h).json()
    assert len(full["clusters"][0]["major_investors"]) == 25
    rows = sheet(client.get("/api/v1/reports/coverage.xlsx", headers=h).content, "重点投资者")
    assert len([r for r in rows[1:] if r[0] == "NB"]) == 25
    summary = {
        r[0]: r
        for r in sheet(client.get("/api/v1/reports/coverage.xlsx", headers=h).content, "集群覆盖")[
            1:
        ]
    }
    assert summary["NB"][3] == 25 and summary["NB"][4].endswith("等25家")


def test_briefing_map_and_layout_in_the_api(client, session):
    """The leadership's reports as JSON (the same figures as the services), Excel and the
    briefing's PDF; officers refused; the OpenAPI document describes them."""
    from crm.reports.briefing import briefing
    from crm.reports.citymap import city_map
    from crm.reports.common import ReportFilters
    from tests.crm.test_briefing import week_world

    w, monday = week_world(session)
    h = bearer(session, w.manager)
    r = client.get(f"/api/v1/reports/briefing?week={monday}&cluster=NB", headers=h)
    assert r.status_code == 200
    data = r.json()
    want = briefing(session, w.manager, monday, ReportFilters(cluster="NB"))
    assert data["week_start"] == str(monday) and data["scope"] == "cluster"
    assert data["signings_total"]["count"] == want.signings_total.count == 1
    assert [c["code"] for c in data["coverage_changes"]] == ["NB"]
    city = client.get(f"/api/v1/reports/briefing?week={monday}", headers=h).json()
    assert "青松" in {s["label"] for s in city["signings"]}
    assert "环球己" not in r.text + str(city)  # the confidential project: its code name only
    x = client.get(f"/api/v1/reports/briefing.xlsx?week={monday}", headers=h)
    assert x.status_code == 200 and x.headers["content-type"] == XLSX
    pdf = client.get(f"/api/v1/reports/briefing.pdf?week={monday}&park=XY", headers=h)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    m = client.get("/api/v1/reports/map?cluster=NB", headers=h).json()
    assert m == city_map(session, w.manager, ReportFilters(cluster="NB")).model_dump(
        mode="json"
    ) | {"generated_at": m["generated_at"]}
    lay = client.get("/api/v1/reports/layout?cluster=NB", headers=h).json()
    assert {p["code"] for p in lay["parks"]} >= {"LJ", "XY"} and lay["cluster"] == "NB"
    assert client.get("/api/v1/reports/layout.xlsx", headers=h).status_code == 200
    assert client.get("/api/v1/reports/briefing?park=no%20such", headers=h).status_code == 422
    assert client.get("/api/v1/reports/briefing?week=2026-13-01", headers=h).status_code == 422
    officer = bearer(session, w.officer1)
    for path in ("briefing", "briefing.pdf", "map", "layout"):
        assert client.get(f"/api/v1/reports/{path}", headers=officer).status_code == 403
        assert client.get(f"/api/v1/reports/{path}").status_code == 401
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for p in ("briefing", "briefing.pdf", "map", "layout"):
        assert f"/api/v1/reports/{p}" in paths
    assert "Briefing" in client.get("/api/v1/openapi.json").json()["components"]["schemas"]
