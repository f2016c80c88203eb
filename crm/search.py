"""The header's one search box: firms, contacts and projects for one query.

Firms through the firm search (names, aliases, pinyin, initials); contacts by name, title,
phone or e-mail; projects by title — read through ``crm.authz.project_visible``, and a
confidential project is found and named by its code name only, so what a search shows is never
more than the reader's lists show."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    cast,
    column,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import array
from sqlmodel import Session

from crm.authz import project_visible
from crm.authz.disclosure import project_label
from crm.authz.visibility import viewer_key
from crm.db import (
    bind_url,
    built_once,
    cased_beyond_ascii,
    is_postgres,
    lowered,
    plan_once,
    plan_per_value,
)
from crm.firms.search import search_firm_rows
from crm.models.accounts import User
from crm.models.firms import Contact, Firm
from crm.models.policy import Cluster
from crm.models.projects import Project
from crm.text import like_pattern

MIN_CHARS = 1
MAX_QUERY = 100


@dataclass(frozen=True)
class ContactHit:
    id: int
    name: str
    title: str | None
    firm_id: int
    firm_name: str


@dataclass(frozen=True)
class ProjectHit:
    id: int
    label: str  # the title, or for a confidential project its code name
    confidential: bool
    stage: str
    cluster: str  # code (pages show the name)
    firm_name: str | None  # None for a confidential project


@dataclass
class Results:
    q: str
    firms: list[Any] = field(default_factory=list)  # rows: id, name_zh, name_en, …
    contacts: list[ContactHit] = field(default_factory=list)
    projects: list[ProjectHit] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.firms or self.contacts or self.projects)


def _contains(col: Any, q: str) -> Any:
    """``col`` contains the query (the statement's ``like`` parameter: ``like_pattern`` of it
    lower-cased), lower-cased as ``lowered`` does for a query like ``q``."""
    return lowered(col, q).like(bindparam("like", type_=String()), escape="\\")


@dataclass(frozen=True)
class _Index:
    """A kind's substring index (migration 0022): on SQLite a contentless FTS5 trigram table
    whose values end with two spaces; on PostgreSQL a text expression under a pg_trgm index and
    its characters and pairs in the stored column ``search_grams``. Either only narrows: the
    service tests every candidate with the same LIKE as a search without it."""

    fts: str
    pg_text: str  # the indexed expression, as the migration wrote it (constants inline)
    pg_grams: str
    # on SQLite: more candidates than this, and the rows are read in the page's order instead,
    # stopping at the page (a query that matches many rows finds them at once)
    few: int


_CONTACT_INDEX = _Index(
    fts="contact_fts",
    pg_text=" || chr(10) || ".join(
        f"lower(coalesce(contact.{f}, ''))" for f in ("name", "title", "phone", "email")
    ),
    pg_grams="contact.search_grams",
    few=1000,
)
_PROJECT_INDEX = _Index(
    fts="project_fts",
    pg_text="lower(coalesce(CASE WHEN project.is_confidential THEN project.code_name "
    "ELSE project.title END, ''))",
    pg_grams="project.search_grams",
    few=500,
)
# one or two characters on SQLite: the index's trigrams that begin with them, at most this many;
# past that a MATCH of so many trigrams (about 20 µs each) costs more than reading the rows in
# the page's order to the page's end (the city's projects: "海" begins 226 trigrams in 477
# projects, a 5 ms MATCH against 1 ms reading them by their last change)
FEW_TERMS = 64


def _fts_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _vocab_prefix(text: str) -> str | None:
    """What to look up in the index's vocabulary for ``text`` (lower-cased): each character as
    FTS5 folds every character Python lower-cases to it — ASCII and characters without case
    (汉字, digits) as they are, ü as ü (Ü and ü), ς as σ (ς, and Σ at a word's end, which FTS5
    folds to σ). None when a character has no such fold (FTS5 keeps İ as it is, which Python
    lower-cases to i and a combining dot): that query reads the rows."""
    out = []
    for c in text:
        if c.isascii() or c.upper() == c == c.lower() == c.casefold() != "\u0307":
            out.append(c)
            continue
        folded = _fold(c)
        if folded is None:
            return None
        out.append(folded)
    return "".join(out)


@lru_cache(maxsize=1)
def _upper_of() -> dict[str, tuple[str, ...]]:
    """Each lower-case letter, with every character Python lower-cases to it (ü: Ü; k: K and
    the Kelvin sign; ς: Σ at a word's end) — built the first time a query holds such a letter
    (0.1–0.2 s)."""
    out: dict[str, list[str]] = {"ς": ["Σ"]}
    for i in range(0x110000):
        ch = chr(i)
        low = ch.lower()
        if low != ch and len(low) == 1:
            out.setdefault(low, []).append(ch)
    return {k: tuple(v) for k, v in out.items()}


@lru_cache(maxsize=4096)
def _fold(c: str) -> str | None:
    """The character SQLite's FTS5 trigram tokenizer (this process's SQLite) folds ``c`` and
    every character Python lower-cases to ``c`` into, if it folds them all alike; else None."""
    if c.lower() != c or c == "\u0307":
        return None
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram')")
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row')")
        folds = set()
        for ch in (c, *_upper_of().get(c, ())):
            conn.execute("DELETE FROM t")
            conn.execute("INSERT INTO t(x) VALUES (?)", (ch * 3,))
            terms = [r[0] for r in conn.execute("SELECT term FROM v")]
            if len(terms) != 1 or len(terms[0]) != 3 or len(set(terms[0])) != 1:
                return None
            folds.add(terms[0][0])
        return folds.pop() if len(folds) == 1 else None
    finally:
        conn.close()


# PostgreSQL's statistics of the grams columns (most common elements and their frequencies),
# by database and table, read again after this many seconds
_STATS_SECONDS = 600.0
_COMMON: dict[tuple[str, str], tuple[float, dict[str, float], float]] = {}
_GRAM_STATS = text(
    "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples "
    "FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename "
    "AND c.relnamespace = to_regnamespace(s.schemaname) "
    "WHERE s.schemaname = current_schema() AND s.tablename = :t AND s.attname = 'search_grams'"
)


def _pg_common(session: Session, table: str, gram: str, few: int) -> bool:
    """Whether PostgreSQL's statistics say that more than ``few`` rows of ``table`` hold
    ``gram`` (only the choice of plan depends on it, never what is found)."""
    key = (str(bind_url(session)), table)
    now = time.monotonic()
    known = _COMMON.get(key)
    if known is None or known[0] < now:
        row = session.execute(_GRAM_STATS, {"t": table}).first()
        freqs = dict(zip(row[0], row[1], strict=False)) if row and row[0] else {}
        known = (now + _STATS_SECONDS, freqs, float(row[2]) if row else 0.0)
        _COMMON[key] = known
    return known[1].get(gram, 0.0) * known[2] > few


# The statements, built once per shape (``crm.db.built_once``): a request only executes one
# with its values — building them (subqueries, their columns, their cache keys) was 2–3 ms of a
# header search on PostgreSQL, more than running them
_STATEMENTS: dict[tuple[Any, ...], Any] = {}
# its keys: per viewer kind (managers, officers without a department, one per department) 3
# narrowings × 2 lower-casings × 2 pages of projects, and a few dozen more — 12 × (D + 2) + 16
# on PostgreSQL, past built_once's default 256 from 19 departments (every search then rebuilt)
_STATEMENTS_LIMIT = 2048


def _narrow_condition(index: _Index, id_col: Any, how: str) -> Any:
    """The index's candidates for the query in the statement's parameters: its pairs
    (``grams``: one or two characters, PostgreSQL), its text (``text``: three or more,
    PostgreSQL) or its FTS5 rows (``fts``: SQLite, the ``match`` parameter)."""
    if how == "grams":
        return literal_column(index.pg_grams).op("@>")(
            array([cast(bindparam("gram", type_=String()), Text)], type_=ARRAY(Text))
        )
    if how == "text":
        return literal_column(index.pg_text).like(
            bindparam("narrow_like", type_=String()), escape="\\"
        )
    return id_col.in_(
        text(f"SELECT rowid FROM {index.fts} WHERE {index.fts} MATCH :match").columns(
            column("rowid", Integer)
        )
    )


def _planned(how: str | None) -> Any:
    """How PostgreSQL plans a contacts or projects statement narrowed ``how``: one the index
    narrowed to few candidates is planned once (its generic plan reads them from the index
    whatever the pair: "惠普" 0.06 ms against 0.41 planned for it, "重庆" 0.07 against 0.45);
    one that reads the rows in order is planned for its query each time."""
    return plan_once if how in ("grams", "text") else plan_per_value


def _narrowing(
    session: Session, index: _Index, id_col: Any, q: str
) -> tuple[str | None, dict[str, str]]:
    """How the index narrows the rows matching ``q`` (lower-cased) to few candidates: the
    condition's kind (``_narrow_condition``) and its parameters; ``(None, {})`` when the rows
    are better read in order (many match), and ``("nothing", {})`` when the index shows that
    none can."""
    return _narrowings(session, q, [(index, id_col)])[0]


def _narrowings(
    session: Session, q: str, kinds: list[tuple[_Index, Any]]
) -> list[tuple[str | None, dict[str, str]]]:
    """``_narrowing`` for each (index, id column) of ``kinds``: on PostgreSQL their candidates
    counted in one statement (one round trip for the header search's contacts and projects)."""
    if not is_postgres(session):
        return [_narrowing_sqlite(session, index, id_col, q) for index, id_col in kinds]
    short = len(q) <= 2
    how, params = ("grams", {"gram": q}) if short else ("text", {"narrow_like": like_pattern(q)})
    # a common character or pair ("h") in a table: no need to count its rows
    counted = [
        (index, id_col)
        for index, id_col in kinds
        if not (short and _pg_common(session, id_col.table.name, q, index.few))
    ]
    found: dict[_Index, int] = {}
    if counted:
        # how many candidates, as on SQLite: the planner, which cannot see that the exact test
        # passes most of them, would otherwise join and sort 38,000 contacts for "经理"
        # planned for the character each time (plan_per_value): the rows holding one are
        # found from the index, the rows holding another read in order
        count = built_once(
            _STATEMENTS,
            ("count", tuple(index for index, _ in counted), how),
            lambda: plan_per_value(
                select(
                    *(
                        select(func.count())
                        .select_from(
                            select(literal(1))
                            .select_from(id_col.table)
                            .where(_narrow_condition(index, id_col, how))
                            .limit(index.few + 1)
                            .subquery()
                        )
                        .scalar_subquery()
                        for index, id_col in counted
                    )
                )
            ),
            _STATEMENTS_LIMIT,
        )
        row = session.execute(count, params).one()
        found = {index: int(n or 0) for (index, _), n in zip(counted, row, strict=True)}
    out: list[tuple[str | None, dict[str, str]]] = []
    for index, _ in kinds:
        n = found.get(index)
        if n is None or n > index.few:
            out.append((None, {}))
        else:
            out.append((how, params) if n else ("nothing", {}))
    return out


def _narrowing_sqlite(
    session: Session, index: _Index, id_col: Any, q: str
) -> tuple[str | None, dict[str, str]]:
    """``_narrowing`` on SQLite: the FTS5 table's rows or vocabulary."""
    if len(q) >= 3:
        match = _fts_quote(q)
        n = session.scalar(
            text(
                f"SELECT count(*) FROM (SELECT rowid FROM {index.fts} "
                f"WHERE {index.fts} MATCH :m LIMIT :n)"
            ),
            {"m": match, "n": index.few + 1},
        )
        if n > index.few:
            return None, {}
        if not n:
            return "nothing", {}
    else:
        prefix = _vocab_prefix(q)
        if prefix is None:
            return None, {}
        terms = session.execute(
            text(
                f"SELECT term, doc FROM {index.fts}_vocab "
                "WHERE term >= :p AND term < :p || char(1114111) LIMIT :n"
            ),
            {"p": prefix, "n": FEW_TERMS + 1},
        ).all()
        if not terms:
            return "nothing", {}
        if len(terms) > FEW_TERMS or sum(doc for _, doc in terms) > index.few:
            return None, {}
        match = " OR ".join(_fts_quote(term) for term, _ in terms)
    return "fts", {"match": match}


def search_everything(session: Session, actor: User, q: str, limit: int = 8) -> Results:
    """Up to ``limit`` firms, contacts and projects matching ``q``, the best first."""
    q = (q or "").strip()[:MAX_QUERY]
    out = Results(q=q)
    if len(q) < MIN_CHARS:
        return out
    out.firms = search_firm_rows(session, actor, q, limit=limit)
    contacts, projects = _narrowings(
        session, q.lower(), [(_CONTACT_INDEX, Contact.id), (_PROJECT_INDEX, Project.id)]
    )
    out.contacts = _contacts(session, q, limit, narrowed=contacts)
    out.projects = _projects(session, actor, q, limit, narrowed=projects)
    return out


def _narrowed(
    session: Session,
    index: _Index | None,
    id_col: Any,
    q: str,
    narrowed: tuple[str | None, dict[str, str]] | None,
) -> tuple[str | None, dict[str, str]]:
    """How the index narrows the candidates for ``q`` and its values: ``narrowed`` if known,
    else ``_narrowing``'s; (None, {}) with no index (every row tested)."""
    if index is None:
        return None, {}
    return narrowed or _narrowing(session, index, id_col, q.lower())


def _contacts(
    session: Session,
    q: str,
    limit: int,
    index: _Index | None = _CONTACT_INDEX,
    narrowed: tuple[str | None, dict[str, str]] | None = None,
) -> list[ContactHit]:
    """Contacts whose name, title, phone or e-mail contains ``q``: the shortest names first.
    (``index`` None: every contact is tested, as a check of the index; ``narrowed``: the
    index's ``_narrowing`` for ``q``, if known.)"""
    how, params = _narrowed(session, index, Contact.id, q, narrowed)
    if how == "nothing":
        return []

    def build() -> Any:
        cond = or_(
            _contains(Contact.name, q),
            _contains(Contact.title, q),
            _contains(Contact.phone, q),
            _contains(Contact.email, q),
        )
        if how is not None:
            cond = and_(_narrow_condition(index, Contact.id, how), cond)  # type: ignore[arg-type]
        # the page's contacts first, then their firms' names (not a join of every match)
        found = (
            select(Contact.id, Contact.name, Contact.title, Contact.firm_id)
            .where(cond)
            .order_by(func.length(Contact.name), Contact.name, Contact.id)
            .limit(limit)
            .subquery("found")
        )
        return _planned(how)(
            select(found.c.id, found.c.name, found.c.title, found.c.firm_id, Firm.name_zh)
            .join(Firm, Firm.id == found.c.firm_id)
            .order_by(func.length(found.c.name), found.c.name, found.c.id)
        )

    key = ("contacts", index, how, cased_beyond_ascii(q), limit)
    rows = session.execute(
        built_once(_STATEMENTS, key, build, _STATEMENTS_LIMIT),
        {**params, "like": like_pattern(q.lower())},
    ).all()
    return [ContactHit(*row) for row in rows]


def _projects(
    session: Session,
    actor: User,
    q: str,
    limit: int,
    index: _Index | None = _PROJECT_INDEX,
    narrowed: tuple[str | None, dict[str, str]] | None = None,
) -> list[ProjectHit]:
    """Projects ``actor`` may see whose searchable name contains ``q``: the last changed
    first. A confidential project answers to its code name only (never to its title or firm).
    (``index`` None: every project is tested, as a check of the index; ``narrowed``: the
    index's ``_narrowing`` for ``q``, if known.)"""
    how, params = _narrowed(session, index, Project.id, q, narrowed)
    if how == "nothing":
        return []

    def build() -> Any:
        matches = or_(
            and_(not_(Project.is_confidential), _contains(Project.title, q)),
            and_(Project.is_confidential, _contains(Project.code_name, q)),
        )
        if how is not None:
            matches = and_(_narrow_condition(index, Project.id, how), matches)  # type: ignore[arg-type]
        # the page's projects first, then their firms and clusters (not a join of every match)
        found = (
            select(
                Project.id,
                Project.title,
                Project.code_name,
                Project.is_confidential,
                Project.stage,
                Project.cluster_id,
                Project.firm_id,
                Project.updated_at,
            )
            .where(project_visible(actor), matches)
            .order_by(Project.updated_at.desc(), Project.id.desc())
            .limit(limit)
            .subquery("found")
        )
        return _planned(how)(
            select(
                found.c.id,
                found.c.title,
                found.c.code_name,
                found.c.is_confidential,
                found.c.stage,
                Cluster.code,
                Firm.name_zh,
            )
            .join(Firm, Firm.id == found.c.firm_id)
            .join(Cluster, Cluster.id == found.c.cluster_id)
            .order_by(found.c.updated_at.desc(), found.c.id.desc())
        )

    key = ("projects", index, how, cased_beyond_ascii(q), limit, viewer_key(actor))
    project_rows = session.execute(
        built_once(_STATEMENTS, key, build, _STATEMENTS_LIMIT),
        {**params, "like": like_pattern(q.lower())},
    ).all()
    return [
        ProjectHit(
            id=pid,
            label=project_label(title, secret, code_name),
            confidential=bool(secret),
            stage=stage,
            cluster=cluster,
            firm_name=None if secret else firm_name,
        )
        for pid, title, code_name, secret, stage, cluster, firm_name in project_rows
    ]
