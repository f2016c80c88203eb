"""Every API router under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from api import (
    account,
    accounts,
    activities,
    auth,
    firms,
    followups,
    policy,
    projects,
    reassign,
    reports,
)


def operation_id(route: APIRoute) -> str:
    """Clean operation ids: the handler's name (``list_firms``, ``move_stage``)."""
    return route.name


router = APIRouter(prefix="/api/v1", generate_unique_id_function=operation_id)
for module in (
    auth,
    account,
    reassign,
    firms,
    projects,
    activities,
    followups,
    policy,
    accounts,
    reports,
):
    router.include_router(module.router)
