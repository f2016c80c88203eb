"""A kept report (``crm.reports.kept``) is the one building it again gives: after every kind of
write it reads — through the services or straight SQL from another connection, as another
process would — and inside a transaction that has changed something itself. The office's most
frequent write (a contact logged: the projects' rollups) leaves it kept."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text

from crm.db import get_engine
from crm.models.projects import Project
from crm.projects.schemas import StageMove
from crm.projects.service import move_stage
from crm.reports import kept
from crm.reports.common import ReportFilters, filtered
from crm.reports.coverage import _coverage, coverage_report
from crm.reports.layout import park_layout
from crm.reports.leaders import leaders_report
from crm.types import utcnow
from tests.factories import cluster, make_firm, make_project, park
from tests.reports_data import people


def _fresh(session: Any, actor: Any, f: ReportFilters) -> dict[str, Any]:
    return _coverage(session, f, filtered(session, actor, f)).model_dump(exclude={"generated_at"})


def _answer(session: Any, actor: Any, f: ReportFilters) -> dict[str, Any]:
    return coverage_report(session, actor, f).model_dump(exclude={"generated_at"})


@pytest.fixture
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def before(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(get_engine(), "before_cursor_execute", before)
    yield seen
    event.remove(get_engine(), "before_cursor_execute", before)


def _elsewhere(sql: str, **params: Any) -> None:
    """A committed write from another connection (another process, an SQL console)."""
    with get_engine().begin() as conn:
        conn.execute(text(sql), params)


def _status(report: dict[str, Any], code: str) -> str:
    return next(c["status"] for c in report["clusters"] if c["code"] == code)


def test_a_kept_coverage_report_follows_every_write_it_reads(session, statements) -> None:
    w = people(session)
    m = w.manager
    g = make_firm(session, "环球甲", global500_rank=7)
    p = make_project(session, g, "NB", "lead", owner=m, park_code="LJ", output="12.5")
    session.commit()
    filters = (ReportFilters(), ReportFilters(cluster="NB"), ReportFilters(detail=True))
    assert _status(_answer(session, m, ReportFilters()), "NB") == "pursuing"

    # kept: a second answer reads no project
    session.rollback()
    assert m.role == "manager"  # the user's row read again after the rollback, before counting
    statements.clear()
    answer = _answer(session, m, ReportFilters())
    assert statements and not any("FROM project" in s for s in statements), statements
    assert answer == _fresh(session, m, ReportFilters())

    other = make_firm(session, "环球乙", china500_rank=9)
    session.commit()
    nb, nb_name, ljp = (
        cluster(session, "NB").id,
        cluster(session, "NB").name_zh,
        park(session, "LJ").id,
    )
    focus = session.execute(
        text("SELECT focus FROM park_cluster WHERE cluster_id = :c AND park_id = :k"),
        {"c": nb, "k": ljp},
    ).scalar_one()
    pair = {"c": nb, "k": ljp, "f": focus}
    # each write, and whether it changes the whole city's report (all do some report's)
    writes: list[tuple[str, dict[str, Any], bool]] = [
        ("UPDATE project SET stage = 'signed' WHERE id = :p", {"p": p.id}, True),
        ("UPDATE project SET expected_output = 990000 WHERE id = :p", {"p": p.id}, True),
        ("UPDATE firm SET tier = 'other' WHERE id = :f", {"f": g.id}, True),
        ("UPDATE firm SET tier = 'leader', name_zh = '改名甲' WHERE id = :f", {"f": g.id}, True),
        (
            "UPDATE project SET is_confidential = :t, code_name = '代号九' WHERE id = :p",
            {"p": p.id, "t": True},
            True,
        ),
        ("UPDATE project SET firm_id = :f WHERE id = :p", {"f": other.id, "p": p.id}, False),
        ("UPDATE project SET department_id = :d WHERE id = :p", {"d": w.d2.id, "p": p.id}, False),
        # the policy's tables are kept between tests: each change is put back
        ("UPDATE cluster SET name_zh = '笔记本电脑基地（新）' WHERE id = :c", {"c": nb}, True),
        ("UPDATE cluster SET name_zh = :n WHERE id = :c", {"c": nb, "n": nb_name}, True),
        ("DELETE FROM park_cluster WHERE cluster_id = :c AND park_id = :k", pair, True),
        ("INSERT INTO park_cluster (cluster_id, park_id, focus) VALUES (:c, :k, :f)", pair, True),
        ("UPDATE project SET stage = 'lost', lost_reason = 'x' WHERE id = :p", {"p": p.id}, True),
        ("DELETE FROM stage_change WHERE project_id = :p", {"p": p.id}, False),
        ("DELETE FROM project WHERE id = :p", {"p": p.id}, False),
    ]
    filters += (ReportFilters(department_id=w.d1.id),)
    before = [_answer(session, m, f) for f in filters]
    try:
        for sql, params, changes in writes:
            _elsewhere(sql, **params)
            session.rollback()  # a new request: a transaction of its own
            now = [_answer(session, m, f) for f in filters]
            for f, got in zip(filters, now, strict=True):
                assert got == _fresh(session, m, f), (sql, f)
            assert (now[0] != before[0]) == changes, sql
            before = now
        assert _status(before[0], "NB") == "gap"
    finally:
        session.rollback()
        _elsewhere("UPDATE cluster SET name_zh = :n WHERE id = :c", c=nb, n=nb_name)
        _elsewhere("DELETE FROM park_cluster WHERE cluster_id = :c AND park_id = :k", **pair)
        _elsewhere(
            "INSERT INTO park_cluster (cluster_id, park_id, focus) VALUES (:c, :k, :f)", **pair
        )


def test_kept_leaders_and_layout_follow_the_writes_they_read(session, monkeypatch) -> None:
    """The leaders ladder (groups by parent, the bands' goals read every time) and the park
    layout (the parks' guided pairs and their focus) answer what building them again gives."""
    w = people(session)
    m = w.manager
    parent = make_firm(session, "集团甲")
    sub = make_firm(session, "子公司乙", china500_rank=3)
    p = make_project(session, sub, "NB", "signed", owner=m, park_code="XY", output="120")
    make_project(session, parent, "NB", "landed", owner=m, park_code="XY", output="400")
    session.commit()
    nb, xy = cluster(session, "NB").id, park(session, "XY").id
    pair = {"c": nb, "k": xy}
    focus = session.execute(
        text("SELECT focus FROM park_cluster WHERE cluster_id = :c AND park_id = :k"), pair
    ).scalar_one()
    goal_value = session.execute(
        text("SELECT value FROM plan_target WHERE code = 'ladder_100'")
    ).scalar_one()
    reports = (leaders_report, park_layout)

    def answers() -> list[dict[str, Any]]:
        session.rollback()  # a new request: a transaction of its own
        return [
            r(session, m, ReportFilters()).model_dump(exclude={"generated_at"}) for r in reports
        ]

    def fresh() -> list[dict[str, Any]]:
        with monkeypatch.context() as mp:
            mp.setattr(kept, "stamp", lambda _s: None)
            return answers()

    writes = [
        ("UPDATE firm SET parent_id = :f WHERE id = :s", {"f": parent.id, "s": sub.id}),
        ("UPDATE firm SET name_zh = '集团甲（改）' WHERE id = :f", {"f": parent.id}),
        ("UPDATE project SET park_id = NULL WHERE id = :p", {"p": p.id}),
        ("UPDATE park_cluster SET focus = 'x' WHERE cluster_id = :c AND park_id = :k", pair),
        (
            "UPDATE park_cluster SET focus = :f WHERE cluster_id = :c AND park_id = :k",
            {**pair, "f": focus},
        ),
        ("UPDATE plan_target SET value = 1 WHERE code = 'ladder_100'", {}),
        ("UPDATE plan_target SET value = :v WHERE code = 'ladder_100'", {"v": goal_value}),
    ]
    before = answers()
    assert answers() == before == fresh()
    try:
        for sql, params in writes:
            _elsewhere(sql, **params)
            now = answers()
            assert now == fresh(), sql
            assert now != before, sql
            before = now
    finally:
        session.rollback()
        _elsewhere(
            "UPDATE park_cluster SET focus = :f WHERE cluster_id = :c AND park_id = :k",
            **pair,
            f=focus,
        )
        _elsewhere("UPDATE plan_target SET value = :v WHERE code = 'ladder_100'", v=goal_value)


def test_logging_a_contact_leaves_the_report_kept(session) -> None:
    w = people(session)
    g = make_firm(session, "环球丙", global500_rank=8)
    p = make_project(session, g, "NEV", "negotiating", owner=w.manager)
    session.commit()
    at = kept.stamp(session)
    assert at is not None
    _elsewhere(
        "UPDATE project SET first_contact_at = :t, last_activity_at = :t, updated_at = :t "
        "WHERE id = :p",
        t=utcnow(),
        p=p.id,
    )
    session.rollback()
    assert kept.stamp(session) == at
    _elsewhere("UPDATE project SET notes = 'x' WHERE id = :p", p=p.id)
    session.rollback()
    assert kept.stamp(session) != at


def test_a_transaction_sees_its_own_uncommitted_changes(session) -> None:
    """A report asked for inside a transaction that changed a project counts the change (on
    PostgreSQL the stamp is only written at commit: such a transaction is never served a
    kept report), and after a rollback the report is as before."""
    w = people(session)
    m = w.manager
    g = make_firm(session, "环球丁", global500_rank=9)
    p = make_project(session, g, "WIND", "contacted", owner=m)
    session.commit()
    assert _status(_answer(session, m, ReportFilters()), "WIND") == "pursuing"
    assert _status(_answer(session, m, ReportFilters()), "WIND") == "pursuing"  # kept
    move_stage(session, m, p.id, StageMove(stage="signed"))  # flushed, not committed
    assert _status(_answer(session, m, ReportFilters()), "WIND") == "covered"
    session.rollback()
    assert _status(_answer(session, m, ReportFilters()), "WIND") == "pursuing"
    assert session.get(Project, p.id).stage == "contacted"  # type: ignore[union-attr]


def _trigger(session: Any, name: str) -> str:
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        sql = "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = :n"
    else:
        sql = "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"
    found: str = conn.execute(text(sql), {"n": name}).scalar_one()
    return found


def test_every_project_column_but_the_contact_rollups_changes_the_stamp(session) -> None:
    """SQLite's update triggers name their columns: a column added to projects later must be
    added to them, or this fails (a kept report must not miss a change of what it shows).
    PostgreSQL's compare whole rows but the rollups."""
    rollups = {"first_contact_at", "last_activity_at", "updated_at"}
    if session.connection().dialect.name == "postgresql":
        sql = _trigger(session, "report_stamp_project_upd")
        assert set(re.findall(r"to_jsonb\(old\.\*\).*?IS DISTINCT", sql, re.I)), sql
        old_side = sql[sql.lower().index("to_jsonb(old") : sql.index("IS DISTINCT")]
        assert set(re.findall(r"'(\w+)'::text", old_side)) == rollups, sql
        firm = _trigger(session, "report_stamp_firm_upd")
        assert set(re.findall(r"'(\w+)'::text", firm)) == {"updated_at"}, firm
        return
    found = re.search(r"UPDATE OF (.+?) ON\b", _trigger(session, "report_stamp_project_upd"))
    assert found
    watched = {c.strip() for c in found.group(1).split(",")}
    assert watched == set(Project.__table__.columns.keys()) - rollups
    found = re.search(r"UPDATE OF (.+?) ON\b", _trigger(session, "report_stamp_firm_upd"))
    assert found
    assert {"name_zh", "name_en", "tier", "parent_id"} <= {
        c.strip() for c in found.group(1).split(",")
    }
