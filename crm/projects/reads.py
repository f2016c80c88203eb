"""Reading one project: the visibility check, the API shape, its stage history and capital
arrivals."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import bindparam, cast, literal_column, null, select, text, union_all
from sqlmodel import Session

from crm.authz import (
    can_see_project,
    project_visible,
)
from crm.db import PLANNED_ONCE, DriverSelect, plan_once
from crm.errors import NotFound
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.firms import Firm
from crm.models.policy import ChainLink, Cluster, Park
from crm.models.projects import (
    CapitalArrival,
    Project,
    StageChange,
)
from crm.policy.service import plan_lists
from crm.projects.schemas import (
    ProjectPublic,
)

NOT_FOUND = _l("项目不存在")


def get_project_for(session: Session, actor: User | None, project_id: int) -> Project:
    """Load one project; 'missing' and 'not allowed to see' are the same NotFound."""
    p = session.get(Project, project_id, execution_options=PLANNED_ONCE)
    if p is None or not can_see_project(actor, p):
        raise NotFound(NOT_FOUND)
    return p


# a project with its firm's name, in one statement (the project page: its heading names the firm)
_WITH_FIRM = plan_once(
    select(Project, Firm.name_zh)
    .outerjoin(Firm, Firm.id == Project.firm_id)
    .where(Project.id == bindparam("project_id"))
)


def get_project_and_firm_name(
    session: Session, actor: User | None, project_id: int
) -> tuple[Project, dict[int, str]]:
    """``get_project_for`` and its firm's name (firm id → name, as ``to_public_many`` takes
    them): one statement where the two were two."""
    row = session.execute(_WITH_FIRM, {"project_id": project_id}).first()
    if row is None or not can_see_project(actor, row[0]):
        raise NotFound(NOT_FOUND)
    p, name = row
    return p, ({p.firm_id: name} if name is not None else {})


def _codes(
    session: Session, projects: list[Any], firm_names: dict[int, str] | None = None
) -> dict[str, dict[int, str]]:
    cids = {p.cluster_id for p in projects}
    pids = {p.park_id for p in projects if p.park_id}
    lids = {p.chain_link_id for p in projects if p.chain_link_id}
    fids = {p.firm_id for p in projects}
    plan = plan_lists(session).codes  # the plan's codes, kept per process until they change
    known = cids <= plan["cluster"].keys() and pids <= plan["park"].keys()
    if known and lids <= plan["link"].keys():
        if firm_names is not None and fids <= firm_names.keys():
            return {**plan, "firm": firm_names}
        firms = plan_once(select(Firm.id, Firm.name_zh).where(Firm.id.in_(fids)))
        return {**plan, "firm": dict(session.execute(firms).all()) if fids else {}}
    return {
        "cluster": dict(
            session.execute(select(Cluster.id, Cluster.code).where(Cluster.id.in_(cids))).all()
        )
        if cids
        else {},
        "park": dict(session.execute(select(Park.id, Park.code).where(Park.id.in_(pids))).all())
        if pids
        else {},
        "link": dict(
            session.execute(
                select(ChainLink.id, ChainLink.code).where(ChainLink.id.in_(lids))
            ).all()
        )
        if lids
        else {},
        "firm": dict(session.execute(select(Firm.id, Firm.name_zh).where(Firm.id.in_(fids))).all())
        if fids
        else {},
    }


def _visible_ids(session: Session, actor: User | None, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    return set(
        session.scalars(select(Project.id).where(Project.id.in_(ids), project_visible(actor)))
    )


def to_public_many(
    session: Session,
    projects: list[Project],
    actor: User | None,
    firm_names: dict[int, str] | None = None,
) -> list[ProjectPublic]:
    """The API shape; ``conflict_with_id`` only when ``actor`` may see the other project.
    ``firm_names``: the firms' names where the caller read them already."""
    codes = _codes(session, projects, firm_names)
    others = _visible_ids(
        session, actor, {p.conflict_with_id for p in projects if p.conflict_with_id}
    )
    out = []
    for p in projects:
        d = p.model_dump(exclude={"cluster_id", "park_id", "chain_link_id", "stage_changed_at"})
        d["in_conflict"] = d.get("conflict_with_id") is not None
        if d.get("conflict_with_id") not in others:
            d["conflict_with_id"] = None
        out.append(
            ProjectPublic(
                **d,
                cluster=codes["cluster"][p.cluster_id],
                park=codes["park"].get(p.park_id) if p.park_id else None,
                chain_link=codes["link"].get(p.chain_link_id) if p.chain_link_id else None,
                firm_name=codes["firm"].get(p.firm_id),
            )
        )
    return out


@dataclass(slots=True)
class BoardCard:
    """What a card of the board shows (attributes: a template reads them without the item
    lookup a dict would fall back to)."""

    id: int
    version: int
    stage: str
    title: str
    firm_name: str | None
    cluster: str
    park: str | None
    planned_investment: Decimal | None
    owner_id: int | None
    is_confidential: bool
    in_conflict: bool
    lost_reason: str | None


def board_cards(session: Session, rows: list[Any]) -> list[BoardCard]:
    """The board's cards from the rows ``board_columns`` reads (its firm's name among them):
    the cluster and park codes from the plan's, kept per process; no ORM objects, nor the API
    shape."""
    return _with_codes(session, rows, _cards)


_T = TypeVar("_T")


def _with_codes(
    session: Session,
    rows: list[Any],
    make: Callable[[list[Any], dict[int, str], dict[int, str]], list[_T]],
) -> list[_T]:
    """``make(rows, cluster codes, park codes)`` with the plan's codes, kept per process, or
    those read from the database when a row names one the kept plan does not know yet."""
    codes = plan_lists(session).codes
    try:
        return make(rows, codes["cluster"], codes["park"])
    except KeyError:
        codes = _codes(session, rows)
        return make(rows, codes["cluster"], codes["park"])


def _cards(rows: list[Any], cluster: dict[int, str], park: dict[int, str]) -> list[BoardCard]:
    return [
        BoardCard(
            pid,
            version,
            stage,
            title,
            firm_name,
            cluster[cluster_id],
            park[park_id] if park_id else None,
            planned,
            owner_id,
            confidential,
            conflict_with is not None,
            lost_reason,
        )
        for (
            pid,
            version,
            stage,
            title,
            _firm_id,
            cluster_id,
            park_id,
            planned,
            owner_id,
            _department_id,
            confidential,
            conflict_with,
            lost_reason,
            _updated_at,
            firm_name,
        ) in rows
    ]


@dataclass(slots=True)
class TableRow:
    """What a row of the pipeline table shows."""

    id: int
    title: str
    firm_id: int
    firm_name: str | None
    cluster: str
    park: str | None
    stage: str
    planned_investment: Decimal | None
    owner_id: int | None
    is_confidential: bool
    in_conflict: bool
    updated_at: datetime


def table_rows(session: Session, rows: list[Any]) -> list[TableRow]:
    """The table's rows from those ``list_project_rows`` reads (its firm's name among them):
    the cluster and park codes from the plan's, kept per process."""
    return _with_codes(session, rows, _table_rows)


def _table_rows(rows: list[Any], cluster: dict[int, str], park: dict[int, str]) -> list[TableRow]:
    return [
        TableRow(
            pid,
            title,
            firm_id,
            firm_name,
            cluster[cluster_id],
            park[park_id] if park_id else None,
            stage,
            planned,
            owner_id,
            confidential,
            conflict_with is not None,
            updated_at,
        )
        for (
            pid,
            title,
            firm_id,
            cluster_id,
            park_id,
            stage,
            planned,
            owner_id,
            confidential,
            conflict_with,
            updated_at,
            firm_name,
            *_,  # the list's total (crm.projects.lists.list_project_rows)
        ) in rows
    ]


def to_public(
    session: Session, p: Project, actor: User | None, firm_names: dict[int, str] | None = None
) -> ProjectPublic:
    return to_public_many(session, [p], actor, firm_names)[0]


# a project's held rows (its stage changes, its capital arrivals): read on the driver's cursor,
# as named tuples of every column (``crm.db.DriverSelect``)
def _held(model: Any, *order: Any) -> DriverSelect:
    return DriverSelect(
        select(*model.__table__.c)
        .where(model.project_id == bindparam("project_id"))
        .order_by(*order)
    )


_HISTORY = _held(StageChange, StageChange.changed_at, StageChange.id)
_ARRIVALS = _held(CapitalArrival, CapitalArrival.arrived_on, CapitalArrival.id)


# both for a project's page, in one round trip: its stage changes (kind 0, oldest first), then its
# capital arrivals (kind 1, by day), each row carrying both tables' columns (the other's NULL)
_sc, _ca = StageChange.__table__.c, CapitalArrival.__table__.c
_HELD_BOTH = DriverSelect(
    union_all(
        select(
            literal_column("0").label("k"),
            *[c.label(f"s_{c.key}") for c in _sc],
            *[cast(null(), c.type).label(f"a_{c.key}") for c in _ca],
        ).where(_sc.project_id == bindparam("project_id")),
        select(
            literal_column("1"),
            *[cast(null(), c.type) for c in _sc],
            *_ca,
        ).where(_ca.project_id == bindparam("project_id")),
    ).order_by(
        # the kind, the change's time and id, the arrival's day and id
        text(f"1, {2 + len(_sc) - 1}, 2, {2 + len(_sc) + 3}, {2 + len(_sc)}")
    )
)
_HISTORY_ROW = namedtuple("Row", [c.key for c in _sc])  # type: ignore[misc]
_ARRIVAL_ROW = namedtuple("Row", [c.key for c in _ca])  # type: ignore[misc]


def history_and_arrivals(
    session: Session, actor: User, project_id: int
) -> tuple[list[Any], list[Any]]:
    """``stage_history`` and ``capital_arrivals`` of one project, read together."""
    get_project_for(session, actor, project_id)
    history: list[Any] = []
    arrivals: list[Any] = []
    n = len(_sc)
    for row in _HELD_BOTH.all(session, {"project_id": project_id}):
        if row[0] == 0:
            history.append(_HISTORY_ROW._make(row[1 : 1 + n]))
        else:
            arrivals.append(_ARRIVAL_ROW._make(row[1 + n :]))
    return history, arrivals


def stage_history(session: Session, actor: User, project_id: int) -> list[Any]:
    """A project's stage changes, oldest first (rows of every column), for a reader who may
    see the project."""
    get_project_for(session, actor, project_id)
    return _HISTORY.all(session, {"project_id": project_id})


def capital_arrivals(session: Session, actor: User, project_id: int) -> list[Any]:
    """A project's capital arrivals by day (rows of every column), for a reader who may see
    the project."""
    get_project_for(session, actor, project_id)
    return _ARRIVALS.all(session, {"project_id": project_id})
