"""A reading request's session (``crm.db.reads_first``): on PostgreSQL its reads run outside a
transaction, and its first write or row lock opens one, which commits or rolls back whole with
the session — a write in a reading request is as safe as in a writing one. SQLite is unchanged
(its driver already reads so)."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlmodel import Session

from crm.db import get_engine, reads_first, serial_scalar
from crm.models.accounts import Department
from tests.factories import make_department


def _driver(s: Session):  # type: ignore[no-untyped-def]
    return s.connection().connection.driver_connection


def _in_transaction(s: Session) -> bool:
    dbapi = _driver(s)
    if get_engine().dialect.name == "sqlite":
        return bool(dbapi.in_transaction)
    return dbapi.info.transaction_status != 0  # psycopg: IDLE


def _name(department_id: int) -> str:
    with Session(get_engine()) as s:
        return s.scalar(select(Department.name).where(Department.id == department_id)) or ""


def test_reads_open_no_transaction_and_a_write_opens_one(session) -> None:
    dep = make_department(session, name="旧名", code="D1")
    session.commit()
    engine = reads_first(get_engine())
    if get_engine().dialect.name == "sqlite":
        assert engine is get_engine()
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Department)) == 1
        assert not _in_transaction(s)
        if get_engine().dialect.name == "postgresql":
            # a row lock is taken in a transaction, kept until the session ends
            s.execute(select(Department.id).where(Department.id == dep.id).with_for_update())
            assert _in_transaction(s)
            s.rollback()
            assert not _in_transaction(s)

        s.execute(update(Department).where(Department.id == dep.id).values(name="新名"))
        assert _in_transaction(s)
        assert _name(dep.id) == "旧名"  # not committed statement by statement
        s.execute(update(Department).where(Department.id == dep.id).values(code="D2"))
        s.rollback()
    assert _name(dep.id) == "旧名"  # both writes undone together

    with Session(engine) as s:
        s.execute(update(Department).where(Department.id == dep.id).values(name="新名"))
        s.commit()
    assert _name(dep.id) == "新名"


def test_a_serial_count_keeps_its_setting_for_its_own_statement(session) -> None:
    make_department(session, code="D1")
    session.commit()
    with Session(reads_first(get_engine())) as s:
        assert serial_scalar(s, select(func.count()).select_from(Department)) == 1
        if get_engine().dialect.name == "postgresql":
            # outside a transaction the setting is the connection's for the count, then reset:
            # no transaction begun for it (its BEGIN and COMMIT were two more round trips)
            assert not _in_transaction(s)
            setting = select(func.current_setting("max_parallel_workers_per_gather"))
            assert serial_scalar(s, setting) == "0"
            with Session(get_engine()) as fresh:
                assert s.scalar(setting) == fresh.scalar(setting) != "0"
