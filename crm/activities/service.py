"""Activities: log a contact (with an optional follow-up in the same step), edit and delete
one, each keeping its projects' first and last contact. Reading them: ``crm.activities.reads``
(its list names are importable from here too)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session

from crm.activities.reads import (
    ActivityFilters,
    activity_rows,
    get_activity_for,
    links,
    list_activities,
    to_public_many,
)
from crm.activities.rollups import RESPONSE_SLACK, locked_fresh, recompute_rollups, touch_projects
from crm.activities.schemas import ActivityCreate, ActivityUpdate
from crm.audit.gone import hold_parents, refuse_if_deleted
from crm.audit.service import record, snapshot
from crm.authz import require_edit
from crm.changes import LinkChange, apply_change, check_version
from crm.clock import as_utc
from crm.errors import NotFound, ValidationFailed
from crm.followups.schemas import FollowupCreate
from crm.followups.service import create_followup
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.activities import (
    Activity,
    ActivityContact,
    ActivityFirm,
    ActivityOfficer,
    ActivityProject,
)
from crm.models.firms import Contact, Firm
from crm.models.followups import Followup
from crm.models.projects import Project
from crm.projects.reads import get_project_for
from crm.summaries.fill import CONTACTS, touch
from crm.types import stored_id, utcnow

# the service's interface: its verbs, and the reads its callers have always imported from here
__all__ = [
    "RESPONSE_SLACK",
    "ActivityFilters",
    "Logged",
    "activity_rows",
    "delete_activity",
    "get_activity_for",
    "links",
    "list_activities",
    "log_activity",
    "recompute_rollups",
    "to_public_many",
    "update_activity",
]


@dataclass
class Logged:
    activity: Activity
    followup: Followup | None


def _checked_links(
    session: Session,
    actor: User,
    firm_ids_in: list[int],
    project_ids: list[int],
    contact_ids_in: list[int],
    officer_ids_in: list[int],
) -> tuple[list[int], list[Project], list[int], list[int]]:
    """The firms (with no firm given, the projects' firms), visible projects of those firms,
    contacts at those firms and existing colleagues of an activity, each once; a wrong one is
    named beside its field."""

    firm_ids = list(dict.fromkeys(firm_ids_in))
    found = set(session.scalars(select(Firm.id).where(Firm.id.in_(firm_ids))))
    if missing := [f for f in firm_ids if f not in found]:
        refuse_if_deleted(session, actor, "firm", missing[0], field="firm_ids")
        raise ValidationFailed(_l("企业不存在：%(missing)s", missing=missing[0]), field="firm_ids")
    projects: list[Project] = []
    for pid in dict.fromkeys(project_ids):
        try:
            p = get_project_for(session, actor, pid)
        except NotFound as exc:
            refuse_if_deleted(session, actor, "project", pid, field="project_ids")
            raise ValidationFailed(_l("项目不存在：%(pid)s", pid=pid), field="project_ids") from exc
        if p.firm_id not in firm_ids:
            if firm_ids_in:  # a project of a firm the activity is not with: a wrong link
                raise ValidationFailed(
                    _l("项目不属于这些企业：%(pid)s", pid=pid), field="project_ids"
                )
            firm_ids.append(p.firm_id)
        projects.append(p)
    contact_ids = list(dict.fromkeys(contact_ids_in))
    if contact_ids:
        rows = dict(
            session.execute(
                select(Contact.id, Contact.firm_id).where(Contact.id.in_(contact_ids))
            ).all()
        )
        bad = [c for c in contact_ids if rows.get(c) not in firm_ids]
        if bad:
            raise ValidationFailed(
                _l("联系人不属于这些企业：%(bad)s", bad=bad[0]),
                field="contact_ids",
            )
    officer_ids = list(dict.fromkeys(officer_ids_in))
    if officer_ids and officer_ids != [actor.id]:  # the actor exists
        n = session.scalar(select(func.count()).select_from(User).where(User.id.in_(officer_ids)))
        if n != len(officer_ids):
            raise ValidationFailed(_l("参与人员不存在"), field="officer_ids")
    hold_parents(
        session,
        firm_ids,
        [p.id for p in projects],
        firm_field="firm_ids",
        project_field="project_ids",
    )
    return firm_ids, projects, contact_ids, officer_ids


def _set_links(
    session: Session,
    activity_id: int,
    firm_ids: list[int] | None = None,
    project_ids: list[int] | None = None,
    contact_ids: list[int] | None = None,
    officer_ids: list[int] | None = None,
    *,
    fresh: bool = False,
) -> None:
    """Replace the given link sets of an activity (None: leave that set as it is). ``fresh``:
    the activity was just inserted, it has no links to delete (four statements saved)."""
    for table, ids, make in (
        (ActivityFirm, firm_ids, lambda i: ActivityFirm(activity_id=activity_id, firm_id=i)),
        (
            ActivityProject,
            project_ids,
            lambda i: ActivityProject(activity_id=activity_id, project_id=i),
        ),
        (
            ActivityContact,
            contact_ids,
            lambda i: ActivityContact(activity_id=activity_id, contact_id=i),
        ),
        (
            ActivityOfficer,
            officer_ids,
            lambda i: ActivityOfficer(activity_id=activity_id, user_id=i),
        ),
    ):
        if ids is None:
            continue
        if not fresh:
            session.execute(delete(table).where(table.activity_id == activity_id))
        session.add_all([make(i) for i in ids])


def _checked_when(when: datetime, now: datetime) -> datetime:
    """A contact has happened: not later than a day from now (zones and clocks apart), on
    logging it and on editing it alike."""
    if when > now + timedelta(days=1):
        raise ValidationFailed(_l("接触时间不能在未来"), field="occurred_at")
    return when


def log_activity(session: Session, actor: User, data: ActivityCreate) -> Logged:
    """Record a contact with one or more firms (a delegation, a fair) and the colleagues who
    were there; touch its projects; add follow-ups (one per firm if wished) in the same step."""

    now = utcnow()
    when = _checked_when(as_utc(data.occurred_at) if data.occurred_at else now, now)
    firm_ids, projects, contact_ids, officer_ids = _checked_links(
        session,
        actor,
        data.firm_ids,
        data.project_ids,
        data.contact_ids,
        [stored_id(actor), *data.officer_ids],
    )
    # locked before the contact's links are written (their foreign keys take a lighter lock on
    # the same rows, which a later FOR UPDATE would have to upgrade past a waiting deleter)
    locked_fresh(session, [stored_id(p) for p in projects])  # the same objects, refreshed
    act = Activity(
        kind=data.kind,
        occurred_at=when,
        summary=data.summary,
        outcome=data.outcome,
        created_by_id=actor.id,
        department_id=actor.department_id,
        created_at=now,
        updated_at=now,
    )
    session.add(act)
    session.flush()
    _set_links(
        session,
        stored_id(act),
        firm_ids,
        [stored_id(p) for p in projects],
        contact_ids,
        officer_ids,
        fresh=True,
    )
    touch_projects(session, actor, projects, when)
    fu = None
    for item in [*([data.followup] if data.followup else []), *data.followups]:
        if item.firm_id is not None and item.firm_id not in firm_ids:
            raise ValidationFailed(_l("跟进事项的企业不在这次接触中"), field="followups")
        if item.firm_id is not None:  # that firm's project, when exactly one was met about
            own = [p for p in projects if p.firm_id == item.firm_id]
            firm_id, project_id = (None, own[0].id) if len(own) == 1 else (item.firm_id, None)
        else:
            firm_id = firm_ids[0] if len(projects) != 1 else None
            project_id = projects[0].id if len(projects) == 1 else None
        made = create_followup(
            session,
            actor,
            FollowupCreate(
                **item.model_dump(exclude={"firm_id"}), firm_id=firm_id, project_id=project_id
            ),
            activity_id=act.id,
        )
        fu = fu or made
    session.flush()
    record(
        session,
        actor.id,
        "create",
        "activity",
        act.id,
        after={
            **snapshot(act),
            "firm_ids": firm_ids,
            "project_ids": [p.id for p in projects],
            "contact_ids": contact_ids,
            "officer_ids": officer_ids,
        },
    )
    return Logged(act, fu)


_LINK_KEYS = ("firm_ids", "project_ids", "contact_ids", "officer_ids")


def update_activity(
    session: Session, actor: User, activity_id: int, data: ActivityUpdate
) -> Activity:
    """Change an activity (``crm.changes.apply_change``): every check runs before anything is
    written, so a refused or stale change saves nothing; an edit that changes nothing (its
    fields and its link sets as they are) writes no audit row and keeps the version. Link sets
    are compared as sets and audited sorted, beside the row's own fields."""
    a = get_activity_for(session, actor, activity_id)
    require_edit(actor, a.created_by_id, a.department_id)

    def public_now() -> Any:
        return to_public_many(session, [a])[0].model_dump(mode="json")

    check_version(a, data.version, public_now)
    fields = data.model_dump(exclude_unset=True, exclude={"version", *_LINK_KEYS})
    for k in ("kind", "summary", "occurred_at"):
        if k in fields and fields[k] is None:
            raise ValidationFailed(_l("%(k)s 必填", k=k), field=k)
    if "occurred_at" in fields:
        fields["occurred_at"] = _checked_when(as_utc(fields["occurred_at"]), utcnow())
    current = links(session, [activity_id])[activity_id]
    moves = _link_changes(session, actor, activity_id, data, current)
    date_moved = "occurred_at" in fields and fields["occurred_at"] != a.occurred_at
    if not apply_change(
        session, actor.id, a, "activity", data.version, fields, current=public_now, links=moves
    ):
        return a
    now_linked = moves["project_ids"].after if moves else current["project_ids"]
    if date_moved or set(now_linked) != set(current["project_ids"]):
        # a date moved or a project unlinked: its projects' first and last contact again
        recompute_rollups(session, actor, {*current["project_ids"], *now_linked})
    return a


def _link_changes(
    session: Session,
    actor: User,
    activity_id: int,
    data: ActivityUpdate,
    current: dict[str, list[int]],
) -> dict[str, LinkChange]:
    """The link sets the update gives (an omitted or null one stays as it is), checked, as
    ``apply_change`` links: each written (replaced) only if it differs as a set."""
    given = data.model_dump(exclude_unset=True, include=set(_LINK_KEYS))
    if all(v is None for v in given.values()):
        return {}
    wanted = {k: given[k] if given.get(k) is not None else current[k] for k in _LINK_KEYS}
    firm_ids, projects, contact_ids, officer_ids = _checked_links(
        session,
        actor,
        wanted["firm_ids"],
        wanted["project_ids"],
        wanted["contact_ids"],
        wanted["officer_ids"],
    )
    if not officer_ids:
        raise ValidationFailed(_l("至少一名参与人员"), field="officer_ids")
    new = {
        "firm_ids": firm_ids,
        "project_ids": [stored_id(p) for p in projects],
        "contact_ids": contact_ids,
        "officer_ids": officer_ids,
    }

    def writer(key: str, ids: list[int]) -> Callable[[], None]:
        sets = [ids if k == key else None for k in _LINK_KEYS]  # that one set replaced
        return lambda: _set_links(session, activity_id, *sets)

    return {
        k: LinkChange(sorted(current[k]), sorted(ids), writer(k, ids)) for k, ids in new.items()
    }


def delete_activity(
    session: Session, actor: User, activity_id: int, version: int | None = None
) -> None:
    a = get_activity_for(session, actor, activity_id)
    require_edit(actor, a.created_by_id, a.department_id)
    check_version(a, version, lambda: to_public_many(session, [a])[0].model_dump(mode="json"))
    project_ids = set(links(session, [activity_id])[activity_id]["project_ids"])
    for table in (ActivityFirm, ActivityProject, ActivityContact, ActivityOfficer):
        session.execute(delete(table).where(table.activity_id == activity_id))
    session.execute(
        Followup.__table__.update()
        .where(Followup.activity_id == activity_id)
        .values(activity_id=None)
    )
    record(session, actor.id, "delete", "activity", a.id, before=snapshot(a))
    touch(session.connection(), CONTACTS, a.created_at)  # its week is counted live again
    session.delete(a)
    session.flush()
    recompute_rollups(session, actor, project_ids)  # from the contacts they still have
