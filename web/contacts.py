"""The contacts list: every firm's contacts, searched and sorted on the server, exported as the
page shows them (``?format=xlsx``, in the page's language)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import Response

from crm.firms.contacts import ContactFilters, contact_rows, list_all_contacts
from crm.sorting import parse_sort
from server.download import EXPORT_LIMIT, list_workbook
from web.visit import Visit

router = APIRouter(include_in_schema=False)

PAGE = 50
SORTS = ("name", "firm", "updated")
Q = Annotated[str | None, Query(max_length=100)]


@router.get("/contacts")
def contacts_page(
    visit: Visit,
    q: Q = None,
    sort: Q = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    format: Annotated[str, Query(max_length=5)] = "",
) -> Response:
    f = ContactFilters(
        q=(q or "").strip()[:100] or None, sort=parse_sort(sort, SORTS), lang=visit.lang
    )
    if format == "xlsx":  # the list as filtered and sorted on screen, every row
        rows, _ = list_all_contacts(visit.session, visit.user, f, limit=EXPORT_LIMIT)
        return list_workbook(
            visit.session,
            visit.user,
            "contacts",
            contact_rows(rows, f.lang),
            vars(f),
            lang=visit.lang,
        )
    rows, total = list_all_contacts(
        visit.session, visit.user, f, limit=PAGE, offset=(page - 1) * PAGE
    )
    params = {k: v for k, v in (("q", f.q), ("sort", f.sort.param if f.sort else None)) if v}
    ctx: dict[str, Any] = {
        "nav": "firms",
        "rows": rows,
        "total": total,
        "page": page,
        "has_next": page * PAGE < min(total, 10_000),
        "q": f.q or "",
        "sort": f.sort,
        "query": urlencode(params),
        "sort_query": urlencode({"q": f.q} if f.q else {}),
    }
    return visit.render("contacts/list.html", ctx, block="results")
