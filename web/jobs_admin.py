"""Admin: the outbox (pending, sent, failed — paged, filtered, retried one by one or all at once)
and the schedule."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query
from fastapi.responses import RedirectResponse, Response

from crm.outbox.admin import admin_overview, retry_failed, retry_message
from web.visit import Visit

router = APIRouter()


def _query(status: str | None, channel: str | None, recipient: str | None) -> str:
    q = {k: v for k, v in (("status", status), ("channel", channel), ("q", recipient)) if v}
    return ("?" + urlencode(q)) if q else ""


@router.get("/admin/outbox", include_in_schema=False)
def outbox_page(
    visit: Visit,
    status: Annotated[str | None, Query(max_length=20)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    ov = admin_overview(visit.session, visit.user, status, channel=channel, recipient=q, page=page)
    m = ov.messages
    return visit.render(
        "jobs/outbox.html",
        {
            "nav": "admin",
            "ov": ov,
            "filter_query": _query(m.status, m.channel, m.recipient),
        },
        block="messages",
    )


@router.post("/admin/outbox/{message_id:id}/retry", include_in_schema=False)
def retry(
    visit: Visit,
    message_id: int,
    status: Annotated[str | None, Form(max_length=20)] = None,
) -> Response:
    retry_message(visit.session, visit.user, message_id)
    target = "/admin/outbox" + (f"?status={status}" if status else "")
    return RedirectResponse(target, status_code=303)


@router.post("/admin/outbox/retry-failed", include_in_schema=False)
def retry_all(
    visit: Visit,
    channel: Annotated[str | None, Form(max_length=20)] = None,
    q: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    retry_failed(visit.session, visit.user, channel=channel or None, recipient=q or None)
    return RedirectResponse("/admin/outbox" + _query(None, channel, q), status_code=303)
