"""Search ranking: a query that begins a whole name, its pinyin or its initials comes before a
match inside another word; spaces in a pinyin query are ignored."""

from __future__ import annotations

from crm.firms.search import search_firms
from crm.firms.service import FirmFilters, list_firms
from tests.factories import make_department, make_firm, make_user


def _world(session):
    user = make_user(session, "officer", make_department(session))
    # five firms whose pinyin holds "hongqi" inside a word (chong-qing), updated later
    for name in (
        "重庆钢铁股份有限公司",
        "重庆啤酒股份有限公司",
        "重庆百货大楼股份有限公司",
        "重庆银行股份有限公司",
        "重庆燃气集团股份有限公司",
    ):
        make_firm(session, name)
    acer = make_firm(session, "宏碁股份有限公司")
    hp = make_firm(session, "惠普有限公司", name_en="HP Inc.")
    session.commit()
    return user, acer, hp


def test_the_whole_names_pinyin_comes_first(session):
    user, acer, _ = _world(session)
    # acer is the oldest: only the ranking can put it first
    from datetime import UTC, datetime

    from sqlalchemy import update

    from crm.models.firms import Firm

    session.execute(
        update(Firm).where(Firm.id == acer.id).values(updated_at=datetime(2020, 1, 1, tzinfo=UTC))
    )
    session.commit()
    rows, total = list_firms(session, user, FirmFilters(q="hongqi"))
    assert total == 6 and rows[0].id == acer.id, [r.name_zh for r in rows]
    assert search_firms(session, user, "hongqi")[0].id == acer.id
    rows, _ = list_firms(session, user, FirmFilters(q="hq"))
    assert rows[0].id == acer.id


def test_spaces_in_a_pinyin_query_are_ignored(session):
    user, _, hp = _world(session)
    for q in ("hui pu", "huipu", "hui  pu", "HP", "ｈｐ"):
        rows, _ = list_firms(session, user, FirmFilters(q=q))
        assert [r.id for r in rows][:1] == [hp.id], q
    assert [f.id for f in search_firms(session, user, "hui pu")] == [hp.id]
