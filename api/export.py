"""Lists as Excel: ``?format=xlsx`` or ``Accept: application/vnd.openxmlformats-…sheet`` on
any list, as the reports do — the same service call, so the same permission filters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Query, Request

from server.download import EXPORT_LIMIT, XLSX, list_workbook

Fmt = Annotated[Literal["json", "xlsx"], Query(description="json (default) or xlsx")]
XLSX_200: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX: {}}, "description": "the list (JSON, or Excel with format=xlsx)"}
}


def wants_xlsx(request: Request, fmt: str) -> bool:
    return fmt == "xlsx" or XLSX in request.headers.get("accept", "")


def list_answer(
    request: Request,
    fmt: str,
    session: Any,
    user: Any,
    kind: str,
    filters: Any,
    fetch: Callable[[int, int], tuple[list[Any], int]],
    public: Callable[[list[Any]], list[Any]],
    page: Any,
    model: Any,
    limit: int,
    offset: int,
) -> Any:
    """A list route's answer: one page as JSON (``page``: its Page model), or — with
    ``format=xlsx`` or the Excel Accept header — every matching row as a workbook, through
    the same service call (``fetch(limit, offset)``), so the same permission filters."""
    if wants_xlsx(request, fmt):
        rows, _ = fetch(EXPORT_LIMIT, 0)
        return list_workbook(session, user, kind, public(rows), vars(filters), model)
    rows, total = fetch(limit, offset)
    return page(items=public(rows), total=total, limit=limit, offset=offset)
