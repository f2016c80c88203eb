"""ASGI middleware: body-size limit, CSRF (double-submit cookie + Origin check), security
headers (CSP without 'unsafe-inline', nosniff, frame-ancestors, referrer policy, no-store), and
the last catch of an unexpected error."""

from __future__ import annotations

import hmac
import html
import json
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from itsdangerous import SignatureExpired, TimestampSigner
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm.i18n import _l, from_accept_language, pick_language, render
from server.deps import token_language
from server.replay import replaying

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = b"x-csrftoken"
CSRF_FIELD = "csrf_token"


def _language(scope: Scope) -> str:
    """The reader's language before any route ran: the page's cookie, else Accept-Language."""
    headers = dict(scope.get("headers", ()))
    accept = headers.get(b"accept-language", b"")
    own = (  # the API: its token owner's language
        token_language(headers.get(b"authorization", b"").decode("latin-1", "replace"))
        if scope.get("path", "").startswith("/api/")
        else _cookie(scope, "lang")
    )
    return pick_language(own, from_accept_language(accept.decode("latin-1", "replace")))


async def _send_json(send: Send, status: int, body: dict, lang: str | None = None) -> None:
    body = render(body, lang)
    data = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def security_headers(secure: bool, path: str) -> list[tuple[bytes, bytes]]:
    """The headers every response carries (also the 500 page, rendered outside the middleware)."""
    extra = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    ]
    if secure:
        extra.append((b"strict-transport-security", b"max-age=31536000"))
    if not path.startswith("/static/"):
        # pages carry confidential records: never kept by a browser or proxy cache
        extra.append((b"cache-control", b"no-store"))
    return extra


class SecurityHeaders:
    def __init__(self, app: ASGIApp, secure: bool = False) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = security_headers(self.secure, scope.get("path", ""))
                headers += [(k, v) for k, v in extra if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, scope: Scope, max_bytes: int) -> None:
    """413 in the reader's language, naming the limit. A page's HTMX request (an upload form)
    gets the form's error block (``X-CRM-Swap``: swapped like a refused form, the message
    beside the form's file field, ``data-field="file"``); the API and plain requests JSON."""
    lang = _language(scope)
    mb = f"{max_bytes / 1048576:g}"
    headers = dict(scope.get("headers", ()))
    if b"hx-request" not in headers or scope.get("path", "").startswith("/api/"):
        body = {"error": "too_large", "message": _l("请求过大（上限 %(mb)s MB）", mb=mb)}
        await _send_json(send, 413, body, lang)
        return
    text = html.escape(render(_l("文件过大（上限 %(mb)s MB）", mb=mb), lang))
    data = f'<div class="alert error" role="alert" data-field="file">{text}</div>'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(data)).encode()),
                (b"x-crm-swap", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413: by Content-Length before the app reads
    anything, and while streaming for bodies that do not declare their length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    too_big = int(v) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await _too_large(send, scope, self.max_bytes)
                    return
        received = 0
        exceeded = False
        started = False
        replaced = False

        async def limited() -> Message:
            nonlocal received, exceeded
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _TooLarge()
            return msg

        async def guarded_send(message: Message) -> None:
            # the app may turn the read error into its own answer (FastAPI: 400): say 413
            nonlocal started, replaced
            if replaced:
                return
            if message["type"] == "http.response.start" and exceeded:
                replaced = started = True
                await _too_large(send, scope, self.max_bytes)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, guarded_send)
        except _TooLarge:
            if not started:
                await _too_large(send, scope, self.max_bytes)


def _cookie(scope: Scope, name: str) -> str | None:
    for k, v in scope.get("headers", []):
        if k == b"cookie":
            for part in v.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                if key == name:
                    return val
    return None


def _multipart_field(body: bytes, content_type: str, name: str) -> str | None:
    """The value of one small text field of a multipart/form-data body (None if absent)."""

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        return None
    st: dict = {
        "field": b"",
        "value": b"",
        "disp": b"",
        "current": False,
        "data": [],
        "found": None,
    }

    def on_header_field(data: bytes, start: int, end: int) -> None:
        st["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        st["value"] += data[start:end]

    def on_header_end() -> None:
        if st["field"].lower() == b"content-disposition":
            st["disp"] = st["value"]
        st["field"] = st["value"] = b""

    def on_headers_finished() -> None:
        _, p = parse_options_header(st["disp"])
        st["current"] = p.get(b"name") == name.encode() and b"filename" not in p
        st["data"] = []

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if st["current"] and sum(map(len, st["data"])) < 1024:
            st["data"].append(data[start:end])

    def on_part_end() -> None:
        if st["current"] and st["found"] is None:
            st["found"] = b"".join(st["data"]).decode("utf-8", "replace")
        st["current"], st["disp"] = False, b""

    try:
        parser = MultipartParser(
            boundary,
            callbacks={  # type: ignore[arg-type]
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
                "on_headers_finished": on_headers_finished,
                "on_part_data": on_part_data,
                "on_part_end": on_part_end,
            },
        )
        parser.write(body)
        parser.finalize()
    except Exception:  # a malformed body: no token in it
        return None
    return st["found"]


def _same_origin(headers: dict[bytes, bytes]) -> bool:
    """An unsafe request's Origin (or Referer) must name this host, when the browser sends one.

    Hosts are compared without the scheme, so a TLS-terminating proxy in front does not matter.
    """
    host = headers.get(b"host", b"").decode("latin-1").lower()
    for name in (b"origin", b"referer"):
        raw = headers.get(name)
        if raw is None:
            continue
        value = raw.decode("latin-1").strip()
        if value == "null":
            return False
        return urlsplit(value).netloc.lower() == host
    return True


class CSRF:
    """Double-submit cookie: unsafe requests to pages must echo the ``csrftoken`` cookie in the
    ``X-CSRFToken`` header (HTMX, set by app.js) or a ``csrf_token`` form field (urlencoded or
    multipart); and their Origin/Referer, when sent, must be this host.

    The JSON API under ``/api/`` is exempt: it authenticates with bearer tokens, never cookies
    (tests/security/test_route_access.py proves a session cookie opens no API route).
    """

    def __init__(self, app: ASGIApp, secure: bool = False, exempt_prefixes: tuple[str, ...] = ()):
        self.app = app
        self.secure = secure
        self.exempt = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = _cookie(scope, CSRF_COOKIE)
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        # only the methods a form or HTMX can send change anything; any other method (QUERY,
        # PROPFIND...) goes on to routing, which answers 405
        if method in UNSAFE_METHODS and not path.startswith(self.exempt):
            headers = dict(scope.get("headers", []))
            if not _same_origin(headers):
                await self._refuse(scope, send)
                return
            submitted = headers.get(CSRF_HEADER, b"").decode("latin-1") or None
            ctype = headers.get(b"content-type", b"").decode("latin-1")
            body_chunks: list[bytes] = []
            is_form = ctype.startswith("application/x-www-form-urlencoded")
            is_multipart = ctype.startswith("multipart/form-data")
            if submitted is None and (is_form or is_multipart):
                more = True
                while more:
                    msg = await receive()
                    body_chunks.append(msg.get("body", b""))
                    more = msg.get("more_body", False)
                raw = b"".join(body_chunks)
                if is_form:
                    form = parse_qs(raw.decode("utf-8", "replace"))
                    submitted = (form.get(CSRF_FIELD) or [None])[0]
                else:
                    submitted = _multipart_field(raw, ctype, CSRF_FIELD)
            if (
                not cookie
                or not submitted
                or not hmac.compare_digest(
                    cookie.encode("latin-1", "replace"), submitted.encode("latin-1", "replace")
                )
            ):
                await self._refuse(scope, send)
                return
            if body_chunks:
                body = b"".join(body_chunks)
                receive = replaying(body, receive)
        new_token = None if cookie else secrets.token_urlsafe(32)
        if new_token:
            # the page rendered in this response reads the token from the request state
            scope.setdefault("state", {})["csrf_token"] = new_token

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start" and new_token:
                attrs = f"{CSRF_COOKIE}={new_token}; Path=/; SameSite=Lax"
                if self.secure:
                    attrs += "; Secure"
                message.setdefault("headers", []).append((b"set-cookie", attrs.encode()))
            await send(message)

        await self.app(scope, receive, wrapped)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await _send_json(
            send,
            403,
            {"error": "csrf", "message": _l("页面已过期，请刷新后重试")},
            _language(scope),
        )


class AnswerCrashes:
    """An exception no handler took, answered here with ``answer`` (the fixed 500) and not
    raised on: past Starlette's ``ServerErrorMiddleware`` it reaches the server, which then
    resets the client's keep-alive connection, so the next request on it fails too. Once the
    answer has begun, nothing can be said any more: the error goes on to the server."""

    def __init__(self, app: ASGIApp, answer: Callable[[Request, Exception], Response]) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            await self.answer(Request(scope, receive), exc)(scope, receive, send)


class KeptSigner:
    """The session cookie's signer (itsdangerous' ``TimestampSigner``), keeping each cookie it
    has verified with its signed time: a signed-in user sends the same cookie on every request
    (it is signed anew only when the session changes), and checking its HMAC each time was the
    larger part of the session middleware's cost. A cookie not kept is checked in full; a kept
    one still expires by its signed time exactly as the signer says (``max_age``)."""

    LIMIT = 4096

    def __init__(self, signer: TimestampSigner) -> None:
        self.signer = signer
        self.kept: dict[bytes, tuple[bytes, int]] = {}

    def sign(self, value: str | bytes) -> bytes:
        return self.signer.sign(value)

    def unsign(self, value: str | bytes, max_age: int | None = None) -> bytes:
        key = value.encode("utf-8") if isinstance(value, str) else value
        found = self.kept.get(key)
        if found is None:
            payload, when = self.signer.unsign(key, return_timestamp=True)  # BadSignature
            found = (payload, int(when.timestamp()))
            if len(self.kept) >= self.LIMIT:
                self.kept.clear()
            self.kept[key] = found
        payload, signed_at = found
        if max_age is not None:
            age = self.signer.get_timestamp() - signed_at
            if age > max_age or age < 0:
                raise SignatureExpired(f"Signature age {age} out of range", payload=payload)
        return payload


class SignedSession(SessionMiddleware):
    """Starlette's signed-cookie session, its signer keeping the cookies it verified
    (``KeptSigner``)."""

    def __init__(self, app: ASGIApp, **options: Any) -> None:
        super().__init__(app, **options)
        self.signer = KeptSigner(self.signer)  # type: ignore[assignment]
