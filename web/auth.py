"""Login, logout and the language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from crm.accounts.schemas import MeUpdate
from crm.accounts.service import (
    authenticate,
    end_web_session,
    start_web_session,
    update_own_profile,
)
from crm.errors import CRMError
from crm.i18n import LANGUAGES
from server.deps import SESSION_KEY, OptionalWebUser, SessionDep, client_ip
from web.render import render
from web.visit import Visit

YEAR = 365 * 86400
# set when someone picks a language on the login page: that choice is saved at login (a
# cookie left by whoever used the browser before is not a choice)
CHOSEN = "lang_chosen"


def _save_language(session: SessionDep, user, code: str) -> None:  # type: ignore[no-untyped-def]
    if code in LANGUAGES and user.language != code:
        update_own_profile(session, user, MeUpdate(language=code, version=user.version))


router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after login."""
    if not target:
        return "/"
    u = urlparse(target)
    if u.scheme or u.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", include_in_schema=False)
def login_page(request: Request, user: OptionalWebUser, next: str | None = None) -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "auth/login.html", {"next": safe_next(next)})


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    try:
        user = authenticate(session, username, password, client_ip(request))
    except CRMError as exc:
        session.commit()  # keep the failed attempt and any lockout
        return render(
            request,
            "auth/login.html",
            {"error": exc.message, "username": username[:60], "next": safe_next(next)},
            status_code=exc.status if exc.status in (401, 429) else 400,
        )
    # a new session id at every login (no fixation)
    old = request.session.get(SESSION_KEY)
    if old:
        end_web_session(session, old)
    request.session.clear()
    request.session[SESSION_KEY] = start_web_session(
        session, user, client_ip(request), request.headers.get("user-agent")
    )
    chosen = request.cookies.get("lang") if request.cookies.get(CHOSEN) else None
    if chosen in LANGUAGES:
        _save_language(session, user, chosen)  # the login page's choice is kept, and saved
    resp = RedirectResponse(safe_next(next), status_code=303)
    resp.set_cookie("lang", user.language, max_age=YEAR, samesite="lax", httponly=True)
    resp.delete_cookie(CHOSEN)
    return resp


@router.post("/logout", include_in_schema=False)
def logout(request: Request, session: SessionDep) -> Response:
    end_web_session(session, request.session.get(SESSION_KEY))
    request.session.clear()
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": "/login"})
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{code}", include_in_schema=False)
def switch_language(
    request: Request, user: OptionalWebUser, code: str, next: str | None = None
) -> Response:
    """The login page's switch (a link: nobody is signed in yet); saved on the user at login.
    Signed in, the language is the account's and changes only by the header's switch (a POST,
    saved on the account): a link changes nothing — else the pages would speak one language
    and the account (its e-mails, the account page) another."""
    resp = RedirectResponse(safe_next(next or request.headers.get("referer-path")), status_code=303)
    if code in LANGUAGES and user is None:
        resp.set_cookie("lang", code, max_age=YEAR, samesite="lax", httponly=True)
        resp.set_cookie(CHOSEN, "1", samesite="lax", httponly=True)
    return resp


@router.post("/lang", include_in_schema=False)
def save_language(
    visit: Visit,
    code: Annotated[str, Form(max_length=10)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """The header's switch: the choice is saved on the user (every device, e-mails too)."""
    _save_language(visit.session, visit.user, code)
    resp = RedirectResponse(safe_next(next), status_code=303)
    if code in LANGUAGES:
        resp.set_cookie("lang", code, max_age=YEAR, samesite="lax", httponly=True)
    return resp
