"""Clusters and parks as the API shows them (with their chain links, guided clusters and
enclosing park), and naming a cluster's lead department (admins)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from crm.authz import require_admin
from crm.changes import apply_change, check_version
from crm.db import get_or_not_found, grouped
from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.models.accounts import Department
from crm.models.policy import ChainLink, Cluster, Park, ParkCluster
from crm.policy.schemas import ChainLinkPublic, ClusterPublic, ParkPublic
from crm.types import stored_id


def clusters_public(session: Session, clusters: list[Cluster]) -> list[ClusterPublic]:
    ids = [stored_id(c) for c in clusters]
    links: dict[int, list[ChainLinkPublic]] = {i: [] for i in ids}
    if ids:
        for link in session.scalars(
            select(ChainLink)
            .where(ChainLink.cluster_id.in_(ids))
            .order_by(ChainLink.sort_order, ChainLink.id)
        ):
            links[link.cluster_id].append(
                ChainLinkPublic(code=link.code, name_zh=link.name_zh, name_en=link.name_en)
            )
    return [
        ClusterPublic(**c.model_dump(exclude={"sort_order"}), chain_links=links[stored_id(c)])
        for c in clusters
    ]


def get_cluster(session: Session, cluster_id: int) -> Cluster:

    return get_or_not_found(session, Cluster, cluster_id, _l("产业集群不存在"))


def set_cluster_lead(
    session: Session, actor: Any, cluster_id: int, department_id: int | None, version: int
) -> Cluster:
    """Name the department that leads a cluster (admin only)."""

    require_admin(actor)
    c = get_cluster(session, cluster_id)

    def public_now() -> Any:
        return clusters_public(session, [c])[0].model_dump(mode="json")

    check_version(c, version, public_now)
    if department_id is not None and session.get(Department, department_id) is None:
        raise ValidationFailed(_l("部门不存在"), field="lead_department_id")
    apply_change(
        session,
        actor.id,
        c,
        "cluster",
        version,
        {"lead_department_id": department_id},
        current=public_now,
    )
    return c


def parks_public(session: Session, parks: list[Park]) -> list[ParkPublic]:
    codes = {p.id: p.code for p in session.scalars(select(Park))}
    ids = [stored_id(p) for p in parks]
    guided = (
        grouped(
            session,
            select(ParkCluster.park_id, Cluster.code)
            .join(Cluster, Cluster.id == ParkCluster.cluster_id)
            .where(ParkCluster.park_id.in_(ids))
            .order_by(Cluster.sort_order),
        )
        if ids
        else {}
    )
    return [
        ParkPublic(
            id=p.id,
            code=p.code,
            name_zh=p.name_zh,
            name_en=p.name_en,
            tier=p.tier,
            within=codes.get(p.within_park_id) if p.within_park_id else None,
            clusters=guided.get(stored_id(p), []),
        )
        for p in parks
    ]


def get_park(session: Session, park_id: int) -> Park:

    return get_or_not_found(session, Park, park_id, _l("园区不存在"))
