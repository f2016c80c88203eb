"""Read models for the firm pages: a list page's rows and one firm's details, loaded in batches
(a fixed number of statements whatever the number of rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    text,
    union_all,
)
from sqlmodel import Session

from crm.accounts.users import user_choices
from crm.audit.gone import refuse_if_deleted
from crm.authz import can_edit_owned, project_visible, viewer_key
from crm.db import (
    LIST_COUNT_CAP,
    DriverSelect,
    bind_url,
    built_once,
    cache_version,
    plan_once,
    table,
)
from crm.errors import NotFound
from crm.firms.service import firm_cluster_codes
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.firms import Contact, Firm, FirmAlias, FirmCluster
from crm.models.policy import Cluster
from crm.models.projects import Project
from crm.policy.service import plan_lists
from crm.types import stored_id


class Named(NamedTuple):
    id: int
    name_zh: str


class ClusterName(NamedTuple):
    id: int
    name_zh: str
    name_en: str | None


class Owner(NamedTuple):
    id: int
    display_name: str
    department_id: int | None


@dataclass
class FirmRow:
    firm: Firm
    clusters: list[str]
    owner_name: str | None


@dataclass
class FirmDetail:
    firm: Any  # a row: firm_row
    aliases: list[str]
    clusters: list[ClusterName]
    parent: Named | None
    subsidiaries: list[Named]
    owner: Owner | None
    contacts: list[Any]  # rows: firm_contacts
    can_edit: bool
    subsidiaries_more: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    projects: list[Any] | None = None  # with ``projects_limit``: as firm_projects gives them
    projects_total: int | None = None


def list_rows(session: Session, actor: User, firms: list[Any]) -> list[FirmRow]:
    """The list page's rows, of entities or of rows of ``LIST_COLUMNS`` (which carry their
    cluster ids; for entities the codes are one statement for the page), owner names from the
    users' names kept per process (``user_choices``: the page reads them for its owner filter
    anyway; its version check is once per transaction)."""
    owners = user_choices(session, actor).names
    if firms and "cluster_ids" in getattr(firms[0], "_fields", ()):
        # rows of LIST_COLUMNS: their cluster ids came with them ("3,7"), made codes once per
        # page for each set of clusters its rows have (a page's rows share few)
        order = {c.id: (i, c.code) for i, c in enumerate(plan_lists(session).clusters)}
        fields = firms[0]._fields
        read = itemgetter(*(fields.index(n) for n in ("owner_id", "cluster_ids")))
        kept: dict[str | None, list[str]] = {}
        out = []
        for f in firms:
            owner_id, cluster_ids = read(f)
            codes = kept.get(cluster_ids)
            if codes is None:
                codes = kept[cluster_ids] = _in_order(cluster_ids, order)
            out.append(FirmRow(f, codes, owners.get(owner_id) if owner_id is not None else None))
        return out
    ids = [stored_id(f) for f in firms]
    by_firm = firm_cluster_codes(session, ids)
    return [
        FirmRow(f, by_firm.get(i, []), owners.get(f.owner_id) if f.owner_id is not None else None)
        for f, i in zip(firms, ids, strict=True)
    ]


def _in_order(ids: str | None, order: dict[int, tuple[int, str]]) -> list[str]:
    """Cluster ids as a list row carries them ("3,7") as codes, in the plan's order."""
    if not ids:
        return []
    return [code for _, code in sorted(order[i] for i in map(int, ids.split(",")) if i in order)]


# the firm page's reads, built once of Core columns (a row to show, not an entity to track;
# an ORM entity costs several times a row to load): its firm with owner and parent group in
# one statement, its aliases, clusters, subsidiaries and contacts in a second
# (seven statements before, four of them loading entities)
_f = table(Firm).c
_owner = table(User).alias("owner")
_parent = table(Firm).alias("parent")
_FIRM_COLUMNS = (
    "id",
    "name_zh",
    "name_en",
    "country",
    "headquarters",
    "global500_rank",
    "china500_rank",
    "is_leader",
    "tier",
    "website",
    "credit_code",
    "parent_id",
    "owner_id",
    "notes",
    "version",
)
# on the driver's cursor (``crm.db.DriverSelect``): SQLAlchemy's execution path cost several
# times the driver's call for these reads of one firm's few rows by key
_FIRM_ROW = DriverSelect(
    select(
        *(_f[c] for c in _FIRM_COLUMNS),
        _owner.c.display_name.label("owner_name"),
        _owner.c.department_id.label("owner_department_id"),
        _parent.c.name_zh.label("parent_name"),
    )
    .select_from(
        table(Firm)
        .outerjoin(_owner, _owner.c.id == _f.owner_id)
        .outerjoin(_parent, _parent.c.id == _f.parent_id)
    )
    .where(_f.id == bindparam("firm_id"))
)
_fa, _fc, _cl = table(FirmAlias).c, table(FirmCluster).c, table(Cluster).c
_subs = (
    select(_f.id, _f.name_zh)
    .where(_f.parent_id == bindparam("firm_id"))
    .order_by(_f.name_zh)
    .limit(bindparam("subs_limit", type_=Integer))
    .subquery()
)
_ct = table(Contact).c
_no_text = cast(null(), String)
_no_int = cast(null(), Integer)
_no_flag = cast(null(), Boolean)
# (kind, order, id, text, text, four texts more, a number, a flag): 0 an alias in the order
# added, 1 a cluster in the plan's order with its two names, 2 a subsidiary by name (the first
# ``subs_limit``), 3 a contact in the order added (id, version, name, title, phone, e-mail,
# WeChat, notes), and on a firm's page 4 its projects the viewer may see, last changed first (the
# first ``limit``: rank, id, title, stage, cluster, confidential) — one round trip for them all
_FIRM_LIST_PARTS = (
    select(
        literal_column("0").label("k"),
        _fa.id.label("n"),
        _no_int.label("ref"),
        _fa.alias.label("t"),
        _no_text.label("t2"),
        _no_text.label("t3"),
        _no_text.label("t4"),
        _no_text.label("t5"),
        _no_text.label("t6"),
        _no_int.label("ref2"),
        _no_flag.label("flag"),
    ).where(_fa.firm_id == bindparam("firm_id")),
    select(
        literal_column("1"),
        _cl.sort_order,
        _cl.id,
        _cl.name_zh,
        _cl.name_en,
        *[_no_text] * 4,
        _no_int,
        _no_flag,
    )
    .join(table(FirmCluster), _fc.cluster_id == _cl.id)
    .where(_fc.firm_id == bindparam("firm_id")),
    select(
        literal_column("2"),
        literal_column("0"),
        _subs.c.id,
        _subs.c.name_zh,
        *[_no_text] * 5,
        _no_int,
        _no_flag,
    ),
    select(
        literal_column("3"),
        _ct.id,
        _ct.version,
        _ct.name,
        _ct.title,
        _ct.phone,
        _ct.email,
        _ct.wechat,
        _ct.notes,
        _no_int,
        _no_flag,
    ).where(_ct.firm_id == bindparam("firm_id")),
)
_FIRM_LISTS = plan_once(union_all(*_FIRM_LIST_PARTS).order_by(text("1, 2, 4, 3")))
_FIRM_LISTS_AND_PROJECTS: dict[tuple[Any, ...], Any] = {}
_CONTACTS = DriverSelect(
    select(_ct.id, _ct.name, _ct.title, _ct.phone, _ct.email, _ct.wechat, _ct.notes, _ct.version)
    .where(_ct.firm_id == bindparam("firm_id"))
    .order_by(_ct.id)
)


def _firm_lists_and_projects(actor: User) -> Any:
    """``_FIRM_LISTS`` and the firm's projects ``actor`` may see (kind 4), for a kind of viewer."""
    newest = (_p.updated_at.desc(), _p.id.desc())
    ranked = (
        select(
            _p.id,
            _p.title,
            _p.stage,
            _p.cluster_id,
            _p.is_confidential,
            func.row_number().over(order_by=newest).label("rank"),
        )
        .where(project_visible(actor, _p), _p.firm_id == bindparam("firm_id"))
        .order_by(*newest)
        .limit(bindparam("limit", type_=Integer))
        .subquery()
    )
    projects = select(
        literal_column("4"),
        ranked.c.rank,
        ranked.c.id,
        ranked.c.title,
        ranked.c.stage,
        *[_no_text] * 4,
        ranked.c.cluster_id,
        ranked.c.is_confidential,
    )
    return plan_once(union_all(*_FIRM_LIST_PARTS, projects).order_by(text("1, 2, 4, 3")))


class ProjectRow(NamedTuple):
    """A firm's project as its page lists it (``firm_projects``, ``firm_detail``)."""

    id: int
    title: str
    stage: str
    cluster_id: int
    is_confidential: bool


def firm_row(session: Session, actor: User | None, firm_id: int) -> Any:
    """One firm's columns as the pages show them (not its search columns), with its owner's
    name and department and its parent group's name: a row, not an entity. Missing: 404."""
    rows = _FIRM_ROW.all(session, {"firm_id": firm_id}) if actor is not None else []
    if not rows:
        raise NotFound(_l("企业不存在"))
    return rows[0]


def firm_row_to_add(session: Session, actor: User, firm_id: int) -> Any:
    """``firm_row`` for a page that adds under the firm (a contact logged, a contact person):
    a firm deleted or merged away since the page was shown is the 409 saying so (and where a
    merged one went, ``crm.audit.gone``), not "not found"."""
    try:
        return firm_row(session, actor, firm_id)
    except NotFound:
        refuse_if_deleted(session, actor, "firm", firm_id)
        raise


def firm_detail(
    session: Session,
    actor: User,
    firm_id: int,
    subsidiaries_limit: int = 50,
    projects_limit: int | None = None,
) -> FirmDetail:
    """One firm with its aliases, clusters, parent group, subsidiaries, owner and contacts —
    and with ``projects_limit``, its projects as ``firm_projects`` gives them: two statements
    of rows (the firm, then its lists together), a third for the projects' count when their
    page is full."""
    firm = firm_row(session, actor, firm_id)
    aliases: list[str] = []
    clusters: list[ClusterName] = []
    subs: list[Named] = []
    contacts: list[ContactRow] = []
    projects: list[ProjectRow] = []
    params: dict[str, Any] = {"firm_id": firm_id, "subs_limit": subsidiaries_limit + 1}
    stmt = _FIRM_LISTS
    if projects_limit is not None:
        stmt = built_once(
            _FIRM_LISTS_AND_PROJECTS, viewer_key(actor), lambda: _firm_lists_and_projects(actor)
        )
        params["limit"] = projects_limit
    for k, n, ref, t, t2, t3, t4, t5, t6, ref2, flag in session.execute(stmt, params):
        if k == 0:
            aliases.append(t)
        elif k == 1:
            clusters.append(ClusterName(ref, t, t2))
        elif k == 2:
            subs.append(Named(ref, t))
        elif k == 3:
            contacts.append(ContactRow(n, t, t2, t3, t4, t5, t6, ref))
        else:
            projects.append(ProjectRow(ref, t, t2, ref2, bool(flag)))
    owner = (
        Owner(firm.owner_id, firm.owner_name, firm.owner_department_id)
        if firm.owner_id is not None and firm.owner_name is not None
        else None
    )
    return FirmDetail(
        firm=firm,
        aliases=aliases,
        clusters=clusters,
        parent=Named(firm.parent_id, firm.parent_name) if firm.parent_name is not None else None,
        subsidiaries=subs[:subsidiaries_limit],
        owner=owner,
        contacts=contacts,
        can_edit=can_edit_owned(actor, firm.owner_id, owner.department_id if owner else None),
        subsidiaries_more=len(subs) > subsidiaries_limit,
        projects=projects if projects_limit is not None else None,
        projects_total=(
            None
            if projects_limit is None
            else len(projects)
            if len(projects) < projects_limit
            else _projects_count(session, actor, firm_id)
        ),
    )


class ContactRow(NamedTuple):
    """A contact as a firm's page shows it (``firm_contacts``, ``firm_detail``)."""

    id: int
    name: str
    title: str | None
    phone: str | None
    email: str | None
    wechat: str | None
    notes: str | None
    version: int


def firm_contacts(session: Session, firm_id: int) -> list[Any]:
    """A firm's contacts in the order they were added, as rows (the firm is one the caller may
    see)."""
    return _CONTACTS.all(session, {"firm_id": firm_id})


# a firm's projects the actor may see, as its page lists them (last changed first): rows of
# the five columns the page shows, and their capped count when the page is full; built once
# per kind of viewer (crm.authz.viewer_key) of Core columns
_p = table(Project).c
_FIRM_PROJECTS: dict[tuple[Any, ...], tuple[Any, Any]] = {}


def _firm_projects_statements(actor: User) -> tuple[Any, Any]:
    mine = select(_p.id, _p.title, _p.stage, _p.cluster_id, _p.is_confidential).where(
        project_visible(actor, _p), _p.firm_id == bindparam("firm_id")
    )
    rows = mine.order_by(_p.updated_at.desc(), _p.id.desc()).limit(
        bindparam("limit", type_=Integer)
    )
    capped = mine.with_only_columns(_p.id).limit(LIST_COUNT_CAP + 1).subquery()
    return plan_once(rows), plan_once(select(func.count()).select_from(capped))


def firm_projects(
    session: Session, actor: User, firm_id: int, limit: int = 50
) -> tuple[list[Any], int]:
    """The projects of firm ``firm_id`` that ``actor`` may see, last changed first (the first
    ``limit``), and how many there are (counted up to LIST_COUNT_CAP + 1)."""
    rows_stmt, count_stmt = built_once(
        _FIRM_PROJECTS, viewer_key(actor), lambda: _firm_projects_statements(actor)
    )
    rows = list(session.execute(rows_stmt, {"firm_id": firm_id, "limit": limit}).all())
    if len(rows) < limit:
        return rows, len(rows)  # all of them are on the page: the count needs no statement
    return rows, session.scalar(count_stmt, {"firm_id": firm_id}) or 0


def _projects_count(session: Session, actor: User, firm_id: int) -> int:
    """How many of firm ``firm_id``'s projects ``actor`` may see (up to LIST_COUNT_CAP + 1)."""
    _, count_stmt = built_once(
        _FIRM_PROJECTS, viewer_key(actor), lambda: _firm_projects_statements(actor)
    )
    return session.scalar(count_stmt, {"firm_id": firm_id}) or 0


def countries(session: Session, limit: int = 300) -> list[str]:
    """Distinct countries or regions of the firms, for the list's filter: read once per
    process and kept until the countries' version changes (``crm.db.cache_version``: a
    trigger gives it a new value when a firm brings a new country, is removed or changes its
    country, in any process; the request read it with its session)."""
    if session.get_bind().dialect.name == "sqlite":  # 0.05 ms in the same file: no version
        return [c for (c,) in session.execute(_COUNTRIES, {"limit": limit}) if c]
    key = (str(bind_url(session)), cache_version(session, "countries"), limit)
    found = _COUNTRY_LISTS.get(key)
    if found is None:
        found = tuple(c for (c,) in session.execute(_COUNTRIES, {"limit": limit}) if c)
        _COUNTRY_LISTS.clear()  # only the current version is worth keeping
        _COUNTRY_LISTS[key] = found
    return list(found)


# (database, countries' version, limit) → the countries: one entry per process
_COUNTRY_LISTS: dict[Any, tuple[str, ...]] = {}

# a skip scan of ix_firm_country (one index seek per country), not a read of every firm
_COUNTRIES = text(
    "WITH RECURSIVE c(x, n) AS ("
    " SELECT min(country), 1 FROM firm"
    " UNION ALL SELECT (SELECT min(country) FROM firm WHERE country > c.x), n + 1"
    " FROM c WHERE c.x IS NOT NULL AND n < :limit)"
    " SELECT x FROM c WHERE x IS NOT NULL"
)


def firm_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Firm.id, Firm.name_zh).where(Firm.id.in_(ids))).all())
