"""Near-duplicates: the core name, candidates from the search index, aliases unique across firms."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.firms.duplicates import (
    THRESHOLD,
    NameIndex,
    _all_probes,
    _best_score,
    check_firm,
    find_similar,
)
from crm.firms.schemas import DuplicateCandidate, FirmCreate, FirmUpdate
from crm.firms.service import DuplicateFirm, create_firm, update_firm
from crm.text import core_name, normalize_name
from tests.factories import make_department, make_user


@pytest.fixture
def officer(session):
    return make_user(session, "officer", make_department(session))


@pytest.mark.parametrize(
    "name, core",
    [
        ("惠普（中国）有限公司", "惠普"),
        ("中国惠普有限公司", "惠普"),
        ("惠普（重庆）有限公司", "惠普"),
        ("宏碁（重庆）有限公司", "宏碁"),
        ("思科系统（中国）网络技术有限公司", "思科系统网络技术"),
        ("长安汽车重庆分公司", "长安汽车"),
        ("重庆长安汽车股份有限公司", "长安汽车"),
        ("中铝西南铝业（集团）有限责任公司", "中铝西南铝业"),
        ("西南铝业", "西南铝业"),
        ("HP (China) Co., Ltd.", "hp"),
        ("Hewlett-Packard (Chongqing) Co., Ltd.", "hewlettpackard"),
        ("Acer (Chongqing) Ltd.", "acer"),
        ("Cisco Systems (China) Network Technology Co., Ltd.", "ciscosystemsnetworktechnology"),
        ("Changan Automobile Chongqing Branch", "changanautomobile"),
        ("Foxconn Group", "foxconn"),
        ("中国有限公司", "中国"),  # a qualifier alone keeps what is left
    ],
)
def test_core_name(name, core):
    assert core_name(name) == core


# the firms as the office has them, and what people type for them (issue #16)
EXISTING = [
    ("惠普", "HP", ["Hewlett-Packard"]),
    ("宏碁", "Acer", []),
    ("思科", "Cisco", []),
    ("长安", "Changan", []),
]
TYPED = [
    ("惠普（中国）有限公司", "惠普"),
    ("中国惠普有限公司", "惠普"),
    ("惠普（重庆）有限公司", "惠普"),
    ("宏碁（重庆）有限公司", "宏碁"),
    ("思科系统（中国）网络技术有限公司", "思科"),
    ("长安汽车重庆分公司", "长安"),
    ("HP (China) Co., Ltd.", "惠普"),
    ("Hewlett-Packard (Chongqing) Co., Ltd.", "惠普"),
    ("Acer (Chongqing) Ltd.", "宏碁"),
    ("Cisco Systems (China) Network Technology Co., Ltd.", "思科"),
    ("Changan Automobile Chongqing Branch", "长安"),
]


@pytest.fixture
def office(session, officer):
    # unrelated firms sharing characters, so a match is not just "the only firm there is"
    for name in ("惠达卫浴", "长城汽车", "思源电气", "宏发股份", "普洛斯"):
        create_firm(session, officer, FirmCreate(name_zh=name), confirm=True)
    return {
        zh: create_firm(
            session, officer, FirmCreate(name_zh=zh, name_en=en, aliases=al), confirm=True
        )
        for zh, en, al in EXISTING
    }


@pytest.mark.parametrize("typed, meant", TYPED)
def test_region_qualified_names_find_the_firm(session, officer, office, typed, meant):
    cands = find_similar(session, typed)
    assert cands and cands[0].id == office[meant].id, [c.name_zh for c in cands]
    with pytest.raises(DuplicateFirm) as err:
        create_firm(session, officer, FirmCreate(name_zh=typed))
    assert not err.value.exact
    assert office[meant].id in [c.id for c in err.value.candidates]


def test_unrelated_names_are_not_flagged(session, office):
    for name in ("京东方科技集团股份有限公司", "Bosch (China) Investment Ltd.", "长鑫存储"):
        ids = {c.id for c in find_similar(session, name)}
        assert not ids & {f.id for f in office.values()}, name


def test_an_existing_extended_name_is_found_from_the_short_one(session, officer):
    long_ = create_firm(session, officer, FirmCreate(name_zh="思科系统（中国）网络技术有限公司"))
    assert [c.id for c in find_similar(session, "思科")][:1] == [long_.id]
    assert [c.id for c in find_similar(session, "Cisco")] == []  # it has no English name
    hp = create_firm(session, officer, FirmCreate(name_zh="惠普（中国）有限公司"))
    assert [c.id for c in find_similar(session, "惠普（重庆）有限公司")][:1] == [hp.id]


def test_alias_and_credit_code_are_exact(session, officer, office):
    found = check_firm(session, ["hewlett packard"])
    assert [c.id for c in found.exact] == [office["惠普"].id]
    with pytest.raises(DuplicateFirm) as err:
        create_firm(session, officer, FirmCreate(name_zh="Hewlett-Packard Inc."), confirm=True)
    assert err.value.exact
    # the English name alone is a strong (not an exact) match: it needs a confirmation
    assert check_firm(session, ["HP Inc."]).similar[0].id == office["惠普"].id


def test_aliases_are_unique_across_firms(session, officer, office):
    with pytest.raises(DuplicateFirm) as err:
        create_firm(session, officer, FirmCreate(name_zh="西南铝业", aliases=["HP"]), confirm=True)
    assert err.value.field == "aliases" and err.value.candidates[0].id == office["惠普"].id
    swa = create_firm(session, officer, FirmCreate(name_zh="西南铝业"), confirm=True)
    acer = office["宏碁"]
    for alias in ("HP", "hewlett packard", "西南铝业", "思科"):
        with pytest.raises(DuplicateFirm) as err:
            update_firm(
                session, officer, acer.id, FirmUpdate(version=acer.version, aliases=[alias])
            )
        assert err.value.field == "aliases", alias
    # its own aliases and a fresh one are fine
    update_firm(session, officer, acer.id, FirmUpdate(version=acer.version, aliases=["宏碁电脑"]))
    assert swa.id


def test_renaming_to_another_firms_alias_is_refused(session, officer, office):
    acer = office["宏碁"]
    with pytest.raises(DuplicateFirm) as err:
        update_firm(
            session, officer, acer.id, FirmUpdate(version=acer.version, name_zh="Hewlett Packard")
        )
    assert err.value.exact


def test_candidates_come_from_bounded_probes(session, officer, office):
    """The check reads the index with a handful of probes, whatever the database holds."""
    from sqlalchemy import event

    statements: list[str] = []

    def count(conn, cursor, statement, *a):
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        check_firm(session, ["思科系统（中国）网络技术有限公司", "Cisco Systems China"])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) <= 8
    assert all("LIMIT" in s.upper() for s in statements if "firm_fts" in s or "LIKE" in s)


# --- property: a firm is always a candidate for its own name with qualifiers added ----------

_FORBIDDEN = set(
    "".join(
        [
            "中国重庆北京上海天津广州深圳成都四川香港亚太华西部大",
            "有限责任公司股份集团控股分子办事代表处厂总",
        ]
    )
)
_HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5).filter(
    lambda c: c not in _FORBIDDEN
)
_PREFIX = st.sampled_from(["", "中国", "重庆", "上海"])
_QUAL = st.sampled_from(["", "（中国）", "（重庆）", "(中国)", "【重庆】", "(China)"])
_TAIL = st.lists(
    st.sampled_from(
        ["重庆", "中国", "分公司", "子公司", "股份", "集团", "有限公司", "有限责任公司", "控股"]
    ),
    max_size=3,
)
_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8).filter(
    lambda w: (
        w
        not in {
            "china",
            "chongqing",
            "group",
            "limited",
            "holding",
            "holdings",
            "branch",
            "company",
            "corp",
            "inc",
            "ltd",
            "llc",
            "plc",
            "gmbh",
            "the",
            "prc",
            "beijing",
            "shanghai",
            "asia",
            "pacific",
            "apac",
            "office",
            "stock",
            "joint",
            "subsidiary",
            "representative",
            "shareholding",
            "corporation",
            "incorporated",
        }
    )
)
_EN_QUAL = st.sampled_from(["", " (China)", " (Chongqing)", " China", " Chongqing"])
_EN_TAIL = st.sampled_from(
    [
        "",
        " Co., Ltd.",
        " Ltd",
        " Group",
        " Inc.",
        " Corp.",
        " Holdings Limited",
        " Group Co., Ltd.",
        " Branch",
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    base=st.text(alphabet=_HAN, min_size=2, max_size=6),
    prefix=_PREFIX,
    qual=_QUAL,
    tail=_TAIL,
    word=_WORD,
    en_qual=_EN_QUAL,
    en_tail=_EN_TAIL,
)
def test_a_firm_is_a_candidate_for_its_own_qualified_name(
    session, officer, base, prefix, qual, tail, word, en_qual, en_tail
):
    with session.begin_nested() as sp:
        firm = create_firm(
            session, officer, FirmCreate(name_zh=base, name_en=word.title()), confirm=True
        )
        typed_zh = prefix + base + qual + "".join(tail)
        typed_en = word.title() + en_qual + en_tail
        for typed in (typed_zh, typed_en):
            ids = [c.id for c in check_firm(session, [typed]).all]
            assert firm.id in ids, typed
        sp.rollback()


def test_the_database_keeps_an_alias_to_one_firm(session, officer, office):
    from sqlalchemy.exc import IntegrityError

    from crm.models.firms import FirmAlias

    session.add(FirmAlias(firm_id=office["宏碁"].id, alias="HP", alias_norm="hewlettpackard"))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_an_import_refuses_aliases_of_other_firms(session, officer, office):
    from crm.imports.service import run_import

    manager = make_user(session, "manager", make_department(session))
    csv = (
        "企业名称,别名\n"
        "西南铝业,Hewlett-Packard\n"  # another firm's alias
        "重庆钢铁,渝钢\n"
        "重庆钢铁集团矿业,渝钢\n"  # the alias of an earlier row
        "渝钢,\n"  # a name that is an earlier row's alias
    ).encode()
    rep = run_import(session, manager, "firms", csv, "firms.csv")
    assert sorted((e.row, e.field) for e in rep.rejected) == [
        (2, "aliases"),
        (4, "aliases"),
        (5, "name_zh"),
    ]
    assert not rep.applied


def test_the_import_index_finds_what_check_firm_finds(session, office):
    """The import's ``NameIndex`` (every firm's names read once) answers the same probes as
    ``check_firm``'s queries: the same candidates, scores and reasons for every name typed,
    and no exact duplicate among them."""
    index = NameIndex.load(session)
    names = [t for t, _m in TYPED] + [
        "HP Inc.",
        "惠普",
        "思科",
        "Cisco",
        "hui pu",
        "长城",
        "普洛斯物流",
        "京东方科技集团股份有限公司",
        "Bosch (China) Investment Ltd.",
    ]
    for name in names:
        want = check_firm(session, [name]).similar
        assert index.similar([name]) == want, name
    assert (
        index.similar(["惠普", "Hewlett-Packard"])
        == check_firm(session, ["惠普", "Hewlett-Packard"]).similar
    )


# names made of a few pieces, so that equal cores, prefixes, names inside names, near spellings
# (华信达通泰 / 华信达通康) and exact names meet often
_PIECE = st.sampled_from(
    [
        "华信",
        "华",
        "信达",
        "达通",
        "泰",
        "康",
        "北京",
        "中国",
        "科技",
        "（重庆）",
        "集团",
        "有限公司",
        "Hua",
        "Xin",
        "Tech",
        "HP",
        " (China)",
        " Co., Ltd.",
    ]
)
_NAME = st.lists(_PIECE, min_size=1, max_size=5).map("".join)


def _scored_one_by_one(index: NameIndex, aliases: dict[int, list[str]], names: list[str]) -> list:
    """What ``NameIndex.similar`` answered before it chose the pairs worth scoring: every firm
    a probe finds, less the exact duplicates, scored with ``score`` against every core."""
    given = [n for n in dict.fromkeys(n.strip() for n in names if n and n.strip())]
    norms = {normalize_name(n) for n in given} - {""}
    cores = [c for c in dict.fromkeys(core_name(x) for x in given) if c]
    found = {}
    for probe in _all_probes(given, cores):
        for pos in index._containing(probe):
            fid, zh, en = index._firms[pos]
            if fid in found or norms & {normalize_name(x) for x in (zh, *aliases[fid])}:
                continue
            best, why = _best_score(cores, [core_name(x) for x in index._names[pos]])
            found[fid] = DuplicateCandidate(
                id=fid, name_zh=zh, name_en=en, score=round(best, 1), reason=why
            )
    return sorted(
        (c for c in found.values() if c.score >= THRESHOLD), key=lambda c: (-c.score, c.id)
    )


@settings(max_examples=150, deadline=None)
@given(
    firms=st.lists(
        st.tuples(_NAME, st.none() | _NAME, st.lists(_NAME, max_size=2)), min_size=1, max_size=40
    ),
    typed=st.lists(st.lists(_NAME, min_size=1, max_size=3), min_size=1, max_size=8),
)
def test_the_import_index_scores_every_firm_that_can_reach_the_threshold(firms, typed):
    """``NameIndex.similar`` scores only the firms whose names can reach ``THRESHOLD`` (equal,
    containing, contained or close by ``fuzz.ratio``): it answers what scoring every firm the
    probes find answers."""
    index = NameIndex([(n + 1, zh, en, aliases) for n, (zh, en, aliases) in enumerate(firms)])
    aliases = {n + 1: al for n, (_zh, _en, al) in enumerate(firms)}
    for names in typed:
        assert index.similar(names) == _scored_one_by_one(index, aliases, names), names
