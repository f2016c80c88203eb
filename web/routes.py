"""Every page router, in one list the app mounts."""

from __future__ import annotations

from fastapi import APIRouter

from web import auth, firms, home

router = APIRouter()
for module in (auth, home, firms):
    router.include_router(module.router)
