"""Firm search: a substring of ``firm.search_text`` answered from the search index."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, String, bindparam, case, literal, or_, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlmodel import Session

from crm.db import planned_per_value
from crm.models.accounts import User
from crm.models.firms import Firm
from crm.text import fold_query, like_pattern


class _TextMatch(ColumnElement[bool]):
    """``firm.search_text`` contains the query: a LIKE '%q%' everywhere (PostgreSQL answers it
    from the pg_trgm GIN index), but on SQLite a query of 2+ characters is answered by the FTS5
    trigram table ``firm_fts`` instead of reading every row (see the firm_search and
    firm_search_short migrations) — and one character too where it begins few trigrams
    (``single``, firm_search_one_char) — and on PostgreSQL a query of 1–2 characters by the GIN
    index over the text's characters and pairs (firm_search_grams): the same firms either way."""

    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True  # no "= 1" after it on SQLite: the planner must see the IN
    _traverse_internals = [
        ("id_col", InternalTraversal.dp_clauseelement),
        ("substring", InternalTraversal.dp_clauseelement),
        ("phrase", InternalTraversal.dp_clauseelement),
        ("short", InternalTraversal.dp_clauseelement),
        ("grams", InternalTraversal.dp_clauseelement),
        ("single", InternalTraversal.dp_clauseelement),
        ("generic", InternalTraversal.dp_boolean),
    ]

    def __init__(
        self,
        id_col: Any,
        substring: BinaryExpression[bool],
        phrase: BindParameter[str] | None,
        short: BindParameter[str] | None = None,
        grams: BindParameter[str] | None = None,
        single: BindParameter[str] | None = None,
        generic: bool = False,
    ) -> None:
        self.id_col = id_col
        # the LIKE '%q%' (named so as not to hide ColumnElement.like)
        self.substring = substring
        self.phrase = phrase
        self.short = short
        self.grams = grams
        self.single = single
        # PostgreSQL: the statement holding it may keep one plan for every value (its own mark,
        # ``plan_once``) — the list's search, which reads every match to count them
        self.generic = generic


@compiles(_TextMatch)
def _text_match_default(element: _TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.substring, **kw)


@compiles(_TextMatch, "postgresql")
def _text_match_postgresql(element: _TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    # pg_trgm cannot serve fewer than three characters: those are one of the text's
    # characters or character pairs, which the search_grams column and its index hold
    # "惠普" is in one firm, "h" in 44,800: the statement is planned for its value each time
    # (unless it reads every match anyway: ``generic``, ``SearchShape``)
    if not element.generic:
        planned_per_value(compiler)
    if element.grams is None:
        return compiler.process(element.substring, **kw)
    column = compiler.process(element.substring.left, **kw)
    gram = compiler.process(element.grams, **kw)
    # the grams stored beside the text (a generated column, migration 0014): a plan that reads
    # the table tests each row's stored array instead of computing the grams again
    grams = column[: -len("search_text")] + "search_grams"
    return f"{grams} @> ARRAY[CAST({gram} AS TEXT)]"


@compiles(_TextMatch, "sqlite")
def _text_match_sqlite(element: _TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    id_col = compiler.process(element.id_col, **kw)
    if element.single is not None:
        # one character: the trigrams that begin with it, and the texts whose last character
        # it is (followed by the closing space it begins no trigram), from ix_firm_search_tail;
        # no trigram at all leaves the empty phrase, which matches nothing
        one = compiler.process(element.single, **kw)
        return (
            f"{id_col} IN (SELECT firm_fts.rowid FROM firm_fts WHERE firm_fts MATCH "
            f"coalesce({_vocab_terms(one)}, '\"\"') "
            f"UNION ALL SELECT firm_tail.id FROM firm AS firm_tail "
            f"WHERE substr(firm_tail.search_text, -2, 1) = {one})"
        )
    if element.phrase is None:
        return compiler.process(element.substring, **kw)
    match = compiler.process(element.phrase, **kw)
    if element.short is not None:
        # two characters: every trigram that begins with them, from the index's vocabulary
        # (search_text ends with a space, so each occurrence begins one); none at all leaves
        # the two-character phrase itself, which matches nothing
        short = compiler.process(element.short, **kw)
        match = f"coalesce({_vocab_terms(short)}, {match})"
    return f"{id_col} IN (SELECT firm_fts.rowid FROM firm_fts WHERE firm_fts MATCH {match})"


def _vocab_terms(prefix: str) -> str:
    """The index's trigrams that begin with ``prefix`` (a compiled parameter), as one FTS5
    query ``"t1" OR "t2" …`` (NULL when there are none)."""
    return (
        f"(SELECT group_concat('\"' || replace(term, '\"', '\"\"') || '\"', ' OR ') "
        f"FROM firm_fts_vocab WHERE term >= {prefix} AND term < {prefix} || char(1114111))"
    )


# one character on SQLite goes to the index when it begins at most this many of the index's
# trigrams in at most this many firms: past that a MATCH of so many trigrams and the merge of
# their firms cost more than reading every text (the city's "h": 525 trigrams, 2× slower;
# "公": one trigram in 49,644 firms, 1.3× slower; "惠": 2 in 2, 0.25 against 65 ms)
FEW_TRIGRAMS = 32
FEW_FIRMS = 10_000
_TRIGRAMS_OF = text(
    "SELECT count(*), sum(doc) FROM (SELECT doc FROM firm_fts_vocab "
    "WHERE term >= :c AND term < :c || char(1114111) LIMIT :few)"
)


def _one_char_indexed(session: Session | None, folded: str) -> bool:
    """Whether one character is answered from SQLite's index (few trigrams begin with it)."""
    if session is None or len(folded) != 1 or session.get_bind().dialect.name != "sqlite":
        return False
    n, firms = session.execute(_TRIGRAMS_OF, {"c": folded, "few": FEW_TRIGRAMS + 1}).one()
    return bool(n <= FEW_TRIGRAMS and (firms or 0) <= FEW_FIRMS)


# the kinds of one form of a query, by what answers it (``_TextMatch``): one character from
# SQLite's index ("single"), one character, two characters, three or more
_SINGLE, _ONE, _TWO, _MORE = "single", "1", "2", "3"


def _kind(folded: str, session: Session | None = None) -> str:
    if _one_char_indexed(session, folded):
        return _SINGLE
    return _ONE if len(folded) == 1 else _TWO if len(folded) == 2 else _MORE


def _form_values(folded: str, kind: str) -> dict[str, str]:
    """The values a form of kind ``kind`` binds, by name: its LIKE pattern, its "begins a
    name" pattern (``search_rank``) and what its index asks."""
    values = {"like": like_pattern(folded), "starts": like_pattern(folded, "%| ")}
    if kind == _SINGLE:
        values["fts_one"] = folded
        return values
    # FTS5 trigram matches substrings of 3+ characters (a quoted phrase takes any text), and
    # two characters through the index's vocabulary; one character reads every row (LIKE)
    if kind != _ONE:
        values["fts_q"] = '"' + folded.replace('"', '""') + '"'
    if kind == _TWO:
        values["fts_short"] = folded
    if kind != _MORE:
        values["gram"] = folded
    return values


Param = Callable[[str], BindParameter[str]]


def _form_condition(kind: str, param: Param, generic: bool = False) -> Any:
    """One form's condition, its values the parameters ``param`` makes by name (``generic``:
    see ``_TextMatch``)."""
    like = Firm.search_text.like(param("like"), escape="\\")
    if kind == _SINGLE:
        return _TextMatch(Firm.id, like, None, single=param("fts_one"), generic=generic)
    phrase = param("fts_q") if kind != _ONE else None
    short = param("fts_short") if kind == _TWO else None
    grams = param("gram") if kind != _MORE else None
    return _TextMatch(Firm.id, like, phrase, short, grams, generic=generic)


def _one_condition(folded: str, session: Session | None = None) -> Any:
    kind = _kind(folded, session)
    values = _form_values(folded, kind)
    return _form_condition(kind, lambda name: bindparam(name, values[name], unique=True))


def query_forms(q: str) -> list[str]:
    """The forms of a query the search tries: as typed (folded), and for pinyin typed with
    spaces ("hui pu") the same without them ("huipu")."""
    folded = fold_query(q)
    if not folded:
        return []
    forms = [folded]
    joined = "".join(folded.split())
    if joined != folded and joined.isascii() and len(joined) >= 2:
        forms.append(joined)
    return forms


def search_condition(q: str, session: Session | None = None) -> Any:
    """The WHERE clause for a name / alias / pinyin / initials search (a substring match).
    With ``session`` (on SQLite) a one-character query may be answered from the index."""
    forms = query_forms(q)
    if not forms:
        return None
    if len(forms) == 1:
        return _one_condition(forms[0], session)
    return or_(*(_one_condition(f) for f in forms))


def _rank(starts: list[Any]) -> Any:
    text = literal("| ") + Firm.search_text
    return case((or_(*(text.like(p, escape="\\") for p in starts)), 0), else_=1)


def search_rank(q: str) -> Any:
    """0 when the query begins a whole name, alias, pinyin or initials (宏碁 for "hongqi"),
    1 when it only matches inside one (重庆钢铁's "c-hongqi-ng"): the better matches first."""
    forms = query_forms(q)
    if not forms:
        return literal(1)
    return _rank([like_pattern(f, "%| ") for f in forms])


@dataclass(frozen=True)
class SearchShape:
    """What the statement of a search depends on beside its values: the kind of each form of
    the query (``query_forms``; on SQLite one character may be answered from the index). One
    statement per shape, built once (``search_parts``): a search then builds no expression."""

    kinds: tuple[str, ...]

    def condition(self) -> Any:
        """``search_condition``'s clause, its values parameters named by form (``values``).
        On PostgreSQL a statement holding it is planned as its own mark says, not for each
        value: for the list's search, which reads every match to count them, the generic plan
        (the GIN index, then the sort) was never the slower (EXPLAIN ANALYZE at city scale:
        "h", 44,804 firms, 66 ms against 162 with its own plan, a parallel table read; "an"
        80 against 97; "有限公司" 76 against 112; "hp", "汽车", "huipu" alike) and planning
        each value took 0.1–0.3 ms of the server's time a search."""
        conds = [_form_condition(kind, _named(i), True) for i, kind in enumerate(self.kinds)]
        return conds[0] if len(conds) == 1 else or_(*conds)

    def rank(self) -> Any:
        """``search_rank``'s expression, its patterns parameters named by form."""
        return _rank([bindparam(f"starts_{i}", type_=String()) for i in range(len(self.kinds))])


def _named(i: int) -> Param:
    """Parameters named for the ``i``-th form of a query, given their values when run."""

    def param(name: str) -> BindParameter[str]:
        return bindparam(f"{name}_{i}", type_=String())

    return param


def search_parts(q: str, session: Session | None = None) -> tuple[SearchShape, dict[str, str]]:
    """The shape of ``q``'s search and the values its statement binds (``SearchShape``): the
    same condition and rank as ``search_condition`` and ``search_rank`` (a second form never
    asks SQLite's one-character index, as there). ``q`` must hold some query."""
    forms = query_forms(q)
    assert forms, "an empty query searches nothing"
    kinds: list[str] = []
    values: dict[str, str] = {}
    for i, form in enumerate(forms):
        kind = _kind(form, session if len(forms) == 1 else None)
        kinds.append(kind)
        values.update({f"{k}_{i}": v for k, v in _form_values(form, kind).items()})
    return SearchShape(tuple(kinds)), values


def search_firm_rows(session: Session, actor: User, q: str, limit: int = 10) -> list[Any]:
    """Firms whose name, alias, pinyin or pinyin initials contain ``q``, best first, as rows of
    ``id``, ``name_zh``, ``name_en``, ``tier`` and ``search_text``: among the first 200
    matches (by id), those the query begins a name of, then major investors, then the shorter
    names."""
    cond = search_condition(q, session)
    if cond is None:
        return []
    rows = session.execute(
        select(Firm.id, Firm.name_zh, Firm.name_en, Firm.tier, Firm.search_text)
        .where(cond)
        .order_by(Firm.id)
        .limit(200)
    ).all()
    forms = query_forms(q)

    def rank(row: Any) -> tuple[bool, bool, int]:
        parts = ("| " + (row.search_text or "")).split("| ")
        starts = any(part.startswith(form) for part in parts for form in forms)
        return (not starts, row.tier == "other", len(row.name_zh))

    return sorted(rows, key=rank)[:limit]


def search_firms(session: Session, actor: User, q: str, limit: int = 10) -> list[Firm]:
    """The firms of ``search_firm_rows``, as entities."""
    ids = [row.id for row in search_firm_rows(session, actor, q, limit)]
    if not ids:
        return []
    found = {f.id: f for f in session.scalars(select(Firm).where(Firm.id.in_(ids)))}
    return [found[i] for i in ids if i in found]
