"""The header's search: firms, contacts and projects as you type (an HTMX fragment under the
box), and the same results as a page when the query is sent with Enter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from crm.search import search_everything
from web.visit import Visit

router = APIRouter(include_in_schema=False)


@router.get("/search")
def search_page(
    visit: Visit,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    results = search_everything(visit.session, visit.user, q or "", limit=6 if visit.htmx else 20)
    return visit.render(
        "search/page.html",
        {"results": results, "q": results.q, "nav": "search"},
        block="results",
        headers={"Vary": "HX-Request"},
    )
