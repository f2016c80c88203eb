"""Files to save, for the API and the pages alike: a workbook of a list, a report's workbook or
PDF, an import template — a response with the file's name to save it under."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from crm.clock import now_local
from crm.exports import MAX_ROWS, export_items

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# the limit a list uses when it answers with a workbook: every matching row
EXPORT_LIMIT = MAX_ROWS


def download(data: bytes, filename: str, media_type: str = XLSX) -> Response:
    """A file to save (an .xlsx unless ``media_type`` says otherwise), named ``filename``."""
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def list_workbook(
    session: Any,
    user: Any,
    kind: str,
    items: list[Any],
    filters: dict[str, Any],
    model: Any = None,
    lang: str | None = None,
) -> Response:
    """A list's rows (``items``, what its own service call returned: the same permission
    filters) as a workbook named after the list and the time, in ``lang`` (a page's language)
    or the user's."""
    data = export_items(session, user, kind, items, filters, model, lang=lang)
    return download(data, f"{kind}-{now_local():%Y%m%d-%H%M}.xlsx")
