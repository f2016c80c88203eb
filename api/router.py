"""Every API router under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from api import auth, reports

router = APIRouter(prefix="/api/v1")
for module in (auth, reports):
    router.include_router(module.router)
