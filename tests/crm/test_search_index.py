"""The firm search's FTS5 index kept compact on SQLite (crm.firms.search_index): firms added one
transaction at a time split it into segments; the scheduled job merges them back into one, in
short steps, and every search answers as before. PostgreSQL: nothing to do, nothing done."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from crm.db import get_engine
from crm.firms import search_index
from crm.firms.search import search_firms
from jobs.tasks import JOBS
from tests.factories import make_department, make_firm, make_user

QUERIES = ["重庆", "长安", "汽车", "cq", "changan", "惠普", "hp", "huipu", "华"]


def _sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def test_the_job_merges_a_split_index_and_searches_answer_as_before(session) -> None:
    officer = make_user(session, "officer", make_department(session))
    session.commit()
    names = ["重庆长安汽车", "惠普中国", "长安福特", "重庆惠普", "华为技术"]
    for i in range(24):  # each its own transaction: FTS5 writes a segment for each
        make_firm(session, f"{names[i % len(names)]}{i}号公司")
        session.commit()
    before = {q: [f.id for f in search_firms(session, officer, q, limit=50)] for q in QUERIES}
    assert all(before.values())
    engine = get_engine()
    split = search_index.segments(session)
    session.rollback()
    if _sqlite(engine):
        assert split > 1
        steps = search_index.compact(engine, above=1, pages=2, pause=0)
        assert steps >= 1
        assert search_index.segments(session) == 1
        session.rollback()
        assert search_index.compact(engine, above=0) == 0  # one segment: nothing to merge
    else:
        assert split == 0
        assert search_index.compact(engine, above=0) == 0
    assert JOBS["compact_search_index"]() == 0  # the job: at most four segments are left alone
    after = {q: [f.id for f in search_firms(session, officer, q, limit=50)] for q in QUERIES}
    assert after == before
    session.rollback()


def test_optimize_merges_in_the_callers_transaction(session) -> None:
    for i in range(6):
        make_firm(session, f"优化测试企业{i}")
        session.commit()
    search_index.optimize(session)
    session.commit()
    assert search_index.segments(session) == (1 if _sqlite(get_engine()) else 0)
    session.rollback()


def test_a_bulk_import_leaves_the_index_in_one_segment(session) -> None:
    from crm.imports.service import import_firms

    manager = make_user(session, "manager", make_department(session))
    for i in range(6):  # an index already split before the import
        make_firm(session, f"导入前企业{i}")
        session.commit()
    n = search_index.BULK_ROWS
    data = "\n".join(["企业名称", *(f"批量导入企业{i:04d}" for i in range(n))]).encode()
    rep = import_firms(session, manager, data, "firms.csv")
    assert rep.applied and rep.imported == n
    session.commit()
    assert search_index.segments(session) == (1 if _sqlite(get_engine()) else 0)
    session.rollback()
    found = search_firms(session, manager, "批量导入企业0042")
    assert [f.name_zh for f in found] == ["批量导入企业0042"]
    session.rollback()
