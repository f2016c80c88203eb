"""The header's one search box: firms, contacts and projects for one query.

Firms through the firm search (names, aliases, pinyin, initials); contacts by name, title,
phone or e-mail; projects by title — read through ``crm.authz.project_visible``, and a
confidential project is found and named by its code name only, so what a search shows is never
more than the reader's lists show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, not_, or_, select
from sqlmodel import Session

from crm.authz import project_visible
from crm.authz.disclosure import project_label
from crm.firms.search import search_firms
from crm.models.accounts import User
from crm.models.firms import Contact, Firm
from crm.models.policy import Cluster
from crm.models.projects import Project

MIN_CHARS = 1
MAX_QUERY = 100


@dataclass(frozen=True)
class ContactHit:
    id: int
    name: str
    title: str | None
    firm_id: int
    firm_name: str


@dataclass(frozen=True)
class ProjectHit:
    id: int
    label: str  # the title, or for a confidential project its code name
    confidential: bool
    stage: str
    cluster: str  # code (pages show the name)
    firm_name: str | None  # None for a confidential project


@dataclass
class Results:
    q: str
    firms: list[Firm] = field(default_factory=list)
    contacts: list[ContactHit] = field(default_factory=list)
    projects: list[ProjectHit] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.firms or self.contacts or self.projects)


def _contains(col: Any, text: str) -> Any:
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return func.lower(col).like(pattern.lower(), escape="\\")


def search_everything(session: Session, actor: User, q: str, limit: int = 8) -> Results:
    """Up to ``limit`` firms, contacts and projects matching ``q``, the best first."""
    q = (q or "").strip()[:MAX_QUERY]
    out = Results(q=q)
    if len(q) < MIN_CHARS:
        return out
    out.firms = search_firms(session, actor, q, limit=limit)

    contact_rows = session.execute(
        select(Contact.id, Contact.name, Contact.title, Contact.firm_id, Firm.name_zh)
        .join(Firm, Firm.id == Contact.firm_id)
        .where(
            or_(
                _contains(Contact.name, q),
                _contains(Contact.title, q),
                _contains(Contact.phone, q),
                _contains(Contact.email, q),
            )
        )
        .order_by(func.length(Contact.name), Contact.name, Contact.id)
        .limit(limit)
    ).all()
    out.contacts = [ContactHit(*row) for row in contact_rows]

    # a confidential project answers to its code name only (never to its title or firm)
    matches = or_(
        and_(not_(Project.is_confidential), _contains(Project.title, q)),
        and_(Project.is_confidential, _contains(Project.code_name, q)),
    )
    project_rows = session.execute(
        select(
            Project.id,
            Project.title,
            Project.code_name,
            Project.is_confidential,
            Project.stage,
            Cluster.code,
            Firm.name_zh,
        )
        .join(Firm, Firm.id == Project.firm_id)
        .join(Cluster, Cluster.id == Project.cluster_id)
        .where(project_visible(actor), matches)
        .order_by(Project.updated_at.desc(), Project.id.desc())
        .limit(limit)
    ).all()
    out.projects = [
        ProjectHit(
            id=pid,
            label=project_label(title, secret, code_name),
            confidential=bool(secret),
            stage=stage,
            cluster=cluster,
            firm_name=None if secret else firm_name,
        )
        for pid, title, code_name, secret, stage, cluster, firm_name in project_rows
    ]
    return out
