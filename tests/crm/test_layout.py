"""The park layout: each park of the plan with its guided clusters (the coverage report's own
matrix, pair by pair), its live projects, and a confidential project by its code name only."""

from __future__ import annotations

from decimal import Decimal

from crm.reports.common import ReportFilters
from crm.reports.coverage import coverage_report
from crm.reports.layout import park_layout
from tests.factories import make_firm, make_project
from tests.reports_data import coverage_world


def world(session):
    """coverage_world, plus a confidential NB project of department d2 signed at XY (白杨)."""
    w = coverage_world(session)
    g4 = make_firm(session, "环球四号", global500_rank=40)
    make_project(
        session,
        g4,
        "NB",
        "signed",
        owner=w.officer2,
        park_code="XY",
        output="7",
        is_confidential=True,
        code_name="白杨",
        title="环球四号西永项目",
    )
    session.commit()
    return w


def test_parks_with_their_guided_clusters_and_projects(session):
    w = world(session)
    r = park_layout(session, w.manager)
    parks = {p.code: p for p in r.parks}
    assert [p.code for p in r.parks][:4] == ["LJ", "XY", "XYFTZ", "LLCT"]  # the policy's order
    lj = parks["LJ"]
    assert (lj.tier, lj.district, lj.within) == ("core", "渝北区", None)
    assert [x.cluster for x in lj.pairs] == ["NB", "DATA", "NEV", "ENV", "RAIL", "BIO", "WIND",
                                             "LIGHT", "INST"]  # fmt: skip
    nb = lj.pairs[0]
    assert (nb.status, nb.project_count, nb.landed_count, nb.major_secured) == ("covered", 2, 1, 2)
    assert [(x.firm_name, x.stage, x.expected_output) for x in lj.projects] == [
        ("环球一号", "signed", Decimal("100.5000")),
        ("环球一号", "landed", Decimal("60.0000")),
    ]
    assert (lj.project_count, lj.outside_guidance) == (2, 0)
    # the bonded zone within XY: guided NB only, so L1's NEV project is outside its guidance
    ftz = parks["XYFTZ"]
    assert ftz.within == "XY" and [(x.cluster, x.status) for x in ftz.pairs] == [("NB", "gap")]
    assert (ftz.project_count, ftz.outside_guidance) == (1, 1)
    # a confidential project: its code name, never its title or its firm
    xy = parks["XY"]
    assert [(x.label, x.firm_name) for x in xy.projects] == [("白杨", "")]
    assert {x.cluster: x.status for x in xy.pairs}["NB"] == "covered"
    assert "环球四号" not in r.model_dump_json()
    assert [(x.cluster, x.status) for x in parks["JLP"].pairs if x.cluster == "MAT"] == [
        ("MAT", "gap")  # its only landed firm is of tier other
    ]
    assert r.no_park_projects == 4  # NB lead, COMM, ENV, RAIL (the lost IC project never counts)
    # every pair is the coverage report's matrix cell ("the same view"), figure by figure
    cov = same_view(session, w.manager, ReportFilters())
    assert (r.pairs, r.covered_pairs) == (len(cov), sum(c[0] == "covered" for c in cov.values()))


def same_view(session, actor, f):
    """The layout's pairs equal the coverage report's matrix cells for the same filter."""
    cov = {
        (m.park, m.cluster): (
            m.status,
            m.major_secured,
            m.major_pursuing,
            m.landed_count,
            m.project_count,
        )
        for m in coverage_report(session, actor, f).matrix
    }
    got = {
        (p.code, x.cluster): (
            x.status,
            x.major_secured,
            x.major_pursuing,
            x.landed_count,
            x.project_count,
        )
        for p in park_layout(session, actor, f).parks
        for x in p.pairs
    }
    assert got == cov
    return cov


def test_an_officer_sees_only_what_they_may_and_a_cluster_filter(session):
    w = world(session)
    r = park_layout(session, w.officer1)  # department d1: d2's confidential projects do not exist
    xy = {p.code: p for p in r.parks}["XY"]
    assert xy.projects == [] and {x.cluster: x.status for x in xy.pairs}["NB"] == "gap"
    assert r.no_park_projects == 3
    assert "白杨" not in r.model_dump_json()
    nb = park_layout(session, w.manager, ReportFilters(cluster="NB"))
    assert all([x.cluster for x in p.pairs] in ([], ["NB"]) for p in nb.parks)
    parks = {p.code: p for p in nb.parks}
    assert parks["JLP"].project_count == 0 and parks["JLP"].projects == []  # MAT is not NB
    assert parks["XYFTZ"].project_count == 0  # NEV is not NB
    assert len(parks["LJ"].projects) == 2 and nb.cluster == "NB"
    same_view(session, w.officer1, ReportFilters())
    same_view(session, w.manager, ReportFilters(cluster="NB"))
    same_view(session, w.manager, ReportFilters(department_id=w.d2.id))
