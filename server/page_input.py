"""Page input as strict as the API's: NUL bytes, invalid UTF-8 and ids past the database's
integer range in a page's path, query string or urlencoded form are refused with a 4xx page in
the reader's language — never stored as U+FFFD, never a 500 from the database driver.

Two parts: an ASGI middleware that looks at the raw bytes (the only place invalid UTF-8 is still
visible: Starlette's form parser replaces it) and notes what it found in the request's scope,
and an app-wide dependency that turns the note into an HTTP error, so that the normal error
handler renders the page with the menu and in the reader's language. The API keeps its own,
stricter types (``api/common``); only its path is looked at here.

Ids read one way (``crm.schemas.parse_id``): a path's id is read by the ``{name:id}`` route
convertor (``server.ids``); a page's query-string id (``firm_id``, ``owner``, …) that is not
blank and not an id — "+1", " 1", "1.0", "01", "0", 2^31 — is answered as an id that does not
exist, 404. A path with a control character in it ("/firms/1%0A") is 404 too, on pages and the
API alike: Starlette's route patterns end in ``$``, which lets one trailing line break through.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import unquote_to_bytes

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.schemas import parse_id, unreadable_id
from server.language import reader_language
from server.replay import replaying

_NUMERIC_KEYS = {"id", "ids", "version", "page", "offset", "limit", "week", "year", "row"}
_NUMERIC_KEYS |= {"owner", "officer", "department"}  # the lists' filters by person and department
_ID_KEYS = {"id", "ids", "owner", "officer", "department"}
_NOT_ID_KEYS = {"entity_id"}  # the audit trail's filter: an entity's key, any text
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
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


def _id_key(key: bytes) -> bool:
    k = key.decode("latin-1").lower()
    if k in _NOT_ID_KEYS:
        return False
    return k in _ID_KEYS or k.endswith("_id") or k.endswith("_ids")


def check_pairs(raw: bytes, *, query: bool = False) -> str | None:
    """'text' for a NUL byte or invalid UTF-8, 'range' for an id past the limit, 'missing' for
    a query string's id that is not blank and not an id (``query``), else None."""
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
        if found is None and query and v and _id_key(k) and parse_id(v.decode("utf-8")) is None:
            found = "missing"
    return found


def check_path(raw_path: bytes) -> str | None:
    if b"\x00" in raw_path:
        return "text"
    try:
        path = raw_path.decode("utf-8")
    except UnicodeDecodeError:
        return "text"
    if _CONTROL.search(path):
        return "missing"
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
        if scope["type"] != "http" or path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        if path.startswith("/api/"):
            if _CONTROL.search(path):
                scope.setdefault("state", {})[_STATE_KEY] = "missing"
            await self.app(scope, receive, send)
            return
        raw_path = unquote_to_bytes(scope.get("raw_path") or path.encode("utf-8"))
        problem = check_path(raw_path) or check_pairs(scope.get("query_string", b""), query=True)
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
    if problem == "missing":  # as a route with no such record answers (its text: the 404's)
        raise HTTPException(status_code=404)
    lang = reader_language(request)
    if problem == "range":
        raise HTTPException(status_code=404, detail=OUT_OF_RANGE.render(lang))
    raise HTTPException(status_code=400, detail=BAD_TEXT.render(lang))
