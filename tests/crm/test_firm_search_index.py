"""The firm search index (FTS5 trigram on SQLite, pg_trgm on PostgreSQL) answers exactly what a
substring LIKE answers, and stays in step with firms created, renamed and deleted."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from crm.firms.models import Firm
from crm.firms.schemas import FirmCreate, FirmUpdate
from crm.firms.service import (
    FirmFilters,
    create_firm,
    delete_firm,
    list_firms,
    search_condition,
    search_firms,
    update_firm,
)
from crm.text import fold_query
from tests.factories import make_user

NAMES = [
    ("惠普", "Hewlett-Packard", ["HP", "惠普公司"]),
    ("长安汽车", "Changan Automobile", ["长安集团"]),
    ("重庆长安铃木", "Chongqing Changan Suzuki", []),
    ("西南铝业", "Southwest Aluminium", ["西南铝"]),
    ("百分之百_科技", '100% Tech "Quoted" Ltd', []),
]

QUERIES = [
    "惠普",
    "hp",
    "huipu",
    "hewlett",
    "长安",
    "长安汽车",
    "changan",
    "cqcaql",
    "西南铝",
    "xinanlv",
    "Aluminium",
    "100%",
    "_科技",
    '"quoted"',
    'tech "q',
    "suzuki",
    "zz-none",
    "a",
    "长",
    "铝业",
    "ai",
    "qu",
    '"q',
    "0%",
    "_科",
    "ql",
    "zz",
    "车 |",
    "ch",
]


def _like_ids(session: Session, q: str) -> set[int]:
    folded = fold_query(q)
    return {f.id for f in session.scalars(select(Firm)) if folded in f.search_text}


def _ids(session: Session, q: str) -> set[int]:
    return set(session.scalars(select(Firm.id).where(search_condition(q))))


def test_index_matches_substring_search_and_follows_changes(session: Session) -> None:
    actor = make_user(session, "admin")
    firms = [
        create_firm(session, actor, FirmCreate(name_zh=zh, name_en=en, aliases=al), confirm=True)
        for zh, en, al in NAMES
    ]
    session.commit()
    for q in QUERIES:
        assert _ids(session, q) == _like_ids(session, q), q

    # the list and the search box both find by 3+ character pinyin
    rows, total = list_firms(session, actor, FirmFilters(q="changan"))
    assert {f.name_zh for f in rows} == {"长安汽车", "重庆长安铃木"} and total == 2
    assert [f.name_zh for f in search_firms(session, actor, "huipu")] == ["惠普"]

    # renamed: the old name is gone from the index, the new one found
    hp = firms[0]
    update_firm(
        session,
        actor,
        hp.id,
        FirmUpdate(name_zh="惠与科技", name_en="HPE", aliases=[], version=hp.version),
    )
    session.commit()
    assert _ids(session, "huipu") == set()
    assert _ids(session, "huiyu") == {hp.id} == _like_ids(session, "huiyu")

    # deleted: gone
    delete_firm(session, actor, firms[3].id)
    session.commit()
    assert _ids(session, "xinanlv") == set()
    for q in QUERIES:
        assert _ids(session, q) == _like_ids(session, q), q


def test_two_character_queries_at_the_end_of_the_text(session: Session) -> None:
    """Two characters are looked up through the trigrams that begin with them (SQLite), which
    holds only because the text always ends with a space: the last two characters of every
    firm's text, and every pair in it, find exactly what a substring search finds."""
    actor = make_user(session, "admin")
    for zh, en, al in NAMES:
        create_firm(session, actor, FirmCreate(name_zh=zh, name_en=en, aliases=al), confirm=True)
    session.commit()
    texts = list(session.scalars(select(Firm.search_text)))
    assert texts and all(t.endswith(" ") for t in texts)
    pairs = {t.rstrip()[-2:] for t in texts} | {
        t[i : i + 2].strip() for t in texts for i in range(0, len(t) - 1, 3)
    }
    pairs = {p for p in pairs if len(p) == 2}
    assert len(pairs) > 20
    for q in sorted(pairs):
        found = _ids(session, q)
        assert found and found == _like_ids(session, q), q
