"""The start page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from server.deps import WebUser
from web.render import render

router = APIRouter()


@router.get("/", include_in_schema=False)
def home(request: Request, user: WebUser) -> Response:
    return render(request, "home.html", {"nav": "home"})
