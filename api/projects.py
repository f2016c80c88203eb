"""Projects: /api/v1/projects, their stage moves, stage history and capital arrivals (到资)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from api.common import (
    ERRORS,
    ClusterCode,
    IdempotencyKey,
    IdPath,
    IdQuery,
    Page,
    ParkCode,
    QText,
    QTime,
    VersionQuery,
    row_as,
    rows_as,
)
from api.export import Fmt, ListAnswer, ListQuery, list_route
from crm.projects import lists, reads, service
from crm.projects.schemas import (
    AnyStage,
    CapitalArrivalCreate,
    CapitalArrivalPublic,
    ProjectCreate,
    ProjectPublic,
    ProjectUpdate,
    StageChangePublic,
    StageMoveRequest,
)
from crm.submissions import claim, settle
from crm.vocabulary import TierName
from server.deps import ApiUser, SessionDep

router = APIRouter(tags=["projects"], responses=ERRORS)


class ProjectPage(Page[ProjectPublic]):
    pass


class ProjectQuery(ListQuery):
    cluster: ClusterCode = None
    park: ParkCode = None
    stage: AnyStage | None = None
    tier: TierName | None = None
    owner_id: IdQuery = None
    department_id: IdQuery = None
    firm_id: IdQuery = None
    q: QText(100, "words of the title") = None
    updated_since: QTime = None
    include_lost: bool = True
    format: Fmt = "json"


@list_route(
    router,
    "/projects",
    ProjectPage,
    "List projects",
    "Only projects the caller may see: another department's confidential "
    "projects are absent for officers. `format=xlsx`: the pipeline table as Excel.",
)
def list_projects(lister: ListAnswer, query: Annotated[ProjectQuery, Query()]) -> Any:
    return lister.answer(
        query,
        "projects",
        lists.ProjectFilters(**query.filters()),
        partial(lists.list_projects, strict=True),
        lambda rows: reads.to_public_many(lister.session, rows, lister.user),
        ProjectPage,
    )


@router.post(
    "/projects",
    response_model=ProjectPublic,
    status_code=201,
    summary="Open a project",
    description="Another department's active project for the same firm and cluster "
    "is a conflict (撞单): both are flagged in `conflict_with_id`.",
)
def create_project(
    request: Request,
    session: SessionDep,
    user: ApiUser,
    data: ProjectCreate,
    key: IdempotencyKey = None,
) -> ProjectPublic:
    claim(session, user, key, method=request.method, path=request.url.path, content=data)
    p = service.create_project(session, user, data)
    settle(session, user, key, f"/api/v1/projects/{p.id}")
    return reads.to_public(session, p, user)


@router.get("/projects/{project_id:id}", response_model=ProjectPublic, summary="One project")
def get_project(session: SessionDep, user: ApiUser, project_id: IdPath) -> ProjectPublic:
    return reads.to_public(session, reads.get_project_for(session, user, project_id), user)


@router.patch(
    "/projects/{project_id:id}",
    response_model=ProjectPublic,
    summary="Change a project",
    description="The stage changes only through POST /projects/{id}/stage.",
)
def update_project(
    session: SessionDep, user: ApiUser, project_id: IdPath, data: ProjectUpdate
) -> ProjectPublic:
    return reads.to_public(session, service.update_project(session, user, project_id, data), user)


@router.delete(
    "/projects/{project_id:id}",
    status_code=204,
    response_class=Response,
    summary="Remove a project without activities, follow-ups or capital",
)
def delete_project(
    session: SessionDep, user: ApiUser, project_id: IdPath, version: VersionQuery
) -> None:
    service.delete_project(session, user, project_id, version)


@router.post(
    "/projects/{project_id:id}/stage",
    response_model=ProjectPublic,
    summary="Move a project to another stage",
    description="`version` is required (the project's version as you last read it; missing → "
    "422, stale → 409 and nothing moves). `lost` needs a `reason`; from `lost` only back to "
    "an active stage; a move back to an earlier active stage needs `confirm_backward` and a "
    "`reason`. The move is kept in the stage history.",
)
def move_stage(
    session: SessionDep, user: ApiUser, project_id: IdPath, data: StageMoveRequest
) -> ProjectPublic:
    return reads.to_public(session, service.move_stage(session, user, project_id, data), user)


def _project_rows(
    segment: str, name: str, model: type[BaseModel], read: Callable[..., Any], summary: str
) -> None:
    """``GET /projects/{project_id}/SEGMENT``: the project's rows that ``read`` gives (it
    checks the caller may see the project), as ``model``, oldest first."""

    @router.get(
        f"/projects/{{project_id:id}}/{segment}",
        name=name,
        response_model=list[model],  # type: ignore[valid-type]
        summary=summary,
    )
    def rows(session: SessionDep, user: ApiUser, project_id: IdPath) -> Any:
        return rows_as(model, read(session, user, project_id))


for _segment, _name, _model, _read, _summary in (
    (
        "history",
        "stage_history",
        StageChangePublic,
        reads.stage_history,
        "A project's stage history, oldest first",
    ),
    (
        "capital",
        "list_capital",
        CapitalArrivalPublic,
        reads.capital_arrivals,
        "Capital arrived for a project (到资)",
    ),
):
    _project_rows(_segment, _name, _model, _read, _summary)


@router.post(
    "/projects/{project_id:id}/capital",
    response_model=CapitalArrivalPublic,
    status_code=201,
    summary="Record capital arrived for a signed project (到资)",
)
def add_capital(
    request: Request,
    session: SessionDep,
    user: ApiUser,
    project_id: IdPath,
    data: CapitalArrivalCreate,
    key: IdempotencyKey = None,
) -> CapitalArrivalPublic:
    claim(
        session,
        user,
        key,
        method=request.method,
        path=request.url.path,
        content=data,
        outcome=f"/api/v1/projects/{project_id}/capital",
    )
    arrival = service.add_capital_arrival(session, user, project_id, data)
    return row_as(CapitalArrivalPublic, arrival)
