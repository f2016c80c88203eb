"""Every page router, in one list the app mounts."""

from __future__ import annotations

from fastapi import APIRouter

from web import auth, firms, home, imports

router = APIRouter()
for module in (auth, home, firms, imports):
    router.include_router(module.router)
