"""Reading activities: one the actor may see, an activity's links (firms, projects, contacts,
colleagues), the API's shape, and the list with its filters (a firm's or project's timeline,
the activities page and its export rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, func, literal_column, select, union_all
from sqlmodel import Session

from crm.activities.schemas import ActivityPublic
from crm.authz import activity_visible, viewer_key
from crm.db import (
    LIST_COUNT_CAP,
    built_once,
    is_postgres,
    plan_once,
    serial_scalar,
    visible_or_not_found,
)
from crm.db import table as core_table
from crm.errors import ValidationFailed
from crm.i18n import Message, _l
from crm.labels import activity_kind
from crm.models.accounts import User
from crm.models.activities import (
    Activity,
    ActivityContact,
    ActivityFirm,
    ActivityOfficer,
    ActivityProject,
)
from crm.models.firms import Firm
from crm.types import stored_id

_LINK_KEYS = ("firm_ids", "project_ids", "contact_ids", "officer_ids")
NOT_FOUND = _l("接触记录不存在")


def get_activity_for(session: Session, actor: User, activity_id: int) -> Activity:
    return visible_or_not_found(session, Activity, activity_id, activity_visible(actor), NOT_FOUND)


# an activity's four kinds of links in one statement, built once (an expanding list of ids): the
# API's list asks for a page's links on every request (four statements built per call were a
# fifth of it); each arm reads its table as the four statements did
_LINKS = union_all(
    *(
        select(col.table.c.activity_id, literal_column(str(k)).label("k"), col).where(
            col.table.c.activity_id.in_(bindparam("ids", expanding=True))
        )
        for k, col in enumerate(
            (
                core_table(ActivityFirm).c.firm_id,
                core_table(ActivityProject).c.project_id,
                core_table(ActivityContact).c.contact_id,
                core_table(ActivityOfficer).c.user_id,
            )
        )
    )
)


def links(session: Session, ids: list[int]) -> dict[int, dict[str, list[int]]]:
    out: dict[int, dict[str, list[int]]] = {i: {k: [] for k in _LINK_KEYS} for i in ids}
    if not ids:
        return out
    for aid, k, other in session.execute(_LINKS, {"ids": ids}):
        out[aid][_LINK_KEYS[k]].append(other)
    return out


def to_public_many(session: Session, acts: list[Activity]) -> list[ActivityPublic]:
    ids = [stored_id(a) for a in acts]
    ln = links(session, ids)
    return [
        ActivityPublic(**a.model_dump(exclude={"updated_at"}), **ln[i])
        for a, i in zip(acts, ids, strict=True)
    ]


@dataclass
class ActivityFilters:
    firm_id: int | None = None
    project_id: int | None = None
    created_by_id: int | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None


# the list's two statements (rows, capped count) per kind of viewer and set of filters given,
# built once with bound values: a statement object keeps its cache key, so a timeline or the
# API's list only executes it (building and keying them was a tenth of the firm page)
_LIST_STATEMENTS: dict[tuple[Any, ...], tuple[Any, Any]] = {}
_FILTERS = ("firm_id", "project_id", "created_by_id", "kind", "since", "until")


def _list_statements(actor: User, given: tuple[bool, ...]) -> tuple[Any, Any]:
    firm, project, created_by, kind, since, until = given
    stmt = select(Activity).where(activity_visible(actor))
    if firm:
        stmt = stmt.where(
            Activity.id.in_(
                select(ActivityFirm.activity_id).where(
                    ActivityFirm.firm_id == bindparam("f_firm_id")
                )
            )
        )
    if project:
        stmt = stmt.where(
            Activity.id.in_(
                select(ActivityProject.activity_id).where(
                    ActivityProject.project_id == bindparam("f_project_id")
                )
            )
        )
    if created_by:
        stmt = stmt.where(Activity.created_by_id == bindparam("f_created_by_id"))
    if kind:
        stmt = stmt.where(Activity.kind == bindparam("f_kind"))
    if since:
        stmt = stmt.where(Activity.occurred_at >= bindparam("f_since"))
    if until:
        stmt = stmt.where(Activity.occurred_at < bindparam("f_until"))
    rows = (
        stmt.order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(bindparam("f_limit", type_=Integer))
        .offset(bindparam("f_offset", type_=Integer))
    )
    capped = stmt.with_only_columns(Activity.id).limit(LIST_COUNT_CAP + 1).subquery()
    count = select(func.count()).select_from(capped)
    if (firm or project) and not (kind or since or until):
        # one firm's or project's timeline: along its link index whatever the id (a kind or a
        # time, rare or common, would decide the plan)
        return plan_once(rows), plan_once(count)
    return rows, count


def list_activities(
    session: Session, actor: User, f: ActivityFilters, limit: int = 50, offset: int = 0
) -> tuple[list[Activity], int]:
    """Activities the actor may see, newest first (a firm's or project's timeline with a filter)."""
    return _listed(session, actor, f, limit, offset, shown=False)


# what a timeline shows of an activity (crm.activities.timeline, the project page's contacts)
SHOWN_COLUMNS = (
    Activity.id,
    Activity.kind,
    Activity.occurred_at,
    Activity.summary,
    Activity.outcome,
    Activity.created_by_id,
)


def list_activity_rows(
    session: Session, actor: User, f: ActivityFilters, limit: int = 50, offset: int = 0
) -> tuple[list[Any], int]:
    """``list_activities`` as rows of the columns a timeline shows (id, kind, occurred_at,
    summary, outcome, created_by_id), not entities: a page that only shows them loads no ORM
    object."""
    return _listed(session, actor, f, limit, offset, shown=True)


def _listed(
    session: Session, actor: User, f: ActivityFilters, limit: int, offset: int, *, shown: bool
) -> tuple[list[Any], int]:
    if f.since and f.until and f.since > f.until:
        raise ValidationFailed(_l("开始时间晚于结束时间"), field="since")
    values = {name: getattr(f, name) for name in _FILTERS}
    given = tuple(bool(v) for v in values.values())
    key = (viewer_key(actor), given)
    rows_stmt, count_stmt = built_once(
        _LIST_STATEMENTS, key, lambda: _list_statements(actor, given)
    )
    params = {f"f_{name}": v for name, v in values.items() if v}
    # PostgreSQL: a firm's or project's timeline counts its rows in the page's statement
    # (``_shown_statement``); SQLite counts them apart faster than through a window
    counted = bool(f.firm_id or f.project_id) and is_postgres(session)
    rows: list[Any] = []  # the count alone when limit is 0
    if limit > 0:
        bound = {**params, "f_limit": limit, "f_offset": offset}
        if shown:
            shown_stmt = built_once(
                _SHOWN_STATEMENTS, (key, counted), lambda: _shown_statement(rows_stmt, counted)
            )
            rows = list(session.execute(shown_stmt, bound).all())
        else:
            rows = list(session.scalars(rows_stmt, bound))
    if offset == 0 and len(rows) < limit <= LIST_COUNT_CAP:
        return rows, len(rows)  # the whole list is on this page: its count needs no statement
    if counted and shown and rows:  # counted by the page's own statement
        return rows, min(rows[0].total, LIST_COUNT_CAP + 1)
    if f.firm_id or f.project_id:
        # one firm's or project's timeline: a count along its link index, which no planner
        # runs in parallel; the setting's two statements are for the whole list's count
        return rows, session.scalar(count_stmt, params) or 0
    return rows, serial_scalar(session, count_stmt, params) or 0


_SHOWN_STATEMENTS: dict[tuple[Any, ...], Any] = {}


_FIRM_ONLY = (True, False, False, False, False, False)  # the filters a firm's timeline gives


def firm_timeline_rows_statement(actor: User) -> Any:
    """A firm's timeline page as ``list_activity_rows`` reads it on PostgreSQL (the shown
    columns and ``total``, the count of every row the actor may see), per kind of viewer, with
    the bound values ``f_firm_id``, ``f_limit`` and ``f_offset``: for a statement that reads
    the page and more in one round trip (``crm.activities.timeline``)."""
    key = (viewer_key(actor), _FIRM_ONLY)
    rows_stmt, _ = built_once(_LIST_STATEMENTS, key, lambda: _list_statements(actor, _FIRM_ONLY))
    return built_once(_SHOWN_STATEMENTS, (key, True), lambda: _shown_statement(rows_stmt, True))


def _shown_statement(rows_stmt: Any, counted: bool) -> Any:
    """The page's rows as their shown columns; ``counted`` (a firm's or project's timeline on
    PostgreSQL) with the count of every row it may show (``total``, each row's): to sort them
    newest first the database reads them all already — 410 for a busy firm — and a count of its
    own read them all again (1.1 ms of the server's time, and a round trip, on the busiest
    firm's page; the window adds 0.2). SQLite's count apart costs less than its window."""
    if counted:
        return rows_stmt.with_only_columns(*SHOWN_COLUMNS, func.count().over().label("total"))
    return rows_stmt.with_only_columns(*SHOWN_COLUMNS)


def activity_rows(session: Session, rows: list[Activity], lang: str | None) -> list[dict[str, Any]]:
    """Activities as the activities page lists them and its export writes them: when, the
    kind's name, the summary and outcome, the firms met (by name: English for an English
    reader, where the firm has one), who logged it. ``lang`` None keeps the kind a lazy
    message (a page renders it in its language); an export passes its language."""
    ids = [a.id for a in rows]
    firms: dict[int, list[tuple[int, str]]] = {i: [] for i in ids if i is not None}
    if ids:
        for aid, fid, zh, en in session.execute(
            select(ActivityFirm.activity_id, Firm.id, Firm.name_zh, Firm.name_en)
            .join(Firm, Firm.id == ActivityFirm.firm_id)
            .where(ActivityFirm.activity_id.in_(ids))
            .order_by(ActivityFirm.activity_id, Firm.id)
        ):
            firms[aid].append((fid, (en or zh) if lang == "en" else zh))
    authors = {a.created_by_id for a in rows if a.created_by_id is not None}
    names = (
        dict(session.execute(select(User.id, User.display_name).where(User.id.in_(authors))).all())
        if authors
        else {}
    )
    out = []
    for a in rows:
        kind = activity_kind(a.kind)
        out.append(
            {
                "id": a.id,
                "occurred_at": a.occurred_at,
                "kind": kind.render(lang) if lang and isinstance(kind, Message) else kind,
                "summary": a.summary,
                "outcome": a.outcome,
                "firm": [n for _, n in firms.get(a.id, [])],  # type: ignore[arg-type]
                "firm_ids": [i for i, _ in firms.get(a.id, [])],  # type: ignore[arg-type]
                "owner": names.get(a.created_by_id) if a.created_by_id else None,
            }
        )
    return out
