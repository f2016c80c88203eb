"""Reading firms: one firm, a page of the list (with its filters), the public shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
    text,
    union_all,
)
from sqlmodel import Session

from crm.authz import can_edit_owned
from crm.db import cache_version, capped_count, is_postgres, plan_once, table
from crm.errors import NotFound, ValidationFailed
from crm.firms.schemas import FirmPublic
from crm.firms.search import (
    SearchShape,
    query_forms,
    search_condition,
    search_parts,
    search_rank,
)
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.firms import Firm, FirmAlias, FirmCluster
from crm.models.policy import Cluster
from crm.sorting import Sort, order_by
from crm.types import stored_id
from crm.vocabulary import MAJOR_TIERS


def get_firm(session: Session, actor: User | None, firm_id: int) -> Firm:
    firm = session.get(Firm, firm_id)
    if firm is None or actor is None:
        raise NotFound(_l("企业不存在"))
    return firm


# built once (a statement object keeps its cache key) of Core columns (an ORM-annotated
# statement costs ~0.15 ms more per execution): the list page and the firm page ask on every
# request
_fa, _fc, _c = table(FirmAlias).c, table(FirmCluster).c, table(Cluster).c
_ALIASES = plan_once(
    select(_fa.firm_id, _fa.alias)
    .where(_fa.firm_id.in_(bindparam("ids", expanding=True)))
    .order_by(_fa.id)
)
_CLUSTER_CODES = plan_once(
    select(_fc.firm_id, _c.code)
    .join(table(Cluster), _c.id == _fc.cluster_id)
    .where(_fc.firm_id.in_(bindparam("ids", expanding=True)))
    .order_by(_c.sort_order)
)


def firm_aliases(session: Session, firm_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in firm_ids}
    if not firm_ids:
        return out
    for fid, alias in session.execute(_ALIASES, {"ids": firm_ids}):
        out[fid].append(alias)
    return out


def firm_cluster_codes(session: Session, firm_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in firm_ids}
    if not firm_ids:
        return out
    for fid, code in session.execute(_CLUSTER_CODES, {"ids": firm_ids}):
        out[fid].append(code)
    return out


# a firm's aliases (kind 0, in the order they were added) and cluster codes (kind 1, in the
# plan's order), one statement for both
_ALIASES_AND_CODES = plan_once(
    union_all(
        select(
            _fa.firm_id, literal_column("0").label("k"), _fa.alias.label("v"), _fa.id.label("o")
        ).where(_fa.firm_id.in_(bindparam("ids", expanding=True))),
        select(_fc.firm_id, literal_column("1"), _c.code, _c.sort_order)
        .join(table(Cluster), _c.id == _fc.cluster_id)
        .where(_fc.firm_id.in_(bindparam("ids", expanding=True))),
    ).order_by(text("2, 4"))
)


def firm_aliases_and_codes(
    session: Session, firm_ids: list[int]
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """``firm_aliases`` and ``firm_cluster_codes`` of the same firms, read in one statement."""
    aliases: dict[int, list[str]] = {i: [] for i in firm_ids}
    codes: dict[int, list[str]] = {i: [] for i in firm_ids}
    if firm_ids:
        for fid, kind, value, _ in session.execute(_ALIASES_AND_CODES, {"ids": firm_ids}):
            (codes if kind else aliases)[fid].append(value)
    return aliases, codes


def to_public_many(session: Session, firms: list[Firm]) -> list[FirmPublic]:
    """Firms as shown outside, their aliases and cluster codes loaded in one query."""
    ids = [stored_id(f) for f in firms]
    aliases, clusters = firm_aliases_and_codes(session, ids)
    skip = {"name_norm", "name_pinyin", "name_initials", "search_text", "source"}
    return [
        FirmPublic(**f.model_dump(exclude=skip), aliases=aliases[i], clusters=clusters[i])
        for f, i in zip(firms, ids, strict=True)
    ]


def to_public(session: Session, firm: Firm) -> FirmPublic:
    return to_public_many(session, [firm])[0]


@dataclass
class FirmFilters:
    q: str | None = None
    cluster: str | None = None
    tier: str | None = None
    country: str | None = None
    owner_id: int | None = None
    updated_since: Any = None
    sort: Sort | None = None  # a column the reader chose (FIRM_SORTS); None: the usual order
    lang: str = "zh_CN"  # the reader's: "name" sorts by pinyin, or for "en" by the English name


# the firm list's sortable columns (crm.sorting: only these keys reach the SQL)
FIRM_SORTS: dict[str, Any] = {
    "name": Firm.name_pinyin,
    # major tiers in their order (crm.vocabulary), then the rest
    "tier": case(
        {t: i for i, t in enumerate(MAJOR_TIERS)}, value=Firm.tier, else_=len(MAJOR_TIERS)
    ),
    "country": Firm.country,
    "updated": Firm.updated_at,
}


# an English reader's name order: the English name, else the pinyin (both Latin letters)
NAME_EN_SORT = func.lower(func.coalesce(Firm.name_en, Firm.name_pinyin))

# the sortable columns that are never empty (their "empty last" term is always false) and that an
# index serves in order (ix_firm_pinyin, ix_firm_updated; the English name order has none yet),
# by the reader's script: the unfiltered list sorted by one of them reads just its page
_INDEXED_SORTS: dict[str, dict[str, Any]] = {
    "name": {"zh": Firm.name_pinyin, "en": NAME_EN_SORT},
    "updated": {"zh": Firm.updated_at, "en": Firm.updated_at},
}


def firm_order(filters: FirmFilters) -> list[Any]:
    """The list's order: the reader's column, else major tiers first, then the last changed."""
    if filters.sort is not None:
        if filters.sort.key == "name" and filters.lang == "en":
            return order_by(filters.sort, {"name": NAME_EN_SORT}, Firm.id)
        return order_by(filters.sort, FIRM_SORTS, Firm.id)
    return [Firm.tier == "other", Firm.updated_at.desc(), Firm.id.desc()]


def firm_list_statement(
    filters: FirmFilters, what: Any = Firm, session: Session | None = None
) -> Any:
    """The firms ``filters`` select: as entities, or (``what=Firm.__table__``) as plain rows.
    ``session``: the database the statement will run on (a one-character search may then be
    answered from SQLite's index: crm.firms.search)."""
    stmt = select(what)
    if filters.q:
        cond = search_condition(filters.q, session)
        if cond is not None:
            stmt = stmt.where(cond)
    if filters.cluster:
        stmt = stmt.where(
            Firm.id.in_(
                select(FirmCluster.firm_id)
                .join(Cluster, Cluster.id == FirmCluster.cluster_id)
                .where(Cluster.code == filters.cluster)
            )
        )
    if filters.tier:
        stmt = stmt.where(Firm.tier == filters.tier)
    if filters.country:
        stmt = stmt.where(Firm.country == filters.country)
    if filters.owner_id:
        stmt = stmt.where(Firm.owner_id == filters.owner_id)
    if filters.updated_since is not None:
        stmt = stmt.where(Firm.updated_at >= filters.updated_since)
    return stmt


def list_firms(
    session: Session,
    actor: User,
    filters: FirmFilters,
    limit: int = 50,
    offset: int = 0,
    count_cap: int = 10_000,
    strict: bool = False,
    columns: bool = False,
) -> tuple[list[Any], int]:
    """A page of firms, major tiers first then by last change, and the total (capped at
    ``count_cap``: more than that is reported as ``count_cap + 1``).

    Unfiltered (the list's landing page) each tier group is read along an index in page order
    and stops at the page: no sort of every firm. Filtered, the matches are few or must all be
    read anyway: one statement finds them, counts them (a window) and sorts their ids, a
    second reads the page's rows.

    ``columns``: plain rows of ``LIST_COLUMNS`` (read by name like the entity) instead of
    entities — a page that only shows them skips the ORM's per-row object building.
    """
    if (
        strict
        and filters.cluster
        and not session.scalar(select(Cluster.id).where(Cluster.code == filters.cluster))
    ):
        raise ValidationFailed(
            _l("未知产业集群：%(cluster)s", cluster=filters.cluster), field="cluster"
        )
    if _only_searched(filters):
        return _searched_page(session, filters, limit, offset, count_cap, columns)
    stmt = firm_list_statement(filters, Firm.__table__ if columns else Firm, session)
    order = (Firm.updated_at.desc(), Firm.id.desc())

    def fetch(q: Any) -> list[Any]:
        return list(session.execute(q).all() if columns else session.scalars(q))

    filtered = _is_filtered(filters)
    if filtered or filters.sort is not None:
        return _chosen_page(session, stmt, filters, filtered, limit, offset, count_cap, columns)
    # major tiers first, along ix_firm_updated; then the rest, along ix_firm_tier_updated
    majors = stmt.where(Firm.tier != "other")

    def tier_page(major: bool, lim: int, off: int) -> list[Any]:
        if columns:  # the landing page's plain rows: statements built once
            return list(session.execute(_LANDING[major], {"f_limit": lim, "f_offset": off}).all())
        cond = Firm.tier != "other" if major else Firm.tier == "other"
        return fetch(stmt.where(cond).order_by(*order).limit(lim).offset(off))

    rows = tier_page(True, limit, offset)
    if len(rows) < limit:
        if rows or offset == 0:
            n_major = offset + len(rows)
        else:  # the majors ended on an earlier page: how many were there (at most offset)
            n_major = capped_count(session, majors, Firm.id, offset - 1)
        rows += tier_page(False, limit - len(rows), max(0, offset - n_major))
    if offset == 0 and len(rows) < limit:
        return rows, len(rows)
    return rows, _every_firm_count(session, count_cap)


def _chosen_page(
    session: Session,
    stmt: Any,
    filters: FirmFilters,
    filtered: bool,
    limit: int,
    offset: int,
    count_cap: int,
    columns: bool,
) -> tuple[list[Any], int]:
    """A page of a filtered or sorted list, and its total."""
    if not filtered and filters.sort is not None and filters.sort.key in _INDEXED_SORTS:
        return _sorted_page(session, stmt, filters, limit, offset, count_cap, columns)
    # a query: names it begins (whole-name pinyin, initials) before matches inside a word;
    # a column the reader chose comes before everything
    # the page's ids first, then its rows: the sort carries ids, not every column of every
    # match (the city's "汽车", 1,794 firms: 27 → 18 ms raw on SQLite)
    first = (search_rank(filters.q),) if filters.q and filters.sort is None else ()
    found = session.execute(
        stmt.with_only_columns(_ft.c.id, func.count().over())
        .order_by(*first, *firm_order(filters))
        .limit(limit)
        .offset(offset)
    ).all()
    if found:
        return _firms_by_id(session, [i for i, _ in found], columns), min(
            found[0][1], count_cap + 1
        )
    total = 0 if offset == 0 else capped_count(session, stmt, Firm.id, count_cap)
    return [], total


def _only_searched(filters: FirmFilters) -> bool:
    """Whether ``filters`` is a search and nothing else (no other filter, the usual order): the
    list's search as an officer types it, whose statement is built once per shape."""
    return bool(
        filters.q
        and query_forms(filters.q)
        and filters.sort is None
        and not any(
            (
                filters.cluster,
                filters.tier,
                filters.country,
                filters.owner_id,
                filters.updated_since is not None,
            )
        )
    )


# a search's ids and count, by the search's shape: the statement ``_chosen_page`` builds for
# a search alone, built once per shape and run with the query's values (building it, its
# condition and rank on every request was a fifth of a search's CPU on SQLite); on PostgreSQL
# prepared and planned once per connection (``SearchShape.condition``)
_SEARCHED: dict[SearchShape, Any] = {}


def _searched_ids(shape: SearchShape) -> Any:
    stmt = _SEARCHED.get(shape)
    if stmt is None:
        stmt = _SEARCHED[shape] = plan_once(
            select(_ft.c.id, func.count().over())
            .where(shape.condition())
            .order_by(shape.rank(), *firm_order(FirmFilters()))
            .limit(bindparam("f_limit", type_=Integer))
            .offset(bindparam("f_offset", type_=Integer))
        )
    return stmt


def _searched_page(
    session: Session,
    filters: FirmFilters,
    limit: int,
    offset: int,
    count_cap: int,
    columns: bool,
) -> tuple[list[Any], int]:
    """``_chosen_page`` of a search alone (``_only_searched``), its statement built once per
    shape of the query (``_searched_ids``)."""
    assert filters.q is not None
    shape, values = search_parts(filters.q, session)
    found = session.execute(
        _searched_ids(shape), {**values, "f_limit": limit, "f_offset": offset}
    ).all()
    if found:
        return _firms_by_id(session, [i for i, _ in found], columns), min(
            found[0][1], count_cap + 1
        )
    if offset == 0:
        return [], 0
    stmt = firm_list_statement(filters, Firm.__table__ if columns else Firm, session)
    return [], capped_count(session, stmt, Firm.id, count_cap)


def _is_filtered(filters: FirmFilters) -> bool:
    """Whether ``filters`` leaves out any firm."""
    return any(
        (
            filters.q,
            filters.cluster,
            filters.tier,
            filters.country,
            filters.owner_id,
            filters.updated_since is not None,
        )
    )


# the unfiltered list's pages in a column's order, as plain rows: by (column, script, descending)
_SORTED: dict[tuple[str, str, bool], Any] = {}


def _sorted_page(
    session: Session,
    stmt: Any,
    filters: FirmFilters,
    limit: int,
    offset: int,
    count_cap: int,
    columns: bool,
) -> tuple[list[Any], int]:
    """Every firm in a column's order (``_INDEXED_SORTS``): read along the column's index and
    stopped at the page, counted as the landing page counts — not a sort and a window count
    over every firm (the city's "sort=name": 31 → 11 ms of CPU)."""
    assert filters.sort is not None
    lang = "en" if filters.lang == "en" and filters.sort.key == "name" else "zh"
    col = _INDEXED_SORTS[filters.sort.key][lang]
    desc = filters.sort.descending
    order = (col.desc() if desc else col, Firm.id.desc() if desc else Firm.id)
    rows: list[Any]
    if columns:
        # the page's columns as the landing page reads them (LIST_COLUMNS, the clusters with
        # them: no second statement for the codes, and not every column of 50 firms — their
        # search texts and notes), the statement built once per order
        q = _SORTED.get((filters.sort.key, lang, desc))
        if q is None:
            q = _SORTED[filters.sort.key, lang, desc] = plan_once(
                select(*LIST_COLUMNS)
                .order_by(*order)
                .limit(bindparam("f_limit", type_=Integer))
                .offset(bindparam("f_offset", type_=Integer))
            )
        rows = list(session.execute(q, {"f_limit": limit, "f_offset": offset}).all())
    else:
        rows = list(session.scalars(stmt.order_by(*order).limit(limit).offset(offset)))
    if offset == 0 and len(rows) < limit:
        return rows, len(rows)
    return rows, _every_firm_count(session, count_cap)


# the list's landing page (no filter) as plain rows, the most asked page of all: its statements
# built once of Core columns (an ORM-annotated statement is built, keyed and run through the
# ORM's layer on each request); the same SQL as the general path's
_ft = table(Firm)
_lfc = table(FirmCluster).alias("list_fc")
# what a list page shows of a firm (``columns``): not its search text, notes or other columns
# nobody reads there
LIST_COLUMNS = (
    *(
        _ft.c[name]
        for name in (
            "id",
            "name_zh",
            "name_en",
            "country",
            "tier",
            "global500_rank",
            "china500_rank",
            "is_leader",
            "owner_id",
            "updated_at",
        )
    ),
    # the firm's cluster ids, "3,7": the rows' clusters in the same statement, not a second
    # one for the page's 50 ids (crm.firms.views puts them in the plan's order)
    select(func.aggregate_strings(cast(_lfc.c.cluster_id, String), ","))
    .where(_lfc.c.firm_id == _ft.c.id)
    .scalar_subquery()
    .label("cluster_ids"),
)


def _landing(major: bool) -> Any:
    return (
        select(*LIST_COLUMNS)
        .where(_ft.c.tier != "other" if major else _ft.c.tier == "other")
        .order_by(_ft.c.updated_at.desc(), _ft.c.id.desc())
        .limit(bindparam("f_limit", type_=Integer))
        .offset(bindparam("f_offset", type_=Integer))
    )


# the landing page's statements: one plan fits every value (PostgreSQL: planned once)
_LANDING = {True: plan_once(_landing(True)), False: plan_once(_landing(False))}
_BY_ID = plan_once(select(*LIST_COLUMNS).where(_ft.c.id.in_(bindparam("ids", expanding=True))))
# the same as entities (the API's page): a look-up by key, planned once on PostgreSQL like the
# ranked ids before it and the links after it — built per call, it ran in the planner's own
# mode, and the connection's mode was set to it and back (two round trips of six)
_ENTITIES_BY_ID = plan_once(select(Firm).where(Firm.id.in_(bindparam("ids", expanding=True))))


def _firms_by_id(session: Session, ids: list[int], columns: bool) -> list[Any]:
    """The firms ``ids`` names, in that order: plain rows (``columns``) or entities."""
    found: dict[Any, Any]
    if columns:
        found = {r.id: r for r in session.execute(_BY_ID, {"ids": ids})}
    else:
        found = {f.id: f for f in session.scalars(_ENTITIES_BY_ID, {"ids": ids})}
    return [found[i] for i in ids if i in found]


_LANDING_COUNT = plan_once(
    select(func.count()).select_from(
        select(_ft.c.id).limit(bindparam("f_cap", type_=Integer)).subquery()
    )
)
_FIRM_COUNT = select(func.count()).select_from(_ft)


# per process: the countries' version (``crm.db.cache_version``) under which more than a cap's
# firms were counted, per cap — on PostgreSQL any DELETE from firm changes that version
# (migration 0026), and adding firms only makes more: "more than the cap" holds until it changes
_MORE_THAN: dict[int, Any] = {}


def _every_firm_count(session: Session, cap: int) -> int:
    """How many firms there are, no more than ``cap + 1``. SQLite counts a whole table from its
    b-tree pages without stepping through rows (0.02 ms for the city's 50,000 firms; counting
    10,001 index entries one by one took 1.1 ms of every landing page); PostgreSQL reads the
    rows either way, so it stops at the cap — and, once it found more, says so without reading
    them again until a firm is deleted (0.46 ms of the server's time a landing page)."""
    if is_postgres(session):
        version = cache_version(session, "countries")
        if _MORE_THAN.get(cap) == version:
            return cap + 1
        n = session.scalar(_LANDING_COUNT, {"f_cap": cap + 1}) or 0
        if n > cap:
            _MORE_THAN[cap] = version
        return n
    return min(session.scalar(_FIRM_COUNT) or 0, cap + 1)


def _owner_department(session: Session, owner_id: int | None) -> int | None:
    if owner_id is None:
        return None
    return session.scalar(select(User.department_id).where(User.id == owner_id))


def can_edit_firm(session: Session, actor: User, firm: Firm) -> bool:

    return can_edit_owned(actor, firm.owner_id, _owner_department(session, firm.owner_id))
