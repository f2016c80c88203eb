"""Firms: create, change, remove — and, for existing callers, the firm package's verbs.

The package is split along its seams: ``queries`` (reading, the list), ``search`` (the search
index), ``duplicates`` (near-duplicate detection), ``contacts`` and this module (writing
firms). The names below are re-exported so ``crm.firms.service.X`` keeps working.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crm.audit.gone import hold_parents
from crm.audit.service import record, snapshot
from crm.authz import (
    TIER_FIELDS,
    locked_holder,
    require_delete_firm,
    require_edit,
    require_set_owner,
    require_tier_change,
)
from crm.changes import LinkChange, apply_change, check_version
from crm.errors import Conflict, ValidationFailed
from crm.firms.contacts import (
    contact_public,
    create_contact,
    delete_contact,
    get_contact,
    list_contacts,
    list_contacts_page,
    update_contact,
)
from crm.firms.duplicates import DuplicateFirm, alias_clashes, check_firm, find_similar
from crm.firms.queries import (
    FirmFilters,
    _owner_department,
    can_edit_firm,
    firm_aliases,
    firm_cluster_codes,
    firm_list_statement,
    get_firm,
    list_firms,
    to_public,
    to_public_many,
)
from crm.firms.rows import alias_values, firm_values, name_norm
from crm.firms.schemas import FirmCreate, FirmUpdate
from crm.firms.search import search_condition, search_firms
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.activities import ActivityFirm
from crm.models.firms import Contact, Firm, FirmAlias, FirmCluster, derive_tier
from crm.models.followups import Followup
from crm.models.policy import Cluster
from crm.models.projects import Project
from crm.text import search_blob, to_pinyin
from crm.types import stored_id, utcnow

__all__ = [
    "DuplicateFirm",
    "FirmFilters",
    "can_edit_firm",
    "check_firm",
    "contact_public",
    "create_contact",
    "create_firm",
    "delete_contact",
    "delete_firm",
    "editable_firm",
    "find_similar",
    "firm_aliases",
    "firm_cluster_codes",
    "firm_list_statement",
    "get_contact",
    "get_firm",
    "list_contacts",
    "list_contacts_page",
    "list_firms",
    "search_condition",
    "search_firms",
    "to_public",
    "to_public_many",
    "update_contact",
    "update_firm",
]


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
            _l("未知产业集群：%(unknown)s", unknown=", ".join(unknown)), field="clusters"
        )
    return [rows[c] for c in dict.fromkeys(codes)]


def _check_aliases(session: Session, aliases: list[str] | None, firm_id: int | None) -> None:
    """Aliases are unique across firms: one another firm has (as alias or name) is refused."""
    clashes = alias_clashes(session, aliases or [], firm_id)
    if clashes:
        alias = clashes[0][0]
        raise DuplicateFirm(
            _l("别名“%(alias)s”已属于另一家企业", alias=alias),
            [c for _, c in clashes],
            exact=True,
            field="aliases",
        )


def _set_clusters(session: Session, firm_id: int, cluster_ids: list[int]) -> None:
    session.execute(delete(FirmCluster).where(FirmCluster.firm_id == firm_id))
    for cid in cluster_ids:
        session.add(FirmCluster(firm_id=firm_id, cluster_id=cid))


def _check_refs(session: Session, data: FirmCreate | FirmUpdate, firm_id: int | None) -> None:
    if data.parent_id is not None:
        if session.get(Firm, data.parent_id) is None:
            raise ValidationFailed(_l("母公司不存在"), field="parent_id")
        # walk up: a firm may not become its own ancestor
        seen, cur = set(), data.parent_id
        while cur is not None and cur not in seen:
            if cur == firm_id:
                raise ValidationFailed(_l("母公司关系成环"), field="parent_id")
            seen.add(cur)
            cur = session.scalar(select(Firm.parent_id).where(Firm.id == cur))


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
    if data.owner_id is not None:
        owner = locked_holder(session, data.owner_id)  # exists, active, not being deactivated
        if data.owner_id != (actor.id if source == "manual" else None):
            # owning it yourself is the default; anyone else only as may_set_owner allows
            require_set_owner(actor, None, owner)
    _check_aliases(session, data.aliases, None)
    found = check_firm(session, [data.name_zh, data.name_en], credit_code=data.credit_code)
    if found.exact:
        raise DuplicateFirm(_l("企业已存在"), found.exact, exact=True)
    if found.similar and not confirm:
        raise DuplicateFirm(
            _l("可能与已有企业重复"),
            found.similar[:10],
            exact=False,
        )
    # the one firm-row builder, shared with the import (crm/firms/rows.py)
    firm = Firm(**firm_values(data, source=source, now=utcnow()))
    if firm.owner_id is None and source == "manual":
        firm.owner_id = actor.id
    session.add(firm)
    session.flush()
    firm_id = stored_id(firm)
    for row in alias_values(firm_id, data.aliases):
        session.add(FirmAlias(**row))
    _set_clusters(session, firm_id, cluster_ids)
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


def editable_firm(session: Session, actor: User, firm_id: int) -> Firm:
    """The firm, for its edit form: 404 when not found, 403 unless ``actor`` may change it
    (the same rule ``update_firm`` saves by — no form offered that could only be refused)."""
    firm = get_firm(session, actor, firm_id)
    require_edit(actor, firm.owner_id, _owner_department(session, firm.owner_id))
    return firm


def update_firm(session: Session, actor: User, firm_id: int, data: FirmUpdate) -> Firm:
    """Change a firm (``crm.changes.apply_change``): every check runs before anything is
    written, so a refused or stale change saves nothing; a change that changes nothing writes
    no audit row and keeps the version."""
    firm = get_firm(session, actor, firm_id)
    require_edit(actor, firm.owner_id, _owner_department(session, firm.owner_id))

    def public_now() -> Any:
        return to_public(session, firm).model_dump(mode="json")

    check_version(firm, data.version, public_now)
    fields = _update_fields(data)
    for f in TIER_FIELDS:
        if f in fields and fields[f] != getattr(firm, f):
            require_tier_change(actor, firm.owner_id, f)
    _check_refs(session, data, firm_id)
    _check_aliases(session, data.aliases, firm_id)
    _check_unique(session, firm_id, fields)
    if "owner_id" in fields and fields["owner_id"] != firm.owner_id:
        new_owner = (
            None if fields["owner_id"] is None else locked_holder(session, fields["owner_id"])
        )
        require_set_owner(actor, firm.owner_id, new_owner)
    merged = {**firm.model_dump(), **fields}
    fields["tier"] = derive_tier(
        merged["global500_rank"], merged["china500_rank"], merged["is_leader"]
    )
    if merged["name_zh"] != firm.name_zh:
        fields["name_norm"] = name_norm(merged["name_zh"])  # the same rule as a new firm
        fields["name_pinyin"], fields["name_initials"] = to_pinyin(merged["name_zh"])
    links, aliases = _link_changes(session, firm_id, data)
    fields["search_text"] = search_blob([merged["name_zh"], merged["name_en"], *aliases])
    apply_change(
        session, actor.id, firm, "firm", data.version, fields, current=public_now, links=links
    )
    return firm


def _update_fields(data: FirmUpdate) -> dict[str, Any]:
    """The firm's own columns the update sets (aliases and clusters are links)."""
    fields = data.model_dump(exclude_unset=True, exclude={"version", "aliases", "clusters"})
    if "is_leader" in fields and fields["is_leader"] is None:
        fields.pop("is_leader")  # null: unchanged (the column is NOT NULL)
    if "name_zh" in fields and fields["name_zh"] is None:
        raise ValidationFailed(_l("企业名称必填"), field="name_zh")
    return fields


def _check_unique(session: Session, firm_id: int, fields: dict[str, Any]) -> None:
    """A new name may not be another firm's, a new credit code not another firm's."""
    if "name_zh" in fields:
        exact = check_firm(session, [fields["name_zh"]], exclude_id=firm_id).exact
        if exact:
            raise DuplicateFirm(_l("企业已存在"), exact, exact=True)
    if fields.get("credit_code"):
        clash = session.scalar(
            select(Firm.id).where(Firm.credit_code == fields["credit_code"], Firm.id != firm_id)
        )
        if clash:
            raise DuplicateFirm(
                _l("统一社会信用代码已被使用"),
                find_similar(session, "", fields["credit_code"], firm_id),
                exact=True,
            )


def _link_changes(
    session: Session, firm_id: int, data: FirmUpdate
) -> tuple[dict[str, LinkChange], list[str]]:
    """The alias and cluster changes the update asks for, and the aliases the firm will have."""
    links: dict[str, LinkChange] = {}
    aliases = firm_aliases(session, [firm_id])[firm_id]
    if data.aliases is not None:
        wanted = [r["alias"] for r in alias_values(firm_id, data.aliases)]
        links["aliases"] = LinkChange(
            aliases, wanted, lambda: _write_aliases(session, firm_id, wanted)
        )
        aliases = wanted
    if data.clusters is not None:
        cluster_ids = _cluster_ids(session, data.clusters)
        codes = sorted(firm_cluster_codes(session, [firm_id])[firm_id])
        links["clusters"] = LinkChange(
            codes,
            sorted(dict.fromkeys(data.clusters)),
            lambda: _set_clusters(session, firm_id, cluster_ids),
        )
    return links, aliases


def _write_aliases(session: Session, firm_id: int, aliases: list[str]) -> None:
    try:
        with session.begin_nested():  # a savepoint: a refused write leaves the session usable
            session.execute(delete(FirmAlias).where(FirmAlias.firm_id == firm_id))
            for row in alias_values(firm_id, aliases):
                session.add(FirmAlias(**row))
            session.flush()
    except IntegrityError:
        # another firm took one of them since the check (the database's unique index holds):
        # the same refusal as the check's, naming that firm
        _check_aliases(session, aliases, firm_id)
        raise


def _require_nothing_refers(session: Session, firm_id: int) -> None:
    """Refuse deleting a firm something still refers to, naming what. Only a manager or admin
    gets here (``require_delete_firm``): they see every row, so naming it tells them nothing
    hidden, and no officer's answer ever depends on rows hidden from him (SPEC §8)."""

    def count(model: Any, *where: Any) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    refers = (
        (count(Project, Project.firm_id == firm_id), _l("企业还有项目，不能删除")),
        (count(ActivityFirm, ActivityFirm.firm_id == firm_id), _l("企业还有接触记录，不能删除")),
        (count(Followup, Followup.firm_id == firm_id), _l("企业还有跟进事项，不能删除")),
        (count(Firm, Firm.parent_id == firm_id), _l("企业还有子公司，不能删除")),
    )
    for n, what in refers:
        if n:
            raise Conflict(what)


def delete_firm(session: Session, actor: User, firm_id: int, version: int | None = None) -> None:
    """Remove a firm that nothing refers to (projects, activities, follow-ups, subsidiaries):
    for managers and admins only (``crm.authz.require_delete_firm``)."""

    firm = get_firm(session, actor, firm_id)
    require_delete_firm(actor, firm.owner_id, _owner_department(session, firm.owner_id))
    check_version(firm, version, lambda: to_public(session, firm).model_dump(mode="json"))
    # an add under it (a contact, a project, a follow-up) waits or is waited for, then counted
    hold_parents(session, [firm_id])
    _require_nothing_refers(session, firm_id)
    before = snapshot(firm)
    # the firm's people go with it, each audited as its own deletion would be (ATTACK11 F1): its
    # history shows what was erased with the firm
    contacts = list(
        session.scalars(select(Contact).where(Contact.firm_id == firm_id).order_by(Contact.id))
    )
    for c in contacts:
        record(session, actor.id, "delete", "contact", c.id, before=snapshot(c))
    session.execute(delete(Contact).where(Contact.firm_id == firm_id))
    session.execute(delete(FirmAlias).where(FirmAlias.firm_id == firm_id))
    session.execute(delete(FirmCluster).where(FirmCluster.firm_id == firm_id))
    session.delete(firm)
    record(session, actor.id, "delete", "firm", firm_id, before=before)
    session.flush()
