"""My day (the start page): my follow-ups due today and overdue, my recently touched projects."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlmodel import Session

from crm.authz import is_manager
from crm.followups.service import my_day
from crm.models.accounts import User
from crm.projects.lists import recent_projects
from crm.reports.manager_home import manager_home
from web.visit import Visit

router = APIRouter()


def myday_context(session: Session, user: User) -> dict[str, Any]:
    day = my_day(session, user)
    return {
        "overdue": day.overdue,
        "today": day.today,
        "day": day.day,
        "tomorrow": day.day + timedelta(days=1),
        "labels": day.labels,
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
