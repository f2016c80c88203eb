"""Follow-ups (跟进事项): /api/v1/followups, complete and cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.common import ERRORS, IdempotencyKey, IdPath, IdQuery, Page, QTime, VersionQuery, row_as
from api.export import Fmt, ListAnswer, ListQuery, list_route
from crm.followups import service
from crm.followups.schemas import FollowupCreate, FollowupPublic, FollowupUpdate
from crm.models.followups import Followup
from crm.submissions import claim, settle
from crm.vocabulary import FollowupStatus, literal, values
from server.deps import ApiUser, SessionDep

if TYPE_CHECKING:
    StatusFilter = str
else:
    StatusFilter = literal((*values(FollowupStatus), "any"))

router = APIRouter(tags=["followups"], responses=ERRORS)


class FollowupPage(Page[FollowupPublic]):
    pass


def _out(fu: Followup) -> FollowupPublic:
    return row_as(FollowupPublic, fu)


class FollowupQuery(ListQuery):
    status: StatusFilter = "open"
    assignee_id: IdQuery = None
    team: bool = False
    due_after: QTime = None
    due_before: QTime = None
    firm_id: IdQuery = None
    project_id: IdQuery = None
    format: Fmt = "json"


@list_route(
    router,
    "/followups",
    FollowupPage,
    "List follow-ups, soonest first",
    "The caller's own by default; `team=true` gives a manager their "
    "department's (an admin everyone's); `assignee_id` one person's "
    "(managers). `format=xlsx`: as Excel.",
)
def list_followups(lister: ListAnswer, query: Annotated[FollowupQuery, Query()]) -> Any:
    filters = query.filters()
    if filters["status"] == "any":
        filters["status"] = None
    return lister.answer(
        query,
        "followups",
        service.FollowupFilters(**filters),
        service.list_followups,
        lambda rows: [_out(x) for x in rows],
        FollowupPage,
    )


@router.post(
    "/followups", response_model=FollowupPublic, status_code=201, summary="Add a follow-up"
)
def create_followup(
    request: Request,
    session: SessionDep,
    user: ApiUser,
    data: FollowupCreate,
    key: IdempotencyKey = None,
) -> FollowupPublic:
    claim(session, user, key, method=request.method, path=request.url.path, content=data)
    fu = service.create_followup(session, user, data)
    settle(session, user, key, f"/api/v1/followups/{fu.id}")
    return _out(fu)


@router.get("/followups/{followup_id:id}", response_model=FollowupPublic, summary="One follow-up")
def get_followup(session: SessionDep, user: ApiUser, followup_id: IdPath) -> FollowupPublic:
    return _out(service.get_followup_for(session, user, followup_id))


@router.patch(
    "/followups/{followup_id:id}", response_model=FollowupPublic, summary="Change a follow-up"
)
def update_followup(
    session: SessionDep, user: ApiUser, followup_id: IdPath, data: FollowupUpdate
) -> FollowupPublic:
    return _out(service.update_followup(session, user, followup_id, data))


@router.delete(
    "/followups/{followup_id:id}",
    status_code=204,
    response_class=Response,
    summary="Remove a follow-up",
)
def delete_followup(
    session: SessionDep, user: ApiUser, followup_id: IdPath, version: VersionQuery
) -> None:
    service.delete_followup(session, user, followup_id, version)


def _closing(action: str, close: Callable[..., Followup], summary: str) -> None:
    """``POST /followups/{followup_id}/ACTION``: an open follow-up closed by ``close`` (done or
    cancelled) at the version the caller read."""

    @router.post(
        f"/followups/{{followup_id:id}}/{action}", name=f"{action}_followup", summary=summary
    )
    def route(
        session: SessionDep, user: ApiUser, followup_id: IdPath, version: VersionQuery
    ) -> FollowupPublic:
        return _out(close(session, user, followup_id, version))


_closing("complete", service.complete_followup, "Mark an open follow-up done")
_closing("cancel", service.cancel_followup, "Cancel an open follow-up")
