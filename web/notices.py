"""The header bell (unread notices), the notice list, and the managers' conflicts list with its
resolve action. Transport only: crm/notices/service.py decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from crm.errors import CRMError
from crm.notices import service
from crm.reports.conflicts import open_conflicts
from web import forms
from web.render import error_page
from web.visit import Visit

router = APIRouter()


@router.get("/notices/badge", include_in_schema=False)
def badge(visit: Visit) -> Response:
    """The bell's unread count (loaded by htmx once the page is shown)."""
    return visit.render(
        "notices/_badge.html", {"unread": service.unread_count(visit.session, visit.user)}
    )


@router.get("/notices", include_in_schema=False)
def notices(visit: Visit) -> Response:
    return visit.render(
        "notices/list.html",
        {"nav": "notices", "notices": service.list_notices(visit.session, visit.user)},
    )


@router.post("/notices/read", include_in_schema=False)
def read_all(visit: Visit) -> Response:
    service.mark_all_read(visit.session, visit.user)
    return RedirectResponse("/notices", status_code=303)


@router.get("/conflicts", include_in_schema=False)
def conflicts(visit: Visit) -> Response:
    try:
        rows = open_conflicts(visit.session, visit.user)
    except CRMError as exc:
        return error_page(visit.request, exc)
    return visit.render("notices/conflicts.html", {"nav": "conflicts", "conflicts": rows})


@router.post("/conflicts/resolve", include_in_schema=False)
def resolve(
    visit: Visit,
    first_id: Annotated[int, Form()],
    later_id: Annotated[int, Form()],
    keep: Annotated[str, Form()],
    action: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    keep_id, other_id = (later_id, first_id) if keep == "later" else (first_id, later_id)
    try:
        service.resolve_conflict(visit.session, visit.user, keep_id, other_id, action, reason)
    except CRMError as exc:
        if exc.status == 404:
            raise
        rows = open_conflicts(visit.session, visit.user)
        ctx = {
            "nav": "conflicts",
            "conflicts": rows,
            "error": forms.pick(visit.request, exc.message),
        }
        return visit.render("notices/conflicts.html", ctx, status_code=exc.status)
    return RedirectResponse("/conflicts", status_code=303)
