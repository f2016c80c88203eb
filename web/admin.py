"""Administration pages: users, departments and the (read-only) audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from crm.accounts import service as accounts
from crm.audit.service import AuditFilters, audit_vocabulary, list_audit
from crm.authz import require_admin
from crm.backup_status import backup_status
from crm.clock import day_bounds, parse_day
from crm.config import get_settings
from crm.errors import CRMError, ValidationFailed
from crm.i18n import _l
from crm.models.accounts import Role
from crm.models.accounts import User as UserRow
from crm.outbox.admin import outbox_health
from crm.reassign import holdings
from crm.schemas import read_id
from crm.types import utcnow
from server.download import EXPORT_LIMIT, list_workbook
from web.forms import FormRejected
from web.visit import PageVisit, Visit

router = APIRouter(prefix="/admin")
ROLES = [r.value for r in Role]


def _done(path: str, msg: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode({'done': msg})}", status_code=303)


def _opt_int(value: str | None, field: str) -> int | None:
    if value is None or not value.strip():
        return None
    n = read_id(value)
    if not n:
        raise ValidationFailed(_l("无效的选择"), field=field)
    return n


@router.get("", include_in_schema=False)
def admin_index(visit: Visit) -> Response:
    counts = accounts.admin_overview(visit.session, visit.user)
    recent = list_audit(visit.session, visit.user, AuditFilters(), per_page=10)
    health = outbox_health(visit.session, visit.user)
    return visit.render(
        "admin/index.html",
        {"nav": "admin", "counts": counts, "recent": recent, "health": health},
    )


@router.get("/backups", include_in_schema=False)
def backups_page(visit: Visit) -> Response:
    status = backup_status(visit.session, visit.user, get_settings())
    return visit.render("admin/backups.html", {"nav": "admin", "status": status})


def _refused(
    page: Callable[..., Response],
    visit: PageVisit,
    exc: CRMError,
    key: str,
    form: dict[str, Any] | None = None,
) -> FormRejected:
    """A refused change: the admin page (``page``) again with the message beside ``key`` and
    the input kept, rendered from the unchanged rows (the raise rolls back too)."""
    visit.session.rollback()
    refused = {"errors": {key: exc.message}, "form": form or {}}
    return FormRejected(page(visit, refused, exc.status))


def _change_row(
    page: Callable[..., Response],
    visit: PageVisit,
    key: str,
    path: str,
    change: Callable[[], object],
) -> Response:
    """A change to one row of an admin page (``path``); refused, the page again with the
    message on that row (``key``: the form's), nothing saved. 403 and 404 are error pages."""
    try:
        change()
    except CRMError as exc:
        if exc.status in (403, 404):
            raise
        raise _refused(page, visit, exc, key) from exc
    return _done(path, "updated")


def _admin_page(
    visit: PageVisit, template: str, refused: dict[str, Any] | None, status: int, **ctx: Any
) -> Response:
    """An admin page of rows with their forms: ``refused`` the errors beside a refused form and
    its input kept, ``done`` (the query string) what the last change did."""
    return visit.render(
        template,
        {
            "nav": "admin",
            **ctx,
            "errors": {},
            "form": {},
            **(refused or {}),
            "done": visit.request.query_params.get("done"),
        },
        status_code=status,
    )


# --- users ------------------------------------------------------------------------------------


def _users_page(
    visit: PageVisit, refused: dict[str, Any] | None = None, status: int = 200
) -> Response:
    deps = accounts.list_departments(visit.session)
    return _admin_page(
        visit,
        "admin/users.html",
        refused,
        status,
        users=accounts.admin_list_users(visit.session, visit.user),
        departments=deps,
        dep_names={d.id: d.name for d in deps},
        roles=ROLES,
        now=utcnow(),
    )


@router.get("/users", include_in_schema=False)
def users_page(
    visit: Visit,
    format: Annotated[str, Query(max_length=5)] = "",
) -> Response:
    if format == "xlsx":  # every user (admins: admin_list_users checks)
        fields = ("id", "username", "display_name", "email", "role", "department_id")
        items = [
            {
                **{k: getattr(u, k) for k in fields},
                "is_active": u.is_active,
                "last_login_at": u.last_login_at,
            }
            for u in accounts.admin_list_users(visit.session, visit.user)
        ]
        return list_workbook(visit.session, visit.user, "users", items, {}, lang=visit.lang)
    return _users_page(visit)


class NewUser(BaseModel):
    """The add-a-user form (its fields kept on the page when refused, but the password)."""

    username: str = Field("", max_length=200)
    display_name: str = Field("", max_length=200)
    email: str = Field("", max_length=300)
    role: str = Field("officer", max_length=20)
    department_id: str = Field("", max_length=20)
    password: str = Field("", max_length=1024)


NewUserForm = Annotated[NewUser, Form()]


@router.post("/users", include_in_schema=False)
def create_user(visit: Visit, new: NewUserForm) -> Response:
    try:
        accounts.create_user(
            visit.session,
            visit.user,
            username=new.username,
            password=new.password,
            role=new.role,
            display_name=new.display_name or None,
            email=new.email or None,
            department_id=_opt_int(new.department_id, "department_id"),
        )
    except CRMError as exc:
        if exc.status == 403:
            raise
        form = new.model_dump(exclude={"password"})
        raise _refused(_users_page, visit, exc, exc.field or "username", form) from exc
    return _done("/admin/users", "created")


@router.post("/users/{user_id:id}", include_in_schema=False)
def update_user(
    visit: Visit,
    user_id: int,
    version: Annotated[int, Form()],  # the version the page showed: required
    role: Annotated[str, Form(max_length=20)] = "",
    department_id: Annotated[str | None, Form(max_length=20)] = None,  # "" → no department
    is_active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    if is_active == "0":
        # deactivating someone who still holds work: first show it and hand it over (#16)

        target = visit.session.get(UserRow, user_id)
        if (
            target is not None
            and target.is_active
            and target.role != "admin"
            and any(holdings(visit.session, visit.user, user_id).counts.values())
        ):
            return RedirectResponse(f"/users/{user_id}/handover", status_code=303)

    def change() -> None:
        dep: object = ... if department_id is None else _opt_int(department_id, "department_id")
        accounts.update_user(
            visit.session,
            visit.user,
            user_id,
            version=version,
            role=role or None,
            department_id=dep,
            is_active=is_active == "1" if is_active else None,
        )

    return _change_row(_users_page, visit, f"user{user_id}", "/admin/users", change)


@router.post("/users/{user_id:id}/unlock", include_in_schema=False)
def unlock_user(visit: Visit, user_id: int) -> Response:
    accounts.unlock_user(visit.session, visit.user, user_id)
    return _done("/admin/users", "unlocked")


@router.post("/users/{user_id:id}/password", include_in_schema=False)
def reset_password(
    visit: Visit,
    user_id: int,
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    try:
        accounts.reset_password(visit.session, visit.user, user_id, password)
    except ValidationFailed as exc:
        raise _refused(_users_page, visit, exc, f"user{user_id}") from exc
    return _done("/admin/users", "password")


# --- departments ------------------------------------------------------------------------------


def _deps_page(
    visit: PageVisit, refused: dict[str, Any] | None = None, status: int = 200
) -> Response:
    accounts.admin_overview(visit.session, visit.user)  # admins only
    return _admin_page(
        visit,
        "admin/departments.html",
        refused,
        status,
        departments=accounts.list_departments(visit.session),
        counts=accounts.department_user_counts(visit.session),
    )


@router.get("/departments", include_in_schema=False)
def departments_page(visit: Visit) -> Response:
    return _deps_page(visit)


class DepartmentNames(BaseModel):
    """A department's name and code, as the add form sends them."""

    name: str = Field("", max_length=200)
    code: str = Field("", max_length=100)


class DepartmentChange(DepartmentNames):
    """A department's row renamed, at the version the page showed (required)."""

    version: int


class WebhookChange(BaseModel):
    """A department's group robot, at the version the page showed (required)."""

    version: int
    kind: str = Field("", max_length=20)
    url: str = Field("", max_length=1000)
    secret: str = Field("", max_length=1000)


NewDepartmentForm = Annotated[DepartmentNames, Form()]
DepartmentForm = Annotated[DepartmentChange, Form()]
WebhookForm = Annotated[WebhookChange, Form()]


@router.post("/departments", include_in_schema=False)
def create_department(visit: Visit, new: NewDepartmentForm) -> Response:
    try:
        accounts.create_department(visit.session, visit.user, new.name, new.code)
    except CRMError as exc:
        if exc.status == 403:
            raise
        raise _refused(_deps_page, visit, exc, exc.field or "name", new.model_dump()) from exc
    return _done("/admin/departments", "created")


def _change_department(
    visit: PageVisit, department_id: int, row: str, change: Callable[..., object], form: BaseModel
) -> Response:
    """A change to one department's row: ``change`` with the form's fields."""
    return _change_row(
        _deps_page,
        visit,
        f"{row}{department_id}",
        "/admin/departments",
        lambda: change(visit.session, visit.user, department_id, **form.model_dump()),
    )


@router.post("/departments/{department_id:id}", include_in_schema=False)
def update_department(visit: Visit, department_id: int, form: DepartmentForm) -> Response:
    return _change_department(visit, department_id, "dep", accounts.update_department, form)


@router.post("/departments/{department_id:id}/webhook", include_in_schema=False)
def department_webhook(visit: Visit, department_id: int, form: WebhookForm) -> Response:
    return _change_department(visit, department_id, "hook", accounts.set_department_webhook, form)


# --- audit trail ------------------------------------------------------------------------------


@router.get("/audit", include_in_schema=False)
def audit_page(
    visit: Visit,
    actor: Annotated[str | None, Query(max_length=60)] = None,
    entity: Annotated[str | None, Query(max_length=40)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    format: Annotated[str, Query(max_length=5)] = "",
) -> Response:
    require_admin(visit.user)  # before any input is read: an officer learns nothing from a 422
    error: ValidationFailed | None = None
    try:
        since_day, until_day = parse_day(since, "since"), parse_day(until, "until")
    except ValidationFailed as exc:  # shown beside the field; the trail unfiltered by date
        error, since_day, until_day = exc, None, None
    f = AuditFilters(
        actor_username=actor or None,
        entity=entity or None,
        entity_id=entity_id or None,
        action=action or None,
        since=day_bounds(since_day)[0] if since_day else None,
        until=day_bounds(until_day)[1] if until_day else None,
    )
    if format == "xlsx":  # the trail as filtered on screen (admins: list_audit checks)
        if error is not None:
            raise error
        found = list_audit(visit.session, visit.user, f, page=1, per_page=EXPORT_LIMIT)
        items = [
            {
                "at": r.at,
                "actor": name,
                "action": r.action,
                "entity": r.entity,
                "entity_id": r.entity_id,
                "before": r.before,
                "after": r.after,
                "ip": r.ip,
            }
            for r, name in found.rows
        ]
        return list_workbook(visit.session, visit.user, "audit", items, vars(f), lang=visit.lang)
    result = list_audit(visit.session, visit.user, f, page=page)
    entities, actions = audit_vocabulary(visit.session)
    query = {
        k: v
        for k, v in {
            "actor": actor,
            "entity": entity,
            "entity_id": entity_id,
            "action": action,
            "since": since,
            "until": until,
        }.items()
        if v
    }
    return visit.render(
        "admin/audit.html",
        {
            "nav": "admin",
            "result": result,
            "entities": entities,
            "actions": actions,
            "q": query,
            "error": error,
            "prev_url": "?" + urlencode({**query, "page": page - 1}) if page > 1 else None,
            "next_url": "?" + urlencode({**query, "page": page + 1}) if result.has_next else None,
        },
        block="results",
        status_code=422 if error else 200,
    )
