"""A firm's timeline: its activities the actor may see, newest first, with the names of the
contacts, officers, projects and follow-ups each one touched (loaded in batches)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, literal_column, null, select, text, union_all
from sqlmodel import Session

from crm.activities.reads import ActivityFilters, list_activity_rows
from crm.authz import project_visible, viewer_key
from crm.db import built_once, plan_once, table
from crm.models.accounts import User
from crm.models.activities import (
    ActivityContact,
    ActivityFirm,
    ActivityOfficer,
    ActivityProject,
)
from crm.models.firms import Contact, Firm
from crm.models.followups import Followup
from crm.models.projects import Project


class Note(NamedTuple):
    """A follow-up as a timeline entry names it."""

    id: int
    title: str
    due_at: datetime
    status: str


@dataclass
class TimelineEntry:
    activity: Any  # an Activity, or a row of its shown columns (list_activity_rows)
    contacts: list[str] = field(default_factory=list)
    officers: list[str] = field(default_factory=list)
    projects: list[tuple[int, str]] = field(default_factory=list)
    followups: list[Note] = field(default_factory=list)
    # every firm met (a delegation, a fair): the page names the others beside the one shown
    firms: list[tuple[int, str]] = field(default_factory=list)


_fu = table(Followup).c


def _link_names_statement(actor: User) -> Any:
    af, ap = table(ActivityFirm).c, table(ActivityProject).c
    ac, ao = table(ActivityContact).c, table(ActivityOfficer).c
    f, c, u = table(Firm).c, table(Contact).c, table(User).c
    p = table(Project).c

    def ids(_n: int) -> Any:  # one list of ids for every arm: expanded once per execution
        return bindparam("ids", expanding=True)

    q = union_all(
        # first: its columns type the union's (a follow-up's due time, read as UTC)
        select(
            _fu.activity_id,
            literal_column("4").label("k"),
            _fu.id,
            _fu.title,
            _fu.due_at,
            _fu.status,
        ).where(_fu.activity_id.in_(ids(4))),
        select(af.activity_id, literal_column("0"), af.firm_id, f.name_zh, null(), null())
        .join(table(Firm), f.id == af.firm_id)
        .where(af.activity_id.in_(ids(0))),
        select(ap.activity_id, literal_column("1"), ap.project_id, p.title, null(), null())
        .join(table(Project), p.id == ap.project_id)
        .where(ap.activity_id.in_(ids(1)), project_visible(actor, p)),
        select(ac.activity_id, literal_column("2"), ac.contact_id, c.name, null(), null())
        .join(table(Contact), c.id == ac.contact_id)
        .where(ac.activity_id.in_(ids(2))),
        select(ao.activity_id, literal_column("3"), ao.user_id, u.display_name, null(), null())
        .join(table(User), u.id == ao.user_id)
        .where(ao.activity_id.in_(ids(3))),
    )
    # the order the lists show: by kind, activity, then id (each link table's key order);
    # follow-ups by due time
    return plan_once(q.order_by(text("2, 1, 5, 3")))


# one statement per kind of viewer (crm.authz.viewer_key), built once of Core columns: a
# statement object keeps its cache key, so a page only executes it
_LINK_NAMES: dict[tuple[Any, ...], Any] = {}


def entries_for(session: Session, actor: User, acts: list[Any]) -> list[TimelineEntry]:
    """Decorate activities (entities or rows with an ``id``) with the names of every firm,
    visible project, contact and officer they name, and their follow-ups: one statement
    whatever their number."""
    ids = [a.id for a in acts if a.id is not None]
    entries = {a.id: TimelineEntry(activity=a) for a in acts}
    if not ids:
        return list(entries.values())
    firms: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}
    stmt = built_once(_LINK_NAMES, viewer_key(actor), lambda: _link_names_statement(actor))
    for aid, kind, ref, name, due_at, status in session.execute(stmt, {"ids": ids}).all():
        e = entries[aid]
        if kind == 0:
            firms[aid].append((ref, name))
        elif kind == 1:
            e.projects.append((ref, name))
        elif kind == 2:
            e.contacts.append(name)
        elif kind == 3:
            e.officers.append(name)
        else:
            e.followups.append(Note(ref, name, due_at, status))
    for aid, met in firms.items():
        if len(met) > 1:  # the page names the other firms only where several were met
            entries[aid].firms = met
    return list(entries.values())


def firm_timeline(
    session: Session, actor: User, firm_id: int, limit: int = 20, offset: int = 0
) -> tuple[list[TimelineEntry], int]:
    """One firm's activities the actor may see, newest first, and their (capped) total."""
    acts, total = list_activity_rows(
        session, actor, ActivityFilters(firm_id=firm_id), limit=limit, offset=offset
    )
    return entries_for(session, actor, acts), total
