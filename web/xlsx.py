"""A page's list as Excel (``?format=xlsx`` on the list's own route): the rows the page's own
service call returned, in the page's language."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from crm.clock import now_local
from crm.exports import MAX_ROWS, export_items
from web.render import language

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_LIMIT = MAX_ROWS


def download(data: bytes, filename: str, media_type: str = XLSX) -> Response:
    """A file to save (an .xlsx unless ``media_type`` says otherwise), named ``filename``."""
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def xlsx_page(
    request: Request,
    session: Any,
    user: Any,
    kind: str,
    items: list[Any],
    filters: dict[str, Any],
    model: Any = None,
) -> Response:
    data = export_items(session, user, kind, items, filters, model, lang=language(request))
    return download(data, f"{kind}-{now_local():%Y%m%d-%H%M}.xlsx")
