"""Read models for the firm pages: a list page's rows and one firm's details, loaded in batches
(a fixed number of statements whatever the number of rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session

from crm.accounts.users import user_choices
from crm.authz import can_edit_owned
from crm.firms.service import firm_aliases, firm_cluster_codes, get_firm
from crm.models.accounts import User
from crm.models.firms import Contact, Firm, FirmCluster
from crm.models.policy import Cluster
from crm.types import stored_id


@dataclass
class FirmRow:
    firm: Firm
    clusters: list[str]
    owner_name: str | None


@dataclass
class FirmDetail:
    firm: Firm
    aliases: list[str]
    clusters: list[Cluster]
    parent: Firm | None
    subsidiaries: list[Any]  # rows: id, name_zh
    owner: User | None
    contacts: list[Contact]
    can_edit: bool
    subsidiaries_more: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def list_rows(session: Session, actor: User, firms: list[Firm]) -> list[FirmRow]:
    """The list page's rows: cluster codes in one statement for the page, owner names from the
    users' names kept per process (``user_choices``: the page reads them for its owner filter
    anyway; its version check is once per transaction)."""
    ids = [stored_id(f) for f in firms]
    codes = firm_cluster_codes(session, ids)
    owners = user_choices(session, actor).names
    return [
        FirmRow(f, codes.get(i, []), owners.get(f.owner_id) if f.owner_id is not None else None)
        for f, i in zip(firms, ids, strict=True)
    ]


def firm_detail(
    session: Session, actor: User, firm_id: int, subsidiaries_limit: int = 50
) -> FirmDetail:
    """One firm with its aliases, clusters, parent group, subsidiaries, owner and contacts."""
    firm = get_firm(session, actor, firm_id)
    clusters = list(
        session.scalars(
            select(Cluster)
            .join(FirmCluster, FirmCluster.cluster_id == Cluster.id)
            .where(FirmCluster.firm_id == firm_id)
            .order_by(Cluster.sort_order)
        )
    )
    parent = session.get(Firm, firm.parent_id) if firm.parent_id else None
    subs = list(  # the page names and links them: id and name, not whole firms
        session.execute(
            select(Firm.id, Firm.name_zh)
            .where(Firm.parent_id == firm_id)
            .order_by(Firm.name_zh)
            .limit(subsidiaries_limit + 1)
        ).all()
    )
    owner = session.get(User, firm.owner_id) if firm.owner_id else None
    contacts = firm_contacts(session, firm_id)
    return FirmDetail(
        firm=firm,
        aliases=firm_aliases(session, [firm_id])[firm_id],
        clusters=clusters,
        parent=parent,
        subsidiaries=subs[:subsidiaries_limit],
        owner=owner,
        contacts=contacts,
        # the owner is loaded already: its department, not a second read of it
        can_edit=can_edit_owned(actor, firm.owner_id, owner.department_id if owner else None),
        subsidiaries_more=len(subs) > subsidiaries_limit,
    )


def firm_contacts(session: Session, firm_id: int) -> list[Contact]:
    """A firm's contacts in the order they were added (the firm is one the caller may see)."""
    return list(
        session.scalars(select(Contact).where(Contact.firm_id == firm_id).order_by(Contact.id))
    )


def countries(session: Session, limit: int = 300) -> list[str]:
    """Distinct countries or regions of the firms, for the list's filter: a skip scan of
    ix_firm_country (one index seek per country), not a read of every firm."""
    return [c for (c,) in session.execute(_COUNTRIES, {"limit": limit}) if c]


# built once: the list's full page asks on every request
_COUNTRIES = text(
    "WITH RECURSIVE c(x, n) AS ("
    " SELECT min(country), 1 FROM firm"
    " UNION ALL SELECT (SELECT min(country) FROM firm WHERE country > c.x), n + 1"
    " FROM c WHERE c.x IS NOT NULL AND n < :limit)"
    " SELECT x FROM c WHERE x IS NOT NULL"
)


def firm_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Firm.id, Firm.name_zh).where(Firm.id.in_(ids))).all())
