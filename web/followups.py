"""Follow-ups: my list and my team's, create, edit, complete, cancel, move to another day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import FormData

from crm.authz import assignable_users, is_manager
from crm.clock import day_bounds, parse_day, to_local, today_local
from crm.errors import CRMError, NotFound, StaleVersion, ValidationFailed
from crm.followups.schemas import FollowupCreate, FollowupPublic, FollowupUpdate
from crm.followups.service import (
    FOLLOWUP_SORTS,
    FollowupFilters,
    cancel_followup,
    complete_followup,
    create_followup,
    followup_row,
    get_followup_for,
    list_followups,
    reschedule_followup,
    update_followup,
)
from crm.i18n import _l
from crm.models.accounts import User
from crm.projects.reads import get_project_for
from crm.schemas import read_id
from crm.sorting import parse_sort
from crm.submissions import AlreadySubmitted, settle
from crm.types import utcnow
from crm.vocabulary import FollowupStatus, values
from server.deps import SessionDep, WebUser
from server.download import EXPORT_LIMIT, list_workbook
from server.page_input import known_choice
from web.forms import (
    FormBody,
    FormInvalid,
    FormRejected,
    answered_before,
    clean,
    done,
    edit_refusal,
    errors_of,
    key_to_show,
    parse,
    pick,
    required_version,
    submission_key,
)
from web.home import myday_context
from web.visit import PageVisit, ShortWriteVisit, Visit

router = APIRouter()
STATUSES = values(FollowupStatus)
PAGE = 50


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    n = read_id(value)
    return n if n else None


def _required_int(request: Request, form: Any, name: str = "version") -> int:
    """The version the page showed: required (a change without it is refused, nothing saved)."""
    return required_version(form, name)


def _assignees(
    session: Session, user: User, project_id: int | None = None, activity_id: int | None = None
) -> list[Any]:
    """Whom the user may assign to (crm.authz decides; the page only offers it)."""
    return assignable_users(session, user, project_id, activity_id)


@router.get("/followups", include_in_schema=False)
def followups_page(
    visit: Visit,
    status: str = "open",
    scope: str = "mine",
    due_from: str | None = None,
    due_to: str | None = None,
    page: int = 1,
    format: str = "",
    sort: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    chosen = known_choice(status, (*STATUSES, "all"), "status", default="open")
    status_f = None if chosen == "all" else chosen
    team = scope == "team" and is_manager(visit.user)
    error: ValidationFailed | None = None
    try:
        d_from, d_to = parse_day(due_from, "due_from"), parse_day(due_to, "due_to")
    except ValidationFailed as exc:  # shown beside the field; the list unfiltered by due date
        error, d_from, d_to = exc, None, None
    page = max(1, min(page, 10_000))
    f = FollowupFilters(
        status=status_f,
        team=team,
        due_after=day_bounds(d_from)[0] if d_from else None,
        due_before=day_bounds(d_to)[1] if d_to else None,
        sort=parse_sort(sort, FOLLOWUP_SORTS),
    )
    if format == "xlsx":  # the list as filtered on screen, every row
        if error is not None:
            raise error
        rows, _ = list_followups(visit.session, visit.user, f, limit=EXPORT_LIMIT)
        items = [FollowupPublic.model_validate(x, from_attributes=True) for x in rows]
        return list_workbook(
            visit.session, visit.user, "followups", items, vars(f), FollowupPublic, lang=visit.lang
        )
    rows, total = list_followups(visit.session, visit.user, f, limit=PAGE, offset=(page - 1) * PAGE)
    ctx = {
        "nav": "followups",
        "rows": rows,
        "total": total,
        "status": status_f or "all",
        "scope": "team" if team else "mine",
        "due_from": d_from.isoformat() if d_from else (due_from or "")[:20] if error else "",
        "due_to": d_to.isoformat() if d_to else (due_to or "")[:20] if error else "",
        "error": error,
        "page": page,
        "pages": max(1, -(-min(total, 10_000) // PAGE)),
        "now": utcnow(),
        "manager": is_manager(visit.user),
        "sort": f.sort,
    }
    base = {"status": ctx["status"], "scope": ctx["scope"], "due_from": ctx["due_from"]}
    base["due_to"] = ctx["due_to"]
    ctx["sort_query"] = urlencode(base)
    ctx["query"] = urlencode({**base, **({"sort": f.sort.param} if f.sort else {})})
    return visit.render(
        "followups/list.html", ctx, block="results", status_code=422 if error else 200
    )


def _form_page(visit: PageVisit, status_code: int = 200, **kw: Any) -> Response:
    """The follow-up form, new or an edit; ``kw``: its values, target, followup (None: new),
    errors, stale."""
    target = kw.get("target") or {}
    fu = kw.get("followup")
    assignees = _assignees(
        visit.session,
        visit.user,
        target.get("project_id"),
        fu.activity_id if fu is not None else None,
    )
    ctx = {"nav": "followups", "assignees": assignees, "errors": {}, "values": {}, **kw}
    return visit.render("followups/form.html", ctx, status_code=status_code)


def _target_labels(
    session: Session, user: User, firm_id: int | None, project_id: int | None
) -> dict[str, Any]:
    """The project (and its firm) a new follow-up is for, if the link named one."""
    out: dict[str, Any] = {"firm_id": firm_id, "project_id": project_id}
    if project_id:
        try:
            p = get_project_for(session, user, project_id)
            out.update(project_title=p.title, firm_id=p.firm_id)
        except NotFound:
            out["project_id"] = None
    return out


@router.get("/followups/new", include_in_schema=False)
def new_followup_page(
    visit: Visit,
    firm_id: int | None = None,
    project_id: int | None = None,
) -> Response:
    target = _target_labels(visit.session, visit.user, _int(firm_id), _int(project_id))
    due = to_local(day_bounds(today_local() + timedelta(days=1))[0]) + timedelta(hours=9)
    values = {
        "due_at": due.strftime("%Y-%m-%dT%H:%M"),
        "assignee_id": visit.user.id,
        "firm_id": target["firm_id"] or "",
        "project_id": target["project_id"] or "",
    }
    return _form_page(visit, values=values, target=target, followup=None)


FIELDS = ["title", "notes", "due_at", "remind_at", "assignee_id", "firm_id", "project_id"]


@router.post("/followups/new", include_in_schema=False)
def create_followup_form(form: FormBody, visit: Visit) -> Response:
    values = clean(form, FIELDS)
    # from My day: the firm chosen with the picker (its chip) and one of its projects
    for many, one in (("firm_ids", "firm_id"), ("project_ids", "project_id")):
        picked = [v for v in form.getlist(many) if isinstance(v, str) and v.strip()]
        if picked and not values.get(one):
            values[one] = picked[0].strip()
    key = submission_key(form)
    try:
        data = parse(
            visit.request, FollowupCreate, values, ints=("assignee_id", "firm_id", "project_id")
        )
        # the same form again: nothing recorded (the key is bound to this form's content)
        visit.claim(key, data)
        fu = create_followup(visit.session, visit.user, data)
        outcome = f"/projects/{fu.project_id}" if fu.project_id else "/followups"
        settle(visit.session, visit.user, key, outcome)
    except AlreadySubmitted as exc:
        return answered_before(visit.request, exc)
    except (FormInvalid, ValidationFailed) as exc:
        errors = errors_of(visit.request, exc)
        target = _target_labels(
            visit.session, visit.user, _int(values.get("firm_id")), _int(values.get("project_id"))
        )
        raise FormRejected(
            _form_page(
                visit,
                422,
                values={**values, "submission_key": key_to_show(key, exc)},
                errors=errors,
                target=target,
                followup=None,
            )
        ) from exc
    return done(visit.request, outcome)


@router.get("/followups/{followup_id:id}/edit", include_in_schema=False)
def edit_followup_page(visit: Visit, followup_id: int) -> Response:
    fu = get_followup_for(visit.session, visit.user, followup_id)
    values = {
        "title": fu.title,
        "notes": fu.notes or "",
        "assignee_id": fu.assignee_id,
        "due_at": to_local(fu.due_at).strftime("%Y-%m-%dT%H:%M"),
        "remind_at": to_local(fu.remind_at).strftime("%Y-%m-%dT%H:%M") if fu.remind_at else "",
        "version": fu.version,
    }
    target = _target_labels(visit.session, visit.user, fu.firm_id, fu.project_id)
    return _form_page(visit, values=values, target=target, followup=fu)


@router.post("/followups/{followup_id:id}/edit", include_in_schema=False)
def edit_followup_form(form: FormBody, visit: Visit, followup_id: int) -> Response:
    fu = get_followup_for(visit.session, visit.user, followup_id)
    values = clean(form, ["title", "notes", "due_at", "remind_at", "assignee_id", "version"])
    data_in = {k: values.get(k) for k in ("title", "notes", "due_at", "remind_at", "version")}
    data_in["notes"] = values.get("notes")
    if "assignee_id" in values:
        data_in["assignee_id"] = values["assignee_id"]
    if not values.get("title"):
        data_in["title"] = ""
    if not values.get("due_at"):
        data_in.pop("due_at")
    try:
        data = parse(visit.request, FollowupUpdate, data_in, ints=("assignee_id", "version"))
        if "due_at" not in values:
            raise FormInvalid({"due_at": pick(visit.request, _l("到期时间必填"))})
        update_followup(visit.session, visit.user, followup_id, data)
    except (FormInvalid, CRMError) as exc:
        errors, status = edit_refusal(visit.request, exc)
        target = _target_labels(visit.session, visit.user, fu.firm_id, fu.project_id)
        raise FormRejected(
            _form_page(
                visit,
                status,
                values=values,
                errors=errors,
                target=target,
                followup=fu,
                stale=isinstance(exc, StaleVersion),
            )
        ) from exc
    return done(visit.request, f"/projects/{fu.project_id}" if fu.project_id else "/followups")


def _after_action(
    visit: PageVisit,
    fu_id: int,
    back: str,
    toast_key: str,
    toast_extra: str = "",
) -> Response:
    if not visit.htmx:
        return done(visit.request, "/" if back == "myday" else "/followups")
    if back == "myday":
        return visit.render(
            "home.html",
            {
                **myday_context(visit.session, visit.user),
                "toast_key": toast_key,
                "toast_extra": toast_extra,
            },
            block="followups",
        )
    return visit.render(
        "followups/_rows.html",
        {
            "rows": [followup_row(visit.session, visit.user, fu_id)],
            "now": utcnow(),
            "toast_key": toast_key,
            "toast_extra": toast_extra,
        },
    )


def _close(
    form: FormData,
    visit: PageVisit,
    followup_id: int,
    close: Callable[[SessionDep, WebUser, int, int], object],
    toast_key: str,
) -> Response:
    """Complete or cancel a follow-up at the version the page showed, in a short write of its
    own (``visit.writing()``: SQLite's write lock for the change alone, not for My day's
    reads after it); the row again."""
    version = _required_int(visit.request, form)
    with visit.writing():
        close(visit.session, visit.user, followup_id, version)
    return _after_action(visit, followup_id, str(form.get("back", "")), toast_key)


@router.post("/followups/{followup_id:id}/done", include_in_schema=False)
def complete(form: FormBody, visit: ShortWriteVisit, followup_id: int) -> Response:
    return _close(form, visit, followup_id, complete_followup, "done")


@router.post("/followups/{followup_id:id}/cancel", include_in_schema=False)
def cancel(form: FormBody, visit: ShortWriteVisit, followup_id: int) -> Response:
    return _close(form, visit, followup_id, cancel_followup, "cancelled")


def next_day(when: str, picked: str | None, today: date) -> date:
    """tomorrow / next Monday / a picked date (not in the past)."""
    if when == "tomorrow":
        return today + timedelta(days=1)
    if when == "monday":
        return today + timedelta(days=7 - today.weekday())
    day = _date(picked)
    if day is None:
        raise ValidationFailed(_l("请选择日期"), field="day")
    if day < today or day.year > 2100:
        raise ValidationFailed(_l("日期不能早于今天"), field="day")
    return day


@router.post("/followups/{followup_id:id}/reschedule", include_in_schema=False)
def reschedule(form: FormBody, visit: ShortWriteVisit, followup_id: int) -> Response:
    when = str(form.get("when") or "date")
    day = next_day(when, str(form.get("day") or ""), today_local())
    version = _required_int(visit.request, form)
    with visit.writing():
        reschedule_followup(visit.session, visit.user, followup_id, day, version)
    return _after_action(
        visit,
        followup_id,
        str(form.get("back", "")),
        "rescheduled",
        day.isoformat(),
    )
