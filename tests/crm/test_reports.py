"""The reports on hand-built datasets (tests/reports_data.py holds the hand-worked figures)."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest

from crm.errors import PermissionDenied
from crm.models.activities import Activity
from crm.reports import registry
from crm.reports.common import ReportFilters
from crm.reports.coverage import coverage_report
from crm.reports.delivery import delivery_report
from crm.reports.leaders import leaders_report, top_level
from crm.reports.pipeline import pipeline_report
from crm.reports.targets import targets_report
from crm.types import utcnow
from tests.factories import make_firm, make_followup, make_project
from tests.reports_data import coverage_world, ladder_world, people, pipeline_world

D = Decimal


def statuses(report):
    return {c.code: c.status for c in report.clusters}


def test_coverage_statuses_worked_by_hand(session):
    w = coverage_world(session)
    r = coverage_report(session, w.manager)
    st = statuses(r)
    assert st["NB"] == "covered"  # global500 at signed
    assert st["COMM"] == "pursuing"  # china500 at negotiating only
    assert st["IC"] == "gap"  # the only major investor's project is lost
    assert st["NEV"] == "covered"  # a leader firm covers
    assert st["ENV"] == "gap"  # a tier-other firm at signed never covers
    assert st["MAT"] == "gap"  # tier other, even landed
    assert st["RAIL"] == "covered"  # confidential, seen by the manager
    for code in ("DATA", "BIO", "WIND", "LIGHT", "INST"):
        assert st[code] == "gap"
    assert r.counts == {"covered": 3, "pursuing": 1, "gap": 8}
    assert r.lacking == ["DATA", "COMM", "IC", "ENV", "BIO", "MAT", "WIND", "LIGHT", "INST"]
    assert "COMM" not in r.gaps and "IC" in r.gaps

    nb = next(c for c in r.clusters if c.code == "NB")
    assert [(m.name, m.tier, m.status) for m in nb.major_investors] == [
        ("环球一号", "global500", "covered")
    ]  # 普通二号 (tier other) is not a major investor
    assert nb.project_count == 2
    assert {p.stage for p in nb.projects} == {"signed", "landed"}
    comm = next(c for c in r.clusters if c.code == "COMM")
    assert [(m.name, m.status) for m in comm.major_investors] == [("中华一号", "pursuing")]
    assert [p.stage for p in comm.projects] == ["negotiating"]
    ic = next(c for c in r.clusters if c.code == "IC")
    assert ic.major_investors == [] and ic.projects == []
    rail = next(c for c in r.clusters if c.code == "RAIL")
    assert rail.projects[0].label == "青松"  # a confidential project by its code name only


def test_coverage_lists_investors_covering_first_by_tier_then_code_point_name(session):
    """A cluster's first 20 major investors (the page, the JSON): covering ones first; within
    each status global 500, China 500, leaders, then confidential projects by code name; names
    in code-point order whatever the database's collation ("Beta" and "Zeta" before "alpha",
    Latin before Chinese) — the order the full list (detail, Excel) has. A lost project and a
    tier-other firm are no investors; the counts cover every investor."""
    w = people(session)
    m = w.manager

    def firm(name, **tier):
        return make_firm(session, name, **tier)

    zeta = firm("Zeta", global500_rank=3)
    make_project(session, zeta, "NB", "signed", owner=m)
    make_project(session, firm("alpha", global500_rank=4), "NB", "lead", owner=m)
    make_project(session, firm("Beta", china500_rank=5), "NB", "landed", owner=m)
    zh = firm("中华", china500_rank=6)
    make_project(session, zh, "NB", "negotiating", owner=m)
    make_project(session, zh, "NB", "signed", owner=m)
    leaders = [firm(f"L{i:02d}", is_leader=True) for i in range(22)]
    for i, f in enumerate(leaders):
        make_project(session, f, "NB", "signed" if i < 12 else "lead", owner=m)
    make_project(session, firm("bravo", is_leader=True), "NB", "operating", owner=m)
    conf = dict(owner=m, is_confidential=True)
    make_project(session, zeta, "NB", "signed", code_name="甲", **conf)
    make_project(session, leaders[0], "NB", "contacted", code_name="乙", **conf)
    make_project(session, firm("Lost", global500_rank=7), "NB", "lost", owner=m, lost_reason="走")
    make_project(session, firm("Other"), "NB", "signed", owner=m)
    session.commit()

    covering = ["Zeta", "Beta", "中华", *[f"L{i:02d}" for i in range(12)], "bravo", "甲"]
    pursuing = ["alpha", *[f"L{i:02d}" for i in range(12, 22)], "乙"]
    nb = coverage_report(session, m, ReportFilters(cluster="NB")).clusters[0]
    assert [x.name for x in nb.major_investors] == [*covering, *pursuing][:20]
    assert (nb.major_investor_count, nb.covering_investor_count) == (29, 17)
    assert nb.status == "covered" and nb.project_count == 17
    jia = next(x for x in nb.major_investors if x.name == "甲")
    assert (jia.firm_id, jia.tier, jia.secured_projects) == (None, "confidential", 1)
    z = nb.major_investors[0]  # the firm's entry holds its own visible project only
    assert (z.firm_id, z.secured_projects, z.pursuing_projects) == (zeta.id, 1, 0)
    full = coverage_report(session, m, ReportFilters(cluster="NB", detail=True)).clusters[0]
    assert [x.name for x in full.major_investors] == [*covering, *pursuing]
    assert [x.status for x in full.major_investors] == ["covered"] * 17 + ["pursuing"] * 12
    # the projects behind "covered": the secured ones, furthest stage first
    assert [p.stage for p in full.projects][:2] == ["operating", "landed"]
    assert len(full.projects) == 17 and "乙" not in [p.label for p in full.projects]


def test_coverage_respects_confidentiality(session):
    w = coverage_world(session)
    r1 = coverage_report(session, w.officer1)
    assert statuses(r1)["RAIL"] == "gap"
    assert r1.counts == {"covered": 2, "pursuing": 1, "gap": 9}
    assert "环球三号" not in r1.model_dump_json()
    r2 = coverage_report(session, w.officer2)
    assert statuses(r2)["RAIL"] == "covered"


def test_coverage_chain_links_and_park_matrix(session):
    w = coverage_world(session)
    r = coverage_report(session, w.manager, ReportFilters(cluster="NB"))
    assert [c.code for c in r.clusters] == ["NB"]
    links = {link.code: link for link in r.clusters[0].links}
    assert links["whole"].status == "covered" and links["whole"].major_investors == ["环球一号"]
    assert links["whole"].firm_count == 1
    assert links["displays"].firm_count == 0 and links["displays"].status == "gap"
    assert r.clusters[0].links_without_firm == len(links) - 1
    full = coverage_report(session, w.manager)
    comm_links = {link.code: link for c in full.clusters if c.code == "COMM" for link in c.links}
    assert comm_links["wireless"].status == "pursuing"
    cells = {(m.cluster, m.park): m for m in full.matrix}
    nb_lj = cells[("NB", "LJ")]  # global500 G1 signed and landed at LJ
    assert (nb_lj.status, nb_lj.major_secured, nb_lj.landed_count) == ("covered", 2, 1)
    assert nb_lj.project_count == 2 and nb_lj.advanced_count == 2
    assert cells[("NEV", "LJ")].status == "gap"
    assert ("NEV", "XYFTZ") not in cells  # not a pair the policy guides
    mat = cells[("MAT", "JLP")]  # landed, but by a tier-other firm: no major investor
    assert (mat.status, mat.landed_count) == ("gap", 1)
    assert full.landed_outside_guidance == 1  # NEV at XYFTZ
    assert full.matrix_covered_pairs == 1 and full.matrix_pursuing_pairs == 0
    assert full.matrix_pairs == len(full.matrix)


def test_park_matrix_by_the_coverage_rule_per_pair(session):
    """SPEC §5 "the same view": a pair is covered by a major investor at signed or beyond, pursued
    by one at lead to negotiating; a tier-other firm landed there never covers it."""
    w = people(session)
    m = w.manager
    other = make_firm(session, "普通集成电路")
    make_project(session, other, "IC", "landed", owner=m, park_code="XY", output="5")
    g = make_firm(session, "环球笔记本", global500_rank=1)
    make_project(session, g, "NB", "signed", owner=m, park_code="XY", output="50")
    c = make_firm(session, "中华笔记本", china500_rank=3)
    make_project(session, c, "NB", "lead", owner=m, park_code="LJ")
    make_project(session, other, "NB", "negotiating", owner=m, park_code="LJ")
    make_project(session, g, "NB", "lost", owner=m, park_code="JLP", lost_reason="走了")
    session.commit()
    r = coverage_report(session, m)
    cells = {(x.cluster, x.park): x for x in r.matrix}
    assert {c.code: c.status for c in r.clusters}["IC"] == "gap"
    assert (cells[("IC", "XY")].status, cells[("IC", "XY")].landed_count) == ("gap", 1)
    assert cells[("NB", "XY")].status == "covered" and cells[("NB", "XY")].landed_count == 0
    nb_lj = cells[("NB", "LJ")]
    assert (nb_lj.status, nb_lj.major_pursuing, nb_lj.project_count) == ("pursuing", 1, 2)
    assert nb_lj.advanced_count == 1  # the negotiating project; the lead is not 在谈及以上
    assert cells[("NB", "JLP")].status == "gap" and cells[("NB", "JLP")].project_count == 0
    assert (r.matrix_covered_pairs, r.matrix_pursuing_pairs) == (1, 1)
    # the Excel sheet carries the same statuses and counts
    from crm.reports.sheets import sheets

    (_, head, rows) = next(s for s in sheets("coverage", r) if s[0] == "集群×园区")
    row = next(x for x in rows if x[0] == "NB" and x[2] == "LJ")
    assert row[4:] == ["跟进中", 0, 1, 0, 1, 2]
    assert head[8] == "在谈及以上项目数"


def test_confidential_projects_by_code_name_only_in_coverage_and_delivery(session):
    """SPEC §5: never the firm, not even beside the code name (page, API and Excel alike)."""
    w = people(session)
    g = make_firm(session, "秘密环球", global500_rank=7)
    make_project(
        session,
        g,
        "NB",
        "signed",
        owner=w.officer2,
        output="10",
        investment="20",
        is_confidential=True,
        code_name="白鹤",
        title="秘密环球笔记本",
        expected_land_date=utcnow().date() - timedelta(days=30),
    )
    session.commit()
    from crm.reports.export import to_xlsx

    cov = coverage_report(session, w.manager, ReportFilters(detail=True))
    nb = next(c for c in cov.clusters if c.code == "NB")
    assert nb.status == "covered"
    assert [p.label for p in nb.projects] == ["白鹤"] and nb.projects[0].firm_id is None
    assert [m.name for m in nb.major_investors] == ["白鹤"]
    dl = delivery_report(session, w.manager, ReportFilters(detail=True))
    assert [(p.label, p.firm_name) for p in dl.late] == [("白鹤", "")]
    # nor the firm's tier beside the code name (it narrows the firm down): "confidential", as
    # the leaders ladder says (ATTACK8 P3-11)
    assert [m.tier for m in nb.major_investors] == [p.tier for p in nb.projects]
    assert nb.projects[0].tier == "confidential"
    assert "世界500强" not in str(
        list(openpyxl.load_workbook(io.BytesIO(to_xlsx("coverage", cov)))["支撑项目"].values)
    )
    for name, rep in (("coverage", cov), ("delivery", dl)):
        assert "秘密环球" not in rep.model_dump_json()
        assert "秘密环球".encode() not in to_xlsx(name, rep)


def test_a_confidential_project_never_counts_for_its_firms_named_entry(session):
    """ATTACK8 P1-2: the ordinary 撞单 — a confidential project signed, then another
    department's visible lead for the same firm and cluster. The coverage report lists the firm
    with its visible project only and the confidential one as an investor of its own under its
    code name (cluster and chain-link views, page, API and Excel), so no figure beside the
    firm's name comes from the confidential project; the cluster's status and project counts
    are the same as before."""
    from crm.reports.export import to_xlsx
    from tests.reports_data import _link

    w = people(session)
    g = make_firm(session, "弗莱克亚净化集团", global500_rank=9)
    link = _link(session, "COMM", "wireless")
    make_project(
        session,
        g,
        "COMM",
        "signed",
        owner=w.officer2,
        output="33",
        is_confidential=True,
        code_name="银河-11项目",
        title="弗莱克亚光伏秘密项目",
        chain_link_id=link,
    )
    make_project(session, g, "COMM", "lead", owner=w.officer1, chain_link_id=link)
    session.commit()
    cov = coverage_report(session, w.manager, ReportFilters(detail=True))
    comm = next(c for c in cov.clusters if c.code == "COMM")
    assert comm.status == "covered" and comm.project_count == 1
    rows = {
        (m.name, m.firm_id, m.status, m.secured_projects, m.pursuing_projects)
        for m in comm.major_investors
    }
    assert rows == {
        ("银河-11项目", None, "covered", 1, 0),
        ("弗莱克亚净化集团", g.id, "pursuing", 0, 1),
    }
    assert (comm.major_investor_count, comm.covering_investor_count) == (2, 1)
    (wireless,) = [x for x in comm.links if x.code == "wireless"]
    assert wireless.status == "covered" and wireless.major_investors == ["银河-11项目"]
    assert wireless.major_firm_count == 2 and wireless.project_count == 2
    # the workbook's investors sheet: the firm's row counts its visible lead only
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx("coverage", cov)))["重点投资者"]
    head, *body = [list(r) for r in sheet.iter_rows(values_only=True)]
    named = [r for r in body if "弗莱克亚净化集团" in r]
    assert len(named) == 1
    assert named[0][head.index("已签约项目数")] == 0 and named[0][head.index("在谈项目数")] == 1


def test_core_share_badge_and_figure_agree(session):
    """74.995% is below 75%: shown 74.99% (rounded down), never "75.00% 未达标"."""
    w = people(session)
    m = w.manager
    f = make_firm(session, "份额企业")
    make_project(session, f, "NB", "landed", owner=m, park_code="LJ", output="74.995")
    make_project(session, f, "NB", "landed", owner=m, output="25.005")
    session.commit()
    cs = targets_report(session, m).core_share
    assert cs.met is False and cs.share == D("0.7499")
    make_project(session, f, "NB", "landed", owner=m, park_code="XY", output="0.005")
    session.commit()
    cs = targets_report(session, m).core_share  # 75.000 / 100.005 = 0.74996…: still below
    assert cs.met is False and cs.share < cs.target


def test_targets_to_the_decimal(session):
    w = coverage_world(session)
    r = targets_report(session, w.manager)
    assert r.landed_output == D("150.0000") and r.signed_output == D("110.5000")
    nb = next(c for c in r.clusters if c.code == "NB")
    assert (nb.target_2015, nb.landed_output, nb.signed_output) == (
        D("10000.0000"),
        D("60.0000"),
        D("100.5000"),
    )
    assert nb.progress == D("0.0060") and nb.progress_with_signed == D("0.0161")
    nev = next(c for c in r.clusters if c.code == "NEV")
    assert nev.landed_output == D("30.2500") and nev.signed_output == D("0.0000")
    totals = {t.code: t for t in r.totals}
    assert totals["output_2012"].target == D("4000")
    assert totals["output_2012"].progress == D("0.0375")
    assert totals["output_2012"].with_signed_output == D("260.5000")
    assert totals["output_2012"].progress_with_signed == D("0.0651")
    assert totals["output_2015"].progress == D("0.0115")
    cs = r.core_share
    assert set(cs.core_parks) == {"LJ", "XY", "XYFTZ", "LLCT"}
    assert (cs.core_output, cs.total_output, cs.no_park_output) == (
        D("90.2500"),
        D("150.0000"),
        D("40.0000"),
    )
    assert cs.share == D("0.6017") and cs.target == D("0.75") and cs.met is False

    o1 = targets_report(session, w.officer1)
    assert o1.landed_output == D("110.0000")
    assert o1.core_share.share == D("0.8205") and o1.core_share.met is True


def test_leaders_ladder_bands_and_roll_up(session):
    w = ladder_world(session)
    r = leaders_report(session, w.manager)
    bands = {b.code: b for b in r.bands}
    assert [(f.name, f.output) for f in bands["ladder_1000"].firms] == [("集团甲", D("1000.0000"))]
    assert bands["ladder_1000"].firms[0].member_firms == 3
    assert [(f.name, f.output) for f in bands["ladder_500"].firms] == [
        ("企业E", D("999.9999")),
        ("企业A", D("500.0000")),
    ]
    # H's only counted project is confidential: the group is named by its code name, never its
    # firm (SPEC §5), and still counts in its band
    assert [(f.name, f.output, f.firm_id is None) for f in bands["ladder_100"].firms] == [
        ("白鹭", D("200.0000"), True),
        ("企业B", D("100.0000"), False),
    ]
    assert "企业H" not in r.model_dump_json()
    assert [(f.name, f.output) for f in bands["ladder_50"].firms] == [("企业C", D("50.0000"))]
    assert [(b.goal, b.count, b.met) for b in r.bands] == [
        (5, 1, False),
        (2, 2, True),
        (10, 2, False),
        (30, 1, False),
    ]
    assert r.below_50 == 1
    o1 = leaders_report(session, w.officer1)
    assert [f.name for f in next(b for b in o1.bands if b.code == "ladder_100").firms] == ["企业B"]


def test_leaders_counts_a_confidential_project_on_its_own_never_in_its_firms_group(session):
    """ATTACK8 P1-2 and ATTACK9 P1-2: a confidential project is an entry of its own under its
    code name with its own output, never counted into its firm's group. Counted in, it tied the
    code name to the firm either way: beside the firm's name (8), or, named by the code name, by
    the firm's visible output inside its figure (9: 91.17 = the firm's 89.67 + 1.5). The firm
    keeps its entry with its visible output; a subsidiary's confidential project is not added
    to its parent either."""
    w = people(session)
    both = make_firm(session, "集团乙")
    make_project(session, both, "NB", "signed", owner=w.manager, output="89.67")
    make_project(
        session,
        both,
        "IC",
        "landed",
        owner=w.officer2,
        output="1.5",
        is_confidential=True,
        code_name="青松",
    )
    hidden = make_firm(session, "集团丙")
    for code, output in (("红杉", "30"), ("黄杨", "60")):
        make_project(
            session,
            hidden,
            "NB",
            "signed",
            owner=w.officer2,
            output=output,
            is_confidential=True,
            code_name=code,
        )
    parent = make_firm(session, "集团丁")
    child = make_firm(session, "丁子公司", parent_id=parent.id)
    make_project(session, parent, "NB", "signed", owner=w.manager, output="70")
    make_project(
        session,
        child,
        "IC",
        "operating",
        owner=w.officer2,
        output="40",
        is_confidential=True,
        code_name="银杏",
    )
    session.commit()
    for detail in (False, True):
        r = leaders_report(session, w.manager, ReportFilters(detail=detail))
        rows = {(f.name, f.output, f.projects, f.firm_id is None) for b in r.bands for f in b.firms}
        assert rows == {
            ("集团乙", D("89.6700"), 1, False),
            ("集团丁", D("70.0000"), 1, False),
            ("黄杨", D("60.0000"), 1, True),
        }
        assert not {"集团丙", "丁子公司"} & {f.name for b in r.bands for f in b.firms}
        (band,) = [b for b in r.bands if b.code == "ladder_50"]
        assert band.count == 3
        # 青松 (1.5), 红杉 (30) and 银杏 (40) are below 50亿, each counted on its own
        assert r.below_50 == 3 and r.groups_with_output == 6


def test_top_level_stops_on_a_cycle():
    assert top_level({1: 2, 2: 3}, 1) == 3
    assert top_level({1: 2, 2: 1}, 1) == 2
    assert top_level({}, 7) == 7


def test_pipeline_by_stage_and_conversion(session):
    w = pipeline_world(session)
    r = pipeline_report(session, w.manager, ReportFilters(group_by="cluster"))
    g = {x.key: x for x in r.groups}
    assert g["NB"].stages["signed"].count == 1
    assert g["NB"].stages["signed"].planned_investment == D("20.0000")
    assert g["NB"].stages["contacted"].count == 1
    assert g["NB"].total.count == 2 and g["NB"].total.expected_output == D("13.0000")
    assert g["COMM"].lost == 1 and g["COMM"].total.count == 0
    assert r.totals["signed"].count == 2 and r.totals["signed"].expected_output == D("17.0000")
    assert r.total.count == 3 and r.total.planned_investment == D("32.0000")
    assert r.reached == {
        "lead": 5,
        "contacted": 4,
        "negotiating": 2,
        "signed": 2,
        "landed": 0,
        "operating": 0,
    }
    rates = {(c.from_stage, c.to_stage): c.rate for c in r.conversion}
    assert rates[("lead", "contacted")] == D("0.8000")
    assert rates[("contacted", "negotiating")] == D("0.5000")
    assert rates[("negotiating", "signed")] == D("1.0000")
    assert rates[("signed", "landed")] == D("0.0000")
    assert rates[("landed", "operating")] is None
    assert sum(x.new_projects for x in r.weeks) == 5
    assert sum(x.signings for x in r.weeks) == 2

    o1 = pipeline_report(session, w.officer1, ReportFilters(group_by="park"))
    assert o1.reached["lead"] == 4 and o1.reached["contacted"] == 3
    assert sum(x.new_projects for x in o1.weeks) == 4
    parks = {x.key: x for x in o1.groups}
    assert parks["LJ"].stages["signed"].count == 1 and parks["XY"].stages["signed"].count == 1
    assert parks[None].label == "未定园区"


def test_pipeline_groupings(session):
    w = pipeline_world(session)
    by_dept = pipeline_report(session, w.manager, ReportFilters(group_by="department"))
    assert {x.key: x.total.count for x in by_dept.groups} == {str(w.d1.id): 2, str(w.d2.id): 1}
    by_officer = pipeline_report(session, w.manager, ReportFilters(group_by="officer"))
    labels = {x.label for x in by_officer.groups}
    assert w.manager.display_name in labels and w.officer2.display_name in labels
    only_d1 = pipeline_report(session, w.manager, ReportFilters(department_id=w.d1.id))
    assert only_d1.reached["lead"] == 4


def test_activity_per_officer_per_week(session):
    w = people(session)
    now = utcnow()
    o = w.officer1
    f = make_firm(session, "活跃企业")
    for _ in range(3):
        session.add(
            Activity(
                kind="call",
                occurred_at=now,
                summary="电话",
                created_by_id=o.id,
                department_id=w.d1.id,
                created_at=now,
            )
        )
    make_followup(session, o, due_in=timedelta(hours=-2))  # overdue
    make_followup(session, o, due_in=timedelta(hours=-3), status="done", completed_at=now)  # done
    make_followup(session, o, due_in=timedelta(hours=-4), status="cancelled")
    created = now - timedelta(hours=10)
    make_project(
        session,
        f,
        "NB",
        "lead",
        owner=o,
        created_at=created,
        first_contact_at=created + timedelta(hours=2),
    )
    make_project(
        session,
        f,
        "COMM",
        "lead",
        owner=o,
        created_at=created,
        first_contact_at=created + timedelta(hours=5),
    )
    make_project(session, f, "IC", "lead", owner=o, created_at=created)  # no contact yet
    make_project(session, f, "NEV", "signed", owner=o, created_at=created)  # not a new lead
    session.commit()
    r = registry.run(session, w.manager, "activity", ReportFilters())
    me = next(x for x in r.officers if x.officer_id == o.id)
    assert (me.contacts, me.followups_done, me.new_leads, me.awaiting_contact) == (3, 1, 3, 1)
    assert me.median_response_hours == D("3.50")
    # the overdue one fell due two hours ago: in this week or (just after Monday 00:00) the last
    assert me.followups_overdue == 1
    assert sum(x.contacts for x in r.week_totals) == 3
    other = next(x for x in r.officers if x.officer_id == w.officer2.id)
    assert other.contacts == 0


def test_delivery(session):
    from datetime import date

    from crm.models.projects import CapitalArrival

    w = people(session)
    f = make_firm(session, "交付企业")
    p = make_project(
        session,
        f,
        "NB",
        "signed",
        owner=w.manager,
        investment="100",
        expected_jobs=500,
        actual_jobs=120,
        expected_land_date=date(2020, 1, 1),
    )
    make_project(
        session,
        f,
        "NB",
        "landed",
        owner=w.manager,
        investment="50",
        expected_land_date=date(2020, 1, 1),
        actual_land_date=date(2019, 12, 1),
    )
    make_project(session, f, "NB", "lead", owner=w.manager, investment="999")
    session.add(CapitalArrival(project_id=p.id, amount=D("30.5"), arrived_on=date(2020, 2, 1)))
    session.add(CapitalArrival(project_id=p.id, amount=D("9.5"), arrived_on=date(2020, 3, 1)))
    session.commit()
    r = delivery_report(session, w.manager)
    nb = next(c for c in r.clusters if c.code == "NB")
    assert (nb.projects, nb.planned_investment, nb.capital_arrived) == (
        2,
        D("150.0000"),
        D("40.0000"),
    )
    assert nb.capital_ratio == D("0.2667")
    assert (nb.expected_jobs, nb.actual_jobs, nb.late_landing) == (500, 120, 1)
    assert r.late_count == 1 and r.late[0].id == p.id


def test_officers_may_not_open_reports_but_figures_still_filter(session):
    w = coverage_world(session)
    with pytest.raises(PermissionDenied):
        registry.run(session, w.officer1, "coverage", ReportFilters())
    assert registry.run(session, w.manager, "coverage", ReportFilters()).counts["covered"] == 3


def test_bad_filters_are_validation_errors(session):
    from datetime import date

    from crm.errors import ValidationFailed

    w = people(session)
    with pytest.raises(ValidationFailed) as e:
        coverage_report(session, w.manager, ReportFilters(cluster="NOPE"))
    assert e.value.field == "cluster"
    with pytest.raises(ValidationFailed) as e:
        pipeline_report(
            session, w.manager, ReportFilters(date_from=date(2026, 2, 1), date_to=date(2026, 1, 1))
        )
    assert e.value.field == "date_from"
    with pytest.raises(ValidationFailed):
        pipeline_report(
            session, w.manager, ReportFilters(date_from=date(2000, 1, 1), date_to=date(2026, 1, 1))
        )


def test_pipeline_signings_count_the_first_secured_change_only(session):
    """Signed before the period and landed in it: no signing in the period. Signed in the
    period, then lost and signed again: one signing, in the week of the first."""
    from crm.models.projects import StageChange
    from tests.reports_data import people

    w = people(session)
    f = make_firm(session, "签约企业")
    now = utcnow()
    old = make_project(session, f, "NB", "landed", owner=w.manager)
    fresh = make_project(session, f, "NB", "signed", owner=w.manager)
    for pid, to, ago in [
        (old.id, "signed", 20),
        (old.id, "landed", 1),
        (fresh.id, "lost", 2),
        (fresh.id, "signed", 1),
    ]:
        session.add(
            StageChange(
                project_id=pid,
                from_stage="negotiating",
                to_stage=to,
                changed_at=now - timedelta(weeks=ago),
            )
        )
    session.commit()
    # make_project logged each one's opening at its stage just now; both are after the changes
    # above, so the first secured change of `old` is 20 weeks ago and of `fresh` a week ago
    r = pipeline_report(session, w.manager)
    assert sum(x.signings for x in r.weeks) == 1
    week = next(x for x in r.weeks if x.signings)
    from crm.clock import week_of

    assert week.week_start == week_of(now - timedelta(weeks=1))


def test_leaders_workbook_carries_every_firm_and_the_below_50_count(session):
    from crm.reports.leaders import FIRMS_LISTED
    from crm.reports.sheets import sheets

    w = people(session)
    n = FIRMS_LISTED + 3
    for i in range(n):
        make_project(
            session,
            make_firm(session, f"五十企业{i}"),
            "NB",
            "signed",
            owner=w.manager,
            output="60",
        )
    make_project(session, make_firm(session, "小企业"), "NB", "signed", owner=w.manager, output="1")
    session.commit()
    page = leaders_report(session, w.manager)
    band = next(b for b in page.bands if b.code == "ladder_50")
    assert band.count == n and len(band.firms) == FIRMS_LISTED  # the page: the first 100
    full = leaders_report(session, w.manager, ReportFilters(detail=True))
    book = {t: rows for t, _, rows in sheets("leaders", full)}
    assert sum(1 for r in book["龙头企业"] if r[0] == "50–100亿") == n
    assert ["50亿以下", None, 1, None] in book["5213梯队"]
