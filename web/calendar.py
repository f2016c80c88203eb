"""The private iCalendar feed of one's follow-ups, and the small page to renew its URL."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from crm.config import get_settings
from crm.followups.calendar import calendar_feed, calendar_token, renew_calendar_token
from server.deps import SessionDep
from web.visit import Visit

router = APIRouter()


@router.get("/calendar/{token}.ics", include_in_schema=False)
def feed(token: str, session: SessionDep) -> Response:
    body = calendar_feed(session, token)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": 'inline; filename="followups.ics"',
        },
    )


@router.get("/settings/calendar", include_in_schema=False)
def calendar_page(visit: Visit) -> Response:
    token = calendar_token(visit.session, visit.user)
    url = f"{get_settings().base_url.rstrip('/')}/calendar/{token}.ics"
    return visit.render("jobs/calendar.html", {"nav": "", "feed_url": url})


@router.post("/settings/calendar/renew", include_in_schema=False)
def renew(visit: Visit) -> Response:
    renew_calendar_token(visit.session, visit.user)
    return RedirectResponse("/settings/calendar?renewed=1", status_code=303)
