"""Request dependencies: one transaction per request, and the acting user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import event
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from crm.accounts.service import resolve_api_token, resolve_web_session
from crm.accounts.sessions import check_web_session, touch_web_session
from crm.config import get_settings
from crm.context import set_client_ip
from crm.db import begin_write, get_engine, reads_first
from crm.errors import AuthFailed
from crm.i18n import _l
from crm.models.accounts import User

SESSION_KEY = "sid"


def client_ip(request: Request) -> str | None:
    """The client's address: the connection's, or — when the connection comes from a trusted
    reverse proxy (``CRM_TRUSTED_PROXIES``) — the right-most X-Forwarded-For address that is
    not itself a trusted proxy (the left part of the header is whatever the client sent)."""
    peer = request.client.host if request.client else None
    trusted = {a.strip() for a in get_settings().trusted_proxies.split(",") if a.strip()}
    if peer is None or peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return peer


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FLUSHED = "crm.flushed"


def _flushed(session: Session, _ctx: object) -> None:
    session.info[_FLUSHED] = True


def _committed(session: Session) -> None:
    session.info.pop(_FLUSHED, None)


event.listen(Session, "after_flush", _flushed)
# a handler that commits its own writes (``crm.db.write_transaction``) leaves nothing to commit
event.listen(Session, "after_commit", _committed)


def _wrote(session: Session) -> bool:
    """Whether the request's transaction may have written: its commit then writes (and on
    PostgreSQL may wait for the disk), so it goes to a worker thread. On SQLite the driver
    knows (a transaction is begun only by a write); elsewhere a flush or a pending change
    tells."""
    if session.new or session.dirty or session.deleted or session.info.get(_FLUSHED):
        return True
    if not session.in_transaction():
        return False
    dbapi = session.connection().connection.driver_connection
    return bool(getattr(dbapi, "in_transaction", False)) if _is_sqlite(session) else False


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


class RequestTransaction:
    """The request's transaction: commit when the handler returns, roll back when it raises.

    On the event loop, not in a worker thread: a page view would otherwise pay two thread
    round trips (open, commit) beside its handler's, ~0.2 ms of CPU each. A reading request
    does no I/O here until it ends: on SQLite, where the driver tells whether anything was
    written, a transaction that wrote nothing is only closed (nothing to commit); on
    PostgreSQL its reads run outside a transaction until one of its statements writes
    (``crm.db.reads_first``, as SQLite's driver runs them), so a page that only read has no
    BEGIN or COMMIT to send, and one that wrote commits as a writing request does. A writing
    request's ``BEGIN IMMEDIATE`` may wait for SQLite's write lock, and its commit writes:
    both in a worker thread (``begin`` False: the caller opens it, ``signed_in(begin=True)``).

    ``writes=False`` for a writing request whose handler commits its own writes in a short
    transaction (``crm.db.write_transaction``): it starts and ends as a reading request does,
    and what its handler wrote and did not commit is committed at the end (``_wrote``).

    The client's address travels with the session (``session.info``), which audit rows read.
    Ended by ``__aexit__`` (an async context manager, or an exit callback of FastAPI's
    function exit stack: ``open_request_session``)."""

    __slots__ = ("session", "writes")

    def __init__(self, request: Request, writes: bool | None = None) -> None:
        ip = client_ip(request)
        set_client_ip(ip)
        self.writes = request.method not in READ_METHODS if writes is None else writes
        # a reading request on PostgreSQL: no transaction until a statement writes
        reading = request.method in READ_METHODS
        engine = reads_first(get_engine()) if reading else get_engine()
        self.session = Session(engine, expire_on_commit=False)
        self.session.info["client_ip"] = ip

    async def begin(self) -> None:
        if self.writes:  # SQLite: the write lock first, before the reads
            await run_in_threadpool(begin_write, self.session)

    async def __aenter__(self) -> Session:
        return self.session

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        """Commit (``exc`` None) or roll back; the session closed either way. The error, if
        any, goes on (False)."""
        session = self.session
        try:
            if exc is None:
                if self.writes or _wrote(session):
                    await run_in_threadpool(session.commit)
                elif not _is_sqlite(session):
                    session.commit()
                # else SQLite, nothing written: the driver holds no transaction; closing ends ours
                return False
        except BaseException:
            await self._roll_back()
            raise
        else:
            await self._roll_back()
            return False
        finally:
            session.close()

    async def _roll_back(self) -> None:
        session = self.session
        # detach first: a rollback would expire every loaded row, and the error page
        # still reads the acting user (name, role, language)
        session.expunge_all()
        if self.writes or _wrote(session):
            await run_in_threadpool(session.rollback)
        else:
            session.rollback()


@asynccontextmanager
async def request_session(
    request: Request, *, begin: bool = True, writes: bool | None = None
) -> AsyncIterator[Session]:
    """The request's transaction (``RequestTransaction``) as a context manager."""
    tx = RequestTransaction(request, writes)
    async with tx as session:
        if begin:
            await tx.begin()
        yield session


async def open_request_session(
    request: Request, *, begin: bool = True, writes: bool | None = None
) -> Session:
    """The request's transaction for a route's dependency, ended (``RequestTransaction``) by
    FastAPI's function exit stack: after the handler, before the response is sent — as a
    generator dependency with ``scope="function"`` ends, without a generator's machinery
    (its context manager, the shielded exit) on every request. Registered before anything
    can fail, so an error while opening it still rolls it back and closes it."""
    tx = RequestTransaction(request, writes)
    request.scope["fastapi_function_astack"].push_async_exit(tx)
    if begin:
        await tx.begin()
    return tx.session


async def get_session(request: Request) -> Session:
    """The request's transaction as a dependency (``open_request_session``)."""
    return await open_request_session(request)


# committed before the response is sent, so a redirect never outruns its write
SessionDep = Annotated[Session, Depends(get_session)]

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


class LoginRequired(Exception):
    """Raised by web dependencies; the app turns it into a redirect to the login page."""


@dataclass(frozen=True)
class UserView:
    """What templates know of the signed-in user: plain values that survive a rollback (an
    error page is rendered after the request's transaction was rolled back)."""

    id: int
    username: str
    display_name: str
    role: str
    department_id: int | None
    language: str


def user_view(user: User | None) -> UserView | None:
    """The signed-in user as the pages keep it for the request (a snapshot, no session)."""
    if user is None:
        return None
    return UserView(
        id=user.id,  # type: ignore[arg-type]
        username=user.username,
        display_name=user.display_name,  # type: ignore[arg-type]
        role=user.role,
        department_id=user.department_id,
        language=user.language,
    )


def _begin_and_resolve(session: Session, sid: str | None, writes: bool) -> User | None:
    if writes:  # SQLite: the write lock first, before the reads
        begin_write(session)
    # SQLite: its stamp in this writer's transaction (a connection of its own would wait for
    # this one's lock); PostgreSQL: on its own, not holding the session's row to the end
    return resolve_web_session(session, sid, writer=writes and _is_sqlite(session))


async def signed_in(request: Request, session: Session, *, begin: bool = False) -> User | None:
    """The request's signed-in user (None: nobody, or the session ended, which is then written
    at once and its cookie cleared), also in ``request.state.user`` for the templates.

    Read afresh from the database on every request, so a session ended or a user deactivated
    by any process is refused on its next request. ``begin``: a writing request's transaction
    is opened as a writer first (``begin_write``), in the same worker thread as the read.

    A reading request on SQLite reads the session on the event loop: one row by key from a
    local file, which waits for nothing in WAL mode and costs less than the round trip to a
    worker thread it saves (its "last seen" stamp, a write, goes to a thread). On PostgreSQL
    the read is a round trip to the server, and a write may wait for a lock: a worker thread."""
    sid = request.session.get(SESSION_KEY)
    if not begin and _is_sqlite(session):
        user, touch = check_web_session(session, sid)
        if touch:
            await run_in_threadpool(touch_web_session, session, sid)
    else:
        user = await run_in_threadpool(_begin_and_resolve, session, sid, begin)
    if user is None and sid:
        request.session.clear()
        # keep the expiry even if the request then fails (login redirect)
        await run_in_threadpool(session.commit)
    request.state.user = user_view(user)
    return user


async def web_user_optional(request: Request, session: SessionDep) -> User | None:
    """The signed-in user or None (the login page, the language switch)."""
    return await signed_in(request, session)


async def web_user(user: Annotated[User | None, Depends(web_user_optional)]) -> User:
    """No I/O: on the event loop (a sync dependency costs a round trip to a worker thread)."""
    if user is None:
        raise LoginRequired()
    return user


def api_user(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2)]
) -> User:
    user = resolve_api_token(session, token)
    if user is None:
        raise AuthFailed(_l("需要有效的访问令牌"))
    request.state.language = user.language  # the API's messages speak the caller's language
    return user


def token_language(authorization: str | None) -> str | None:
    """The language of the API token's owner, for an answer no route gave (405, a body that
    is not JSON, 413): the API speaks its caller's language in every answer, not only in
    those after ``api_user`` ran. None without a valid token."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        with Session(get_engine()) as session:
            user = resolve_api_token(session, token.strip())
            language = user.language if user is not None else None
            session.rollback()  # read only
    except Exception:  # an error answer must not fail for want of the database
        return None
    return language


WebUser = Annotated[User, Depends(web_user)]
OptionalWebUser = Annotated[User | None, Depends(web_user_optional)]
ApiUser = Annotated[User, Depends(api_user)]
