"""A firm's timeline: its activities the actor may see, newest first, with the names of the
contacts, officers, projects and follow-ups each one touched (loaded in batches)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, literal_column, select, text, union_all
from sqlmodel import Session

from crm.activities.reads import ActivityFilters, list_activities
from crm.authz import project_visible, viewer_key
from crm.db import built_once
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


@dataclass
class TimelineEntry:
    activity: Activity
    contacts: list[str] = field(default_factory=list)
    officers: list[str] = field(default_factory=list)
    projects: list[tuple[int, str]] = field(default_factory=list)
    followups: list[Any] = field(default_factory=list)  # rows: title, due_at, status
    # every firm met (a delegation, a fair): the page names the others beside the one shown
    firms: list[tuple[int, str]] = field(default_factory=list)


def _link_names_statement(actor: User) -> Any:
    af, ap = ActivityFirm.__table__.c, ActivityProject.__table__.c
    ac, ao = ActivityContact.__table__.c, ActivityOfficer.__table__.c

    def ids(n: int) -> Any:
        return bindparam(f"ids{n}", expanding=True)

    q = union_all(
        select(af.activity_id, literal_column("0").label("k"), af.firm_id, Firm.name_zh)
        .join(Firm, Firm.id == af.firm_id)
        .where(af.activity_id.in_(ids(0))),
        select(ap.activity_id, literal_column("1"), ap.project_id, Project.title)
        .join(Project, Project.id == ap.project_id)
        .where(ap.activity_id.in_(ids(1)), project_visible(actor)),
        select(ac.activity_id, literal_column("2"), ac.contact_id, Contact.name)
        .join(Contact, Contact.id == ac.contact_id)
        .where(ac.activity_id.in_(ids(2))),
        select(ao.activity_id, literal_column("3"), ao.user_id, User.display_name)
        .join(User, User.id == ao.user_id)
        .where(ao.activity_id.in_(ids(3))),
    )
    # the order the lists show: by kind, activity, then id (each link table's key order)
    return q.order_by(text("2, 1, 3"))


# one statement per kind of viewer (crm.authz.viewer_key), built once: a statement object keeps
# its cache key, so a page only executes it
_LINK_NAMES: dict[tuple[Any, ...], Any] = {}


def _link_names(session: Session, actor: User, ids: list[int]) -> list[Any]:
    """Every firm, visible project, contact and officer the activities name, with its name:
    (activity id, kind, id, name) in one statement (eight round trips before)."""
    stmt = built_once(_LINK_NAMES, viewer_key(actor), lambda: _link_names_statement(actor))
    return list(session.execute(stmt, {f"ids{n}": ids for n in range(4)}).all())


_fu = Followup.__table__.c
# built once (an expanding list of ids): every timeline asks
_FOLLOWUPS = (
    select(_fu.activity_id, _fu.id, _fu.title, _fu.due_at, _fu.status)
    .where(_fu.activity_id.in_(bindparam("ids", expanding=True)))
    .order_by(_fu.due_at)
)


def entries_for(session: Session, actor: User, acts: list[Activity]) -> list[TimelineEntry]:
    """Decorate activities with names: two statements whatever their number."""
    ids = [a.id for a in acts if a.id is not None]
    entries = {a.id: TimelineEntry(activity=a) for a in acts}
    if not ids:
        return list(entries.values())
    firms: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}
    for aid, kind, ref, name in _link_names(session, actor, ids):
        e = entries[aid]
        if kind == 0:
            firms[aid].append((ref, name))
        elif kind == 1:
            e.projects.append((ref, name))
        elif kind == 2:
            e.contacts.append(name)
        else:
            e.officers.append(name)
    for aid, met in firms.items():
        if len(met) > 1:  # the page names the other firms only where several were met
            entries[aid].firms = met
    for row in session.execute(_FOLLOWUPS, {"ids": ids}):
        entries[row.activity_id].followups.append(row)
    return list(entries.values())


def firm_timeline(
    session: Session, actor: User, firm_id: int, limit: int = 20, offset: int = 0
) -> tuple[list[TimelineEntry], int]:
    """One firm's activities the actor may see, newest first, and their (capped) total."""
    acts, total = list_activities(
        session, actor, ActivityFilters(firm_id=firm_id), limit=limit, offset=offset
    )
    return entries_for(session, actor, acts), total
