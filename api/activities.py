"""Activities (接触记录): /api/v1/activities."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from api.common import ERRORS, IdempotencyKey, IdPath, IdQuery, Page, QTime, VersionQuery
from api.export import Fmt, ListAnswer, ListQuery, list_route
from crm.activities import service
from crm.activities.schemas import ActivityCreate, ActivityPublic, ActivityUpdate, Kind
from crm.followups.schemas import FollowupPublic
from crm.submissions import claim, settle
from server.deps import ApiUser, SessionDep

router = APIRouter(tags=["activities"], responses=ERRORS)


class ActivityPage(Page[ActivityPublic]):
    pass


class ActivityLogged(BaseModel):
    activity: ActivityPublic
    followup: FollowupPublic | None


class ActivityQuery(ListQuery):
    firm_id: IdQuery = None
    project_id: IdQuery = None
    created_by_id: IdQuery = None
    kind: Kind | None = None
    since: QTime = None
    until: QTime = None
    format: Fmt = "json"


@list_route(
    router,
    "/activities",
    ActivityPage,
    "List activities, newest first",
    "Activities tied to a project the caller may not see are absent. `format=xlsx`: as Excel.",
)
def list_activities(lister: ListAnswer, query: Annotated[ActivityQuery, Query()]) -> Any:
    return lister.answer(
        query,
        "activities",
        service.ActivityFilters(**query.filters()),
        service.list_activities,
        lambda rows: service.to_public_many(lister.session, rows),
        ActivityPage,
    )


@router.post(
    "/activities",
    response_model=ActivityLogged,
    status_code=201,
    summary="Log a contact (and, optionally, its follow-up in the same step)",
)
def log_activity(
    request: Request,
    session: SessionDep,
    user: ApiUser,
    data: ActivityCreate,
    key: IdempotencyKey = None,
) -> ActivityLogged:
    claim(session, user, key, method=request.method, path=request.url.path, content=data)
    logged = service.log_activity(session, user, data)
    settle(session, user, key, f"/api/v1/activities/{logged.activity.id}")
    fu = (
        FollowupPublic.model_validate(logged.followup, from_attributes=True)
        if logged.followup
        else None
    )
    return ActivityLogged(
        activity=service.to_public_many(session, [logged.activity])[0], followup=fu
    )


@router.get("/activities/{activity_id:id}", response_model=ActivityPublic, summary="One activity")
def get_activity(session: SessionDep, user: ApiUser, activity_id: IdPath) -> ActivityPublic:
    return service.to_public_many(session, [service.get_activity_for(session, user, activity_id)])[
        0
    ]


@router.patch(
    "/activities/{activity_id:id}", response_model=ActivityPublic, summary="Change an activity"
)
def update_activity(
    session: SessionDep, user: ApiUser, activity_id: IdPath, data: ActivityUpdate
) -> ActivityPublic:
    a = service.update_activity(session, user, activity_id, data)
    return service.to_public_many(session, [a])[0]


@router.delete(
    "/activities/{activity_id:id}",
    status_code=204,
    response_class=Response,
    summary="Remove an activity",
)
def delete_activity(
    session: SessionDep, user: ApiUser, activity_id: IdPath, version: VersionQuery
) -> None:
    service.delete_activity(session, user, activity_id, version)
