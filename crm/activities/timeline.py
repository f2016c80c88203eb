"""A firm's timeline: its activities the actor may see, newest first, with the names of the
contacts, officers, projects and follow-ups each one touched (loaded in batches)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    bindparam,
    cast,
    literal_column,
    null,
    select,
    text,
    union_all,
)
from sqlmodel import Session

from crm.activities.reads import (
    SHOWN_COLUMNS,
    ActivityFilters,
    firm_timeline_rows_statement,
    list_activity_rows,
)
from crm.authz import project_visible, viewer_key
from crm.db import LIST_COUNT_CAP, built_once, is_postgres, plan_once, table
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


def _link_arms(actor: User, within: Any, shape: Any) -> list[Any]:
    """The selects of an activity's follow-ups (kind 4) and the names of the firms (0), visible
    projects (1), contacts (2) and officers (3) it names, for the activities ``within(column)``
    admits; ``shape(activity_id, kind, ref, name, due_at, status)`` gives each select's columns
    (``due_at`` and ``status`` None but for follow-ups)."""
    af, ap = table(ActivityFirm).c, table(ActivityProject).c
    ac, ao = table(ActivityContact).c, table(ActivityOfficer).c
    f, c, u = table(Firm).c, table(Contact).c, table(User).c
    p = table(Project).c
    return [
        # first: its columns type the union's (a follow-up's due time, read as UTC)
        select(*shape(_fu.activity_id, 4, _fu.id, _fu.title, _fu.due_at, _fu.status)).where(
            within(_fu.activity_id)
        ),
        select(*shape(af.activity_id, 0, af.firm_id, f.name_zh, None, None))
        .join(table(Firm), f.id == af.firm_id)
        .where(within(af.activity_id)),
        select(*shape(ap.activity_id, 1, ap.project_id, p.title, None, None))
        .join(table(Project), p.id == ap.project_id)
        .where(within(ap.activity_id), project_visible(actor, p)),
        select(*shape(ac.activity_id, 2, ac.contact_id, c.name, None, None))
        .join(table(Contact), c.id == ac.contact_id)
        .where(within(ac.activity_id)),
        select(*shape(ao.activity_id, 3, ao.user_id, u.display_name, None, None))
        .join(table(User), u.id == ao.user_id)
        .where(within(ao.activity_id)),
    ]


def _link_names_statement(actor: User) -> Any:
    def within(col: Any) -> Any:  # one list of ids for every arm: expanded once per execution
        return col.in_(bindparam("ids", expanding=True))

    def shape(aid: Any, k: int, ref: Any, name: Any, due_at: Any, status: Any) -> list[Any]:
        kind: Any = literal_column(str(k))
        return [
            aid,
            kind.label("k") if k == 4 else kind,
            ref,
            name,
            null() if due_at is None else due_at,
            null() if status is None else status,
        ]

    q = union_all(*_link_arms(actor, within, shape))
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
    stmt = built_once(_LINK_NAMES, viewer_key(actor), lambda: _link_names_statement(actor))
    _decorate(entries, session.execute(stmt, {"ids": ids}).all())
    return list(entries.values())


def _decorate(entries: dict[int, TimelineEntry], links: Any) -> None:
    """Give each entry the names and follow-ups of ``links``: rows of (activity id, kind, ref,
    name, due_at, status), in the order the lists show."""
    firms: dict[int, list[tuple[int, str]]] = {i: [] for i in entries}
    for aid, kind, ref, name, due_at, status in links:
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


class TimelineRow(NamedTuple):
    """An activity as a timeline shows it (``list_activity_rows``' columns)."""

    id: int
    kind: str
    occurred_at: datetime
    summary: str
    outcome: str | None
    created_by_id: int | None
    total: int


# the page's columns (the list's shown ones but its id), then the links' (each row the other's NULL)
_PAGE_COLUMNS = SHOWN_COLUMNS[1:]
_LINK_COLUMNS: tuple[Any, ...] = (Integer(), String(), _fu.due_at.type, _fu.status.type)


def _folded_statement(actor: User) -> Any:
    """A firm's timeline page and its entries' names and follow-ups in one statement: the page
    (``crm.activities.reads.firm_timeline_rows_statement``) as a CTE, its rows (kind -1) and
    the links of the activities in it (``_link_arms``) in one union."""
    page = firm_timeline_rows_statement(actor).cte("page")
    pc = page.c
    in_page = select(pc.id)

    def within(col: Any) -> Any:
        return col.in_(in_page)

    def shape(aid: Any, k: int, ref: Any, name: Any, due_at: Any, status: Any) -> list[Any]:
        due_type, status_type = _LINK_COLUMNS[2:]
        return [
            literal_column(str(k)),
            aid,
            *(cast(null(), c.type) for c in _PAGE_COLUMNS),
            cast(null(), BigInteger()),
            ref,
            name,
            cast(null(), due_type) if due_at is None else due_at,
            cast(null(), status_type) if status is None else status,
        ]

    rows: Any = select(
        literal_column("-1").label("k"),
        pc.id.label("aid"),
        *(pc[c.key] for c in _PAGE_COLUMNS),
        pc.total,
        *(
            cast(null(), t).label(n)
            for t, n in zip(_LINK_COLUMNS, ("ref", "name", "due_at", "status"), strict=True)
        ),
    )
    q = union_all(rows, *_link_arms(actor, within, shape))
    # the page's rows first, then the links as _link_names_statement orders them
    return plan_once(q.order_by(text("1, 2, 11, 9")))


_FOLDED: dict[tuple[Any, ...], Any] = {}


def firm_timeline_folded(
    session: Session, actor: User, firm_id: int, limit: int, offset: int
) -> tuple[list[TimelineEntry], int] | None:
    """``firm_timeline`` in one round trip (its page, then its entries' links, were two): for
    PostgreSQL, where a round trip costs more than the statement. None when the total must be
    counted apart (a page past the end of the list)."""
    stmt = built_once(_FOLDED, viewer_key(actor), lambda: _folded_statement(actor))
    read = session.execute(stmt, {"f_firm_id": firm_id, "f_limit": limit, "f_offset": offset}).all()
    acts = [TimelineRow(*r[1:8]) for r in read if r[0] == -1]
    if not acts:
        return ([], 0) if offset == 0 else None
    acts.sort(key=lambda a: (a.occurred_at, a.id), reverse=True)  # the page's own order
    entries = {a.id: TimelineEntry(activity=a) for a in acts}
    _decorate(entries, ((r[1], r[0], *r[8:]) for r in read if r[0] != -1))
    if offset == 0 and len(acts) < limit <= LIST_COUNT_CAP:
        return list(entries.values()), len(acts)  # the whole list is on this page
    return list(entries.values()), min(acts[0].total, LIST_COUNT_CAP + 1)


def firm_timeline(
    session: Session, actor: User, firm_id: int, limit: int = 20, offset: int = 0
) -> tuple[list[TimelineEntry], int]:
    """One firm's activities the actor may see, newest first, and their (capped) total."""
    if limit > 0 and is_postgres(session):
        folded = firm_timeline_folded(session, actor, firm_id, limit, offset)
        if folded is not None:
            return folded
    acts, total = list_activity_rows(
        session, actor, ActivityFilters(firm_id=firm_id), limit=limit, offset=offset
    )
    return entries_for(session, actor, acts), total
