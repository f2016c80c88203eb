"""Read models for the activity pages: one activity with names, and what the log form offers
for the firms chosen (their open projects and contacts), each in a fixed number of statements."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from crm.activities.reads import get_activity_for, links
from crm.authz import project_visible
from crm.models.accounts import User
from crm.models.activities import Activity
from crm.models.firms import Contact, Firm
from crm.models.followups import Followup
from crm.models.projects import Project


@dataclass
class Choices:
    firms: list[tuple[int, str]] = field(default_factory=list)  # (id, name) in the given order
    projects: list[tuple[int, int, str]] = field(default_factory=list)  # (id, firm_id, title)
    contacts: list[tuple[int, int, str]] = field(default_factory=list)  # (id, firm_id, name)


def log_choices(session: Session, actor: User, firm_ids: list[int]) -> Choices:
    """The chosen firms' names, their active projects the actor sees, and their contacts."""
    ids = list(dict.fromkeys(i for i in firm_ids if i))[:100]
    if not ids:
        return Choices()
    names = dict(session.execute(select(Firm.id, Firm.name_zh).where(Firm.id.in_(ids))).all())
    projects = [
        (r[0], r[1], r[2])
        for r in session.execute(
            select(Project.id, Project.firm_id, Project.title)
            .where(Project.firm_id.in_(ids), Project.stage != "lost", project_visible(actor))
            .order_by(Project.firm_id, Project.id)
        )
    ]
    contacts = [
        (r[0], r[1], r[2])
        for r in session.execute(
            select(Contact.id, Contact.firm_id, Contact.name)
            .where(Contact.firm_id.in_(ids))
            .order_by(Contact.firm_id, Contact.id)
        )
    ]
    return Choices([(i, names[i]) for i in ids if i in names], projects, contacts)


@dataclass
class ActivityView:
    activity: Activity
    firms: list[tuple[int, str]]
    projects: list[tuple[int, str]]
    contacts: list[tuple[int, str]]
    officers: list[tuple[int, str]]
    followups: list[Followup]
    links: dict[str, list[int]]


def activity_view(session: Session, actor: User, activity_id: int) -> ActivityView:
    """One activity the actor may see, with the names of everything it touched."""
    a = get_activity_for(session, actor, activity_id)
    ln = links(session, [activity_id])[activity_id]
    firms = dict(
        session.execute(select(Firm.id, Firm.name_zh).where(Firm.id.in_(ln["firm_ids"]))).all()
    )
    projects = dict(
        session.execute(
            select(Project.id, Project.title).where(
                Project.id.in_(ln["project_ids"]), project_visible(actor)
            )
        ).all()
    )
    contacts = dict(
        session.execute(
            select(Contact.id, Contact.name).where(Contact.id.in_(ln["contact_ids"]))
        ).all()
    )
    officers = dict(
        session.execute(
            select(User.id, User.display_name).where(User.id.in_(ln["officer_ids"]))
        ).all()
    )
    fus = list(
        session.scalars(
            select(Followup).where(Followup.activity_id == activity_id).order_by(Followup.due_at)
        )
    )
    return ActivityView(
        activity=a,
        firms=[(i, firms[i]) for i in ln["firm_ids"] if i in firms],
        projects=[(i, projects[i]) for i in ln["project_ids"] if i in projects],
        contacts=[(i, contacts[i]) for i in ln["contact_ids"] if i in contacts],
        officers=[(i, officers[i]) for i in ln["officer_ids"] if i in officers],
        followups=fus,
        links=ln,
    )
