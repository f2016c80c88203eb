"""Every API router under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from api import account, auth, reports

router = APIRouter(prefix="/api/v1")
for module in (auth, account, reports):
    router.include_router(module.router)
