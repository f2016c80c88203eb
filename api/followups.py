"""Follow-ups (跟进事项): /api/v1/followups, complete and cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response

from api.common import ERRORS, IdPath, IdQuery, Limit, Offset, Page, QTime, VersionQuery
from api.export import XLSX_200, Fmt, list_answer
from crm.followups import service
from crm.followups.schemas import FollowupCreate, FollowupPublic, FollowupUpdate
from crm.models.followups import Followup
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
    return FollowupPublic.model_validate(fu, from_attributes=True)


@router.get(
    "/followups",
    response_model=FollowupPage,
    summary="List follow-ups, soonest first",
    description="The caller's own by default; `team=true` gives a manager their "
    "department's (an admin everyone's); `assignee_id` one person's "
    "(managers). `format=xlsx`: as Excel.",
    responses=XLSX_200,
)
def list_followups(
    request: Request,
    session: SessionDep,
    user: ApiUser,
    limit: Limit = 50,
    offset: Offset = 0,
    status: StatusFilter = "open",
    assignee_id: IdQuery = None,
    team: bool = False,
    due_after: QTime = None,
    due_before: QTime = None,
    firm_id: IdQuery = None,
    project_id: IdQuery = None,
    format: Fmt = "json",
) -> Any:
    f = service.FollowupFilters(
        status=None if status == "any" else status,
        assignee_id=assignee_id,
        team=team,
        due_after=due_after,
        due_before=due_before,
        firm_id=firm_id,
        project_id=project_id,
    )
    return list_answer(
        request,
        format,
        session,
        user,
        "followups",
        f,
        lambda lim, off: service.list_followups(session, user, f, limit=lim, offset=off),
        lambda rows: [_out(x) for x in rows],
        FollowupPage,
        FollowupPublic,
        limit,
        offset,
    )


@router.post(
    "/followups", response_model=FollowupPublic, status_code=201, summary="Add a follow-up"
)
def create_followup(session: SessionDep, user: ApiUser, data: FollowupCreate) -> FollowupPublic:
    return _out(service.create_followup(session, user, data))


@router.get("/followups/{followup_id}", response_model=FollowupPublic, summary="One follow-up")
def get_followup(session: SessionDep, user: ApiUser, followup_id: IdPath) -> FollowupPublic:
    return _out(service.get_followup_for(session, user, followup_id))


@router.patch(
    "/followups/{followup_id}", response_model=FollowupPublic, summary="Change a follow-up"
)
def update_followup(
    session: SessionDep, user: ApiUser, followup_id: IdPath, data: FollowupUpdate
) -> FollowupPublic:
    return _out(service.update_followup(session, user, followup_id, data))


@router.delete(
    "/followups/{followup_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a follow-up",
)
def delete_followup(
    session: SessionDep, user: ApiUser, followup_id: IdPath, version: VersionQuery
) -> None:
    service.delete_followup(session, user, followup_id, version)


@router.post(
    "/followups/{followup_id}/complete",
    response_model=FollowupPublic,
    summary="Mark an open follow-up done",
)
def complete_followup(
    session: SessionDep, user: ApiUser, followup_id: IdPath, version: VersionQuery
) -> FollowupPublic:
    return _out(service.complete_followup(session, user, followup_id, version))


@router.post(
    "/followups/{followup_id}/cancel",
    response_model=FollowupPublic,
    summary="Cancel an open follow-up",
)
def cancel_followup(
    session: SessionDep, user: ApiUser, followup_id: IdPath, version: VersionQuery
) -> FollowupPublic:
    return _out(service.cancel_followup(session, user, followup_id, version))
