"""Firms and contacts: create, change, find, and warn about near-duplicates before saving."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import Boolean, bindparam, delete, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlmodel import Session

from crm.accounts.models import User
from crm.accounts.permissions import is_admin, require_edit
from crm.audit.service import record, snapshot
from crm.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from crm.firms.models import Contact, Firm, FirmAlias, FirmCluster, derive_tier
from crm.firms.schemas import (
    ContactCreate,
    ContactPublic,
    ContactUpdate,
    DuplicateCandidate,
    FirmCreate,
    FirmPublic,
    FirmUpdate,
)
from crm.policy.models import Cluster
from crm.text import fold_query, normalize_name, search_blob, to_pinyin
from crm.types import utcnow


class DuplicateFirm(Conflict):
    """A firm with the same or a very similar name exists; the caller may confirm and go on."""

    code = "duplicate_firm"

    def __init__(self, message: str, candidates: list[DuplicateCandidate], exact: bool) -> None:
        super().__init__(
            message, field="name_zh", candidates=[c.model_dump() for c in candidates], exact=exact
        )
        self.candidates = candidates
        self.exact = exact


# --- reading ----------------------------------------------------------------------------------


def get_firm(session: Session, actor: User | None, firm_id: int) -> Firm:
    firm = session.get(Firm, firm_id)
    if firm is None or actor is None:
        raise NotFound("企业不存在 / no such firm")
    return firm


def firm_aliases(session: Session, firm_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in firm_ids}
    if not firm_ids:
        return out
    for fid, alias in session.execute(
        select(FirmAlias.firm_id, FirmAlias.alias)
        .where(FirmAlias.firm_id.in_(firm_ids))
        .order_by(FirmAlias.id)
    ):
        out[fid].append(alias)
    return out


def firm_cluster_codes(session: Session, firm_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in firm_ids}
    if not firm_ids:
        return out
    for fid, code in session.execute(
        select(FirmCluster.firm_id, Cluster.code)
        .join(Cluster, Cluster.id == FirmCluster.cluster_id)
        .where(FirmCluster.firm_id.in_(firm_ids))
        .order_by(Cluster.sort_order)
    ):
        out[fid].append(code)
    return out


def to_public_many(session: Session, firms: list[Firm]) -> list[FirmPublic]:
    """Firms as shown outside, their aliases and cluster codes loaded in two queries."""
    ids = [f.id for f in firms if f.id is not None]
    aliases = firm_aliases(session, ids)
    clusters = firm_cluster_codes(session, ids)
    skip = {"name_norm", "name_pinyin", "name_initials", "search_text", "source"}
    return [
        FirmPublic(**f.model_dump(exclude=skip), aliases=aliases[f.id], clusters=clusters[f.id])
        for f in firms
    ]


def to_public(session: Session, firm: Firm) -> FirmPublic:
    assert firm.id is not None
    return to_public_many(session, [firm])[0]


class _TextMatch(ColumnElement[bool]):
    """``firm.search_text`` contains the query: a LIKE '%q%' everywhere (PostgreSQL answers it
    from the pg_trgm GIN index), but on SQLite a query of 2+ characters is answered by the FTS5
    trigram table ``firm_fts`` instead of reading every row (see the firm_search and
    firm_search_short migrations)."""

    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True  # no "= 1" after it on SQLite: the planner must see the IN
    _traverse_internals = [
        ("id_col", InternalTraversal.dp_clauseelement),
        ("like", InternalTraversal.dp_clauseelement),
        ("phrase", InternalTraversal.dp_clauseelement),
        ("short", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, id_col: Any, like: Any, phrase: Any, short: Any = None) -> None:
        self.id_col = id_col
        self.like = like
        self.phrase = phrase
        self.short = short


@compiles(_TextMatch)
def _text_match_default(element: _TextMatch, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.like, **kw)


@compiles(_TextMatch, "sqlite")
def _text_match_sqlite(element: _TextMatch, compiler: Any, **kw: Any) -> str:
    if element.phrase is None:
        return compiler.process(element.like, **kw)
    match = compiler.process(element.phrase, **kw)
    if element.short is not None:
        # two characters: every trigram that begins with them, from the index's vocabulary
        # (search_text ends with a space, so each occurrence begins one); none at all leaves
        # the two-character phrase itself, which matches nothing
        short = compiler.process(element.short, **kw)
        match = (
            f"coalesce((SELECT group_concat('\"' || replace(term, '\"', '\"\"') || '\"', "
            f"' OR ') FROM firm_fts_vocab WHERE term >= {short} "
            f"AND term < {short} || char(1114111)), {match})"
        )
    return (
        f"{compiler.process(element.id_col, **kw)} IN (SELECT firm_fts.rowid FROM firm_fts "
        f"WHERE firm_fts MATCH {match})"
    )


def search_condition(q: str) -> Any:
    """The WHERE clause for a name / alias / pinyin / initials search (a substring match)."""
    folded = fold_query(q)
    if not folded:
        return None
    pattern = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    like = Firm.search_text.like(pattern, escape="\\")
    # FTS5 trigram matches substrings of 3+ characters (a quoted phrase takes any text), and
    # two characters through the index's vocabulary; one character reads every row (LIKE)
    phrase = (
        bindparam("fts_q", '"' + folded.replace('"', '""') + '"', unique=True)
        if len(folded) >= 2
        else None
    )
    short = bindparam("fts_short", folded, unique=True) if len(folded) == 2 else None
    return _TextMatch(Firm.id, like, phrase, short)


@dataclass
class FirmFilters:
    q: str | None = None
    cluster: str | None = None
    tier: str | None = None
    country: str | None = None
    owner_id: int | None = None
    updated_since: Any = None


def firm_list_statement(filters: FirmFilters) -> Any:
    stmt = select(Firm)
    if filters.q:
        cond = search_condition(filters.q)
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
) -> tuple[list[Firm], int]:
    """A page of firms, major tiers first then by last change, and the total (capped at
    ``count_cap``: more than that is reported as ``count_cap + 1``).

    Unfiltered (the list's landing page) each tier group is read along an index in page order
    and stops at the page: no sort of every firm. Filtered, the matches are few or must all be
    read anyway: one statement finds them, counts them (a window) and sorts them.
    """
    if (
        strict
        and filters.cluster
        and not session.scalar(select(Cluster.id).where(Cluster.code == filters.cluster))
    ):
        raise ValidationFailed(
            f"未知产业集群 / unknown cluster: {filters.cluster}", field="cluster"
        )
    stmt = firm_list_statement(filters)
    order = (Firm.updated_at.desc(), Firm.id.desc())
    if any(
        (
            filters.q,
            filters.cluster,
            filters.tier,
            filters.country,
            filters.owner_id,
            filters.updated_since is not None,
        )
    ):
        found = session.execute(
            stmt.add_columns(func.count().over())
            .order_by(Firm.tier == "other", *order)
            .limit(limit)
            .offset(offset)
        ).all()
        if found:
            return [r[0] for r in found], min(found[0][1], count_cap + 1)
        total = 0 if offset == 0 else _capped_count(session, stmt, count_cap)
        return [], total
    # major tiers first, along ix_firm_updated; then the rest, along ix_firm_tier_updated
    majors = stmt.where(Firm.tier != "other")
    rows = list(session.scalars(majors.order_by(*order).limit(limit).offset(offset)))
    if len(rows) < limit:
        if rows or offset == 0:
            n_major = offset + len(rows)
        else:  # the majors ended on an earlier page: how many were there (at most offset)
            n_major = _capped_count(session, majors, offset - 1)
        rows += session.scalars(
            stmt.where(Firm.tier == "other")
            .order_by(*order)
            .limit(limit - len(rows))
            .offset(max(0, offset - n_major))
        )
    if offset == 0 and len(rows) < limit:
        return rows, len(rows)
    return rows, _capped_count(session, stmt, count_cap)


def _capped_count(session: Session, stmt: Any, cap: int) -> int:
    """How many rows ``stmt`` selects, counting no further than ``cap + 1``."""
    capped = stmt.with_only_columns(Firm.id).limit(cap + 1).subquery()
    return session.scalar(select(func.count()).select_from(capped)) or 0


def search_firms(session: Session, actor: User, q: str, limit: int = 10) -> list[Firm]:
    """Firms whose name, alias, pinyin or pinyin initials contain ``q``, best first."""
    cond = search_condition(q)
    if cond is None:
        return []
    rows = list(session.scalars(select(Firm).where(cond).limit(200)))
    folded = fold_query(q)

    def rank(f: Firm) -> tuple:
        starts = any(
            s.startswith(folded)
            for s in (f.name_zh.lower(), (f.name_en or "").lower(), f.name_pinyin, f.name_initials)
        )
        return (not starts, f.tier == "other", len(f.name_zh))

    return sorted(rows, key=rank)[:limit]


# --- duplicates -------------------------------------------------------------------------------


def find_similar(
    session: Session,
    name: str,
    credit_code: str | None = None,
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[DuplicateCandidate]:
    """Existing firms that look like ``name``: same credit code, same normalised name or alias,
    or a close fuzzy match among candidates taken from the search index (never all pairs)."""
    norm = normalize_name(name)
    found: dict[int, DuplicateCandidate] = {}

    def add(f: Firm, score: float, reason: str) -> None:
        if f.id == exclude_id or f.id is None:
            return
        if f.id not in found or found[f.id].score < score:
            found[f.id] = DuplicateCandidate(
                id=f.id, name_zh=f.name_zh, name_en=f.name_en, score=round(score, 1), reason=reason
            )

    if credit_code:
        f = session.scalar(select(Firm).where(Firm.credit_code == credit_code))
        if f:
            add(f, 100, "credit_code")
    if norm:
        for f in session.scalars(
            select(Firm).where(
                or_(
                    Firm.name_norm == norm,
                    Firm.id.in_(select(FirmAlias.firm_id).where(FirmAlias.alias_norm == norm)),
                )
            )
        ):
            add(f, 100, "same_name")
        probe = norm[:6] if len(norm) >= 2 else norm
        pattern = "%" + probe.replace("%", "").replace("_", "") + "%"
        cands = session.scalars(select(Firm).where(Firm.search_text.like(pattern)).limit(100))
        for f in cands:
            best = max(
                fuzz.ratio(norm, f.name_norm),
                fuzz.ratio(norm, normalize_name(f.name_en or "")) if f.name_en else 0,
            )
            if best >= 80:
                add(f, best, "similar_name")
            elif len(norm) >= 2 and (norm in f.name_norm or f.name_norm in norm):
                add(
                    f,
                    75 + min(len(norm), len(f.name_norm)) / max(len(norm), len(f.name_norm)) * 20,
                    "contains",
                )
    return sorted(found.values(), key=lambda c: -c.score)[:limit]


# --- writing ----------------------------------------------------------------------------------


def _cluster_ids(session: Session, codes: list[str]) -> list[int]:
    if not codes:
        return []
    rows = dict(
        session.execute(select(Cluster.code, Cluster.id).where(Cluster.code.in_(codes))).all()
    )
    unknown = [c for c in codes if c not in rows]
    if unknown:
        raise ValidationFailed(
            f"未知产业集群 / unknown cluster: {', '.join(unknown)}", field="clusters"
        )
    return [rows[c] for c in dict.fromkeys(codes)]


def _apply_names(session: Session, firm: Firm, aliases: list[str] | None) -> None:
    firm.name_norm = normalize_name(firm.name_zh)
    if not firm.name_norm:
        raise ValidationFailed(
            "企业名称无效 / the firm name has no letters or characters", field="name_zh"
        )
    firm.name_pinyin, firm.name_initials = to_pinyin(firm.name_zh)
    if aliases is not None:
        session.execute(delete(FirmAlias).where(FirmAlias.firm_id == firm.id))
        seen: set[str] = set()
        for a in aliases:
            n = normalize_name(a)
            if n and n not in seen:
                seen.add(n)
                session.add(FirmAlias(firm_id=firm.id, alias=a, alias_norm=n))
    else:
        aliases = firm_aliases(session, [firm.id])[firm.id]  # type: ignore[index]
    firm.search_text = search_blob([firm.name_zh, firm.name_en, *aliases])


def _set_clusters(session: Session, firm_id: int, cluster_ids: list[int]) -> None:
    session.execute(delete(FirmCluster).where(FirmCluster.firm_id == firm_id))
    for cid in cluster_ids:
        session.add(FirmCluster(firm_id=firm_id, cluster_id=cid))


def _check_refs(session: Session, data: FirmCreate | FirmUpdate, firm_id: int | None) -> None:
    if data.parent_id is not None:
        if session.get(Firm, data.parent_id) is None:
            raise ValidationFailed("母公司不存在 / no such parent firm", field="parent_id")
        # walk up: a firm may not become its own ancestor
        seen, cur = set(), data.parent_id
        while cur is not None and cur not in seen:
            if cur == firm_id:
                raise ValidationFailed("母公司关系成环 / the parent chain loops", field="parent_id")
            seen.add(cur)
            cur = session.scalar(select(Firm.parent_id).where(Firm.id == cur))
    if data.owner_id is not None and session.get(User, data.owner_id) is None:
        raise ValidationFailed("负责人不存在 / no such officer", field="owner_id")


def create_firm(
    session: Session,
    actor: User,
    data: FirmCreate,
    *,
    confirm: bool = False,
    source: str = "manual",
) -> Firm:
    """Add a firm. A near-duplicate raises DuplicateFirm unless ``confirm``; an exact one always."""
    cluster_ids = _cluster_ids(session, data.clusters)
    _check_refs(session, data, None)
    cands = find_similar(session, data.name_zh, data.credit_code)
    if data.name_en:
        cands += [
            c for c in find_similar(session, data.name_en) if c.id not in {x.id for x in cands}
        ]
    exact = [c for c in cands if c.reason in ("same_name", "credit_code")]
    if exact:
        raise DuplicateFirm("企业已存在 / this firm already exists", exact, exact=True)
    if cands and not confirm:
        raise DuplicateFirm(
            "可能与已有企业重复 / this may duplicate an existing firm", cands, exact=False
        )
    now = utcnow()
    firm = Firm(
        **data.model_dump(exclude={"aliases", "clusters"}),
        name_norm="",
        tier=derive_tier(data.global500_rank, data.china500_rank, data.is_leader),
        source=source,
        created_at=now,
        updated_at=now,
    )
    if firm.owner_id is None and source == "manual":
        firm.owner_id = actor.id
    session.add(firm)
    firm.name_norm = normalize_name(firm.name_zh)
    session.flush()
    _apply_names(session, firm, data.aliases)
    _set_clusters(session, firm.id, cluster_ids)  # type: ignore[arg-type]
    session.flush()
    record(
        session,
        actor.id,
        "create",
        "firm",
        firm.id,
        after={**snapshot(firm), "aliases": data.aliases, "clusters": data.clusters},
    )
    return firm


def _owner_department(session: Session, owner_id: int | None) -> int | None:
    if owner_id is None:
        return None
    return session.scalar(select(User.department_id).where(User.id == owner_id))


def can_edit_firm(session: Session, actor: User, firm: Firm) -> bool:
    from crm.accounts.permissions import can_edit_owned

    return can_edit_owned(actor, firm.owner_id, _owner_department(session, firm.owner_id))


def update_firm(session: Session, actor: User, firm_id: int, data: FirmUpdate) -> Firm:
    """Change a firm; a stale ``version`` raises StaleVersion and changes nothing."""
    firm = get_firm(session, actor, firm_id)
    require_edit(actor, firm.owner_id, _owner_department(session, firm.owner_id))
    if data.version != firm.version:
        raise StaleVersion(
            "记录已被他人修改 / someone saved this firm first",
            current=to_public(session, firm).model_dump(mode="json"),
        )
    before = {
        **snapshot(firm),
        "aliases": firm_aliases(session, [firm_id])[firm_id],
        "clusters": firm_cluster_codes(session, [firm_id])[firm_id],
    }
    fields = data.model_dump(exclude_unset=True, exclude={"version", "aliases", "clusters"})
    if "is_leader" in fields and fields["is_leader"] is None:
        fields.pop("is_leader")  # null: unchanged (the column is NOT NULL)
    if "name_zh" in fields and fields["name_zh"] is None:
        raise ValidationFailed("企业名称必填 / the Chinese name is required", field="name_zh")
    _check_refs(session, data, firm_id)
    if "name_zh" in fields:
        norm = normalize_name(fields["name_zh"])
        clash = session.scalar(select(Firm.id).where(Firm.name_norm == norm, Firm.id != firm_id))
        if clash:
            raise DuplicateFirm(
                "企业已存在 / another firm has this name",
                find_similar(session, fields["name_zh"], exclude_id=firm_id),
                exact=True,
            )
    if fields.get("credit_code"):
        clash = session.scalar(
            select(Firm.id).where(Firm.credit_code == fields["credit_code"], Firm.id != firm_id)
        )
        if clash:
            raise DuplicateFirm(
                "统一社会信用代码已被使用 / credit code belongs to another firm",
                find_similar(session, "", fields["credit_code"], firm_id),
                exact=True,
            )
    if (
        "owner_id" in fields
        and fields["owner_id"] != firm.owner_id
        and not is_admin(actor)
        and actor.role != "manager"
        and firm.owner_id not in (None, actor.id)
    ):
        raise PermissionDenied("只有管理者可以转交企业 / only managers reassign firms")
    for k, v in fields.items():
        setattr(firm, k, v)
    firm.tier = derive_tier(firm.global500_rank, firm.china500_rank, firm.is_leader)
    if data.clusters is not None:
        _set_clusters(session, firm_id, _cluster_ids(session, data.clusters))
    _apply_names(session, firm, data.aliases)
    firm.version += 1
    firm.updated_at = utcnow()
    session.add(firm)
    session.flush()
    after = {
        **snapshot(firm),
        "aliases": firm_aliases(session, [firm_id])[firm_id],
        "clusters": firm_cluster_codes(session, [firm_id])[firm_id],
    }
    record(session, actor.id, "update", "firm", firm_id, before=before, after=after)
    return firm


def delete_firm(session: Session, actor: User, firm_id: int, version: int | None = None) -> None:
    """Remove a firm that nothing refers to (projects, activities, follow-ups, subsidiaries)."""
    from crm.activities.models import ActivityFirm
    from crm.followups.models import Followup
    from crm.projects.models import Project

    firm = get_firm(session, actor, firm_id)
    require_edit(actor, firm.owner_id, _owner_department(session, firm.owner_id))
    if version is not None and version != firm.version:
        raise StaleVersion(
            "记录已被他人修改 / someone saved this firm first",
            current=to_public(session, firm).model_dump(mode="json"),
        )
    for model, col, what in (
        (Project, Project.firm_id, "projects"),
        (ActivityFirm, ActivityFirm.firm_id, "activities"),
        (Followup, Followup.firm_id, "follow-ups"),
        (Firm, Firm.parent_id, "subsidiaries"),
    ):
        if session.scalar(select(func.count()).select_from(model).where(col == firm_id)):
            raise Conflict(f"企业仍有关联记录，不能删除 / the firm still has {what}")
    before = snapshot(firm)
    session.execute(delete(Contact).where(Contact.firm_id == firm_id))
    session.execute(delete(FirmAlias).where(FirmAlias.firm_id == firm_id))
    session.execute(delete(FirmCluster).where(FirmCluster.firm_id == firm_id))
    session.delete(firm)
    record(session, actor.id, "delete", "firm", firm_id, before=before)
    session.flush()


# --- contacts ---------------------------------------------------------------------------------


def list_contacts(session: Session, actor: User, firm_id: int) -> list[Contact]:
    get_firm(session, actor, firm_id)
    return list(
        session.scalars(select(Contact).where(Contact.firm_id == firm_id).order_by(Contact.id))
    )


def list_contacts_page(
    session: Session, actor: User, firm_id: int, limit: int = 50, offset: int = 0
) -> tuple[list[Contact], int]:
    """A page of one firm's contacts and their total."""
    get_firm(session, actor, firm_id)
    stmt = select(Contact).where(Contact.firm_id == firm_id)
    rows = list(session.scalars(stmt.order_by(Contact.id).limit(limit).offset(offset)))
    total = (
        session.scalar(
            select(func.count()).select_from(
                stmt.with_only_columns(Contact.id).limit(10_001).subquery()
            )
        )
        or 0
    )
    return rows, total


def contact_public(c: Contact) -> dict[str, Any]:
    return ContactPublic.model_validate(c, from_attributes=True).model_dump(mode="json")


def get_contact(session: Session, actor: User, contact_id: int) -> Contact:
    c = session.get(Contact, contact_id)
    if c is None:
        raise NotFound("联系人不存在 / no such contact")
    return c


def create_contact(session: Session, actor: User, firm_id: int, data: ContactCreate) -> Contact:
    firm = get_firm(session, actor, firm_id)
    require_edit(actor, firm.owner_id, _owner_department(session, firm.owner_id))
    c = Contact(firm_id=firm_id, **data.model_dump())
    session.add(c)
    session.flush()
    record(session, actor.id, "create", "contact", c.id, after=snapshot(c))
    return c


def update_contact(session: Session, actor: User, contact_id: int, data: ContactUpdate) -> Contact:
    c = get_contact(session, actor, contact_id)
    firm = get_firm(session, actor, c.firm_id)
    require_edit(actor, firm.owner_id, _owner_department(session, firm.owner_id))
    if data.version != c.version:
        raise StaleVersion(
            "记录已被他人修改 / someone saved this contact first", current=contact_public(c)
        )
    before = snapshot(c)
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    if "name" in fields and not fields["name"]:
        raise ValidationFailed("姓名必填 / name is required", field="name")
    for k, v in fields.items():
        setattr(c, k, v)
    c.version += 1
    c.updated_at = utcnow()
    session.add(c)
    session.flush()
    record(session, actor.id, "update", "contact", c.id, before=before, after=snapshot(c))
    return c


def delete_contact(
    session: Session, actor: User, contact_id: int, version: int | None = None
) -> None:
    from crm.activities.models import ActivityContact

    c = get_contact(session, actor, contact_id)
    firm = get_firm(session, actor, c.firm_id)
    require_edit(actor, firm.owner_id, _owner_department(session, firm.owner_id))
    if version is not None and version != c.version:
        raise StaleVersion(
            "记录已被他人修改 / someone saved this contact first", current=contact_public(c)
        )
    session.execute(delete(ActivityContact).where(ActivityContact.contact_id == contact_id))
    record(session, actor.id, "delete", "contact", c.id, before=snapshot(c))
    session.delete(c)
    session.flush()
