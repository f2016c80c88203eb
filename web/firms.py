"""Firm pages: the list with filters and search-as-you-type, the firm page (details, contacts,
projects, one timeline), logging a contact inline, adding and editing firms and contacts."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta
from typing import Annotated, Any, NoReturn
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from crm.accounts.service import user_choices
from crm.activities.schemas import ActivityCreate
from crm.activities.service import log_activity
from crm.activities.timeline import entries_for, firm_timeline
from crm.authz import is_manager, owner_choices
from crm.clock import local_tz, now_local
from crm.errors import CRMError, NotFound, StaleVersion
from crm.firms.duplicates import check_firm
from crm.firms.export import export_filename, export_firms
from crm.firms.queries import FIRM_SORTS
from crm.firms.schemas import ContactCreate, ContactUpdate, FirmCreate, FirmUpdate
from crm.firms.service import (
    DuplicateFirm,
    FirmFilters,
    create_contact,
    create_firm,
    delete_contact,
    editable_firm,
    find_similar,
    firm_aliases,
    firm_cluster_codes,
    get_contact,
    get_firm,
    list_firms,
    search_firms,
    update_contact,
    update_firm,
)
from crm.firms.views import countries, firm_contacts, firm_detail, firm_names, list_rows
from crm.i18n import _l
from crm.policy.service import list_clusters, plan_lists
from crm.projects.service import ProjectFilters, list_projects
from crm.sorting import parse_sort
from crm.types import utcnow
from crm.vocabulary import ActivityKind, Tier, values
from server.deps import SessionDep, WebUser
from web import forms
from web.bulk import bulk_context
from web.forms import FormInvalid, FormRejected
from web.render import is_htmx, language, render

router = APIRouter(prefix="/firms", include_in_schema=False)

PAGE_SIZE = 50
COUNT_CAP = 10_000
TIMELINE_PAGE = 20
TIERS = values(Tier)
KINDS = values(ActivityKind)
REMIND_OFFSETS = (0, 15, 60, 24 * 60)  # minutes before the due time; 0 = no reminder
DT_INPUT = "%Y-%m-%dT%H:%M"


# --- the list ---------------------------------------------------------------------------------


def _filters(
    q: str | None,
    cluster: str | None,
    tier: str | None,
    country: str | None,
    owner: str | None,
    sort: str | None = None,
    lang: str = "zh_CN",
) -> FirmFilters:
    owner_id = int(owner) if owner and owner.isdigit() and len(owner) < 12 else None
    return FirmFilters(
        q=(q or "").strip()[:100] or None,
        cluster=cluster or None,
        tier=tier if tier in TIERS else None,
        country=country or None,
        owner_id=owner_id,
        sort=parse_sort(sort, FIRM_SORTS),
        lang=lang,
    )


Q = Annotated[str | None, Query(max_length=100)]


@router.get("")
def firm_list(
    request: Request,
    session: SessionDep,
    user: WebUser,
    q: Q = None,
    cluster: Q = None,
    tier: Q = None,
    country: Q = None,
    owner: Q = None,
    sort: Q = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    f = _filters(q, cluster, tier, country, owner, sort, language(request))
    firms, total = list_firms(
        session,
        user,
        f,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        count_cap=COUNT_CAP,
        columns=True,  # rows as the page reads them, no entities
    )
    params = {
        k: v
        for k, v in (
            ("q", f.q),
            ("cluster", f.cluster),
            ("tier", f.tier),
            ("country", f.country),
            ("owner", f.owner_id),
            ("sort", f.sort.param if f.sort else None),
        )
        if v
    }
    ctx: dict[str, Any] = {
        "nav": "firms",
        "rows": list_rows(session, firms),
        "total": total,
        "capped": total > COUNT_CAP,
        "page": page,
        "page_size": PAGE_SIZE,
        "has_next": page * PAGE_SIZE < total,
        "filters": f,
        "params": params,
        "query": urlencode(params),
        "sort": f.sort,
        "sort_query": urlencode({k: v for k, v in params.items() if k != "sort"}),
        "filtered": bool({k for k in params if k != "sort"}),
        "cluster_names": {c.code: c for c in plan_lists(session).clusters},
        "bulk": is_manager(user),  # rows to select for reassignment (web/bulk.py)
    }
    if not is_htmx(request):
        reassigned = request.query_params.get("reassigned", "")
        ctx["reassigned"] = int(reassigned) if reassigned.isdigit() and len(reassigned) < 6 else 0
        if ctx["bulk"]:
            ctx.update(bulk_context(session, user, "firm"))
        ctx.update(
            clusters=list(ctx["cluster_names"].values()),
            countries=countries(session),
            owners=user_choices(session, user),
        )
    headers = {"Vary": "HX-Request"}
    return render(request, "firms/list.html", ctx, block="results", headers=headers)


@router.get("/export.xlsx")
def firm_export(
    request: Request,
    session: SessionDep,
    user: WebUser,
    q: Q = None,
    cluster: Q = None,
    tier: Q = None,
    country: Q = None,
    owner: Q = None,
    sort: Q = None,
) -> Response:
    f = _filters(q, cluster, tier, country, owner, sort, language(request))
    data = export_firms(session, user, f)
    name = export_filename(utcnow())
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/similar")
def similar(
    request: Request,
    session: SessionDep,
    user: WebUser,
    name_zh: Q = None,
    name_en: Q = None,
    exclude: Q = None,
) -> Response:
    """As the user types a name: existing firms that look like it (before anything is saved)."""
    exclude_id = int(exclude) if exclude and exclude.isdigit() and len(exclude) < 12 else None
    cands = []
    for name in (name_zh, name_en):
        if name and name.strip():
            cands += [
                c
                for c in find_similar(session, name.strip(), exclude_id=exclude_id)
                if c.id not in {x.id for x in cands}
            ]
    return render(request, "firms/_similar.html", {"candidates": cands[:5]})


@router.get("/parents")
def parent_options(
    request: Request,
    session: SessionDep,
    user: WebUser,
    parent_q: Q = None,
    parent_id: Q = None,
    exclude: Q = None,
) -> Response:
    """The parent-group picker: the chosen parent first, then firms matching ``parent_q``."""
    current = int(parent_id) if parent_id and parent_id.isdigit() and len(parent_id) < 12 else None
    options = []
    if current:
        options = [(current, firm_names(session, {current}).get(current, ""))]
    if parent_q and parent_q.strip():
        options += [
            (f.id, f.name_zh)
            for f in search_firms(session, user, parent_q, limit=8)
            if f.id != current and str(f.id) != exclude
        ]
    return render(
        request,
        "firms/_parents.html",
        {"options": options, "current": current, "searched": bool(parent_q)},
    )


# --- add and edit a firm ------------------------------------------------------------------------


def _firm_data(form: FormData) -> dict[str, Any]:
    return {
        "name_zh": forms.text(form, "name_zh") or "",
        "name_en": forms.text(form, "name_en"),
        "aliases": forms.lines(forms.text(form, "aliases")),
        "country": forms.text(form, "country"),
        "headquarters": forms.text(form, "headquarters"),
        "global500_rank": forms.integer(form, "global500_rank"),
        "china500_rank": forms.integer(form, "china500_rank"),
        "is_leader": forms.checkbox(form, "is_leader"),
        "website": forms.text(form, "website"),
        "credit_code": forms.text(form, "credit_code"),
        "parent_id": forms.integer(form, "parent_id"),
        "owner_id": forms.integer(form, "owner_id"),
        "clusters": [c for c in form.getlist("clusters") if isinstance(c, str) and c],
        "notes": forms.text(form, "notes"),
    }


def _form_ctx(
    session: SessionDep, user: WebUser, values: dict[str, Any], **kw: Any
) -> dict[str, Any]:
    parent_id = values.get("parent_id")
    parent_name = None
    if isinstance(parent_id, int):
        parent_name = firm_names(session, {parent_id}).get(parent_id)
    return {
        "nav": "firms",
        "values": values,
        "clusters": list_clusters(session),
        # the owners this user may name (crm.authz): a new firm is the user's own by default
        "owners": owner_choices(
            user,
            user_choices(session, user),
            kw["firm"].owner_id if kw.get("firm") is not None else user.id,
        ),
        "tiers": TIERS,
        "errors": {},
        "parent_name": parent_name,
        **kw,
    }


def _firm_values(session: SessionDep, firm_id: int, firm: Any) -> dict[str, Any]:
    v = firm.model_dump()
    v["aliases"] = firm_aliases(session, [firm_id])[firm_id]
    v["clusters"] = firm_cluster_codes(session, [firm_id])[firm_id]
    return v


@router.get("/new")
def new_firm(request: Request, session: SessionDep, user: WebUser, name_zh: Q = None) -> Response:
    return render(
        request,
        "firms/form.html",
        _form_ctx(
            session,
            user,
            {"name_zh": name_zh, "owner_id": user.id, "clusters": [], "aliases": []},
            mode="new",
        ),
    )


@router.post("/new")
async def create_firm_page(request: Request, session: SessionDep, user: WebUser) -> Response:
    form = await request.form()
    values = _firm_data(form)
    confirm = forms.checkbox(form, "confirm")
    try:
        data = forms.validate(request, FirmCreate, values)
        with session.begin_nested():
            firm = create_firm(session, user, data, confirm=confirm)
    except FormInvalid as exc:
        _form_error(request, session, user, values, exc.errors, mode="new")
    except DuplicateFirm as exc:
        _form_error(request, session, user, values, {}, mode="new", duplicate=exc)
    except CRMError as exc:
        errors = forms.field_errors(request, exc)
        _form_error(request, session, user, values, errors, mode="new", status=exc.status)
    return _see_other(request, f"/firms/{firm.id}?created=1")  # the page confirms it


@router.get("/{firm_id}/edit")
def edit_firm(request: Request, session: SessionDep, user: WebUser, firm_id: int) -> Response:
    firm = editable_firm(session, user, firm_id)
    return render(
        request,
        "firms/form.html",
        _form_ctx(session, user, _firm_values(session, firm_id, firm), mode="edit", firm=firm),
    )


@router.post("/{firm_id}/edit")
async def update_firm_page(
    request: Request, session: SessionDep, user: WebUser, firm_id: int
) -> Response:
    firm = get_firm(session, user, firm_id)
    form = await request.form()
    values = _firm_data(form)
    values["version"] = forms.integer(form, "version")
    try:
        data = forms.validate(request, FirmUpdate, values)
        with session.begin_nested():
            update_firm(session, user, firm_id, data)
    except FormInvalid as exc:
        _form_error(request, session, user, values, exc.errors, mode="edit", firm=firm)
    except StaleVersion as exc:
        session.refresh(firm)
        _form_error(
            request,
            session,
            user,
            values,
            {},
            mode="edit",
            firm=firm,
            stale=forms.pick(request, exc.message),
            status=409,
        )
    except DuplicateFirm as exc:
        _form_error(request, session, user, values, {}, mode="edit", firm=firm, duplicate=exc)
    except CRMError as exc:
        _form_error(
            request,
            session,
            user,
            values,
            forms.field_errors(request, exc),
            mode="edit",
            firm=firm,
            status=exc.status,
        )
    return _see_other(request, f"/firms/{firm_id}")


def _form_error(
    request: Request,
    session: SessionDep,
    user: WebUser,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status: int = 422,
    duplicate: DuplicateFirm | None = None,
    **kw: Any,
) -> NoReturn:
    """Refuse the firm form: re-rendered with the user's input and the errors beside the
    fields; the request's transaction rolls back (``FormRejected``)."""
    if duplicate is not None:
        status = 409
        errors = {"name_zh": forms.pick(request, duplicate.message)}
    raise FormRejected(
        render(
            request,
            "firms/form.html",
            _form_ctx(session, user, values, errors=errors, duplicate=duplicate, **kw),
            status_code=status,
        )
    )


def _see_other(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


# --- the firm page ------------------------------------------------------------------------------


def _default_log_values() -> dict[str, Any]:
    now = now_local()
    due = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    return {
        "kind": "visit",
        "occurred_at": now.strftime(DT_INPUT),
        "contact_ids": [],
        "followup_due": due.strftime(DT_INPUT),
        "remind": 0,
    }


def _page_ctx(
    request: Request,
    session: SessionDep,
    user: WebUser,
    firm_id: int,
    *,
    timeline: bool = True,
    **kw: Any,
) -> dict[str, Any]:
    """The firm page's context; ``timeline=False`` counts the timeline without loading it
    (for fragments that show the form, contacts or the count only)."""
    detail = firm_detail(session, user, firm_id)
    projects, projects_total = list_projects(
        session, user, ProjectFilters(firm_id=firm_id), limit=50
    )
    entries, total = firm_timeline(session, user, firm_id, limit=TIMELINE_PAGE if timeline else 0)
    ctx = {
        "nav": "firms",
        "d": detail,
        "firm": detail.firm,
        "projects": projects,
        "projects_total": projects_total,
        "entries": entries,
        "timeline_total": total,
        "next_offset": TIMELINE_PAGE if total > TIMELINE_PAGE else None,
        "cluster_names": {c.id: c for c in plan_lists(session).clusters},
        "kinds": KINDS,
        "remind_offsets": REMIND_OFFSETS,
        "log": _default_log_values(),
        "log_errors": {},
        "contact_errors": {},
        "contact_values": {},
    }
    ctx.update(kw)
    return ctx


def _contacts_ctx(session: SessionDep, user: WebUser, firm_id: int, **kw: Any) -> dict[str, Any]:
    """Just what the contacts card and the log form's contact list need."""
    detail = firm_detail(session, user, firm_id)
    return {
        "d": detail,
        "firm": detail.firm,
        "log": _default_log_values(),
        "contact_errors": {},
        "contact_values": {},
        **kw,
    }


@router.get("/{firm_id}")
def firm_page(
    request: Request,
    session: SessionDep,
    user: WebUser,
    firm_id: int,
    merged: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    created: int = 0,
) -> Response:
    ctx = _page_ctx(request, session, user, firm_id)
    ctx["created"] = bool(created)  # just created: the page confirms it
    if is_manager(user):
        # a warning with a way out: the records that look like this one, to merge
        names = [ctx["firm"].name_zh, ctx["firm"].name_en, *ctx["d"].aliases]
        ctx["duplicates"] = check_firm(session, names, exclude_id=firm_id).all[:5]
        ctx["merged"] = merged
    return render(request, "firms/page.html", ctx)


@router.get("/{firm_id}/timeline")
def timeline_more(
    request: Request,
    session: SessionDep,
    user: WebUser,
    firm_id: int,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    get_firm(session, user, firm_id)
    entries, total = firm_timeline(session, user, firm_id, limit=TIMELINE_PAGE, offset=offset)
    nxt = offset + TIMELINE_PAGE
    return render(
        request,
        "firms/_timeline_page.html",
        {
            "entries": entries,
            "firm": get_firm(session, user, firm_id),
            "next_offset": nxt if total > nxt else None,
        },
    )


# --- log a contact --------------------------------------------------------------------------------


def _log_data(form: FormData, firm_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's raw values (to show again) and the ActivityCreate input built from them."""
    raw = {
        "kind": forms.text(form, "kind") or "",
        "occurred_at": forms.text(form, "occurred_at") or "",
        "contact_ids": [str(c) for c in forms.integers(form, "contact_ids")],
        "summary": forms.text(form, "summary") or "",
        "outcome": forms.text(form, "outcome") or "",
        "project_id": forms.text(form, "project_id") or "",
        "followup_title": forms.text(form, "followup_title") or "",
        "followup_due": forms.text(form, "followup_due") or "",
        "remind": forms.integer(form, "remind") or 0,
    }
    project_id = forms.integer(form, "project_id")
    data: dict[str, Any] = {
        "kind": raw["kind"],
        "occurred_at": raw["occurred_at"] or None,
        "summary": raw["summary"],
        "outcome": raw["outcome"] or None,
        "firm_ids": [firm_id],
        "contact_ids": forms.integers(form, "contact_ids"),
        "project_ids": [project_id] if project_id is not None else [],
    }
    if raw["followup_title"]:
        fu: dict[str, Any] = {"title": raw["followup_title"], "due_at": raw["followup_due"]}
        remind = raw["remind"]
        if isinstance(remind, int) and remind in REMIND_OFFSETS and remind > 0:
            with suppress(ValueError):  # a bad due time is reported beside its own field
                due = datetime.strptime(raw["followup_due"], DT_INPUT).replace(tzinfo=local_tz())
                fu["remind_at"] = due - timedelta(minutes=remind)
        data["followup"] = fu
    return raw, data


LOG_FIELDS = {
    "firm_ids": "",
    "project_ids": "project_id",
    "followup.due_at": "followup_due",
    "followup.title": "followup_title",
    "followup.remind_at": "remind",
    "remind_at": "remind",
    "due_at": "followup_due",
    "followup": "followup_title",
    "assignee_id": "followup_title",
}


@router.post("/{firm_id}/activities")
async def log_contact(
    request: Request, session: SessionDep, user: WebUser, firm_id: int
) -> Response:
    firm = get_firm(session, user, firm_id)
    form = await request.form()
    raw, data = _log_data(form, firm_id)
    try:
        payload = forms.validate(request, ActivityCreate, data)
        with session.begin_nested():
            logged = log_activity(session, user, payload)
    except (FormInvalid, CRMError) as exc:
        errors = {LOG_FIELDS.get(k, k): v for k, v in forms.errors_of(request, exc).items()}
        ctx = _page_ctx(
            request,
            session,
            user,
            firm_id,
            timeline=not is_htmx(request),
            log=raw,
            log_errors=errors,
        )
        raise FormRejected(
            render(request, "firms/page.html", ctx, block="log_form", status_code=422)
        ) from exc
    if not is_htmx(request):
        return RedirectResponse(f"/firms/{firm_id}", status_code=303)
    # what the answer shows: a fresh form (contacts, projects), the new entry and the count —
    # not the whole page's context (details, clusters, aliases, the plan's lists)
    projects, _ = list_projects(session, user, ProjectFilters(firm_id=firm_id), limit=50)
    _, total = firm_timeline(session, user, firm_id, limit=0)
    ctx = {
        "firm": firm,
        "d": {"contacts": firm_contacts(session, firm_id)},
        "projects": projects,
        "timeline_total": total,
        "kinds": KINDS,
        "remind_offsets": REMIND_OFFSETS,
        "log": _default_log_values(),
        "log_errors": {},
        "new_entry": entries_for(session, user, [logged.activity])[0],
        "saved": logged.followup is not None,
    }
    return render(request, "firms/_logged.html", ctx)


# --- contacts -----------------------------------------------------------------------------------


def _contact_data(form: FormData) -> dict[str, Any]:
    return {k: forms.text(form, k) for k in ("name", "title", "phone", "email", "wechat", "notes")}


def _contacts_response(
    request: Request, session: SessionDep, user: WebUser, firm_id: int, status: int = 200, **kw: Any
) -> Response:
    ctx = _contacts_ctx(session, user, firm_id, **kw)
    return render(request, "firms/_contacts_swap.html", ctx, status_code=status)


@router.get("/{firm_id}/contacts")
def contacts_block(request: Request, session: SessionDep, user: WebUser, firm_id: int) -> Response:
    return _contacts_response(request, session, user, firm_id)


@router.post("/{firm_id}/contacts")
async def add_contact(
    request: Request, session: SessionDep, user: WebUser, firm_id: int
) -> Response:
    form = await request.form()
    values = _contact_data(form)
    try:
        data = forms.validate(request, ContactCreate, values)
        with session.begin_nested():
            create_contact(session, user, firm_id, data)
    except (FormInvalid, CRMError) as exc:
        if isinstance(exc, CRMError) and exc.status == 404:
            raise
        raise FormRejected(
            _contacts_response(
                request,
                session,
                user,
                firm_id,
                422,
                contact_values=values,
                contact_errors=forms.errors_of(request, exc),
                adding=True,
            )
        ) from exc
    if not is_htmx(request):
        return RedirectResponse(f"/firms/{firm_id}", status_code=303)
    return _contacts_response(request, session, user, firm_id, contact_saved=True)


def _own_contact(session: SessionDep, user: WebUser, firm_id: int, contact_id: int) -> Any:
    c = get_contact(session, user, contact_id)
    if c.firm_id != firm_id:
        raise NotFound(_l("联系人不存在"))
    return c


@router.get("/{firm_id}/contacts/{contact_id}/edit")
def edit_contact(
    request: Request, session: SessionDep, user: WebUser, firm_id: int, contact_id: int
) -> Response:
    c = _own_contact(session, user, firm_id, contact_id)
    return render(
        request,
        "firms/_contact_edit.html",
        {"firm": get_firm(session, user, firm_id), "c": c, "values": c.model_dump(), "errors": {}},
    )


@router.post("/{firm_id}/contacts/{contact_id}")
async def save_contact(
    request: Request, session: SessionDep, user: WebUser, firm_id: int, contact_id: int
) -> Response:
    c = _own_contact(session, user, firm_id, contact_id)
    form = await request.form()
    values: dict[str, Any] = {**_contact_data(form), "version": forms.integer(form, "version")}
    try:
        data = forms.validate(request, ContactUpdate, values)
        with session.begin_nested():
            update_contact(session, user, contact_id, data)
    except (FormInvalid, CRMError) as exc:
        if isinstance(exc, CRMError) and exc.status == 404:
            raise
        errors = forms.errors_of(request, exc)
        stale = isinstance(exc, StaleVersion)
        if stale:
            session.refresh(c)
        raise FormRejected(
            render(
                request,
                "firms/_contact_edit.html",
                {
                    "firm": get_firm(session, user, firm_id),
                    "c": c,
                    "values": values,
                    "errors": errors,
                    "stale": stale,
                },
                status_code=409 if stale else 422,
            )
        ) from exc
    if not is_htmx(request):
        return RedirectResponse(f"/firms/{firm_id}", status_code=303)
    return _contacts_response(request, session, user, firm_id)


@router.post("/{firm_id}/contacts/{contact_id}/delete")
async def remove_contact(
    request: Request, session: SessionDep, user: WebUser, firm_id: int, contact_id: int
) -> Response:
    _own_contact(session, user, firm_id, contact_id)
    form = await request.form()
    delete_contact(session, user, contact_id, forms.required_version(form))
    if not is_htmx(request):
        return RedirectResponse(f"/firms/{firm_id}", status_code=303)
    return _contacts_response(request, session, user, firm_id)
