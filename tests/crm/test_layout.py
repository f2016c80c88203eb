"""The park layout: each park of the plan with its guided clusters (the coverage report's own
matrix, pair by pair), its live projects, and a confidential project by its code name only."""

from __future__ import annotations

from decimal import Decimal

from crm.reports.common import ReportFilters
from crm.reports.coverage import coverage_report
from crm.reports.layout import park_layout
from tests.factories import make_firm, make_project
from tests.reports_data import coverage_world, people


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


def test_the_first_projects_of_a_park_largest_first_ties_by_id_none_last(session):
    """A park lists its five largest live projects (expected output, none last, equal outputs
    by id): read per park from its index, under the filters and the visibility rule; with
    ``detail`` every live project in that order."""
    w = people(session)
    firm = make_firm(session, "大户一号", global500_rank=1)
    other = make_firm(session, "大户二号")

    def at_hx(output, stage="lead", owner=w.officer1, **kw):
        return make_project(session, firm, "NB", stage, owner=owner, park_code="HX", output=output,
                            **kw).id  # fmt: skip

    none1 = at_hx(None)
    a = at_hx("5")
    tie1, tie2 = at_hx("7"), at_hx("7")
    at_hx("100", "lost")  # lost: never listed
    none2 = at_hx(None)
    big = at_hx("9", owner=w.officer2)
    secret = at_hx("50", owner=w.officer2, is_confidential=True, code_name="松柏")
    small = make_project(session, other, "NB", "lead", owner=w.officer1, park_code="HX",
                         output="1").id  # fmt: skip
    session.commit()

    def listed(actor, **f):
        hx = {p.code: p for p in park_layout(session, actor, ReportFilters(**f)).parks}["HX"]
        return [(x.id, x.label) for x in hx.projects]

    assert [i for i, _ in listed(w.manager)] == [secret, big, tie1, tie2, a]
    assert listed(w.manager)[0][1] == "松柏"
    full = [secret, big, tie1, tie2, a, small, none1, none2]
    assert [i for i, _ in listed(w.manager, detail=True)] == full
    # officer1 (d1) does not know d2's confidential project exists: the next one moves up
    assert [i for i, _ in listed(w.officer1)] == [big, tie1, tie2, a, small]
    # one department: only its projects, the park's others skipped
    assert [i for i, _ in listed(w.manager, department_id=w.d2.id)] == [secret, big]
    assert [i for i, _ in listed(w.manager, department_id=w.d1.id, detail=True)] == [
        tie1, tie2, a, small, none1, none2]  # fmt: skip
    assert listed(w.manager, cluster="IC") == []


def test_the_park_index_holds_a_park_s_projects_in_the_page_s_order(session):
    """Migration 0020: largest expected output first and none last, as the page lists them
    (SQLite's DESC puts NULL last; PostgreSQL's needs NULLS LAST)."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        cols = conn.exec_driver_sql("PRAGMA index_xinfo(ix_project_park_output)").all()
        assert [(c[2], c[3]) for c in cols if c[5]][:3] == [
            ("park_id", 0),
            ("expected_output", 1),
            ("id", 0),
        ]
    else:
        sql = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_project_park_output'"
        ).scalar_one()
        assert "(park_id, expected_output DESC NULLS LAST, id," in sql
