"""Merge two records of one firm, and undo a merge.

``merge_firms`` keeps a *survivor*: what the other firm holds — contacts, projects (their stage
history and capital arrivals come with them), activity links, follow-ups, subsidiaries,
cluster targets and aliases — moves to it; the other's names become aliases; the fields the
two differ in are chosen one by one. The other firm is removed. One audit row (action
``merge``) holds everything needed to put it back: ``crm.firms.unmerge.undo_merge`` does, as
long as no moved row changed since (their versions and links are compared).

Moved rows keep their version: a move is not an edit of the contact, project or follow-up
itself, and keeping it lets undo restore the rows exactly. 撞单 flags are recomputed for the
moved projects (another department's project in the same cluster of the survivor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crm.audit.service import record, snapshot
from crm.authz import require_manager, require_merge
from crm.changes import check_version
from crm.db import lock_rows
from crm.errors import StaleVersion, ValidationFailed
from crm.firms.queries import _owner_department, firm_aliases, firm_cluster_codes, get_firm
from crm.i18n import Message, _l
from crm.models.accounts import User
from crm.models.activities import ActivityFirm
from crm.models.audit import AuditRecord
from crm.models.firms import Contact, Firm, FirmAlias, FirmCluster, derive_tier
from crm.models.followups import Followup
from crm.models.policy import Cluster
from crm.models.projects import CapitalArrival, Project, Stage, StageChange
from crm.notices.service import conflict_opened, firm_merged
from crm.text import normalize_name, search_blob, to_pinyin
from crm.types import stored_id, utcnow

# the fields a user chooses between when the two records differ
CHOOSABLE = (
    "name_zh",
    "name_en",
    "country",
    "headquarters",
    "global500_rank",
    "china500_rank",
    "is_leader",
    "website",
    "credit_code",
    "parent_id",
    "owner_id",
    "notes",
)


class Holdings(BaseModel):
    """What a firm holds, for the side-by-side view (the page's and the API's) and the count
    check. Every figure is given (no defaults): a count left out would read as "holds none" and
    pass the check."""

    contacts: int
    projects: int
    stage_changes: int
    capital_arrivals: int
    activities: int
    followups: int
    subsidiaries: int
    aliases: list[str]
    clusters: list[str]


def holdings(session: Session, firm_id: int) -> Holdings:
    from sqlalchemy import func

    def n(stmt: Any) -> int:
        return session.scalar(stmt) or 0

    projects = select(Project.id).where(Project.firm_id == firm_id)
    return Holdings(
        contacts=n(select(func.count()).where(Contact.firm_id == firm_id)),
        projects=n(select(func.count()).where(Project.firm_id == firm_id)),
        stage_changes=n(select(func.count()).where(StageChange.project_id.in_(projects))),
        capital_arrivals=n(select(func.count()).where(CapitalArrival.project_id.in_(projects))),
        activities=n(select(func.count()).where(ActivityFirm.firm_id == firm_id)),
        followups=n(select(func.count()).where(Followup.firm_id == firm_id)),
        subsidiaries=n(select(func.count()).where(Firm.parent_id == firm_id)),
        aliases=firm_aliases(session, [firm_id])[firm_id],
        clusters=firm_cluster_codes(session, [firm_id])[firm_id],
    )


def differing_fields(a: Firm, b: Firm) -> list[str]:
    """The choosable fields the two records disagree on (a blank on one side is no conflict)."""
    return [
        f
        for f in CHOOSABLE
        if getattr(a, f) != getattr(b, f)
        and getattr(a, f) not in (None, "")
        and getattr(b, f) not in (None, "")
    ]


def reference_names(session: Session, *firms: Firm) -> dict[str, dict[int, str]]:
    """What the merge page shows for a firm's references: the owner's name, the parent
    firm's name (not their ids)."""
    owners = {f.owner_id for f in firms} - {None}
    parents = {f.parent_id for f in firms} - {None}
    return {
        "owner_id": {
            i: n
            for i, n in session.execute(
                select(User.id, User.display_name).where(User.id.in_(owners))
            )
        },
        "parent_id": {
            i: n
            for i, n in session.execute(select(Firm.id, Firm.name_zh).where(Firm.id.in_(parents)))
        },
    }


def _ids(session: Session, stmt: Any) -> list[int]:
    return list(session.scalars(stmt))


def _versions(session: Session, model: Any, ids: list[int]) -> dict[str, int]:
    if not ids:
        return {}
    return {
        str(i): v
        for i, v in session.execute(select(model.id, model.version).where(model.id.in_(ids)))
    }


def merge_start(session: Session, actor: User, firm_id: int) -> Firm:
    """The firm a merge starts from, before the other one is chosen: only for whoever may merge
    it (``crm.authz.require_merge``) — the picker never opens on a firm they could not merge."""
    require_manager(actor)
    firm = get_firm(session, actor, firm_id)
    require_merge(actor, (firm.owner_id, _owner_department(session, firm.owner_id)))
    return firm


def merge_pair(session: Session, actor: User, survivor_id: int, other_id: int) -> tuple[Firm, Firm]:
    """The two firms of a merge (or its preview), once ``crm.authz.require_merge`` allows it:
    a manager who may edit both, or an admin; never a firm with itself."""
    require_manager(actor)  # officers: 403 before anything is looked up
    if survivor_id == other_id:
        raise ValidationFailed(_l("不能与自身合并"), field="other_id")
    survivor = get_firm(session, actor, survivor_id)
    other = get_firm(session, actor, other_id)
    require_merge(
        actor,
        *((f.owner_id, _owner_department(session, f.owner_id)) for f in (survivor, other)),
    )
    return survivor, other


def merge_firms(
    session: Session,
    actor: User,
    survivor_id: int,
    other_id: int,
    choices: dict[str, str] | None = None,
    *,
    survivor_version: int | None = None,
    other_version: int | None = None,
) -> AuditRecord:
    """Merge firm ``other_id`` into ``survivor_id`` (managers and admins). ``choices`` maps a
    field to ``"survivor"`` or ``"other"``: whose value the merged firm keeps (by default the
    survivor's, or the other's where the survivor's is blank). Returns the audit row."""
    require_manager(actor)  # officers: 403 before any row is locked
    lock_firms(session, survivor_id, other_id)
    survivor, other = merge_pair(session, actor, survivor_id, other_id)
    for firm, version in ((survivor, survivor_version), (other, other_version)):
        check_version(firm, version)
    try:
        return _merge(session, actor, survivor, other, choices)
    except IntegrityError as exc:  # a race the locks did not foresee: refused, never a 500
        raise StaleVersion(_l("记录已被他人修改，本次未合并，请刷新后重试")) from exc


def lock_firms(session: Session, *ids: int) -> None:
    """Before a merge or an undo checks anything: the firms' rows locked (PostgreSQL: ``SELECT
    … FOR UPDATE``, in id order so two merges of one pair cannot deadlock), so a second merge or
    undo of the same firms waits for the first and then sees what it did (a firm gone: 404, a
    merge undone: 409). SQLite: a writing request holds the database's write lock from its
    start (``crm.db.begin_write``); ``claim_version`` catches what read before it."""
    lock_rows(session, Firm, ids)


def claim_version(session: Session, firm: Firm, refusal: Message | None = None) -> None:
    """A version-checked write of ``firm`` (its version unchanged): refused with 409 when
    another merge, undo or edit changed or removed the firm since it was read."""
    done = session.execute(
        update(Firm)
        .where(Firm.id == firm.id, Firm.version == firm.version)
        .values(version=firm.version)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleVersion(refusal or _l("记录已被他人修改，本次未合并，请刷新后重试"))


def _merge(
    session: Session, actor: User, survivor: Firm, other: Firm, choices: dict[str, str] | None
) -> AuditRecord:
    survivor_id, other_id = survivor.id, other.id
    assert survivor_id is not None and other_id is not None
    choices = dict(choices or {})
    bad = [k for k, v in choices.items() if k not in CHOOSABLE or v not in ("survivor", "other")]
    if bad:
        raise ValidationFailed(_l("无效的字段选择：%(field)s", field=bad[0]), field=bad[0])

    alias_rows = [
        [i, f, a]
        for i, f, a in session.execute(
            select(FirmAlias.id, FirmAlias.firm_id, FirmAlias.alias)
            .where(FirmAlias.firm_id.in_([survivor_id, other_id]))
            .order_by(FirmAlias.id)
        )
    ]
    s_aliases = firm_aliases(session, [survivor_id])[survivor_id]
    o_aliases = firm_aliases(session, [other_id])[other_id]
    s_clusters = firm_cluster_codes(session, [survivor_id])[survivor_id]
    o_clusters = firm_cluster_codes(session, [other_id])[other_id]
    before_survivor = _before(survivor)
    before_other = _before(other)
    moving = _moving(session, survivor_id, other_id)
    values = _merged_values(survivor, other, choices)
    _keep_groups_acyclic(session, values, survivor, other, choices)
    claim_version(session, survivor)
    claim_version(session, other)
    alias_list = _merged_aliases(values, survivor, other, [*s_aliases, *o_aliases])
    # conflict flags of projects that will be touched
    conflict_before = _conflict_flags(session, Project.firm_id.in_([survivor_id, other_id]))
    versions = {
        "contact": _versions(session, Contact, moving.contacts),
        "project": _versions(session, Project, moving.projects),
        "followup": _versions(session, Followup, moving.followups),
        "subsidiary": _versions(session, Firm, moving.subsidiaries),
    }

    # move everything, then remove the other record (its credit code and names free up first)
    _move(session, moving, survivor_id, other_id)
    cluster_ids = dict(session.execute(select(Cluster.code, Cluster.id)).all())
    session.execute(delete(FirmCluster).where(FirmCluster.firm_id == other_id))
    session.flush()
    session.expunge(other)
    session.execute(delete(Firm).where(Firm.id == other_id))
    session.flush()

    for k, v in values.items():
        setattr(survivor, k, v)
    survivor.tier = derive_tier(survivor.global500_rank, survivor.china500_rank, survivor.is_leader)
    survivor.name_norm = normalize_name(survivor.name_zh)
    survivor.name_pinyin, survivor.name_initials = to_pinyin(survivor.name_zh)
    for a in alias_list:
        session.add(FirmAlias(firm_id=survivor_id, alias=a, alias_norm=normalize_name(a)))
    for code in o_clusters:
        if code not in s_clusters:
            session.add(FirmCluster(firm_id=survivor_id, cluster_id=cluster_ids[code]))
    survivor.search_text = search_blob([survivor.name_zh, survivor.name_en, *alias_list])
    survivor.version += 1
    survivor.updated_at = utcnow()
    session.add(survivor)
    session.flush()

    _reflag_conflicts(session, survivor_id, moving.projects)
    session.flush()
    conflict_after = _conflict_flags(session, Project.firm_id == survivor_id)
    conflicts_changed = {
        k: conflict_before.get(k) for k, v in conflict_after.items() if conflict_before.get(k) != v
    }
    after_survivor = snapshot(survivor)
    _tell_owners(session, actor, (before_survivor, before_other), survivor_id, survivor.name_zh)
    return record(
        session,
        actor.id,
        "merge",
        "firm",
        survivor_id,
        # everything in one document (``record`` would drop the keys before and after share)
        after={
            "before": {
                "survivor": before_survivor,
                "survivor_aliases": s_aliases,
                "survivor_clusters": s_clusters,
                "other": before_other,
                "other_aliases": o_aliases,
                "other_clusters": o_clusters,
                # the alias rows themselves, so undo puts them back with their ids
                "alias_rows": alias_rows,
            },
            "survivor": after_survivor,
            "aliases": alias_list,
            "moved": {
                "contact": moving.contacts,
                "project": moving.projects,
                "followup": moving.followups,
                "subsidiary": moving.subsidiaries,
                "activity": moving.activities,
                "activity_shared": moving.activities_shared,
            },
            "versions": versions,
            "conflicts_before": conflicts_changed,
            "conflicts_after": {k: conflict_after[k] for k in conflicts_changed},
        },
    )


def _before(firm: Firm) -> dict[str, Any]:
    """A firm as the merge found it, with the columns ``snapshot`` leaves out that undo needs."""
    return {
        **snapshot(firm),
        "name_pinyin": firm.name_pinyin,
        "name_initials": firm.name_initials,
        "search_text": firm.search_text,
    }


@dataclass
class _Moving:
    """The ids of what the other firm holds that moves to the survivor."""

    contacts: list[int]
    projects: list[int]
    followups: list[int]
    subsidiaries: list[int]  # not the survivor itself
    activities: list[int]  # met only the other firm: the link moves
    activities_shared: list[int]  # met both: the other's link goes


def _moving(session: Session, survivor_id: int, other_id: int) -> _Moving:
    contacts = _ids(
        session, select(Contact.id).where(Contact.firm_id == other_id).order_by(Contact.id)
    )
    projects = _ids(
        session, select(Project.id).where(Project.firm_id == other_id).order_by(Project.id)
    )
    followups = _ids(
        session, select(Followup.id).where(Followup.firm_id == other_id).order_by(Followup.id)
    )
    subsidiaries = _ids(
        session, select(Firm.id).where(Firm.parent_id == other_id).order_by(Firm.id)
    )
    act_other = set(
        _ids(session, select(ActivityFirm.activity_id).where(ActivityFirm.firm_id == other_id))
    )
    act_surv = set(
        _ids(session, select(ActivityFirm.activity_id).where(ActivityFirm.firm_id == survivor_id))
    )
    return _Moving(
        contacts=contacts,
        projects=projects,
        followups=followups,
        subsidiaries=[i for i in subsidiaries if i != survivor_id],
        activities=sorted(act_other - act_surv),
        activities_shared=sorted(act_other & act_surv),
    )


def _merged_values(survivor: Firm, other: Firm, choices: dict[str, str]) -> dict[str, Any]:
    """The merged firm's choosable fields: as chosen, else the survivor's unless it is blank
    where the other's is not; a parent that is one of the two gives way."""
    survivor_id, other_id = survivor.id, other.id
    values: dict[str, Any] = {}
    for f in CHOOSABLE:
        sv, ov = getattr(survivor, f), getattr(other, f)
        pick = choices.get(f) or (
            "other" if sv in (None, "") and ov not in (None, "") else "survivor"
        )
        values[f] = ov if pick == "other" else sv
    if values["parent_id"] in (survivor_id, other_id):
        values["parent_id"] = (
            survivor.parent_id if survivor.parent_id not in (other_id,) else other.parent_id
        )
        if values["parent_id"] in (survivor_id, other_id):
            values["parent_id"] = None
    values["is_leader"] = bool(values["is_leader"])
    return values


def _in_group(session: Session, firm_id: int | None, heads: tuple[int, int]) -> bool:
    """Whether ``firm_id`` is one of ``heads`` or below one of them (walking up its parents)."""
    seen: set[int] = set()
    cur = firm_id
    while cur is not None and cur not in seen:
        if cur in heads:
            return True
        seen.add(cur)
        cur = session.scalar(select(Firm.parent_id).where(Firm.id == cur))
    return False


def _keep_groups_acyclic(
    session: Session, values: dict[str, Any], survivor: Firm, other: Firm, choices: dict[str, str]
) -> None:
    """The merged firm's parent may not be one of its own subsidiaries (the firm form refuses
    the same cycle): a parent chosen by hand is refused; one taken by default gives way to the
    other firm's, else none."""
    heads = (stored_id(survivor), stored_id(other))
    if not _in_group(session, values["parent_id"], heads):
        return
    if choices.get("parent_id"):
        raise ValidationFailed(_l("母公司关系成环"), field="parent_id")
    fallback = [p for p in (survivor.parent_id, other.parent_id) if p != values["parent_id"]]
    values["parent_id"] = next(
        (p for p in fallback if p is not None and not _in_group(session, p, heads)), None
    )


def _merged_aliases(
    values: dict[str, Any], survivor: Firm, other: Firm, aliases: list[str]
) -> list[str]:
    """The survivor's aliases: both firms', each once, and the names that stop being a name."""
    kept_names = {normalize_name(values["name_zh"] or ""), normalize_name(values["name_en"] or "")}
    alias_list: list[str] = []
    seen: set[str] = set()
    for a in aliases:
        n = normalize_name(a)
        if n and n not in seen:
            seen.add(n)
            alias_list.append(a)
    for name in (survivor.name_zh, other.name_zh, survivor.name_en, other.name_en):
        n = normalize_name(name or "")
        if name and n and n not in seen and n not in kept_names:
            seen.add(n)
            alias_list.append(name)
    return alias_list


def _conflict_flags(session: Session, where: Any) -> dict[str, int | None]:
    """Project id (as text) → the project it is flagged 撞单 with, for the projects ``where``."""
    return {
        str(i): c
        for i, c in session.execute(select(Project.id, Project.conflict_with_id).where(where))
    }


def _move(session: Session, moving: _Moving, survivor_id: int, other_id: int) -> None:
    """Contacts, projects, follow-ups, subsidiaries and activity links to the survivor; the
    other's remaining activity links and both firms' alias rows go (written again after)."""
    repoint: tuple[tuple[Any, list[int], str], ...] = (
        (Contact, moving.contacts, "firm_id"),
        (Project, moving.projects, "firm_id"),
        (Followup, moving.followups, "firm_id"),
        (Firm, moving.subsidiaries, "parent_id"),
    )
    for model, ids, column in repoint:
        if ids:
            session.execute(update(model).where(model.id.in_(ids)).values({column: survivor_id}))
    if moving.activities:
        session.execute(
            update(ActivityFirm)
            .where(
                ActivityFirm.firm_id == other_id, ActivityFirm.activity_id.in_(moving.activities)
            )
            .values(firm_id=survivor_id)
        )
    session.execute(delete(ActivityFirm).where(ActivityFirm.firm_id == other_id))
    session.execute(delete(FirmAlias).where(FirmAlias.firm_id.in_([other_id, survivor_id])))


def _tell_owners(
    session: Session,
    actor: User,
    firms: tuple[dict[str, Any], dict[str, Any]],
    survivor_id: int,
    name: str,
) -> None:
    """The ``firm_merged`` notice: the two firms' owners and their departments' managers (the
    one who merged excepted)."""
    owners = {f.get("owner_id") for f in firms} - {None}
    depts = set(
        session.scalars(
            select(User.department_id).where(
                User.id.in_(owners),
                User.department_id.is_not(None),
            )
        )
    )
    managers = set(
        session.scalars(
            select(User.id).where(
                User.role == "manager",
                User.is_active.is_(True),
                User.department_id.in_(depts),
            )
        )
    )
    told = {i for i in owners | managers if i is not None and i != actor.id}
    firm_merged(session, told, survivor_id, name)


def _reflag_conflicts(session: Session, firm_id: int, moved: list[int]) -> None:
    """撞单 after a merge: a moved active project and another department's active project in
    the same cluster of the merged firm flag each other, the earlier reported first; the
    managers of both departments are told as when a project is created in conflict
    (``crm.notices.service.conflict_opened``: notice, e-mail, group robot — once per pair)."""
    if not moved:
        return
    rows = list(
        session.scalars(
            select(Project)
            .where(Project.firm_id == firm_id, Project.stage != Stage.lost.value)
            .order_by(Project.created_at, Project.id)
        )
    )
    moved_set = set(moved)
    opened: list[tuple[Project, Project]] = []
    for p in rows:
        if p.id not in moved_set:
            continue
        q = _conflict_partner(p, rows, moved_set)
        if q is None:
            continue
        first, second = (q, p) if (q.created_at, q.id) < (p.created_at, p.id) else (p, q)
        if second.conflict_with_id is None:
            second.conflict_with_id = first.id
            opened.append((first, second))
        if first.conflict_with_id is None:
            first.conflict_with_id = second.id
        session.add(first)
        session.add(second)
    session.flush()
    for first, second in opened:  # told as a 撞单 found when a project is created (SPEC §3)
        conflict_opened(session, first, second)


def _conflict_partner(p: Project, rows: list[Project], moved: set[int]) -> Project | None:
    """The first of the merged firm's active projects (in report order) that ``p``, a moved
    one, is in 撞单 with: the same cluster, another department (or ``p`` has none), and not
    moved with it (those were together before the merge)."""
    for q in rows:
        if q.id == p.id or q.cluster_id != p.cluster_id:
            continue
        if p.department_id is not None and q.department_id == p.department_id:
            continue
        if q.id in moved:
            continue  # already together before the merge
        return q
    return None
