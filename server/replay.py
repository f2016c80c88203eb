"""A request body read whole by a middleware, handed on to the app as if it were unread."""

from __future__ import annotations

from starlette.types import Message, Receive


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once as the whole request, then the real ``receive``
    (for the client's disconnect), so the app downstream reads the body a middleware read."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
