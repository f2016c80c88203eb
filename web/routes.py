"""Every page router, in one list the app mounts."""

from __future__ import annotations

from fastapi import APIRouter

from web import auth, home

router = APIRouter()
for module in (auth, home):
    router.include_router(module.router)
