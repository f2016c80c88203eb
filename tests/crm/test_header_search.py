"""The header search's contacts and projects come from an index (migration 0022) that only
narrows: whatever path a query takes (the index's candidates, or the rows read in order when
many match), it finds exactly what testing every row finds, in the same order; the index
follows every change; and a confidential project answers to its code name only, for those who
may see it."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import Session

from crm.models.firms import Contact
from crm.search import (
    _CONTACT_INDEX,
    _PROJECT_INDEX,
    _contacts,
    _projects,
    _vocab_prefix,
    search_everything,
)
from tests.factories import make_department, make_firm, make_project, make_user

QUERIES = [
    "张",
    "张三",
    "三",
    "经理",
    "理",
    "a",
    "an",
    "AN",
    "Ann",
    "ANNA",
    "müller",
    "MÜ",
    "ü",
    "σ",
    "Σ",
    "ς",
    "i",
    "138",
    "0011",
    "@",
    "example.com",
    "%",
    "_",
    "a_b",
    "50%",
    '"',
    "'",
    "a\\b",
    " ",
    "a b",
    "a\nb",
    "经\n理",
    "蓝鲸",
    "鲸",
    "绝密",
    "扩产",
    "项目",
    "Project",
    "x",
    "zz",
    "不存在的名字",
]


def _world(session: Session):  # type: ignore[no-untyped-def]
    a, b = make_department(session), make_department(session)
    own = make_user(session, "officer", a)
    other = make_user(session, "officer", b)
    manager = make_user(session, "manager", a)
    firm = make_firm(session, "检索测试企业")
    contacts = [
        ("张三", "总经理", "13800001111", None),
        ("三张", None, None, "san.zhang@example.com"),  # the query at the end of a value
        ("张", "经理", None, None),  # one character: no trigram of its own
        ("Anna Müller", "Sales Manager", "+49 30 0011", "anna@example.com"),
        ("ANNA MÜLLER", "CEO", None, "ANNA@EXAMPLE.COM"),
        ("ΣΟΦΙΑ", "Διευθύντρια", None, None),
        ("σοφίας", None, None, None),
        ("İlker", "a_b 50% \"x\" 'y' a\\b", None, None),
        ("a b", "z", None, None),
        ("Ann", None, "138", None),
    ]
    for name, title, phone, email in contacts:
        session.add(Contact(firm_id=firm.id, name=name, title=title, phone=phone, email=email))
    make_project(session, firm, "NB", owner=own, title="检索扩产项目 Project A_b")
    make_project(
        session,
        firm,
        "IC",
        owner=own,
        title="封测绝密项目",
        is_confidential=True,
        code_name="蓝鲸计划",
    )
    make_project(session, firm, "NB", owner=other, title="另一部门的项目 50%")
    make_project(
        session,
        firm,
        "IC",
        owner=other,
        title="别部门绝密",
        is_confidential=True,
        code_name="白鲸-7",
    )
    session.commit()
    return own, other, manager


def _paths(index):  # type: ignore[no-untyped-def]
    """The index as configured, forced to its candidates, and forced to the ordered read."""
    return [index, dataclasses.replace(index, few=10**9), dataclasses.replace(index, few=0)]


def test_every_path_finds_what_testing_every_row_finds(session: Session) -> None:
    own, other, manager = _world(session)
    for q in QUERIES:
        want = _contacts(session, q, 50, index=None)
        for index in _paths(_CONTACT_INDEX):
            assert _contacts(session, q, 50, index=index) == want, (q, index.few)
        for user in (own, other, manager):
            want_p = _projects(session, user, q, 50, index=None)
            for index in _paths(_PROJECT_INDEX):
                assert _projects(session, user, q, 50, index=index) == want_p, (q, index.few)
            # the whole search: both indexes narrowed together (one statement on PostgreSQL)
            got = search_everything(session, user, q, limit=50)
            if got.q:  # a query of spaces alone is no query
                assert (got.contacts, got.projects) == (want, want_p), q
    # and they find what they should (the check above would pass with an index finding nothing)
    assert [c.name for c in _contacts(session, "张", 50)] == ["张", "三张", "张三"]
    assert {c.name for c in _contacts(session, "ann", 50)} == {"Ann", "Anna Müller", "ANNA MÜLLER"}
    assert [c.name for c in _contacts(session, "0011", 50)] == ["张三", "Anna Müller"]
    assert [c.name for c in _contacts(session, "a_b", 50)] == ["İlker"]
    assert [c.name for c in _contacts(session, "50%", 50)] == ["İlker"]
    # capitals beyond ASCII, on SQLite as on PostgreSQL (SQLite's lower() leaves them: the
    # search lowers the rows with Python's when the query holds one, ATTACK13 F3)
    for q in ("müller", "MÜLLER", "Mü", "ü"):
        assert {c.name for c in _contacts(session, q, 50)} == {"Anna Müller", "ANNA MÜLLER"}, q
    assert {c.name for c in _contacts(session, "ΣΟΦ", 50)} == {"ΣΟΦΙΑ", "σοφίας"}


def test_letters_fts5_folds_as_python_does_are_looked_up_in_its_vocabulary() -> None:
    """A one- or two-letter query with a case beyond ASCII is answered from the index's
    vocabulary, as FTS5 folds its letters (ü: 200 ms of every contact read and lower-cased in
    Python at city scale, before; ς, which FTS5 folds to σ with Σ: looked up as σ); a letter
    FTS5 does not fold as Python lower-cases it still reads the rows (the test above checks
    every path finds the same)."""
    for q in ("ü", "mü", "ä", "σ", "ß", "é", "经", "ab"):
        assert _vocab_prefix(q) == q, q
    assert _vocab_prefix("ς") == "σ"
    assert _vocab_prefix("aς") == "aσ"
    assert _vocab_prefix("i\u0307") is None  # İ lower-cased: FTS5 keeps İ as it is


def test_a_confidential_project_answers_to_its_code_name_for_those_who_may_see_it(
    session: Session,
) -> None:
    own, other, manager = _world(session)

    def labels(user, q):  # type: ignore[no-untyped-def]
        return [p.label for p in search_everything(session, user, q, limit=20).projects]

    assert labels(own, "鲸") == ["蓝鲸计划"]
    assert labels(other, "鲸") == ["白鲸-7"]
    assert labels(manager, "鲸") == ["白鲸-7", "蓝鲸计划"]  # the last changed first
    for user in (own, other, manager):
        assert labels(user, "绝密") == []  # never by its title
        assert labels(user, "封测") == []
    hit = search_everything(session, own, "蓝鲸", limit=20).projects[0]
    assert hit.confidential and hit.firm_name is None


@pytest.mark.parametrize("q", ["郑", "郑重", "郑重其事"])
def test_the_index_follows_every_change(session: Session, q: str) -> None:
    own, other, _ = _world(session)
    firm = make_firm(session, "变更测试企业")
    c = Contact(firm_id=firm.id, name="李四", title="顾问")
    session.add(c)
    p = make_project(session, firm, "NB", owner=own, title="变更项目")
    session.commit()

    def found() -> tuple[bool, bool]:
        return (
            any(h.id == c.id for h in _contacts(session, q, 50)),
            any(h.id == p.id for h in _projects(session, own, q, 50)),
        )

    assert found() == (False, False)
    c.title = "郑重其事顾问"
    p.title = "郑重其事项目"
    session.commit()
    assert found() == (True, True)
    c.title = None
    c.email = "郑重其事@example.com"
    p.is_confidential, p.code_name = True, "代号"  # now it answers to its code name only
    session.commit()
    assert found() == (True, False)
    p.code_name = "郑重其事代号"
    session.commit()
    assert found() == (True, True)
    assert not any(h.id == p.id for h in _projects(session, other, q, 50))  # not theirs to see
    session.delete(c)
    session.commit()
    assert found() == (False, True)
