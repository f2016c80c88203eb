"""Notices and the conflicts that reach the managers (SPEC §3 撞单, §4 the header bell).

When a project collides with another department's (``projects.service.create_project``), the
managers of both departments get one in-app notice each and one message (email, and their
department's group robot) through the outbox — once: the notice is unique per user and key, the
message per dedup key. The notices and messages name a confidential project by its code name.
The managers resolve a conflict here: one project keeps the firm, the other is closed (lost) or
transferred to the keeping department; both lose the flag, and the resolution is audited.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from crm.authz import is_manager, require_give_up_project, require_manager
from crm.authz.disclosure import conflict_pair_labels, project_label
from crm.changes import apply_change
from crm.db import lock_rows
from crm.errors import NotFound, ValidationFailed
from crm.i18n import Message, Named, _l
from crm.models.accounts import Department, User
from crm.models.notices import Notice
from crm.models.policy import Cluster
from crm.models.projects import Project, Stage, StageChange
from crm.outbox.compose import department_robots, robot_message
from crm.outbox.render import email_message, render_message
from crm.outbox.service import enqueue_many
from crm.reassign import hand_over_followups
from crm.types import stored_id, utcnow

LISTED = 50


class NoticeRow(BaseModel):
    id: int
    kind: str
    text: Any  # a str (older notices) or a crm.i18n Message, shown in the reader's language
    link: str | None
    created_at: datetime
    read: bool


# A notice's text is kept as its message (msgid and parameters), not as words of one language,
# so each reader sees it in theirs: ``_stored`` writes it, ``shown`` reads it back (a row
# written before this is plain text and shown as it is).
_MSG = "\x1fmsg:"


def _param(value: Any) -> Any:
    """A message's parameter as JSON: a name in both languages (``Named``) or a message stays
    one, so it is shown in the reader's language too; anything else as its text."""
    if isinstance(value, Named):
        return {"n": [value.msgid, str(value.params["en"])[:120]]}
    if isinstance(value, Message):
        return {"m": value.msgid, "p": {k: _param(v) for k, v in value.params.items()}}
    return "" if value is None else str(value)[:120]


def _message(value: Any) -> Any:
    if isinstance(value, dict) and "n" in value:
        zh, en = value["n"]
        return Named(str(zh), str(en))
    if isinstance(value, dict) and "m" in value:
        return Message(str(value["m"]), **{str(k): _message(v) for k, v in value["p"].items()})
    return value


def _stored(text: str | Message) -> str:
    if not isinstance(text, Message):
        return text[:500]
    return _MSG + json.dumps(_param(text), ensure_ascii=False)


def shown(text: str) -> str | Message:
    """A stored notice text as it is to be shown: a lazy message, or the old plain text."""
    if not text.startswith(_MSG):
        return text
    try:
        shown = _message(json.loads(text[len(_MSG) :]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return text
    return shown if isinstance(shown, Message) else text


# --- notices ---------------------------------------------------------------------------------


def forget_project(session: Session, project_id: int) -> int:
    """A project being deleted: the notices that name it keep their text (a conflict was
    flagged, an assignment made) but no longer point at it — neither its id nor a link to its
    page. How many."""
    result = session.execute(
        update(Notice)
        .where(Notice.project_id == project_id)
        .values(
            project_id=None,
            link=func.nullif(Notice.link, f"/projects/{project_id}"),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def notify(
    session: Session,
    user_ids: set[int],
    kind: str,
    key: str,
    text: str | Message,
    *,
    link: str | None = None,
    project_id: int | None = None,
    firm_id: int | None = None,
) -> int:
    """One notice per user for ``key`` (a user already told is skipped); returns how many."""
    if not user_ids:
        return 0
    now = utcnow()
    stored = _stored(text)
    rows = [
        {
            "user_id": u,
            "kind": kind,
            "dedup_key": key[:100],
            "text": stored,
            "link": link,
            "project_id": project_id,
            "firm_id": firm_id,
            "created_at": now,
        }
        for u in sorted(user_ids)
    ]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(Notice.__table__)
        .on_conflict_do_nothing(index_elements=["user_id", "dedup_key"])
        .returning(Notice.__table__.c.id)
    )
    return len(session.execute(stmt, rows).all())


def unread_count(session: Session, actor: User) -> int:
    return int(
        session.scalar(
            select(func.count()).where(Notice.user_id == actor.id, Notice.read_at.is_(None))
        )
        or 0
    )


def list_notices(session: Session, actor: User, limit: int = LISTED) -> list[NoticeRow]:
    """The actor's notices, newest first."""
    rows = session.scalars(
        select(Notice)
        .where(Notice.user_id == actor.id)
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(limit)
    )
    return [
        NoticeRow(
            id=n.id,
            kind=n.kind,
            text=shown(n.text),
            link=n.link,
            created_at=n.created_at,
            read=n.read_at is not None,
        )
        for n in rows
    ]


def mark_all_read(session: Session, actor: User) -> int:
    res = session.execute(
        update(Notice)
        .where(Notice.user_id == actor.id, Notice.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


def assigned_to_you(session: Session, p: Project) -> int:
    """A project was assigned to its new owner: tell them (once per project and owner)."""
    assert p.owner_id is not None
    label = project_label(p.title, p.is_confidential, p.code_name)
    return notify(
        session,
        {p.owner_id},
        "assigned",
        f"assigned:project:{p.id}:{p.owner_id}:{p.version}",
        _l("项目指派给你：%(project)s", project=label),
        link=f"/projects/{p.id}",
        project_id=p.id,
    )


def firm_merged(session: Session, user_ids: set[int], survivor_id: int, name: str) -> int:
    """Two records of one firm were merged into ``survivor_id`` (the merge service tells the
    firms' owners and their managers)."""
    return notify(
        session,
        {u for u in user_ids if u is not None},
        "merged",
        f"merged:firm:{survivor_id}:{name}"[:100],
        _l("你的企业已合并：%(name)s", name=name),
        link=f"/firms/{survivor_id}",
        firm_id=survivor_id,
    )


# --- conflicts -------------------------------------------------------------------------------


def _managers(session: Session, dept_ids: set[int]) -> list[Any]:
    """The active managers of these departments; for a department that has none, the active
    admins instead (ATTACK8 P3-12: only its manager or an admin may give up its project, so
    with no manager nobody on its side was told) — each person once."""
    if not dept_ids:
        return []
    cols = (User.id, User.display_name, User.email, User.language, User.department_id)
    active = User.is_active.is_(True)
    managers = list(
        session.execute(
            select(*cols)
            .where(User.role == "manager", active, User.department_id.in_(dept_ids))
            .order_by(User.id)
        )
    )
    if dept_ids <= {m.department_id for m in managers}:
        return managers
    admins = session.execute(select(*cols).where(User.role == "admin", active).order_by(User.id))
    told = {m.id for m in managers}
    return managers + [a for a in admins if a.id not in told]


def conflict_opened(session: Session, first: Project, later: Project) -> int:
    """Tell the managers of both departments (notice + email + group robot), once per conflict."""

    depts = {d for d in (first.department_id, later.department_id) if d is not None}
    managers = _managers(session, depts)
    cluster = session.get(Cluster, later.cluster_id)
    names = {
        i: n
        for i, n in session.execute(
            select(Department.id, Department.name).where(Department.id.in_(depts))
        )
    }
    first_dept = names.get(first.department_id) if first.department_id else None
    later_dept = names.get(later.department_id) if later.department_id else None
    # beside a code name, the twin is named by its department only (the same firm's title)
    first_label, later_label, first_by_dept, later_by_dept = conflict_pair_labels(
        (first.title, first.is_confidential, first.code_name),
        (later.title, later.is_confidential, later.code_name),
        first_dept,
        later_dept,
    )
    ctx = {
        "first": first_label,
        "later": later_label,
        "first_dept": None if first_by_dept else first_dept,
        "later_dept": None if later_by_dept else later_dept,
        # the plan's name in each reader's language (a department's name is what was typed)
        "cluster": Named(cluster.name_zh, cluster.name_en) if cluster else "",
        "link": "/conflicts",
    }
    key = f"conflict:{later.id}"
    text = _l(
        "撞单：%(later)s（%(later_dept)s）与%(first)s（%(first_dept)s，首报）· %(cluster)s",
        later=ctx["later"],
        later_dept=later_dept or "—",
        first=ctx["first"],
        first_dept=first_dept or "—",
        cluster=ctx["cluster"],
    )
    told = notify(
        session,
        {m.id for m in managers},
        "conflict",
        key,
        text,
        link="/conflicts",
        project_id=later.id,
    )
    messages = []
    for m in managers:
        if not m.email:
            continue
        r = render_message("conflict", m.language, {"name": m.display_name, **ctx})
        messages.append(email_message(f"{key}:{m.id}", "conflict", m.email, m.id, r))
    for dept_id, dept in department_robots(session, depts).items():
        ctx_dept = _as_seen_by_department(ctx, dept_id, first, later, names)
        messages.append(robot_message(dept, "conflict", f"{key}:robot:{dept_id}", ctx_dept))
    enqueue_many(session, messages)
    return told


def _as_seen_by_department(
    ctx: dict[str, Any], dept_id: int, first: Project, later: Project, depts: dict[int, str]
) -> dict[str, Any]:
    """A department's group robot speaks to its officers: another department's confidential
    project is only "another department" there — no code name, no department (SPEC §3), as the
    later project's officer is told on the page; its own confidential project by its code name,
    and then the twin by its department only (``conflict_pair_labels``). Managers' notices and
    mails keep both departments."""
    out = dict(ctx)
    sides = [
        (p.title, p.is_confidential and p.department_id == dept_id, p.code_name)
        for p in (first, later)
    ]
    dept_names = [depts.get(p.department_id) if p.department_id else None for p in (first, later)]
    labels = conflict_pair_labels(sides[0], sides[1], dept_names[0], dept_names[1])
    for i, (side, p) in enumerate((("first", first), ("later", later))):
        out[side] = labels[i]
        out[f"{side}_dept"] = None if labels[2 + i] else dept_names[i]
        if p.is_confidential and p.department_id != dept_id:
            out[side] = _l("另一部门的保密项目")
            out[f"{side}_dept"] = None
    return out


def _other_open_conflict(session: Session, p: Project, decided: tuple[int, int]) -> int | None:
    """After a decision on one pair, the 撞单 ``p`` is still in: a third department's active
    project flagged against it (three departments on one firm and cluster: the first is in a
    撞单 with each later one, ATTACK9 P3-15), else None. A lost project is in none."""
    if p.stage == Stage.lost.value:
        return None
    return session.scalar(
        select(Project.id)
        .where(
            Project.conflict_with_id == p.id,
            Project.id.not_in(decided),
            Project.stage != Stage.lost.value,
        )
        .order_by(Project.created_at, Project.id)
        .limit(1)
    )


def resolve_conflict(
    session: Session, actor: User, keep_id: int, other_id: int, action: str, reason: str = ""
) -> Project:
    """The managers' decision: ``keep_id`` keeps the firm; the other project is closed (moved to
    lost with the reason) or transferred to the keeping department. Audited. Who decides is
    ``crm.authz.require_give_up_project``: the department that gives its project up (its
    manager), or an admin — never one manager over the other department's project."""
    require_manager(actor)
    # a second decision on the same pair waits for the first, then finds it resolved (404)
    lock_rows(session, Project, (keep_id, other_id))
    keep = session.get(Project, keep_id, populate_existing=True)
    other = session.get(Project, other_id, populate_existing=True)
    if (
        keep is None
        or other is None
        or not (keep.conflict_with_id == other.id or other.conflict_with_id == keep.id)
    ):
        raise NotFound(_l("没有这个撞单"))
    if actor.role != "admin" and actor.department_id not in (
        keep.department_id,
        other.department_id,
    ):
        raise NotFound(_l("没有这个撞单"))
    require_give_up_project(actor, other.department_id)
    if action not in ("close", "transfer"):
        raise ValidationFailed(_l("请选择关闭或移交"), field="action")
    decided = (stored_id(keep), stored_id(other))
    from_stage, now = other.stage, utcnow()
    why = ""
    if action == "close":
        first_kept = _first_of(keep, other) is keep
        why = reason.strip() or str(
            _l("撞单裁决：由首报部门跟进") if first_kept else _l("撞单裁决：由后报部门跟进")
        )
        fields: dict[str, Any] = {
            "stage": Stage.lost.value,
            "lost_reason": why[:1000],
            "stage_changed_at": now,
            "conflict_with_id": None,  # a lost project is in no 撞单
        }
    else:
        fields = {
            "department_id": keep.department_id,
            "owner_id": keep.owner_id,
            "conflict_with_id": _other_open_conflict(session, other, decided),
        }
    kept = {"conflict_with_id": _other_open_conflict(session, keep, decided)}
    note = {"keep": keep.id, "action": action}
    # crm.changes.apply_change: one resolve_conflict audit row for each project the decision
    # changed (the one kept only if it was in no other 撞单 it is now out of, or a new one)
    for p, changes in ((other, fields), (keep, kept)):
        apply_change(
            session, actor.id, p, "project", None, changes, action="resolve_conflict", note=note
        )
    if action == "close":
        session.add(
            StageChange(
                project_id=stored_id(other),
                from_stage=from_stage,
                to_stage=Stage.lost.value,
                reason=why[:1000],
                changed_by_id=actor.id,
                changed_at=now,
            )
        )
        session.flush()
    else:
        # its open follow-ups go with it: left with the old department's officer they would
        # vanish (they may no longer see the project) and nobody would be reminded
        hand_over_followups(session, actor, other, "conflict_transfer")
    return keep


def _first_of(a: Project, b: Project) -> Project:
    """The first-reported of two projects (created first; on a tie the lower id)."""
    return a if (a.created_at, a.id) <= (b.created_at, b.id) else b


def may_resolve(actor: User) -> bool:
    return is_manager(actor)
