"""Admin: the outbox (pending, sent, failed — with retry) and the schedule."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from crm.outbox.service import admin_overview, retry_message
from server.deps import SessionDep, WebUser
from web.render import render

router = APIRouter()


@router.get("/admin/outbox", include_in_schema=False)
def outbox_page(
    request: Request, session: SessionDep, user: WebUser, status: str | None = None
) -> Response:
    ov = admin_overview(session, user, status)
    return render(request, "jobs/outbox.html", {"nav": "admin", "ov": ov}, block="messages")


@router.post("/admin/outbox/{message_id}/retry", include_in_schema=False)
def retry(
    request: Request,
    session: SessionDep,
    user: WebUser,
    message_id: int,
    status: Annotated[str | None, Form()] = None,
) -> Response:
    retry_message(session, user, message_id)
    target = "/admin/outbox" + (f"?status={status}" if status else "")
    return RedirectResponse(target, status_code=303)
