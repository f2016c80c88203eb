"""A firm's timeline: its activities the actor may see, newest first, with the names of the
contacts, officers, projects and follow-ups each one touched (loaded in batches)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from crm.activities.service import ActivityFilters, links, list_activities
from crm.authz import project_visible
from crm.models.accounts import User
from crm.models.activities import Activity
from crm.models.firms import Contact, Firm
from crm.models.followups import Followup
from crm.models.projects import Project


@dataclass
class TimelineEntry:
    activity: Activity
    contacts: list[str] = field(default_factory=list)
    officers: list[str] = field(default_factory=list)
    projects: list[tuple[int, str]] = field(default_factory=list)
    followups: list[Followup] = field(default_factory=list)
    # every firm met (a delegation, a fair): the page names the others beside the one shown
    firms: list[tuple[int, str]] = field(default_factory=list)


def entries_for(session: Session, actor: User, acts: list[Activity]) -> list[TimelineEntry]:
    """Decorate activities with names, in five statements whatever their number."""
    ids = [a.id for a in acts if a.id is not None]
    ln = links(session, ids)
    contact_ids = {c for v in ln.values() for c in v["contact_ids"]}
    officer_ids = {u for v in ln.values() for u in v["officer_ids"]}
    project_ids = {p for v in ln.values() for p in v["project_ids"]}
    # firm names only where an activity met several firms (one statement, none otherwise)
    multi_firm_ids = {f for v in ln.values() if len(v["firm_ids"]) > 1 for f in v["firm_ids"]}
    firm_names = (
        dict(
            session.execute(select(Firm.id, Firm.name_zh).where(Firm.id.in_(multi_firm_ids))).all()
        )
        if multi_firm_ids
        else {}
    )
    contacts = (
        dict(
            session.execute(
                select(Contact.id, Contact.name).where(Contact.id.in_(contact_ids))
            ).all()
        )
        if contact_ids
        else {}
    )
    officers = (
        dict(
            session.execute(
                select(User.id, User.display_name).where(User.id.in_(officer_ids))
            ).all()
        )
        if officer_ids
        else {}
    )
    projects = (
        dict(
            session.execute(
                select(Project.id, Project.title).where(
                    Project.id.in_(project_ids), project_visible(actor)
                )
            ).all()
        )
        if project_ids
        else {}
    )
    fus: dict[int, list[Followup]] = {i: [] for i in ids}
    if ids:
        for fu in session.scalars(
            select(Followup).where(Followup.activity_id.in_(ids)).order_by(Followup.due_at)
        ):
            fus[fu.activity_id].append(fu)  # type: ignore[index]
    out = []
    for a in acts:
        v = ln[a.id]  # type: ignore[index]
        out.append(
            TimelineEntry(
                activity=a,
                contacts=[contacts[c] for c in v["contact_ids"] if c in contacts],
                officers=[officers[u] for u in v["officer_ids"] if u in officers],
                projects=[(p, projects[p]) for p in v["project_ids"] if p in projects],
                followups=fus.get(a.id, []),  # type: ignore[arg-type]
                firms=[(f, firm_names[f]) for f in v["firm_ids"] if f in firm_names],
            )
        )
    return out


def firm_timeline(
    session: Session, actor: User, firm_id: int, limit: int = 20, offset: int = 0
) -> tuple[list[TimelineEntry], int]:
    """One firm's activities the actor may see, newest first, and their (capped) total."""
    acts, total = list_activities(
        session, actor, ActivityFilters(firm_id=firm_id), limit=limit, offset=offset
    )
    return entries_for(session, actor, acts), total
