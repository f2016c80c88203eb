"""The city map's figures: landed and operating output per district and park; with a cluster
chosen, the cluster's status per guided park by the coverage rule per pair."""

from __future__ import annotations

from decimal import Decimal

from crm.reports.citymap import city_map
from crm.reports.common import ReportFilters
from crm.reports.targets import targets_report
from tests.reports_data import coverage_world


def test_map_output_per_district_and_park(session):
    w = coverage_world(session)
    m = city_map(session, w.manager)
    parks = {p.code: p for p in m.parks}
    assert parks["LJ"].district == "渝北区" and parks["LJ"].tier == "core"
    assert parks["LJ"].landed_output == Decimal("60.0000")  # G1 landed at LJ
    assert parks["XYFTZ"].landed_output == Decimal("30.2500")
    assert parks["JLP"].landed_output == Decimal("19.7500")
    assert "NB" in parks["XY"].clusters
    districts = {d.name: d for d in m.districts}
    assert districts["沙坪坝区"].landed_output == Decimal("30.2500")  # XY + XYFTZ
    assert set(districts["沙坪坝区"].parks) == {"XY", "XYFTZ"}
    # every park has its district; the total is the targets report's landed output
    assert all(p.district for p in m.parks)
    assert m.landed_output == targets_report(session, w.manager).landed_output
    assert m.no_park_output == Decimal("40.0000")  # RAIL, no park


def test_map_with_a_cluster_shows_where_its_projects_and_gaps_are(session):
    w = coverage_world(session)
    m = city_map(session, w.manager, ReportFilters(cluster="NB"))
    parks = {p.code: p for p in m.parks}
    assert parks["LJ"].guided and parks["LJ"].status == "covered"
    assert parks["XY"].guided and parks["XY"].status == "gap"
    assert not parks["WZ"].guided or parks["WZ"].status == "gap"
    assert parks["JLP"].landed_output == Decimal("0.0000")  # MAT's output is not NB's
    mat = city_map(session, w.manager, ReportFilters(cluster="MAT"))
    assert {p.code: p.status for p in mat.parks}["JLP"] == "gap"  # tier other never covers
    assert not {p.code: p for p in mat.parks}["LJ"].guided
