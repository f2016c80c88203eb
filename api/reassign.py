"""Handing work over: /api/v1/users/{id}/holdings, /api/v1/users/{id}/reassign, and bulk
/api/v1/firms/reassign, /api/v1/projects/reassign."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.common import ERRORS, IdPath
from crm import reassign as service
from crm.schemas import Id
from server.deps import ApiUser, SessionDep

router = APIRouter(tags=["reassignment"], responses=ERRORS)


class Item(BaseModel):
    id: int
    name: str
    firm_id: int | None = None


class HoldingsOut(BaseModel):
    user_id: int
    firms: list[Item]
    projects: list[Item]
    followups: list[Item]
    counts: dict[str, int]


class ReassignIn(BaseModel):
    to_user_id: Id | None = Field(default=None, description="who takes whatever per_firm leaves")
    per_firm: dict[int, Id] = Field(
        default_factory=dict, max_length=5000, description="firm id → who takes that firm's share"
    )
    deactivate: bool = Field(default=False, description="deactivate the user in the same step")


class BulkIn(BaseModel):
    ids: list[Id] = Field(min_length=1, max_length=1000)
    to_user_id: Id


class Moved(BaseModel):
    firms: int = 0
    projects: int = 0
    followups: int = 0


@router.get(
    "/users/{user_id:id}/holdings",
    response_model=HoldingsOut,
    summary="What a user holds: firms, active projects, open follow-ups",
)
def user_holdings(session: SessionDep, user: ApiUser, user_id: IdPath) -> HoldingsOut:
    h = service.holdings(session, user, user_id)
    return HoldingsOut(
        user_id=user_id,
        firms=[Item(id=i, name=n, firm_id=i) for i, n in h.firms],
        projects=[Item(id=i, name=t, firm_id=f) for i, t, f in h.projects],
        followups=[Item(id=i, name=t, firm_id=f) for i, t, f in h.followups],
        counts=h.counts,
    )


@router.post(
    "/users/{user_id:id}/reassign",
    response_model=Moved,
    summary="Hand over everything a user holds (and optionally deactivate them), in one step",
)
def reassign_user(session: SessionDep, user: ApiUser, user_id: IdPath, data: ReassignIn) -> Moved:
    return Moved(**service.reassign(session, user, user_id, **data.model_dump()))


@router.post("/firms/reassign", response_model=Moved, summary="Give selected firms to one person")
def reassign_firms(session: SessionDep, user: ApiUser, data: BulkIn) -> Moved:
    return Moved(firms=service.bulk_reassign(session, user, "firm", data.ids, data.to_user_id))


@router.post(
    "/projects/reassign", response_model=Moved, summary="Give selected projects to one person"
)
def reassign_projects(session: SessionDep, user: ApiUser, data: BulkIn) -> Moved:
    return Moved(
        projects=service.bulk_reassign(session, user, "project", data.ids, data.to_user_id)
    )
