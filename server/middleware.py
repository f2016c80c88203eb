"""ASGI middleware: body-size limit, CSRF (double-submit cookie), security headers."""

from __future__ import annotations

import hmac
import json
import secrets
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = b"x-csrftoken"
CSRF_FIELD = "csrf_token"


async def _send_json(send: Send, status: int, body: dict) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


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
                extra = [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if self.secure:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                headers += [(k, v) for k, v in extra if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 before the app reads them."""

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
                    await _send_json(send, 413, {"error": "too_large",
                                                 "message": "请求过大 / request body too large"})
                    return
        received = 0

        async def limited() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_bytes:
                    raise ValueError("request body too large")
            return msg

        await self.app(scope, limited, send)


def _cookie(scope: Scope, name: str) -> str | None:
    for k, v in scope.get("headers", []):
        if k == b"cookie":
            for part in v.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                if key == name:
                    return val
    return None


class CSRF:
    """Double-submit cookie: unsafe requests to pages must echo the ``csrftoken`` cookie in the
    ``X-CSRFToken`` header (HTMX, set by app.js) or a ``csrf_token`` form field.

    The JSON API under ``/api/`` is exempt: it authenticates with bearer tokens, never cookies.
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
        if method not in SAFE_METHODS and not path.startswith(self.exempt):
            headers = dict(scope.get("headers", []))
            submitted = headers.get(CSRF_HEADER, b"").decode("latin-1") or None
            ctype = headers.get(b"content-type", b"").decode("latin-1")
            body_chunks: list[bytes] = []
            if submitted is None and ctype.startswith("application/x-www-form-urlencoded"):
                more = True
                while more:
                    msg = await receive()
                    body_chunks.append(msg.get("body", b""))
                    more = msg.get("more_body", False)
                form = parse_qs(b"".join(body_chunks).decode("utf-8", "replace"))
                submitted = (form.get(CSRF_FIELD) or [None])[0]
            if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
                await self._refuse(scope, send)
                return
            if body_chunks:
                body = b"".join(body_chunks)
                sent = False

                async def replay() -> Message:
                    nonlocal sent
                    if not sent:
                        sent = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

                receive = replay
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
        await _send_json(send, 403, {"error": "csrf", "message":
                                     "页面已过期，请刷新后重试 / the form expired: reload the page "
                                     "and try again"})
