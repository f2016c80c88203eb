"""Bulk reassignment from the lists: the firm list's and the pipeline table's selected rows
given to one person (``crm.reassign.bulk_reassign`` holds the rules). The bar lives in
``_components/bulk_reassign.html``; a refusal is shown beside its picker."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from crm.authz import require_manager
from crm.errors import CRMError, ValidationFailed
from crm.i18n import _l
from crm.reassign import bulk_heirs, bulk_reassign
from web import forms
from web.forms import FormBody, FormRejected
from web.visit import PageVisit, Visit

router = APIRouter(include_in_schema=False)

LISTS = {"firm": ("/firms", "/firms/reassign"), "project": ("/pipeline", "/pipeline/reassign")}
MAX_IDS = 1000


def bulk_context(visit: PageVisit, kind: str) -> dict[str, Any]:
    """What a list page adds for its bar: the picker's people, where the bar posts, and how
    many rows the last reassignment gave away (``?reassigned=N`` after the redirect)."""
    return {
        "heirs": bulk_heirs(visit.session, visit.user),
        "bulk_action": LISTS[kind][1],
        "reassigned": forms.query_int(visit.request.query_params.get("reassigned"), 5) or 0,
    }


def _back(kind: str, value: str | None) -> str:
    """Where to return: the list as it was filtered (its own path only, never elsewhere)."""
    path = LISTS[kind][0]
    if not value:
        return path
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path != path:
        return path
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "reassigned"])
    return path + (f"?{query}" if query else "")


def _submit(visit: PageVisit, form: FormData, kind: str) -> Response:
    require_manager(visit.user)  # officers reassign nobody's rows (crm.authz.may_set_owner)
    back = _back(kind, forms.text(form, "back"))
    raw_ids = forms.integers(form, "ids")
    to = forms.integer(form, "to_user_id")
    ids = [i for i in raw_ids if isinstance(i, int)]
    try:
        if len(ids) != len(raw_ids) or len(ids) > MAX_IDS:
            raise ValidationFailed(_l("所选记录无效"), field="ids")
        if not isinstance(to, int):
            raise ValidationFailed(_l("请选择接手人"), field="to_user_id")
        with visit.session.begin_nested():
            n = bulk_reassign(visit.session, visit.user, kind, ids, to)
    except CRMError as exc:
        ctx = {
            **bulk_context(visit, kind),
            "bulk": True,
            "bulk_back": back,
            "bulk_to": to if isinstance(to, int) else None,
            "bulk_error": forms.pick(visit.request, exc.message),
            # without HTMX the bar is shown on its own page, the selection kept in it
            "bulk_ids": None if visit.htmx else ids,
        }
        template = "_components/bulk_reassign.html" if visit.htmx else "bulk_page.html"
        status = exc.status if 400 <= exc.status < 500 else 422
        raise FormRejected(
            visit.render(template, ctx, status_code=status, headers={"X-CRM-Swap": "1"})
        ) from exc
    sep = "&" if "?" in back else "?"
    return forms.done(visit.request, f"{back}{sep}{urlencode({'reassigned': n})}")


@router.post("/firms/reassign")
def reassign_firms(form: FormBody, visit: Visit) -> Response:
    return _submit(visit, form, "firm")


@router.post("/pipeline/reassign")
def reassign_projects(form: FormBody, visit: Visit) -> Response:
    return _submit(visit, form, "project")
