"""Users, departments and the caller: /api/v1/users, /api/v1/departments, /api/v1/me."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.common import ERRORS, IdPath, IdQuery, Limit, Offset, Page, VersionQuery, row_as
from api.export import Fmt, ListQuery, list_route, wants_xlsx
from crm.accounts import service
from crm.accounts.schemas import (
    DepartmentCreate,
    DepartmentPublic,
    DepartmentUpdate,
    DepartmentWebhook,
    MeUpdate,
    RoleName,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from crm.authz import require_admin
from crm.models.accounts import User
from server.deps import ApiUser, SessionDep
from server.download import EXPORT_LIMIT, list_workbook

router = APIRouter(tags=["accounts"], responses=ERRORS)


class UserPage(Page[UserPublic]):
    pass


class DepartmentPage(Page[DepartmentPublic]):
    pass


def _user(u: User) -> UserPublic:
    return row_as(UserPublic, u)


@router.get("/me", response_model=UserPublic, summary="The caller")
def get_me(user: ApiUser) -> UserPublic:
    return _user(user)


@router.patch(
    "/me", response_model=UserPublic, summary="Change the caller's display name, email or language"
)
def update_me(session: SessionDep, user: ApiUser, data: MeUpdate) -> UserPublic:
    return _user(service.update_own_profile(session, user, data))


class UserQuery(ListQuery):
    department_id: IdQuery = None
    role: RoleName | None = None
    active: bool | None = None
    format: Fmt = "json"


@list_route(
    router,
    "/users",
    UserPage,
    "List users",
    "`format=xlsx` (administrators): as Excel.",
)
def list_users(
    request: Request, session: SessionDep, user: ApiUser, query: Annotated[UserQuery, Query()]
) -> Any:
    xlsx = wants_xlsx(request, query.format)
    if xlsx:
        require_admin(user)
    filters = query.filters()
    rows, total = service.page_users(
        session,
        user,
        **filters,
        limit=EXPORT_LIMIT if xlsx else query.limit,
        offset=0 if xlsx else query.offset,
    )
    if xlsx:
        return list_workbook(session, user, "users", [_user(u) for u in rows], filters, UserPublic)
    items = [_user(u) for u in rows]
    return UserPage(items=items, total=total, limit=query.limit, offset=query.offset)


@router.post(
    "/users", response_model=UserPublic, status_code=201, summary="Add a user (administrators)"
)
def create_user(session: SessionDep, user: ApiUser, data: UserCreate) -> UserPublic:
    return _user(service.create_user(session, user, **data.model_dump()))


@router.get("/users/{user_id:id}", response_model=UserPublic, summary="One user")
def get_user(session: SessionDep, user: ApiUser, user_id: IdPath) -> UserPublic:
    return _user(service.user_profile(session, user, user_id))


@router.patch(
    "/users/{user_id:id}",
    response_model=UserPublic,
    summary="Change a user's role, department, state, name or email (administrators)",
)
def update_user(
    session: SessionDep, user: ApiUser, user_id: IdPath, data: UserUpdate
) -> UserPublic:
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    return _user(service.update_user(session, user, user_id, version=data.version, **fields))


@router.delete(
    "/users/{user_id:id}",
    response_model=UserPublic,
    summary="Deactivate a user (administrators); users are never deleted",
)
def deactivate_user(
    session: SessionDep, user: ApiUser, user_id: IdPath, version: VersionQuery
) -> UserPublic:
    return _user(service.update_user(session, user, user_id, version=version, is_active=False))


@router.get("/departments", response_model=DepartmentPage, summary="List departments")
def list_departments(
    session: SessionDep, user: ApiUser, limit: Limit = 50, offset: Offset = 0
) -> DepartmentPage:
    rows, total = service.page_departments(session, limit, offset)
    return DepartmentPage(
        items=[service.department_out(d) for d in rows], total=total, limit=limit, offset=offset
    )


@router.post(
    "/departments",
    response_model=DepartmentPublic,
    status_code=201,
    summary="Add a department (administrators)",
)
def create_department(
    session: SessionDep, user: ApiUser, data: DepartmentCreate
) -> DepartmentPublic:
    return service.department_out(service.create_department(session, user, data.name, data.code))


@router.get(
    "/departments/{department_id:id}", response_model=DepartmentPublic, summary="One department"
)
def get_department(session: SessionDep, user: ApiUser, department_id: IdPath) -> DepartmentPublic:
    return service.department_out(service.get_department(session, department_id))


@router.patch(
    "/departments/{department_id:id}",
    response_model=DepartmentPublic,
    summary="Rename a department (administrators)",
)
def update_department(
    session: SessionDep, user: ApiUser, department_id: IdPath, data: DepartmentUpdate
) -> DepartmentPublic:
    dep = service.get_department(session, department_id)
    return service.department_out(
        service.update_department(
            session,
            user,
            department_id,
            name=data.name or dep.name,
            code=data.code or dep.code,
            version=data.version,
        )
    )


@router.put(
    "/departments/{department_id:id}/webhook",
    response_model=DepartmentPublic,
    summary="Set or clear the department's group robot (WeCom / DingTalk) for its "
    "reminders and digests (administrators)",
)
def set_department_webhook(
    session: SessionDep, user: ApiUser, department_id: IdPath, data: DepartmentWebhook
) -> DepartmentPublic:
    return service.department_out(
        service.set_department_webhook(session, user, department_id, **data.model_dump())
    )


@router.delete(
    "/departments/{department_id:id}",
    status_code=204,
    response_class=Response,
    summary="Remove a department nothing refers to (administrators)",
)
def delete_department(
    session: SessionDep, user: ApiUser, department_id: IdPath, version: VersionQuery
) -> None:
    service.delete_department(session, user, department_id, version)
