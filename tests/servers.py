"""Real servers in the test process: an SMTP server (aiosmtpd) and a group-robot HTTP server."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from crm.config import get_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """Collects what the SMTP server accepted."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()
        self.reply = "250 OK"  # a test may make the server refuse each message ("451 …")

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.reply.startswith("250"):
            return self.reply
        with self.lock:
            msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
            msg["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
            self.messages.append(msg)
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


class SMTPServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[Message]:
        return self.inbox.messages


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SMTPServer]:
    server = SMTPServer(free_port())
    server.start()
    s = get_settings()
    monkeypatch.setattr(s, "smtp_host", "127.0.0.1")
    monkeypatch.setattr(s, "smtp_port", server.port)
    monkeypatch.setattr(s, "smtp_security", "none")
    monkeypatch.setattr(s, "smtp_timeout", 5.0)
    yield server
    server.stop()


class RobotServer:
    """A local HTTP server standing in for WeCom / DingTalk robots; records each POST."""

    def __init__(self, bind: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None):
        """``bind``/``port``: where it listens; ``tls``: serve https with that context (the
        server names the client asked for, SNI, are kept in ``server_names``)."""
        self.requests: list[dict[str, Any]] = []
        self.server_names: list[str | None] = []
        self.status = 200
        self.reply: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        # judge(path, body) → a reply: to play a robot with rules (size, rate); None = ``reply``
        self.judge: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n) or b"{}")
                with outer.lock:
                    reply = outer.judge(self.path, body) if outer.judge else outer.reply
                    outer.requests.append(
                        {
                            "path": self.path,
                            "json": body,
                            "at": time.monotonic(),
                            "reply": reply,
                            "host": self.headers.get("Host"),
                        }
                    )
                data = json.dumps(reply).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer((bind, port), Handler)
        self.port = self.httpd.server_address[1]
        if tls is not None:

            def sni(_sock: ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext) -> None:
                self.server_names.append(name)

            tls.sni_callback = sni
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://{bind}:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class HungServer:
    """A TCP server that accepts connections and never says a word (a hung SMTP server)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture
def robot() -> Iterator[RobotServer]:
    r = RobotServer()
    yield r
    r.close()


def body_text(msg: Message) -> str:
    """The text/plain part of a received message, decoded."""
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            return payload.decode(part.get_content_charset() or "utf-8")  # type: ignore[union-attr]
    return ""


def body_html(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            return payload.decode(part.get_content_charset() or "utf-8")  # type: ignore[union-attr]
    return ""
