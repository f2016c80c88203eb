"""My day (the start page): my follow-ups due today and overdue, my recently touched projects."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlmodel import Session

from crm.authz import is_manager
from crm.clock import local_tz
from crm.followups.service import my_day
from crm.models.accounts import User
from crm.projects.lists import recent_projects
from crm.reports.manager_home import manager_home
from web.visit import Visit

router = APIRouter()
DUE = "%Y-%m-%d %H:%M"  # as the ``local`` filter shows a time


def _items(rows: list[Any], tz: Any) -> list[tuple[Any, ...]]:
    """My day's rows as its list shows them: ``(id, title, due, version, project_id,
    project_label, firm_id, firm_label)``, ``due`` the local time as text (the zone read once,
    not per row): the template unpacks them, no attribute lookup per value."""
    return [
        (i, title, due_at.astimezone(tz).strftime(DUE), version, pid, plabel, fid, flabel)
        for i, title, due_at, fid, pid, version, flabel, plabel in rows
    ]


def myday_context(session: Session, user: User) -> dict[str, Any]:
    day = my_day(session, user)
    tz = local_tz()
    return {
        "overdue": _items(day.overdue, tz),
        "today": _items(day.today, tz),
        "day": day.day,
        "tomorrow": day.day + timedelta(days=1),
        # the earliest day a follow-up may be moved to (the date picker's ``min``)
        "today_iso": day.day.isoformat(),
    }


@router.get("/", include_in_schema=False)
def home(visit: Visit) -> Response:
    projects = recent_projects(visit.session, visit.user, limit=10)
    manager = manager_home(visit.session, visit.user) if is_manager(visit.user) else None
    return visit.render(
        "home.html",
        {
            "nav": "home",
            "projects": projects,
            "manager": manager,
            **myday_context(visit.session, visit.user),
        },
    )
