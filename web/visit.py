"""``Visit``: what a page handler needs of the request it answers — the request, its
transaction, the signed-in user and the page's language — given by one dependency instead of
the same ``request, session, user`` parameters on every handler.

    @router.get("/firms")
    def firm_list(visit: Visit, q: Q = None) -> Response:
        rows = list_firms(visit.session, visit.user, ...)
        return visit.render("firms/list.html", {"rows": rows})

A route that reads a form takes ``form: FormBody`` before ``visit``: the form is read on the
event loop before the session takes SQLite's write lock (``web.forms``)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from crm.db import write_transaction
from crm.models.accounts import User
from crm.submissions import claim
from server.deps import READ_METHODS, LoginRequired, open_request_session, signed_in
from web.render import is_htmx, language, render


@dataclass(frozen=True, slots=True)
class PageVisit:
    """A signed-in user's request for a page."""

    request: Request
    session: Session
    user: User

    @property
    def lang(self) -> str:
        """The page's language (the ``lang`` cookie, else the user's own)."""
        return language(self.request)

    @property
    def htmx(self) -> bool:
        """Whether HTMX asks for a fragment of the page."""
        return is_htmx(self.request)

    def writing(self) -> AbstractContextManager[Session]:
        """The block's writes as one short transaction, committed at its end
        (``crm.db.write_transaction``): for a ``ShortWriteVisit`` handler."""
        return write_transaction(self.session)

    def claim(self, key: str | None, content: Any, outcome: str | None = None) -> None:
        """``crm.submissions.claim`` of this post's one-use ``key`` for what it submits: its
        method and path (the target's ids) and its validated ``content``."""
        claim(
            self.session,
            self.user,
            key,
            method=self.request.method,
            path=self.request.url.path,
            content=content,
            outcome=outcome,
        )

    def render(
        self, template: str, ctx: dict[str, Any] | None = None, **options: Any
    ) -> HTMLResponse:
        """``web.render.render`` for this request (``options``: its block, status_code,
        headers)."""
        return render(self.request, template, ctx, **options)


async def page_visit(request: Request) -> PageVisit:
    """The request's transaction (``open_request_session``) and its signed-in user, as one
    dependency: FastAPI solves each dependency of a route on every request (the session, the
    user and this were four), and a writing request takes SQLite's write lock and reads its
    user in one worker thread. Not signed in: ``LoginRequired`` (the login page). The
    transaction ends after the handler, before the response is sent (committed, so a redirect
    never outruns its write)."""
    session = await open_request_session(request, begin=False)
    user = await signed_in(request, session, begin=request.method not in READ_METHODS)
    if user is None:
        raise LoginRequired()
    return PageVisit(request, session, user)


async def short_write_visit(request: Request) -> PageVisit:
    """``page_visit`` for a writing request whose handler reads, checks, then writes in a block
    of its own (``visit.writing()``), and reads again to answer: it begins as a page view does
    (no write lock) and SQLite's write lock is held only for that block. A handler's form
    input is validated before it; the block's service checks its rules again inside it."""
    session = await open_request_session(request, begin=False, writes=False)
    user = await signed_in(request, session)
    if user is None:
        raise LoginRequired()
    return PageVisit(request, session, user)


# committed before the response is sent, so a redirect never outruns its write
Visit = Annotated[PageVisit, Depends(page_visit)]
ShortWriteVisit = Annotated[PageVisit, Depends(short_write_visit)]
