"""The per-process caches' versions (``cache_version``, migration 0026): a trigger gives a
cache's number a new value in the transaction of any change of the rows behind it, whatever
writes it (a service, raw SQL, another process), and only then; a list read inside a
transaction that is rolled back is never served for a later change."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, insert, text, update
from sqlmodel import Session

from crm.accounts.departments import create_department, update_department
from crm.accounts.service import update_user, user_choices
from crm.db import get_engine, table
from crm.firms.views import countries
from crm.models.accounts import User
from crm.models.firms import Firm
from crm.models.policy import Park
from crm.policy.public import set_cluster_lead
from crm.policy.service import plan_lists
from crm.text import normalize_name
from crm.types import utcnow
from tests.factories import cluster, make_firm, make_user


def version(name: str) -> Any:
    """The cache's number as a new request reads it (its own transaction)."""
    from crm.db import cache_version

    with Session(get_engine()) as s:
        return cache_version(s, name)


def bumped(session: Session, name: str, change: Any) -> bool:
    """Whether committing ``change(session)`` gave cache ``name`` a new number."""
    before = version(name)
    change(session)
    session.commit()
    return version(name) != before


def test_the_users_number_follows_what_the_pickers_show_and_not_a_login(session) -> None:
    admin = make_user(session, "admin")
    session.commit()
    assert bumped(session, "users", lambda s: make_user(s, "officer", display_name="张三"))
    a = session.scalar(text("SELECT id FROM user_account WHERE display_name = '张三'"))
    u = table(User)

    def raw(**values: Any) -> Any:
        return lambda s: s.execute(update(u).where(u.c.id == a).values(**values))

    # a login's stamps, a password or language change: nothing the pickers show
    assert not bumped(session, "users", raw(last_login_at=utcnow(), failed_logins=2))
    assert not bumped(session, "users", raw(language="en", session_version=7))
    assert not bumped(session, "users", raw(display_name="张三"))  # the same value
    assert bumped(session, "users", raw(display_name="张三丰"))
    assert bumped(session, "users", raw(role="manager"))
    assert bumped(session, "users", raw(is_active=False))
    other = make_user(session, "admin")
    session.commit()
    assert bumped(session, "users", raw(department_id=None))
    user = session.get(User, a)
    assert user is not None
    session.refresh(user)
    assert bumped(
        session,
        "users",
        lambda s: update_user(s, admin, a, display_name="李四", version=user.version),
    )
    assert bumped(session, "users", lambda s: s.execute(delete(u).where(u.c.id == other.id)))


def test_the_plan_number_follows_the_plan_and_the_departments(session) -> None:
    admin = make_user(session, "admin")
    session.commit()
    nb = cluster(session, "NB")
    lead, version_before = nb.lead_department_id, nb.version
    dep = create_department(session, admin, "招商一局", "D1")
    session.commit()
    try:
        assert bumped(
            session,
            "plan",
            lambda s: set_cluster_lead(s, admin, nb.id, dep.id, version=nb.version),
        )
        p = table(Park)
        first = session.scalar(text("SELECT min(id) FROM park"))
        name = session.scalar(text("SELECT name_zh FROM park WHERE id = :i"), {"i": first})
        try:  # raw SQL, as a migration or another tool would write it
            assert bumped(
                session,
                "plan",
                lambda s: s.execute(update(p).where(p.c.id == first).values(name_zh="改名园区")),
            )
            assert "改名园区" in {k.name_zh for k in plan_lists(session).parks}
        finally:
            session.execute(update(p).where(p.c.id == first).values(name_zh=name))
            session.commit()
        assert bumped(
            session,
            "plan",
            lambda s: update_department(s, admin, dep.id, name="招商二局", code="D2"),
        )
        assert "招商二局" in {d.name for d in plan_lists(session).departments}
    finally:
        session.execute(
            update(table(type(nb)))
            .where(table(type(nb)).c.id == nb.id)
            .values(lead_department_id=lead, version=version_before)
        )
        session.commit()


def _firm_row(name: str, country: str | None) -> dict[str, Any]:
    return {
        "name_zh": name,
        "name_norm": normalize_name(name),
        "search_text": name,
        "country": country,
        "tier": "other",
        "created_at": utcnow(),
        "updated_at": utcnow(),
        "version": 1,
    }


def test_the_countries_number_follows_the_set_of_countries(session) -> None:
    if session.get_bind().dialect.name == "sqlite":
        pytest.skip("SQLite reads the countries afresh each time (0027): no version to follow")
    make_firm(session, country="中国")
    session.commit()
    assert bumped(session, "countries", lambda s: make_firm(s, country="新西兰"))
    # another firm of a country already listed, or of none: the list is the same
    assert not bumped(session, "countries", lambda s: make_firm(s, country="新西兰"))
    assert not bumped(session, "countries", lambda s: make_firm(s, country=None))
    f = make_firm(session, country="中国")
    session.commit()
    firms = table(Firm)
    assert not bumped(
        session,
        "countries",
        lambda s: s.execute(update(firms).where(firms.c.id == f.id).values(name_en="Renamed")),
    )
    assert bumped(
        session,
        "countries",
        lambda s: s.execute(update(firms).where(firms.c.id == f.id).values(country="冰岛")),
    )
    assert "冰岛" in countries(session)
    assert bumped(
        session, "countries", lambda s: s.execute(delete(firms).where(firms.c.id == f.id))
    )
    session.commit()
    assert "冰岛" not in countries(session)
    # two firms of a new country in one statement (PostgreSQL's row triggers of one statement)
    assert bumped(
        session,
        "countries",
        lambda s: s.execute(
            insert(firms).values([_firm_row("甲企业", "智利"), _firm_row("乙企业", "智利")])
        ),
    )
    assert "智利" in countries(session)


def test_a_list_read_in_a_transaction_that_rolled_back_is_not_served_later(session) -> None:
    admin = make_user(session, "admin")
    a = make_user(session, "officer", display_name="甲")
    session.commit()

    def names() -> set[str]:
        return {r.display_name for r in user_choices(session, admin)}

    assert "甲" in names()
    session.commit()
    update_user(session, admin, a.id, display_name="乙", version=a.version)
    session.flush()
    assert "乙" in names()  # the transaction's own change: read afresh after its flush
    session.rollback()
    assert "甲" in names() and "乙" not in names()
    session.commit()
    session.refresh(a)
    update_user(session, admin, a.id, display_name="丙", version=a.version)
    session.commit()
    assert "丙" in names() and "乙" not in names()


def test_a_list_read_after_sql_written_by_hand_is_kept_under_the_new_number(session) -> None:
    """An UPDATE written by hand (SQL text, or Core through the session: no flush) and then
    rolled back leaves no list kept under the number the rows are back to (an outside review:
    the versions read before it were kept, the list read after it filed under them, and its
    uncommitted rows served to every later request)."""
    from crm.accounts import users

    admin = make_user(session, "admin")
    a = make_user(session, "officer", display_name="真名")
    session.commit()
    for write in (
        lambda s: s.execute(
            text("UPDATE user_account SET display_name = '未提交名' WHERE id = :i"), {"i": a.id}
        ),
        lambda s: s.execute(
            update(table(User)).where(table(User).c.id == a.id).values(display_name="未提交名")
        ),
    ):
        before = version("users")
        with Session(get_engine()) as s:
            assert "真名" in {r.display_name for r in user_choices(s, admin)}
            users._CHOICES.clear()  # no list kept yet under the number this request read
            write(s)
            assert "未提交名" in {r.display_name for r in user_choices(s, admin)}  # its own
            s.rollback()
        assert version("users") == before  # the rows and their number as they were
        names = {r.display_name for r in user_choices(session, admin)}
        assert "真名" in names and "未提交名" not in names
        session.commit()


def test_with_its_row_gone_a_list_is_built_afresh_not_served_stale(session: Session) -> None:
    """A database emptied by hand (or a restore that left ``cache_version`` out) has no
    version to keep a list under: each transaction builds it again rather than keep the one it
    built first for ever."""
    from crm.models.caches import CacheVersion

    cv = table(CacheVersion)
    rows = [dict(r._mapping) for r in session.execute(cv.select())]
    me = make_user(session, "officer")
    session.commit()
    try:
        session.execute(delete(cv))
        session.commit()
        assert me.id in {u.id for u in user_choices(session, me)}
        session.commit()
        other = make_user(session, "officer")
        session.commit()
        assert other.id in {u.id for u in user_choices(session, me)}
    finally:
        session.rollback()
        session.execute(delete(cv))
        session.execute(insert(cv), rows)
        session.commit()


@pytest.mark.parametrize(
    ("sql", "writes"),
    [
        ("SELECT name_zh FROM cluster WHERE code = 'NB'", False),
        ("  with recursive c(x) as (select min(country) from firm) select x from c", False),
        ("PRAGMA table_info(firm)", False),
        ("UPDATE user_account SET display_name = 'x'", True),
        (
            "WITH moved AS (UPDATE firm SET tier = 'other' RETURNING id) SELECT count(*) FROM m",
            True,
        ),
        ("DELETE FROM cache_version", True),
        ("INSERT INTO department (name) VALUES ('x')", True),
    ],
)
def test_what_counts_as_a_write_for_the_kept_lists(sql: str, writes: bool) -> None:
    """SQL text that reads keeps the versions the request read (the countries' skip scan, run
    on every SQLite page, is a WITH); text that may write forgets them."""
    from crm.db import _may_write

    assert _may_write(text(sql), is_select=False) is writes
