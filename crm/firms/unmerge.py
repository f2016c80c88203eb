"""Undo a merge (``crm.firms.merge``): the other firm comes back from the merge's audit row
with its id, names, aliases, clusters and what it held — refused when anything moved (or the
survivor) changed since."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crm.audit.service import record
from crm.authz import require_manager, require_undo_merge
from crm.errors import Conflict, NotFound
from crm.firms.merge import claim_version, lock_firms
from crm.firms.queries import _owner_department
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.activities import ActivityFirm, ActivityProject
from crm.models.audit import AuditRecord
from crm.models.firms import Contact, Firm, FirmAlias, FirmCluster
from crm.models.followups import Followup
from crm.models.policy import Cluster
from crm.models.projects import Project
from crm.text import normalize_name
from crm.types import stored_id


def get_merge(session: Session, audit_id: int) -> AuditRecord:
    row = session.get(AuditRecord, audit_id)
    if row is None or row.action != "merge" or row.entity != "firm":
        raise NotFound(_l("合并记录不存在"))
    return row


def merge_undone(session: Session, audit_id: int) -> bool:
    return (
        session.scalar(
            select(AuditRecord.id).where(
                AuditRecord.action == "unmerge",
                AuditRecord.entity == "firm_merge",
                AuditRecord.entity_id == str(audit_id),
            )
        )
        is not None
    )


# what a merge moved, by its key in the audit row: the table and the column that points at
# the firm
_MOVED = (
    (Contact, Contact.firm_id, "contact"),
    (Project, Project.firm_id, "project"),
    (Followup, Followup.firm_id, "followup"),
    (Firm, Firm.parent_id, "subsidiary"),
)


def undo_merge(session: Session, actor: User, audit_id: int) -> Firm:
    """Put a merge back: the other firm returns with its id, names, aliases, clusters and what
    it held. Refused when anything moved (or the survivor) changed since the merge."""
    require_manager(actor)  # officers: 403 before anything is looked up
    row = get_merge(session, audit_id)
    sid = int(row.entity_id or 0)
    # a second undo of this merge (or a merge of the survivor) waits here for the first, then
    # finds it done: 409, never the other firm inserted twice
    lock_firms(session, sid)
    survivor = session.get(Firm, sid, populate_existing=True)
    if survivor is None:
        require_undo_merge(actor, None, -1)  # nobody's firm: admins only
    else:
        require_undo_merge(actor, survivor.owner_id, _owner_department(session, survivor.owner_id))
    if merge_undone(session, audit_id):
        raise Conflict(_l("该合并已撤销"))
    after = json.loads(row.after or "{}")
    before = after["before"]
    if survivor is None or survivor.version != after["survivor"]["version"]:
        raise Conflict(_l("合并后企业已被修改，不能撤销"))
    moved = after["moved"]
    _check_unchanged(session, sid, moved, after["versions"])
    other = before["other"]
    _check_free(session, sid, other)
    claim_version(session, survivor, _l("记录已被他人修改，本次未撤销，请刷新后重试"))
    try:
        _restore(session, actor, audit_id, survivor, after)
    except IntegrityError as exc:  # a race the lock did not foresee: refused, never a 500
        raise Conflict(_l("记录已被他人修改，本次未撤销，请刷新后重试")) from exc
    return survivor


def _restore(
    session: Session, actor: User, audit_id: int, survivor: Firm, after: dict[str, Any]
) -> None:
    sid = survivor.id
    assert sid is not None
    before, moved = after["before"], after["moved"]
    oid = before["other"]["id"]
    _restore_firms(session, survivor, before)
    _give_back(session, sid, oid, moved)
    for pid, c in after["conflicts_before"].items():
        session.execute(update(Project).where(Project.id == int(pid)).values(conflict_with_id=c))
    session.flush()
    record(
        session,
        actor.id,
        "unmerge",
        "firm_merge",
        audit_id,
        after={"survivor_id": sid, "restored_id": oid},
    )
    session.flush()


def _check_unchanged(
    session: Session, sid: int, moved: dict[str, list[int]], versions: dict[str, dict[str, int]]
) -> None:
    """Every moved row still on the survivor at the version the merge left it; every moved or
    shared activity still linked to the survivor."""
    for model, col, key in _MOVED:
        ids = moved[key]
        if not ids:
            continue
        now = {
            str(i): (v, owner)
            for i, v, owner in session.execute(
                select(model.id, model.version, col).where(model.id.in_(ids))
            )
        }
        for i in ids:
            cur = now.get(str(i))
            if cur is None or cur[0] != versions[key][str(i)] or cur[1] != sid:
                raise Conflict(_l("合并后有记录被修改，不能撤销"))
    linked = set(
        session.scalars(
            select(ActivityFirm.activity_id).where(
                ActivityFirm.firm_id == sid,
                ActivityFirm.activity_id.in_(moved["activity"] + moved["activity_shared"]),
            )
        )
    )
    if linked != set(moved["activity"] + moved["activity_shared"]):
        raise Conflict(_l("合并后有活动被修改，不能撤销"))
    _check_no_new_links(session, moved)


def _check_no_new_links(session: Session, moved: dict[str, list[int]]) -> None:
    """No contact or follow-up logged since the merge on a project that moved: undone, it would
    point at a project of another firm (an activity links only projects of its own firms)."""
    projects = moved["project"]
    if not projects:
        return
    activities = set(
        session.scalars(
            select(ActivityProject.activity_id).where(ActivityProject.project_id.in_(projects))
        )
    )
    followups = set(session.scalars(select(Followup.id).where(Followup.project_id.in_(projects))))
    if activities - set(moved["activity"] + moved["activity_shared"]) or followups - set(
        moved["followup"]
    ):
        raise Conflict(_l("合并后已有新的接触或跟进记在迁入的项目上，不能撤销"))


def _check_free(session: Session, sid: int, other: dict[str, Any]) -> None:
    """No firm but the survivor took the other firm's name or credit code since."""
    o_norm = normalize_name(other["name_zh"])
    taken = session.scalar(
        select(Firm.id).where(
            Firm.id != sid,
            (Firm.name_norm == o_norm)
            | ((Firm.credit_code == other["credit_code"]) if other.get("credit_code") else False),
        )
    )
    if taken:
        raise Conflict(_l("该企业名称或信用代码已被另一企业使用"))
    # SQLite hands a removed row's id out again: a firm created since may hold it
    if session.scalar(select(Firm.id).where(Firm.id == other["id"])) is not None:
        raise Conflict(_l("合并掉的企业编号已被新企业占用，不能撤销"))


def _restore_firms(session: Session, survivor: Firm, before: dict[str, Any]) -> None:
    """The survivor as it was (fields, names, aliases, clusters, version) and the other firm
    again, with its id, aliases (their own ids) and clusters."""
    sid = stored_id(survivor)
    other = before["other"]
    s_before = before["survivor"]
    session.execute(delete(FirmAlias).where(FirmAlias.firm_id == sid))
    session.execute(delete(FirmCluster).where(FirmCluster.firm_id == sid))
    session.flush()
    for k, v in s_before.items():
        if k == "id":
            continue
        setattr(survivor, k, _load(Firm, k, v))
    if other.get("credit_code") and survivor.credit_code == other["credit_code"]:
        survivor.credit_code = None  # frees it for the other firm; restored just below
    session.add(survivor)
    session.flush()
    cluster_ids = dict(session.execute(select(Cluster.code, Cluster.id)).all())
    session.execute(
        insert(Firm.__table__).values(**{k: _load(Firm, k, v) for k, v in other.items()})
    )
    survivor.credit_code = s_before.get("credit_code")
    session.add(survivor)
    for i, fid, a in before["alias_rows"]:
        session.add(FirmAlias(id=i, firm_id=fid, alias=a, alias_norm=normalize_name(a)))
    for fid, codes in ((sid, before["survivor_clusters"]), (other["id"], before["other_clusters"])):
        for code in codes:
            session.add(FirmCluster(firm_id=fid, cluster_id=cluster_ids[code]))
    session.flush()


def _give_back(session: Session, sid: int, oid: int, moved: dict[str, list[int]]) -> None:
    """What the other firm held comes back to it."""
    for model, col, key in _MOVED:
        if moved[key]:
            session.execute(update(model).where(model.id.in_(moved[key])).values({col.key: oid}))
    if moved["activity"]:
        session.execute(
            update(ActivityFirm)
            .where(ActivityFirm.firm_id == sid, ActivityFirm.activity_id.in_(moved["activity"]))
            .values(firm_id=oid)
        )
    for a in moved["activity_shared"]:
        session.add(ActivityFirm(activity_id=a, firm_id=oid))


def _load(model: Any, key: str, value: Any) -> Any:
    """A snapshot value back into the column's Python type (times are ISO strings there)."""
    if value is None:
        return None
    typ = model.__table__.c[key].type
    try:
        py = getattr(typ, "impl", typ).python_type
    except NotImplementedError:
        return value
    if py is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value
