"""Page input as strict as the API's: NUL bytes, invalid UTF-8 and ids past the database's
integer range in a page's path, query string or urlencoded form are refused with a 4xx page in
the reader's language — never stored as U+FFFD, never a 500 from the database driver.

Two parts: an ASGI middleware that looks at the raw bytes (the only place invalid UTF-8 is still
visible: Starlette's form parser replaces it) and notes what it found in the request's scope,
and an app-wide dependency that turns the note into an HTTP error, so that the normal error
handler renders the page with the menu and in the reader's language. The API keeps its own,
stricter types (``api/common``) and is not touched here.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import unquote_to_bytes

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.schemas import unreadable_id
from server.language import reader_language
from server.replay import replaying

_NUMERIC_KEYS = {"id", "ids", "version", "page", "offset", "limit", "week", "year", "row"}
_NUMERIC_KEYS |= {"owner", "officer", "department"}  # the lists' filters by person and department
_SKIP_PREFIXES = ("/api/", "/static/")
_STATE_KEY = "crm_bad_input"

BAD_TEXT = _l("输入包含无效字符（空字符或非 UTF-8 编码），未作任何修改")
OUT_OF_RANGE = _l("编号超出范围")


def known_choice(
    value: str | None, allowed: Collection[str], field: str, default: str | None = None
) -> str | None:
    """A page filter's value from the query string: blank → ``default`` (all); one of
    ``allowed`` → it; anything else → 422 naming the value, in the reader's language, as the
    API and the reports answer — never the whole list as if it had been filtered (a stale
    bookmark or a typed URL would otherwise show "everything" under a filter that did nothing).
    The one rule of every page's enumerated filters (firm tier, follow-up status, the
    pipeline's cluster and park through ``crm.projects.service.check_filter_codes``)."""
    v = (value or "").strip()
    if not v:
        return default
    if v not in allowed:
        raise ValidationFailed(_l("未知的筛选值：%(value)s", value=v[:40]), field=field)
    return v


def _numeric_key(key: bytes) -> bool:
    k = key.decode("latin-1").lower()
    return k in _NUMERIC_KEYS or k.endswith("_id") or k.endswith("_ids")


def check_pairs(raw: bytes) -> str | None:
    """'text' for a NUL byte or invalid UTF-8, 'range' for an id past the limit, else None."""
    found: str | None = None
    for part in raw.split(b"&"):
        if not part:
            continue
        key, _, value = part.partition(b"=")
        k = unquote_to_bytes(key.replace(b"+", b" "))
        v = unquote_to_bytes(value.replace(b"+", b" "))
        for b in (k, v):
            if b"\x00" in b:
                return "text"
            try:
                b.decode("utf-8")
            except UnicodeDecodeError:
                return "text"
        if found is None and _numeric_key(k) and unreadable_id(v.decode("utf-8")):
            found = "range"
    return found


def check_path(raw_path: bytes) -> str | None:
    if b"\x00" in raw_path:
        return "text"
    try:
        path = raw_path.decode("utf-8")
    except UnicodeDecodeError:
        return "text"
    for seg in path.split("/"):
        if unreadable_id(seg):
            return "range"
    return None


class PageInput:
    """Notes bad bytes in a page request (path, query, urlencoded body) for ``refuse_bad_input``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(_SKIP_PREFIXES):
            await self.app(scope, receive, send)
            return
        raw_path = unquote_to_bytes(scope.get("raw_path") or path.encode("utf-8"))
        problem = check_path(raw_path) or check_pairs(scope.get("query_string", b""))
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if scope.get("method") in {"POST", "PUT", "PATCH"} and ctype == (
            b"application/x-www-form-urlencoded"
        ):
            # the body is bounded by BodyLimit (outside); read it whole and replay it
            chunks: list[bytes] = []
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = b"".join(chunks)
            problem = problem or check_pairs(body)
            receive = replaying(body, receive)
        if problem:
            scope.setdefault("state", {})[_STATE_KEY] = problem
        await self.app(scope, receive, send)


def refuse_bad_input(request: Request) -> None:
    """A page request the middleware marked is answered with a 4xx (from the app-wide
    dependency, ``server.app.every_request``)."""
    problem = request.scope.get("state", {}).get(_STATE_KEY)
    if problem is None:
        return
    lang = reader_language(request)
    if problem == "range":
        raise HTTPException(status_code=404, detail=OUT_OF_RANGE.render(lang))
    raise HTTPException(status_code=400, detail=BAD_TEXT.render(lang))
