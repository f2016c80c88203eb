"""The policy pack's clusters and parks: /api/v1/clusters, /api/v1/parks."""

from __future__ import annotations

from fastapi import APIRouter

from api.common import ERRORS, IdPath
from crm.policy import public, service
from crm.policy.schemas import ClusterPublic, ClusterUpdate, ParkPublic
from server.deps import ApiUser, SessionDep

router = APIRouter(tags=["policy"], responses=ERRORS)


@router.get(
    "/clusters",
    response_model=list[ClusterPublic],
    summary="The plan's industry clusters, with their chain links",
)
def list_clusters(session: SessionDep, user: ApiUser) -> list[ClusterPublic]:
    return public.clusters_public(session, service.list_clusters(session))


@router.get("/clusters/{cluster_id}", response_model=ClusterPublic, summary="One cluster")
def get_cluster(session: SessionDep, user: ApiUser, cluster_id: IdPath) -> ClusterPublic:
    return public.clusters_public(session, [public.get_cluster(session, cluster_id)])[0]


@router.patch(
    "/clusters/{cluster_id}",
    response_model=ClusterPublic,
    summary="Name the department that leads a cluster (administrators)",
)
def update_cluster(
    session: SessionDep, user: ApiUser, cluster_id: IdPath, data: ClusterUpdate
) -> ClusterPublic:
    c = public.set_cluster_lead(session, user, cluster_id, data.lead_department_id, data.version)
    return public.clusters_public(session, [c])[0]


@router.get(
    "/parks",
    response_model=list[ParkPublic],
    summary="The parks (dual core, one ring, many points; bonded zones)",
)
def list_parks(session: SessionDep, user: ApiUser) -> list[ParkPublic]:
    return public.parks_public(session, service.list_parks(session))


@router.get("/parks/{park_id}", response_model=ParkPublic, summary="One park")
def get_park(session: SessionDep, user: ApiUser, park_id: IdPath) -> ParkPublic:
    return public.parks_public(session, [public.get_park(session, park_id)])[0]
