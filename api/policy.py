"""The policy pack's clusters and parks: /api/v1/clusters, /api/v1/parks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel
from sqlmodel import Session

from api.common import ERRORS, IdPath
from crm.policy import public, service
from crm.policy.schemas import ClusterPublic, ClusterUpdate, ParkPublic
from crm.schemas import MAX_ID
from server.deps import ApiUser, SessionDep

router = APIRouter(tags=["policy"], responses=ERRORS)


def _plan_table(
    noun: str,
    model: type[BaseModel],
    every: Callable[[Session], list[Any]],
    one: Callable[[Session, int], Any],
    as_public: Callable[[Session, list[Any]], list[Any]],
    summary: str,
) -> None:
    """A table of the plan: ``GET /NOUNs`` (every row) and ``GET /NOUNs/{NOUN_id}`` (one), as
    ``model`` (``as_public`` adds what a row holds, e.g. a cluster's chain links)."""

    @router.get(f"/{noun}s", name=f"list_{noun}s", response_model=list[model], summary=summary)  # type: ignore[valid-type]
    def rows(session: SessionDep, user: ApiUser) -> Any:
        return as_public(session, every(session))

    def row(session: SessionDep, user: ApiUser, row_id: int) -> Any:
        return as_public(session, [one(session, row_id)])[0]

    # the path's parameter keeps its name (cluster_id, park_id): the documentation is the same
    row.__annotations__["row_id"] = Annotated[
        int, Path(alias=f"{noun}_id", ge=1, le=MAX_ID, description="record id")
    ]
    router.get(
        f"/{noun}s/{{{noun}_id:id}}",
        name=f"get_{noun}",
        response_model=model,
        summary=f"One {noun}",
    )(row)


_plan_table(
    "cluster",
    ClusterPublic,
    service.list_clusters,
    public.get_cluster,
    public.clusters_public,
    "The plan's industry clusters, with their chain links",
)


@router.patch(
    "/clusters/{cluster_id:id}",
    response_model=ClusterPublic,
    summary="Name the department that leads a cluster (administrators)",
)
def update_cluster(
    session: SessionDep, user: ApiUser, cluster_id: IdPath, data: ClusterUpdate
) -> ClusterPublic:
    c = public.set_cluster_lead(session, user, cluster_id, data.lead_department_id, data.version)
    return public.clusters_public(session, [c])[0]


_plan_table(
    "park",
    ParkPublic,
    service.list_parks,
    public.get_park,
    public.parks_public,
    "The parks (dual core, one ring, many points; bonded zones)",
)
