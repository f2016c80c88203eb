"""The firm search index (FTS5 trigram on SQLite, pg_trgm on PostgreSQL) answers exactly what a
substring LIKE answers, and stays in step with firms created, renamed and deleted."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlmodel import Session

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
from crm.models.firms import Firm
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


def test_one_and_two_character_queries_find_what_a_substring_search_finds(
    session: Session,
) -> None:
    """Every character and every pair of every firm's text (Chinese, Latin, digits, symbols)
    finds exactly the firms whose text contains it — on SQLite through the FTS5 vocabulary (two)
    or LIKE (one), on PostgreSQL through the character-pair GIN index."""
    actor = make_user(session, "admin")
    for zh, en, al in NAMES:
        create_firm(session, actor, FirmCreate(name_zh=zh, name_en=en, aliases=al), confirm=True)
    session.commit()
    texts = list(session.scalars(select(Firm.search_text)))
    grams = {t[i : i + n] for t in texts for n in (1, 2) for i in range(len(t) - n + 1)}
    queries = sorted(g for g in grams if fold_query(g) == g and g.strip() == g)
    queries += ["惠普", "HP", "Hp", "长", "铃", "zq", "%", "_"]
    assert len(queries) > 100
    for q in queries:
        assert _ids(session, q) == _like_ids(session, q), q


def test_short_queries_use_the_character_pair_index_on_postgresql(session: Session) -> None:
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return  # SQLite: the FTS5 tables (test_two_character_queries_at_the_end_of_the_text)
    actor = make_user(session, "admin")
    for zh, en, al in NAMES:
        create_firm(session, actor, FirmCreate(name_zh=zh, name_en=en, aliases=al), confirm=True)
    session.commit()
    session.execute(text("SET LOCAL enable_seqscan = off"))  # five rows: force the choice
    for q in ("惠普", "hp", "长"):
        stmt = select(Firm.id).where(search_condition(q))
        compiled = stmt.compile(bind, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in session.execute(text(f"EXPLAIN {compiled}")))
        assert "ix_firm_search_grams" in plan, plan
    stmt = select(Firm.id).where(search_condition("huipu"))  # 3+: the trigram index
    compiled = stmt.compile(bind, compile_kwargs={"literal_binds": True})
    plan = "\n".join(r[0] for r in session.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_firm_search_trgm" in plan, plan


def test_a_table_read_for_a_common_character_tests_the_stored_grams(session: Session) -> None:
    """One or two common characters match nearly every firm, and the planner then reads the
    table: its filter must test the grams stored with each firm (a generated column), not
    compute them again per row (about a millisecond each: 25–40 s for "a" at city scale)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return  # SQLite: one character is a LIKE over the text itself
    actor = make_user(session, "admin")
    for zh, en, al in NAMES:
        create_firm(session, actor, FirmCreate(name_zh=zh, name_en=en, aliases=al), confirm=True)
    session.commit()
    session.execute(text("SET LOCAL enable_bitmapscan = off"))  # the plan of a common character
    for q in ("a", "an", "公"):
        stmt = select(Firm.id).where(search_condition(q))
        compiled = stmt.compile(bind, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in session.execute(text(f"EXPLAIN {compiled}")))
        assert "Seq Scan" in plan and "search_grams @>" in plan, plan
        assert "crm_search_grams(" not in plan, plan
        assert _ids(session, q) == _like_ids(session, q), q


def test_one_character_from_the_index_finds_what_a_substring_search_finds(
    session: Session,
) -> None:
    """Given the session, a one-character query that begins few trigrams is answered on SQLite
    from the index: the trigrams that begin with it and the texts whose last character it is
    (ix_firm_search_tail) — "ー" of ソニー is only ever the last character of its text. Every
    character of every text finds exactly the firms whose text contains it, on both databases."""
    actor = make_user(session, "admin")
    for zh, en, al in [*NAMES, ("ソニー", None, []), ("索尼", "Acme Ω", [])]:
        create_firm(session, actor, FirmCreate(name_zh=zh, name_en=en, aliases=al), confirm=True)
    session.commit()
    texts = list(session.scalars(select(Firm.search_text)))
    assert any(t.endswith("ー ") for t in texts)
    chars = sorted({c for t in texts for c in t if c.strip()} | {"%", "_", '"', "\\", "z"})
    for q in chars:
        found = set(session.scalars(select(Firm.id).where(search_condition(q, session))))
        assert found == _like_ids(session, q), q
    assert _ids(session, "ー") and [f.name_zh for f in search_firms(session, actor, "ー")] == [
        "ソニー"
    ]
    if session.get_bind().dialect.name == "sqlite":
        stmt = select(Firm.id).where(search_condition("ー", session))
        compiled = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = " ".join(str(r) for r in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "ix_firm_search_tail" in plan and "firm_fts" in plan, plan


def test_the_list_search_built_once_per_shape_finds_and_orders_as_the_conditions_do(
    session: Session,
) -> None:
    """The list's search alone runs a statement built once per shape of the query (kinds of its
    forms, crm.firms.queries._searched_ids) with the query's values: every character, pair and
    longer query, pinyin typed with spaces, a query that finds nothing — the same firms, order
    and count as the search's condition and rank built for the query itself, page by page."""
    from crm.firms.queries import firm_order
    from crm.firms.search import search_rank

    actor = make_user(session, "admin")
    for zh, en, al in [*NAMES, ("ソニー", None, []), ("惠普中国", "HP China", ["惠普中国区"])]:
        create_firm(session, actor, FirmCreate(name_zh=zh, name_en=en, aliases=al), confirm=True)
    session.commit()
    texts = list(session.scalars(select(Firm.search_text)))
    grams = {t[i : i + n] for t in texts for n in (1, 2) for i in range(len(t) - n + 1)}
    queries = sorted(g for g in grams if fold_query(g) == g and g.strip() == g)
    queries += [*QUERIES, "hui pu", "Hui  Pu", "ＨＰ", "ー"]
    for q in queries:
        expected = list(
            session.scalars(
                select(Firm.id)
                .where(search_condition(q, session))
                .order_by(search_rank(q), *firm_order(FirmFilters()))
            )
        )
        for offset in (0, 2, len(expected) + 2):
            rows, total = list_firms(session, actor, FirmFilters(q=q), limit=2, offset=offset)
            assert [r.id for r in rows] == expected[offset : offset + 2], (q, offset)
            assert total == len(expected), q
        rows, _ = list_firms(session, actor, FirmFilters(q=q), limit=50, columns=True)
        assert [r.id for r in rows] == expected[:50], q
