"""Lists as Excel: ``?format=xlsx`` or ``Accept: application/vnd.openxmlformats-…sheet`` on
any list, as the reports do — the same service call, so the same permission filters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.types import DecoratedCallable
from pydantic import BaseModel
from sqlmodel import Session

from api.common import Limit, Offset, Page
from crm.models.accounts import User
from server.deps import ApiUser, SessionDep
from server.download import EXPORT_LIMIT, XLSX, list_workbook

Fmt = Annotated[Literal["json", "xlsx"], Query(description="json (default) or xlsx")]
XLSX_200: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX: {}}, "description": "the list (JSON, or Excel with format=xlsx)"}
}


def list_route(
    router: APIRouter, path: str, page: type[Page[Any]], summary: str, description: str
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """``GET path``, a list route: one ``page`` as JSON, or with ``format=xlsx`` (or the Excel
    Accept header) every matching row as a workbook (``Lister.answer``), documented as both."""
    return router.get(
        path, response_model=page, summary=summary, description=description, responses=XLSX_200
    )


class ListQuery(BaseModel):
    """A list route's query string as one model: its page (``limit``, ``offset``) first, then
    the subclass's filters and ``format`` (each subclass declares it last: the documentation
    lists the parameters in the order of the fields)."""

    limit: Limit = 50
    offset: Offset = 0
    if TYPE_CHECKING:  # declared by each subclass, after its filters: ``format: Fmt = "json"``
        format: str

    def filters(self) -> dict[str, Any]:
        """The filters: every field but the page and the format."""
        return {k: v for k, v in self if k not in ("limit", "offset", "format")}


def wants_xlsx(request: Request, fmt: str) -> bool:
    return fmt == "xlsx" or XLSX in request.headers.get("accept", "")


Fetch = Callable[..., tuple[list[Any], int]]


@dataclass(frozen=True, slots=True)
class Lister:
    """A list route's answer for its request (the Accept header), transaction and caller."""

    request: Request
    session: Session
    user: User

    def answer(
        self,
        query: ListQuery,
        kind: str,
        filters: Any,
        fetch: Fetch,
        public: Callable[[list[Any]], list[Any]],
        page: type[Page[Any]],
    ) -> Any:
        """One page as JSON (``page``: its Page model), or — with ``format=xlsx`` or the Excel
        Accept header — every matching row as a workbook, through the same service call
        (``fetch(session, user, filters, limit=…, offset=…)``), so the same permission
        filters; ``public`` turns the rows into the API's models."""
        if wants_xlsx(self.request, query.format):
            rows, _ = fetch(self.session, self.user, filters, limit=EXPORT_LIMIT, offset=0)
            model = page.model_fields["items"].annotation.__args__[0]  # type: ignore[union-attr]
            return list_workbook(self.session, self.user, kind, public(rows), vars(filters), model)
        rows, total = fetch(
            self.session, self.user, filters, limit=query.limit, offset=query.offset
        )
        return page(items=public(rows), total=total, limit=query.limit, offset=query.offset)


async def lister(request: Request, session: SessionDep, user: ApiUser) -> Lister:
    """No I/O: on the event loop."""
    return Lister(request, session, user)


ListAnswer = Annotated[Lister, Depends(lister)]
