"""The language of the person reading an answer (error pages and JSON errors alike)."""

from __future__ import annotations

from fastapi import Request

from crm.i18n import from_accept_language, pick_language
from server.deps import token_language
from web.render import language


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def reader_language(request: Request) -> str:
    """The language of the person reading this answer: the page's (cookie, then the user's
    saved choice), or for the API the token owner's, else ``Accept-Language``."""
    if is_api(request):
        return pick_language(
            getattr(request.state, "language", None)
            or token_language(request.headers.get("authorization")),
            from_accept_language(request.headers.get("accept-language")),
        )
    return language(request)
