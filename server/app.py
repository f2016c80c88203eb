"""The application factory: middleware, error handlers, routers, static files, health."""

from __future__ import annotations

import gc
import json
import logging
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.router import router as api_router
from crm.accounts.sessions import resolve_web_session
from crm.changes import STALE
from crm.config import get_settings
from crm.db import get_engine, is_busy, raced_constraint
from crm.dbuse import InUse
from crm.errors import Busy, Conflict, CRMError, StaleVersion
from crm.i18n import Message, _l, validation_message
from crm.imports import worker as import_worker
from crm.schemas import ID_PATTERN
from server.deps import SESSION_KEY, LoginRequired, user_view
from server.language import is_api as _is_api
from server.language import reader_language
from server.middleware import (
    CSRF,
    AnswerCrashes,
    BodyLimit,
    SecurityHeaders,
    SignedSession,
    security_headers,
)
from server.page_input import PageInput, refuse_bad_input
from server.routing import install as install_match_cache
from web.forms import FormInvalid, FormRejected
from web.render import render, templates_for
from web.routes import router as web_router

log = logging.getLogger("crm")
# containers allocated (net) before the cyclic collector looks at the youngest generation
GC_YOUNG_THRESHOLD = 50_000
STATIC = Path(__file__).resolve().parent.parent / "web" / "static"


def _validation_errors(exc: RequestValidationError, lang: str) -> list[dict]:
    out = []
    for e in exc.errors():
        loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path", "form")]
        if e.get("type") == "json_invalid":  # its loc is the character's offset: the body's fault
            loc = ["body"]
        msg = validation_message(e).render(lang)
        out.append({"field": ".".join(loc) or None, "message": msg[:300]})
    return out


def _param_pattern(match: re.Match[str]) -> str:
    """What a path parameter matches: ``{id:id}`` a record id and ``{n:int}`` digits (as their
    convertors), any other one segment."""
    if match.group(0).endswith(":id}"):
        return ID_PATTERN
    return "[0-9]+" if match.group(0).endswith(":int}") else "[^/]+"


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (one route per method in FastAPI, so
    Starlette's own ``Allow`` names only the first route's)."""

    table = getattr(request.app.state, "route_patterns", None)
    if table is None:
        table = []
        for rc in iter_route_contexts(request.app.routes):
            if rc.methods:
                pattern = re.sub(
                    r"\{[^}/]+\}",
                    _param_pattern,
                    re.escape(rc.path).replace(r"\{", "{").replace(r"\}", "}"),
                )
                table.append((re.compile(f"^{pattern}$"), rc.methods))
        request.app.state.route_patterns = table
    methods: set[str] = set()
    for rx, ms in table:
        if rx.match(request.url.path):
            methods |= set(ms)
    return ", ".join(sorted(methods))


def _menu_user(request: Request) -> None:
    """A page no route answered (404) still shows the signed-in user's menu: the session is
    read (not touched) here, since no route dependency did it."""
    if hasattr(request.state, "user") or "session" not in request.scope:
        return

    request.state.user = None
    try:
        with Session(get_engine()) as session:
            user = resolve_web_session(session, request.session.get(SESSION_KEY))
            request.state.user = user_view(user)
            session.rollback()  # read only
    except Exception:  # the error page must render even when the database does not answer
        log.warning("could not read the session for an error page", exc_info=True)


def _internal_error(request: Request) -> Response:
    """The fixed answer to an unexpected error: no stack trace, SQL or path in it."""
    try:
        lang = reader_language(request)
    except Exception:
        lang = None
    message = _l("服务器内部错误，已记录").render(lang)
    if _is_api(request):
        return JSONResponse({"error": "internal_error", "message": message}, status_code=500)
    try:
        return _html_error(request, 500, message)
    except Exception:  # the error page itself failed: plain text, still nothing inside
        return PlainTextResponse(message, status_code=500)


def _crash(request: Request, exc: Exception) -> Response:
    """An exception nothing else handled: logged whole, answered with the fixed 500 and the
    security headers (this answer is made outside the middleware that adds them)."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    resp = _internal_error(request)
    for k, v in security_headers(get_settings().cookie_secure, request.url.path):
        resp.headers[k.decode()] = v.decode()
    return resp


def _html_error(request: Request, status: int, message: str | Message) -> Response:

    if status == 404:
        _menu_user(request)
    headers = None
    if request.headers.get("HX-Request"):
        headers = {"HX-Reswap": "none"}
        if status in _HX_NOT_ERRORS:  # base.html: htmx treats these as answers, not errors
            headers["HX-Trigger"] = _toast_trigger(request, message)
    return render(
        request,
        "error.html",
        {"status": status, "message": message},
        status_code=status,
        headers=headers,
    )


# The statuses base.html's htmx-config swaps instead of raising htmx:responseError (a form
# shown again with its errors). The generic error page answers them with nothing to swap, so
# its message goes out as a toast event (ATTACK8 P2-7: a stale board move or My-day "done"
# answered 409 and nobody saw anything).
_HX_NOT_ERRORS = frozenset({409, 422})


def _toast_trigger(request: Request, message: str | Message) -> str:
    if isinstance(message, Message):
        try:
            lang = reader_language(request)
        except Exception:
            lang = None
        message = message.render(lang)
    # ASCII JSON: a header is latin-1; htmx parses the escapes back
    return json.dumps({"crm:toast": {"message": str(message), "kind": "error"}})


def install_error_handlers(app: FastAPI) -> None:

    @app.exception_handler(FormRejected)
    async def form_rejected(request: Request, exc: FormRejected) -> Response:
        """A page form's errors, sent after the request's transaction rolled back."""
        return exc.response

    @app.exception_handler(FormInvalid)
    async def form_invalid(request: Request, exc: FormInvalid) -> Response:
        """A form's errors that no page caught (a request no form of ours sends, e.g. a
        hand-made POST): the first message, as a 422 page — never a 500."""
        message = next(iter(exc.errors.values()), None) or _l("无效").render(
            reader_language(request)
        )
        return _html_error(request, 422, message)

    @app.exception_handler(CRMError)
    async def crm_error(request: Request, exc: CRMError) -> Response:
        if _is_api(request):
            body = exc.to_dict(reader_language(request))
            if isinstance(exc, StaleVersion) and exc.current is not None:
                body["current"] = exc.current
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return JSONResponse(body, status_code=exc.status, headers=headers)
        return _html_error(request, exc.status, exc.message)

    @app.exception_handler(StaleDataError)
    async def lost_race(request: Request, exc: StaleDataError) -> Response:
        """Two writers read the same version and the other saved first: the ORM's guarded UPDATE
        (``crm.types.Versioned``) matched no row and nothing of this request was saved."""
        return await crm_error(request, StaleVersion(STALE))

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        """Another writer held the database's lock too long: nothing was saved (the request's
        transaction rolled back) — a 503 the client may retry, never a 500. A write that lost a
        race to a constraint: 409 (a unique key, or a row it refers to deleted meanwhile — it
        was there when the client asked, so not "not found"; ``crm.audit.gone`` keeps the
        known adds from getting here at all)."""
        raced = raced_constraint(exc)
        if raced is not None:
            # a write lost a race to a unique key or to a deleted row (PostgreSQL: the checks
            # before it could not see the other writer's uncommitted row): nothing was saved
            log.warning("%s constraint on %s %s", raced, request.method, request.url.path)
            lost: CRMError = (
                Conflict(_l("同一记录刚被他人保存，本次未保存，请刷新后重试"))
                if raced == "unique"
                else Conflict(_l("相关记录刚被删除或合并，本次未保存，请刷新后重试"))
            )
            return await crm_error(request, lost)
        if not is_busy(exc):
            # another database error (a table missing after a bad restore, a dropped server):
            # logged and answered with the fixed 500 here, inside the middleware — raised on, it
            # would reach the server, which then drops the client's keep-alive connection
            log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
            return _internal_error(request)
        log.warning("database busy on %s %s", request.method, request.url.path)
        resp = await crm_error(request, Busy(_l("系统正忙，本次未保存，请稍后重试")))
        resp.headers["Retry-After"] = "1"
        return resp

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = _validation_errors(exc, reader_language(request))
        first = errors[0] if errors else {"field": None, "message": str(_l("无效"))}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        if _is_api(request):
            return JSONResponse(
                {
                    "error": "validation_error",
                    "message": message,
                    "field": first["field"],
                    "errors": errors,
                },
                status_code=422,
            )
        return _html_error(request, 422, first["message"])  # a page names no field codes

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = "/login?next=" + quote(request.url.path)
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        lang = reader_language(request)
        messages = {
            404: _l("未找到"),
            405: _l("不支持的方法"),
            401: _l("需要登录"),
            403: _l("没有权限"),
        }
        found = messages.get(exc.status_code)
        message = (
            found.render(lang)
            if found
            else str(exc.detail)
            if exc.detail
            else _l("出错了").render(lang)
        )
        if _is_api(request) and exc.status_code == 400:
            # a body that is not JSON (or not UTF-8) at all: invalid input like any other
            return JSONResponse(
                {
                    "error": "validation_error",
                    "field": "body",
                    "message": _l("请求体不是有效的 JSON").render(lang),
                    # the parser's own words are English whatever the reader reads (ATTACK8 P3-13)
                    "errors": [
                        {"field": "body", "message": _l("请求体不是有效的 JSON").render(lang)}
                    ],
                },
                status_code=422,
            )
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        if _is_api(request):
            # a path no route takes (an id that is no id among them) is told as a missing record
            code = "not_found" if exc.status_code == 404 else "http_error"
            return JSONResponse(
                {"error": code, "message": message},
                status_code=exc.status_code,
                headers=headers,
            )
        # a page's refusal is a page, in the reader's language (a 405 too)
        resp = _html_error(request, exc.status_code, message)
        if exc.status_code == 405:
            resp.headers["Allow"] = headers["Allow"]
        return resp


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # what exists at start-up (modules, routes, templates) lives as long as the process: out of
    # the cyclic collector's sight, so its full collections do not walk it on every request
    # (the benchmark: board p95 60 → 43 ms, My day 23 → 14 ms). Once per process.
    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()
    # a page's rows, ORM states and template frames live together for a moment and then go
    # by reference counting, but at the default threshold (700 containers) that moment set off
    # a young-generation collection every other request, which walked them all: 0.4 ms of CPU
    # a request in the officer mix (2.5 %). Cycles are rare here; they wait a little longer.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    # held for the process's life: ``crm restore`` refuses while any app or scheduler holds it

    in_use = InUse(get_settings().database_url).acquire()
    # imports queued before a restart: this process's import thread looks for them

    import_worker.kick()
    scheduler = None
    if app.state.run_scheduler:
        try:
            from jobs.runner import start_in_app  # lazy: jobs/ is optional (API alone)
        except ImportError:  # the jobs package is optional for the API alone
            start_in_app = None
        if start_in_app is not None:
            # every web process contends for the leader lock: exactly one runs the jobs
            scheduler = start_in_app()
    log.info(
        "web process %s ready (scheduler: %s)",
        os.getpid(),
        "contends for the lock" if scheduler is not None else "off",
    )
    try:
        yield
    finally:
        if scheduler is not None:
            scheduler.stop()
        in_use.release()


async def every_request(request: Request) -> None:
    """The one app-wide dependency (FastAPI solves each dependency on every request; this was
    two): a page request with bad input is refused (``refuse_bad_input``), and the files of a
    multipart body a handler read with ``request.form()`` (an upload, or a file posted where
    none is expected) are closed once the request is done, whatever the handler did with
    them, instead of waiting for the garbage collector. They are closed by the request's exit
    stack, where FastAPI ends the request's generator dependencies."""
    refuse_bad_input(request)
    request.scope["fastapi_inner_astack"].push_async_callback(request.close)


def create_app(run_scheduler: bool = False) -> FastAPI:
    settings = get_settings()
    install_match_cache()  # a request's route found once per path, not by walking every route
    app = FastAPI(
        title="招商 CRM API (investment-attraction CRM)",
        version="1.0.0",
        description="Investment-attraction CRM: firms, contacts, projects, activities, "
        "follow-ups and the managers' reports, for the plan's 12 industry clusters.",
        lifespan=lifespan,
        docs_url=None,  # served below from the app's own copy of Swagger UI (CSP, no CDN)
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        # NUL bytes, invalid UTF-8 and out-of-range ids in a page's input: a 4xx, never a 500
        dependencies=[Depends(every_request)],
        # FastAPI's built-in OpenTelemetry bridge: nothing here exports traces or metrics, yet
        # on every request it asked the global providers whether one was configured and looked
        # for a request span around each dependency and the handler (~20 calls a request)
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.run_scheduler = run_scheduler
    install_error_handlers(app)

    app.include_router(api_router)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs(request: Request) -> HTMLResponse:
        lang = reader_language(request)  # the page's title in the reader's language
        page = templates_for(lang).env.get_template("api/docs.html")
        return HTMLResponse(page.render(spec_url=app.openapi_url))

    @app.get(
        "/healthz", tags=["health"], summary="Liveness and database check", operation_id="healthz"
    )
    def healthz() -> dict[str, str]:
        with get_engine().connect() as conn:
            conn.execute(text("select 1"))
        return {"status": "ok"}

    # order: the last added runs first
    app.add_middleware(PageInput)
    app.add_middleware(
        SignedSession,
        secret_key=settings.secret_key,
        session_cookie="crm_session",
        same_site="lax",
        https_only=settings.cookie_secure,
        max_age=settings.session_max_hours * 3600,
    )
    app.add_middleware(CSRF, secure=settings.cookie_secure, exempt_prefixes=("/api/", "/healthz"))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, secure=settings.cookie_secure)
    app.add_middleware(AnswerCrashes, answer=_crash)
    return app
