"""Lists as Excel: ``?format=xlsx`` or ``Accept: application/vnd.openxmlformats-…sheet`` on
any list, as the reports do — the same service call, so the same permission filters."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import Response

from crm.clock import now_local
from crm.exports import MAX_ROWS, export_items

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Fmt = Annotated[Literal["json", "xlsx"], Query(description="json (default) or xlsx")]
# the limit a list uses when it answers with a workbook: every matching row
EXPORT_LIMIT = MAX_ROWS
XLSX_200: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX: {}}, "description": "the list (JSON, or Excel with format=xlsx)"}
}


def wants_xlsx(request: Request, fmt: str) -> bool:
    return fmt == "xlsx" or XLSX in request.headers.get("accept", "")


def xlsx_response(
    session: Any,
    user: Any,
    kind: str,
    items: list[Any],
    filters: dict[str, Any],
    model: Any = None,
) -> Response:
    data = export_items(session, user, kind, items, filters, model)
    name = f"{kind}-{now_local():%Y%m%d-%H%M}.xlsx"
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
