"""Reading one project: the visibility check, the API shape, its stage history and capital
arrivals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlmodel import Session

from crm.authz import (
    can_see_project,
    project_visible,
)
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
    p = session.get(Project, project_id)
    if p is None or not can_see_project(actor, p):
        raise NotFound(NOT_FOUND)
    return p


def _codes(session: Session, projects: list[Any]) -> dict[str, dict[int, str]]:
    cids = {p.cluster_id for p in projects}
    pids = {p.park_id for p in projects if p.park_id}
    lids = {p.chain_link_id for p in projects if p.chain_link_id}
    fids = {p.firm_id for p in projects}
    plan = plan_lists(session).codes  # the plan's codes, kept per process until they change
    known = cids <= plan["cluster"].keys() and pids <= plan["park"].keys()
    if known and lids <= plan["link"].keys():
        firms = select(Firm.id, Firm.name_zh).where(Firm.id.in_(fids))
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
    session: Session, projects: list[Project], actor: User | None
) -> list[ProjectPublic]:
    """The API shape; ``conflict_with_id`` only when ``actor`` may see the other project."""
    codes = _codes(session, projects)
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
    """The board's cards from the project rows ``board_columns`` reads: the firms' names and
    the cluster and park codes looked up once, without the ORM objects and the API shape."""
    codes = _codes(session, rows)
    firm, cluster, park = codes["firm"], codes["cluster"], codes["park"]
    return [
        BoardCard(
            p.id,
            p.version,
            p.stage,
            p.title,
            firm.get(p.firm_id),
            cluster[p.cluster_id],
            park.get(p.park_id) if p.park_id else None,
            p.planned_investment,
            p.owner_id,
            p.is_confidential,
            p.conflict_with_id is not None,
            p.lost_reason,
        )
        for p in rows
    ]


def to_public(session: Session, p: Project, actor: User | None) -> ProjectPublic:
    return to_public_many(session, [p], actor)[0]


_Held = TypeVar("_Held", StageChange, CapitalArrival)


def _held_rows(
    session: Session, actor: User, project_id: int, model: type[_Held], *order: Any
) -> list[_Held]:
    """A project's rows of ``model`` (its stage changes, its capital arrivals), in ``order``,
    for a reader who may see the project."""
    get_project_for(session, actor, project_id)
    return list(
        session.scalars(select(model).where(model.project_id == project_id).order_by(*order))
    )


def stage_history(session: Session, actor: User, project_id: int) -> list[StageChange]:
    order = (StageChange.changed_at, StageChange.id)
    return _held_rows(session, actor, project_id, StageChange, *order)


def capital_arrivals(session: Session, actor: User, project_id: int) -> list[CapitalArrival]:
    return _held_rows(session, actor, project_id, CapitalArrival, CapitalArrival.arrived_on)
