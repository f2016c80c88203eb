"""Activities as records of their own: log a contact from anywhere (several firms, several
colleagues, their projects and contacts, follow-ups per firm), read it, edit it, delete it."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from crm.accounts.service import user_choices
from crm.activities.schemas import ActivityCreate, ActivityUpdate
from crm.activities.service import (
    ActivityFilters,
    activity_rows,
    delete_activity,
    list_activities,
    log_activity,
    update_activity,
)
from crm.activities.views import activity_view, log_choices
from crm.authz import require_edit
from crm.clock import local_tz, now_local, to_local
from crm.errors import CRMError, StaleVersion
from crm.firms.search import search_firms
from crm.projects.reads import get_project_for
from crm.submissions import AlreadySubmitted, settle
from crm.vocabulary import ActivityKind, values
from server.download import EXPORT_LIMIT, list_workbook
from web import forms
from web.forms import FormBody, FormInvalid, FormRejected
from web.visit import PageVisit, Visit

router = APIRouter(prefix="/activities")

KINDS = values(ActivityKind)
DT_INPUT = "%Y-%m-%dT%H:%M"
REMIND_OFFSETS = (0, 15, 60, 24 * 60)  # minutes before the due time; 0 = no reminder

# schema fields → the form's fields (errors are shown beside the field the person filled)
FIELDS = {
    "followup.title": "followup_title",
    "followup.due_at": "followup_due",
    "followups.title": "followup_title",
    "followups.due_at": "followup_due",
    "followups": "followup_title",
    "followup": "followup_title",
}


MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns on PostgreSQL


def _ids(form: FormData | Any, name: str) -> list[int]:
    return _valid([i for i in forms.integers(form, name) if isinstance(i, int)])


def _valid(ids: list[int] | None) -> list[int]:
    return [i for i in ids or [] if 0 < i <= MAX_ID]


def _raw(form: FormData) -> dict[str, Any]:
    return {
        "kind": forms.text(form, "kind") or "",
        "occurred_at": forms.text(form, "occurred_at") or "",
        "summary": forms.text(form, "summary") or "",
        "outcome": forms.text(form, "outcome") or "",
        "firm_ids": _ids(form, "firm_ids"),
        "project_ids": _ids(form, "project_ids"),
        "contact_ids": _ids(form, "contact_ids"),
        "officer_ids": _ids(form, "officer_ids"),
        "followup_title": forms.text(form, "followup_title") or "",
        "followup_due": forms.text(form, "followup_due") or "",
        "followup_each": forms.checkbox(form, "followup_each"),
        "remind": forms.integer(form, "remind") or 0,
    }


def offered_errors(request: Request, raw: dict[str, Any]) -> dict[str, str]:
    """The log form's picked values it does not offer (the reminder), beside their field."""
    bad = forms.not_offered(request, raw["remind"], REMIND_OFFSETS)
    return {"remind": bad} if bad else {}


def followup_input(raw: dict[str, Any]) -> dict[str, Any]:
    """The follow-up asked for beside a logged contact (title, due time, reminder offset) as the
    service's input; the reminder time is left out when the due time does not read (the due
    time's own error is reported beside its field)."""
    fu: dict[str, Any] = {"title": raw["followup_title"], "due_at": raw["followup_due"]}
    remind = raw["remind"]
    if isinstance(remind, int) and remind in REMIND_OFFSETS and remind > 0:
        with suppress(ValueError):
            due = datetime.strptime(raw["followup_due"], DT_INPUT).replace(tzinfo=local_tz())
            fu["remind_at"] = due - timedelta(minutes=remind)
    return fu


def _followups(raw: dict[str, Any]) -> list[dict[str, Any]]:
    if not raw["followup_title"]:
        return []
    base = followup_input(raw)
    if raw["followup_each"] and len(raw["firm_ids"]) > 1:
        return [{**base, "firm_id": f} for f in raw["firm_ids"]]  # one per firm met
    return [base]


def _ctx(
    visit: PageVisit,
    raw: dict[str, Any],
    errors: dict[str, str] | None = None,
    activity: Any = None,
) -> dict[str, Any]:
    people = [u for u in user_choices(visit.session, visit.user) if u.is_active]
    return {
        "nav": "",
        "raw": raw,
        "errors": errors or {},
        "choices": log_choices(visit.session, visit.user, raw["firm_ids"]),
        "people": people,
        "kinds": KINDS,
        "remind_offsets": REMIND_OFFSETS,
        "activity": activity,
    }


def _errors(request: Request, exc: FormInvalid | CRMError) -> dict[str, str]:
    return {FIELDS.get(k, k): v for k, v in forms.errors_of(request, exc).items()}


LIST_PAGE = 50


def _day(value: str | None) -> datetime | None:
    """A YYYY-MM-DD filter as the start of that local day (anything else: no filter)."""
    try:
        d = date.fromisoformat((value or "").strip()[:10])
    except ValueError:
        return None
    return datetime(d.year, d.month, d.day, tzinfo=local_tz())


@router.get("", include_in_schema=False)
def activity_list(
    visit: Visit,
    kind: Annotated[str, Query(max_length=20)] = "",
    mine: Annotated[str, Query(max_length=5)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    format: Annotated[str, Query(max_length=5)] = "",
) -> Response:
    """Every activity the reader may see (crm.authz: none tied to a project hidden from
    them), newest first, by kind, author and date; exported as filtered (``format=xlsx``)."""
    start, end = _day(since), _day(until)
    f = ActivityFilters(
        kind=kind if kind in KINDS else None,
        created_by_id=visit.user.id if mine == "1" else None,
        since=start,
        until=end + timedelta(days=1) if end else None,
    )
    if format == "xlsx":
        rows, _ = list_activities(visit.session, visit.user, f, limit=EXPORT_LIMIT)
        lang = visit.lang
        items = activity_rows(visit.session, rows, lang)
        return list_workbook(
            visit.session, visit.user, "activities", items, vars(f), lang=visit.lang
        )
    rows, total = list_activities(
        visit.session, visit.user, f, limit=LIST_PAGE, offset=(page - 1) * LIST_PAGE
    )
    chosen = {
        k: v
        for k, v in (
            ("kind", f.kind),
            ("mine", "1" if f.created_by_id else ""),
            ("since", since if start else ""),
            ("until", until if end else ""),
        )
        if v
    }
    return visit.render(
        "activities/list.html",
        {
            "nav": "activities",
            "rows": activity_rows(visit.session, rows, None),
            "total": total,
            "page": page,
            "has_next": page * LIST_PAGE < min(total, 10_000),
            "kinds": KINDS,
            "chosen": chosen,
            "query": urlencode(chosen),
        },
    )


@router.get("/new", include_in_schema=False)
def new_page(
    visit: Visit,
    firm_id: Annotated[list[int] | None, Query()] = None,
    project_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    raw = _raw(FormData())
    raw["kind"] = "visit"
    raw["occurred_at"] = now_local().strftime(DT_INPUT)
    raw["firm_ids"] = _valid(firm_id)
    raw["officer_ids"] = [visit.user.id]
    if project_id:
        p = get_project_for(visit.session, visit.user, project_id)
        raw["project_ids"] = [p.id]
        if p.firm_id not in raw["firm_ids"]:
            raw["firm_ids"].append(p.firm_id)
    return visit.render("activities/form.html", _ctx(visit, raw))


def _activity_data(raw: dict[str, Any]) -> dict[str, Any]:
    """The form's values as the activity's input (create and edit alike)."""
    return {
        "kind": raw["kind"],
        "occurred_at": raw["occurred_at"] or None,
        "summary": raw["summary"],
        "outcome": raw["outcome"] or None,
        "firm_ids": raw["firm_ids"],
        "project_ids": raw["project_ids"],
        "contact_ids": raw["contact_ids"],
        "officer_ids": raw["officer_ids"],
    }


@router.post("/new", include_in_schema=False)
def create(form: FormBody, visit: Visit) -> Response:
    raw = _raw(form)
    key = raw["submission_key"] = forms.submission_key(form)
    data = {**_activity_data(raw), "followups": _followups(raw)}
    try:
        payload = forms.validate_all(
            visit.request, ActivityCreate, data, offered_errors(visit.request, raw)
        )
        with visit.session.begin_nested():
            # posted again: nothing recorded (the key is bound to this form's content)
            visit.claim(key, payload)
            logged = log_activity(visit.session, visit.user, payload)
            outcome = f"/activities/{logged.activity.id}?saved=1"
            settle(visit.session, visit.user, key, outcome)
    except AlreadySubmitted as exc:
        return forms.answered_before(visit.request, exc)
    except (FormInvalid, CRMError) as exc:
        raw["submission_key"] = forms.key_to_show(key, exc)
        ctx = _ctx(visit, raw, _errors(visit.request, exc))
        raise FormRejected(
            visit.render("activities/form.html", ctx, block="form", status_code=422)
        ) from exc
    return forms.done(visit.request, outcome)


@router.get("/firm-options", include_in_schema=False)
def firm_options(
    visit: Visit,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Search-as-you-type for the firm chips: up to ten firms, best first."""
    found = search_firms(visit.session, visit.user, q, limit=10) if q.strip() else []
    return visit.render("activities/_firm_options.html", {"found": found, "q": q})


@router.get("/choices", include_in_schema=False)
def choices(
    visit: Visit,
    firm_ids: Annotated[list[int] | None, Query()] = None,
    project_ids: Annotated[list[int] | None, Query()] = None,
    contact_ids: Annotated[list[int] | None, Query()] = None,
    projects_only: bool = False,
) -> Response:
    """The projects and contacts of the firms chosen so far (the form asks when a chip
    changes); what was ticked stays ticked."""
    raw = _raw(FormData())
    raw["firm_ids"] = _valid(firm_ids)
    raw["project_ids"] = _valid(project_ids)
    raw["contact_ids"] = _valid(contact_ids)
    ctx = {**_ctx(visit, raw), "projects_only": projects_only}
    return visit.render("activities/_choices.html", ctx)


@router.get("/{activity_id:id}", include_in_schema=False)
def activity_page(visit: Visit, activity_id: int, saved: int = 0) -> Response:
    view = activity_view(visit.session, visit.user, activity_id)
    return visit.render("activities/page.html", {"v": view, "saved": bool(saved), "nav": ""})


def _raw_of(view: Any) -> dict[str, Any]:
    a = view.activity
    local = to_local(a.occurred_at)
    return {
        **_raw(FormData()),
        "kind": a.kind,
        "occurred_at": local.strftime(DT_INPUT) if local else "",
        "summary": a.summary,
        "outcome": a.outcome or "",
        "firm_ids": list(view.links["firm_ids"]),
        "project_ids": list(view.links["project_ids"]),
        "contact_ids": list(view.links["contact_ids"]),
        "officer_ids": list(view.links["officer_ids"]),
        "version": a.version,
    }


@router.get("/{activity_id:id}/edit", include_in_schema=False)
def edit_page(visit: Visit, activity_id: int) -> Response:
    view = activity_view(visit.session, visit.user, activity_id)
    require_edit(visit.user, view.activity.created_by_id, view.activity.department_id)
    ctx = _ctx(visit, _raw_of(view), activity=view.activity)
    return visit.render("activities/form.html", ctx)


@router.post("/{activity_id:id}/edit", include_in_schema=False)
def edit(form: FormBody, visit: Visit, activity_id: int) -> Response:
    view = activity_view(visit.session, visit.user, activity_id)
    require_edit(visit.user, view.activity.created_by_id, view.activity.department_id)
    raw = {**_raw(form), "version": forms.integer(form, "version")}
    data = {**_activity_data(raw), "version": raw["version"]}
    try:
        payload = forms.validate(visit.request, ActivityUpdate, data)
        with visit.session.begin_nested():
            update_activity(visit.session, visit.user, activity_id, payload)
    except (FormInvalid, CRMError) as exc:
        ctx = _ctx(visit, raw, _errors(visit.request, exc), activity=view.activity)
        status = 409 if isinstance(exc, StaleVersion) else 422
        raise FormRejected(
            visit.render("activities/form.html", ctx, block="form", status_code=status)
        ) from exc
    return forms.done(visit.request, f"/activities/{activity_id}?saved=1")


@router.post("/{activity_id:id}/delete", include_in_schema=False)
def delete(form: FormBody, visit: Visit, activity_id: int) -> Response:
    view = activity_view(visit.session, visit.user, activity_id)
    delete_activity(visit.session, visit.user, activity_id, forms.required_version(form))
    first = view.firms[0][0] if view.firms else None
    return RedirectResponse(f"/firms/{first}" if first else "/", status_code=303)
