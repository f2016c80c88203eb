"""PostgreSQL's plans fit their values (crm.db): LIMIT and OFFSET are written into the statement
(a generic plan made without them assumes a tenth of the rows is wanted), and a search — whose
best plan depends on the text searched — is never prepared, so each run is planned for its own
text. On SQLite both statements run as before (bound LIMIT, nothing prepared)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Integer, bindparam, event, select, text
from sqlmodel import Session

from crm.db import get_engine, plan_once, reads_first, table
from crm.firms.search import search_condition, search_firm_rows
from crm.models.accounts import Department
from crm.models.firms import Contact, Firm
from crm.search import search_everything
from tests.factories import make_department, make_firm, make_project, make_user


@contextmanager
def _statements(engine: Any) -> Iterator[list[str]]:
    """The statements ``engine`` sends meanwhile, as sent."""
    seen: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def _postgres() -> bool:
    return get_engine().dialect.name == "postgresql"


def test_limit_and_offset_values_are_written_into_the_statement(session) -> None:
    for code in ("D1", "D2", "D3", "D4"):
        make_department(session, code=code)
    session.commit()
    ids = list(session.scalars(select(Department.id).order_by(Department.id)))
    page = (
        select(Department.id)
        .order_by(Department.id)
        .limit(bindparam("n"))  # no type given: an integer all the same
        .offset(bindparam("o", type_=Integer))
    )
    with _statements(get_engine()) as seen, Session(reads_first(get_engine())) as s:
        assert list(s.scalars(page, {"n": 2, "o": 1})) == ids[1:3]
        assert list(s.scalars(page, {"n": 3, "o": 0})) == ids[0:3]
        assert list(s.scalars(select(Department.id).order_by(Department.id).limit(1))) == ids[:1]
    pages = [st for st in seen if "FROM department" in st]
    if _postgres():
        assert "LIMIT 2 OFFSET 1" in pages[0]
        assert "LIMIT 3 OFFSET 0" in pages[1]
        assert "LIMIT 1" in pages[2]
    else:
        assert all("LIMIT ?" in st for st in pages)


def _prepared(s: Session) -> list[str]:
    """The statements prepared on ``s``'s connection (PostgreSQL)."""
    return list(s.scalars(text("SELECT statement FROM pg_prepared_statements")))


def test_a_search_is_planned_for_its_text_every_time(session) -> None:
    """A search is planned for its text (never prepared) — but the header search's contacts
    and projects once the index has narrowed them to few candidates: their generic plan reads
    those from the index whatever the text (crm.search._planned)."""
    dep = make_department(session)
    officer = make_user(session, department=dep)
    for i in range(3):
        make_firm(session, name_zh=f"惠普{i}号")
    huawei = make_firm(session, name_zh="华为")
    make_project(session, huawei, "NB", owner=officer, title="惠普扩产项目")
    session.add(Contact(firm_id=huawei.id, name="惠普联系人"))
    session.commit()
    with Session(reads_first(get_engine())) as s:
        for _ in range(8):  # past psycopg's prepare_threshold (5)
            found = search_everything(s, officer, "惠普")
            assert sorted(f.name_zh for f in found.firms) == ["惠普0号", "惠普1号", "惠普2号"]
            assert [p.label for p in found.projects] == ["惠普扩产项目"]
            assert [c.name for c in found.contacts] == ["惠普联系人"]
            # "h": in every name's pinyin (huipu, huawei)
            assert len(search_firm_rows(s, officer, "h")) == 4
            s.scalar(select(Department.name).where(Department.id == dep.id))
        if _postgres():
            prepared = _prepared(s)
            # an ordinary statement is prepared by now; the searches are not, but the
            # narrowed contacts and projects (the rows of "found", after the counts)
            assert any("FROM department" in st for st in prepared)
            searches = [st for st in prepared if "search_grams" in st or "LIKE" in st]
            assert len(searches) == 2 and all("AS found" in st for st in searches), searches


def test_a_search_read_through_a_server_side_cursor_runs_as_any_other(session) -> None:
    """A streamed read (PostgreSQL: a server-side cursor, which is never prepared) of a
    statement planned per value runs as it is."""
    make_firm(session, name_zh="惠普")
    make_firm(session, name_zh="华为")
    session.commit()
    with Session(get_engine()) as s:
        stmt = (
            select(Firm.name_zh)
            .where(search_condition("惠普", s))
            .execution_options(stream_results=True)
        )
        assert list(s.scalars(stmt)) == ["惠普"]


def _mode(s: Session) -> str:
    """The connection's plan_cache_mode, asked on the driver's connection (a statement through
    the session would itself set the mode an unmarked statement runs under)."""
    dbapi: Any = s.connection().connection.driver_connection
    return str(dbapi.execute("SHOW plan_cache_mode").fetchone()[0])


def test_a_statement_planned_once_gets_one_plan_and_the_others_the_planners_choice(
    session,
) -> None:
    """PostgreSQL: a statement marked ``plan_once`` runs prepared under a generic plan
    (force_generic_plan), any other under the planner's own choice (auto) — a connection's
    mode is set back before an unmarked statement, never left for it."""
    dep = make_department(session)
    session.commit()
    once = plan_once(select(Department.name).where(Department.id == bindparam("d")))
    officer = make_user(session, department=dep)
    make_firm(session, name_zh="惠普")
    session.commit()
    with Session(reads_first(get_engine())) as s:
        assert s.scalar(once, {"d": dep.id}) == dep.name
        if _postgres():
            assert _mode(s) == "force_generic_plan"
            assert any("FROM department" in st for st in _prepared(s))  # prepared at once
        # an unmarked statement: the planner's choice again
        assert s.scalar(select(Department.name).where(Department.id == dep.id)) == dep.name
        if _postgres():
            assert _mode(s) == "auto"
        # a search, planned for its text (its values written in) under either mode
        assert s.scalar(once, {"d": dep.id}) == dep.name
        assert [r.name_zh for r in search_firm_rows(s, officer, "惠")] == ["惠普"]
        if _postgres():
            assert _mode(s) == "force_generic_plan"  # the search needed no change of mode
            assert not [st for st in _prepared(s) if "search_grams" in st]


def test_a_set_mode_undone_by_a_rollback_is_set_again(session) -> None:
    """A SET made inside a transaction that is rolled back is undone with it: the connection's
    mode is then unknown and set again before the next statement that cares. (The pooled
    connection may come in either mode: the statement run first is the one that needs the
    other, so that its SET is made inside the transaction.)"""
    dep = make_department(session)
    session.commit()
    once = plan_once(select(Department.name).where(Department.id == bindparam("d")))
    unmarked = select(Department.name).where(Department.id == bindparam("d"))
    with get_engine().connect() as conn, Session(bind=conn) as s:
        s.execute(text("SELECT 1"))  # a transaction is open (not autocommit)
        if not _postgres():
            assert s.scalar(once, {"d": dep.id}) == dep.name
            return
        before = _mode(s)
        flip, back = (unmarked, once) if before == "force_generic_plan" else (once, unmarked)
        assert s.scalar(flip, {"d": dep.id}) == dep.name  # its SET, inside the transaction
        assert _mode(s) != before
        s.rollback()  # the SET goes with it
        assert _mode(s) == before
        # the next statement needing the other mode sets it again (the mode was forgotten)
        assert s.scalar(flip, {"d": dep.id}) == dep.name
        assert _mode(s) != before
        assert s.scalar(back, {"d": dep.id}) == dep.name
        assert _mode(s) == before
        s.rollback()


def test_a_selects_rows_are_read_in_one_call_up_to_a_bound(session: Session, monkeypatch) -> None:
    """PostgreSQL: a SELECT's rows are taken from the driver in one call (psycopg reads each
    ``fetchone`` in Python), whether the result is iterated, read whole or row by row; a larger
    result than ``ROWS_AT_ONCE``, an INSERT's RETURNING and every SQLite result are read as
    SQLAlchemy reads them. The rows are the same either way."""
    from sqlalchemy.engine.cursor import FullyBufferedCursorFetchStrategy

    import crm.db

    dept = make_department(session)
    names = [f"部门{i}" for i in range(5)]
    for name in names:
        session.add(Department(name=name, code=f"B{len(name)}{names.index(name)}"))
    session.commit()
    d = table(Department).c
    every = select(d.name).where(d.name.in_(names)).order_by(d.name)
    conn = session.connection()  # Core results: the strategy SQLAlchemy reads them with
    at_once = conn.execute(every)
    assert isinstance(at_once.cursor_strategy, FullyBufferedCursorFetchStrategy) == _postgres()
    assert [n for (n,) in at_once] == names
    assert conn.execute(every).first() == (names[0],)
    assert conn.execute(every).scalars().all() == names
    assert session.scalars(every).all() == names  # through the ORM too
    monkeypatch.setattr(crm.db, "ROWS_AT_ONCE", 4)  # five rows: past the bound
    one_by_one = conn.execute(every)
    assert not isinstance(one_by_one.cursor_strategy, FullyBufferedCursorFetchStrategy)
    assert [n for (n,) in one_by_one] == names
    added = conn.execute(d.id.table.insert().values(name="新部门", code="NEW1").returning(d.id))
    assert not isinstance(added.cursor_strategy, FullyBufferedCursorFetchStrategy)
    assert added.scalar_one() > dept.id


def _three_hp_and_huawei(session: Session) -> Any:
    """Three firms named 惠普…号 and one 华为, and an officer to search them (committed)."""
    officer = make_user(session, department=make_department(session))
    for i in range(3):
        make_firm(session, name_zh=f"惠普{i}号")
    make_firm(session, name_zh="华为")
    session.commit()
    return officer


def test_the_lists_search_is_planned_once_and_the_other_searches_for_their_text(session) -> None:
    """The firm list's search alone reads every match to count them, and on PostgreSQL keeps one
    generic plan per connection (prepared at once, crm.firms.queries._searched_ids); a search
    that stops at its first rows (the header's, the pickers') is still planned for its text."""
    from crm.firms.queries import FirmFilters, list_firms

    officer = _three_hp_and_huawei(session)
    with Session(reads_first(get_engine())) as s:
        for q, n in (("惠普", 3), ("h", 4), ("hp", 3), ("huipu", 3), ("华", 1), ("zz", 0)):
            rows, total = list_firms(s, officer, FirmFilters(q=q), columns=True)
            assert (len(rows), total) == (n, n), q
        assert len(search_firm_rows(s, officer, "h")) == 4
        if _postgres():
            prepared = _prepared(s)
            listed = [st for st in prepared if "count(*) OVER ()" in st]
            assert any("search_grams" in st for st in listed), prepared
            assert any("LIKE" in st for st in listed), prepared
            # the pickers' search (its first 200 matches by id) is never prepared
            assert not [st for st in prepared if "search_grams" in st and st not in listed]


def test_the_apis_firm_search_keeps_one_mode_from_the_ranking_to_the_rows(session) -> None:
    """The API's firm search (entities, ``strict``) ranks the matching ids planned once, then
    reads those firms by key planned once too: on PostgreSQL no statement in between sets the
    connection's mode (it set it to the planner's own choice and back: two round trips of six)."""
    from crm.firms.queries import FirmFilters, list_firms

    officer = _three_hp_and_huawei(session)
    with Session(reads_first(get_engine())) as s:
        list_firms(s, officer, FirmFilters(q="华"), strict=True)  # the connection's mode set
        with _statements(get_engine()) as seen:
            rows, total = list_firms(s, officer, FirmFilters(q="huipu"), strict=True)
        assert sorted(f.name_zh for f in rows) == ["惠普0号", "惠普1号", "惠普2号"]
        assert total == 3
        if _postgres():
            assert _mode(s) == "force_generic_plan"
            assert any("FROM firm" in st and "IN (" in st for st in _prepared(s))
    assert [st for st in seen if "FROM firm" in st], seen
    assert not [st for st in seen if "plan_cache_mode" in st], seen
