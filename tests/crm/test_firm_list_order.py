"""The firm list pages: major tiers first, then by last change, across every page boundary
(the unfiltered list reads each tier group from its own index; filtered lists sort matches)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session

from crm.firms.service import FirmFilters, list_firms
from crm.models.firms import Firm
from crm.types import utcnow
from tests.factories import make_firm, make_user


def _expected(firms: list) -> list[int]:
    return [
        f.id
        for f in sorted(firms, key=lambda f: (f.tier == "other", -f.updated_at.timestamp(), -f.id))
    ]


def test_pages_follow_the_order_across_the_tier_boundary(session: Session) -> None:
    actor = make_user(session)
    now = utcnow()
    firms = []
    for i in range(11):
        kw = {"global500_rank": i + 1} if i % 4 == 0 else {"is_leader": True} if i % 4 == 1 else {}
        firms.append(
            make_firm(
                session,
                f"排序企业{i}",
                updated_at=now - timedelta(hours=i * 7 % 11),
                country="德国" if i % 2 else "美国",
                **kw,
            )
        )
    session.commit()
    want = _expected(firms)
    for size in (1, 2, 3, 4, 5, 50):
        got: list[int] = []
        for page in range(0, 13, 1):
            rows, total = list_firms(session, actor, FirmFilters(), limit=size, offset=page * size)
            assert total == 11
            got += [f.id for f in rows]
        assert got == want, size
    rows, total = list_firms(session, actor, FirmFilters(), limit=5, count_cap=3)
    assert total == 4 and len(rows) == 5  # capped: "more than 3"

    de = [f for f in firms if f.country == "德国"]
    for size in (2, 50):
        got = []
        for page in range(4):
            rows, total = list_firms(
                session, actor, FirmFilters(country="德国"), limit=size, offset=page * size
            )
            assert total == len(de)
            got += [f.id for f in rows]
        assert got == _expected(de)
    rows, total = list_firms(session, actor, FirmFilters(country="德国"), limit=2, offset=40)
    assert rows == [] and total == len(de)


def test_every_firm_sorted_by_a_column_pages_through_in_that_order(session: Session) -> None:
    """Unfiltered and sorted by name (pinyin, or the English name for an English reader) or by
    the last change, either way round: every page in that order, ties by id, and the total."""
    from crm.sorting import Sort

    actor = make_user(session)
    now = utcnow()
    firms = [
        make_firm(
            session,
            name,
            name_en=en,
            updated_at=now - timedelta(hours=i % 3),  # ties: broken by id
        )
        for i, (name, en) in enumerate(
            [
                ("泽塔电子", "Alpha Electronics"),
                ("阿尔法科技", None),
                ("北京排序", "beta Works"),
                ("阿尔法科技集团", "Zeta Group"),
                ("中国排序", None),
                ("贝塔", "Beta"),
                ("杭州排序", "gamma"),
            ]
        )
    ]
    session.commit()
    keys = {
        ("name", "zh_CN"): lambda f: f.name_pinyin,
        ("name", "en"): lambda f: (f.name_en or f.name_pinyin).lower(),
        ("updated", "zh_CN"): lambda f: f.updated_at,
    }
    for (key, lang), value in keys.items():
        for desc in (False, True):
            want = [f.id for f in sorted(firms, key=lambda f: (value(f), f.id), reverse=desc)]
            sort = Sort(key, desc)
            for size in (2, 3, 50):
                got: list[int] = []
                for page in range(5):
                    rows, total = list_firms(
                        session,
                        actor,
                        FirmFilters(sort=sort, lang=lang),
                        limit=size,
                        offset=page * size,
                        columns=size == 3,
                    )
                    assert total == len(firms), (key, lang, desc, size, page)
                    got += [f.id for f in rows]
                assert got == want, (key, lang, desc, size)
            rows, total = list_firms(session, actor, FirmFilters(sort=sort), limit=2, count_cap=3)
            assert len(rows) == 2 and total == 4  # capped: "more than 3"


def test_a_count_past_its_cap_is_counted_again_once_firms_are_deleted(session: Session) -> None:
    """The landing list's count past its cap ("more than 3") is kept per process on PostgreSQL
    until a firm is deleted (the countries' version changes): deleting firms below the cap
    shows the true count at once, and adding firms counts them."""
    actor = make_user(session)
    firms = [make_firm(session, f"计数企业{i}") for i in range(5)]
    session.commit()
    for _ in range(2):  # the second time from what is kept
        assert list_firms(session, actor, FirmFilters(), limit=2, count_cap=3)[1] == 4
        session.commit()
    session.execute(delete(Firm).where(Firm.id.in_([f.id for f in firms[:3]])))  # raw SQL
    session.commit()
    rows, total = list_firms(session, actor, FirmFilters(), limit=1, count_cap=3)
    assert total == 2 and len(rows) == 1
    session.commit()
    make_firm(session, "计数企业5")
    make_firm(session, "计数企业6")
    session.commit()
    assert list_firms(session, actor, FirmFilters(), limit=1, count_cap=3)[1] == 4
