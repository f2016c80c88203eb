"""A page's small fixed reads on the driver's cursor (crm.db.DriverSelect) give what the
session's own read gives — every row, each value converted by its column's type, read by name —
and see what the session holds unwritten; PostgreSQL's sessions run in UTC whatever the server's
zone, and their times come back as UTC ``datetime``s."""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.engine import make_url

from crm.db import DriverSelect, _utc_session, get_engine
from crm.models.projects import StageChange
from crm.types import utcnow
from tests.factories import make_firm, make_project

HISTORY = DriverSelect(
    select(*StageChange.__table__.c)
    .where(StageChange.project_id == bindparam("project_id"))
    .order_by(StageChange.changed_at, StageChange.id)
)


def test_rows_as_the_session_reads_them(session) -> None:
    p = make_project(session, make_firm(session, "驱动读取"), "IC", "lead")
    later = utcnow() + timedelta(minutes=5)
    session.add(
        StageChange(project_id=p.id, from_stage="lead", to_stage="contacted", changed_at=later)
    )
    # not flushed: the read sees it, as the session's own read would (autoflush)
    rows = HISTORY.all(session, {"project_id": p.id})
    expected = session.execute(HISTORY.stmt, {"project_id": p.id}).all()
    assert [tuple(r) for r in rows] == [tuple(r) for r in expected]
    assert [(r.from_stage, r.to_stage) for r in rows] == [(None, "lead"), ("lead", "contacted")]
    assert rows[-1].changed_at == later and rows[-1].changed_at.tzinfo is UTC
    assert rows[0]._fields == tuple(c.key for c in StageChange.__table__.c)
    assert HISTORY.all(session, {"project_id": p.id + 1000}) == []


def test_the_first_row_sees_what_the_session_holds_unwritten(session) -> None:
    """``first`` flushes as ``all`` does (an outside review: it did not)."""
    p = make_project(session, make_firm(session, "驱动读取一"), "IC", "lead")
    session.execute(delete(StageChange).where(StageChange.project_id == p.id))
    session.add(
        StageChange(project_id=p.id, from_stage=None, to_stage="contacted", changed_at=utcnow())
    )
    row = HISTORY.first(session, {"project_id": p.id})
    assert row is not None and row[3] == "contacted"  # id, project_id, from_stage, to_stage


def test_postgres_sessions_run_in_utc(session) -> None:
    assert _utc_session(make_url("sqlite:///x.db")) == {}
    assert _utc_session(make_url("postgresql+psycopg://u@h/db")) == {
        "connect_args": {"options": "-c TimeZone=UTC"}
    }
    kept = _utc_session(make_url("postgresql+psycopg://u@h/db?options=-c%20search_path%3Dcrm"))
    assert kept == {"connect_args": {"options": "-c search_path=crm -c TimeZone=UTC"}}
    if get_engine().dialect.name != "postgresql":
        return
    assert session.execute(text("SHOW TimeZone")).scalar_one() == "UTC"
    p = make_project(session, make_firm(session, "时区读取"), "IC", "lead")
    session.commit()
    at = session.execute(select(StageChange.changed_at).where(StageChange.project_id == p.id))
    assert at.scalar_one().tzinfo is UTC


def test_a_projects_history_and_arrivals_read_together_as_apart(session) -> None:
    """The project page reads its stage changes and capital arrivals in one statement
    (``history_and_arrivals``): the same rows, values and order as the two reads apart."""
    from datetime import date
    from decimal import Decimal

    from crm.models.projects import CapitalArrival
    from crm.projects.reads import capital_arrivals, history_and_arrivals, stage_history
    from tests.factories import make_department, make_user

    manager = make_user(session, "manager", make_department(session))
    p = make_project(session, make_firm(session, "一起读取"), "IC", "signed")
    q = make_project(session, make_firm(session, "另一企业"), "IC", "signed")
    for day, amount in ((3, "1.5"), (1, "0.25"), (3, "2"), (2, "123456.7891")):
        session.add(
            CapitalArrival(
                project_id=p.id,
                amount=Decimal(amount),
                arrived_on=date(2026, 11, day),
                created_by_id=manager.id,
                created_at=utcnow(),
            )
        )
    session.add(
        CapitalArrival(
            project_id=q.id,
            amount=Decimal(9),
            arrived_on=date(2026, 11, 1),
            created_by_id=manager.id,
            created_at=utcnow(),
        )
    )
    session.add(
        StageChange(project_id=p.id, from_stage="signed", to_stage="landed", changed_at=utcnow())
    )
    session.commit()
    history, arrivals = history_and_arrivals(session, manager, p.id)
    assert history == stage_history(session, manager, p.id) and len(history) == 2
    assert arrivals == capital_arrivals(session, manager, p.id)
    assert [(a.arrived_on.day, a.amount) for a in arrivals] == [
        (1, Decimal("0.25")),
        (2, Decimal("123456.7891")),
        (3, Decimal("1.5")),
        (3, Decimal("2")),
    ]
    assert history[-1].to_stage == "landed" and history[-1].changed_at.tzinfo is UTC
    assert history_and_arrivals(session, manager, q.id)[0] == stage_history(session, manager, q.id)
